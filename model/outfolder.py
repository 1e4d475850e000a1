"""The output folder every etown command writes into (`--out`, or the folder of an output file).

One contract for every command (run, compare, effects, discover, optimize, uncertainty,
sensitivity, calibrate, backtest, assimilate, export, score, report, show):

- **Resolved once**: the path is made absolute with symlinks resolved when the command starts;
  everything is written below it.
- **Ownership proved by a mark**: `<out>/.etown` lists every file and folder etown wrote there,
  with the command that wrote it and, for a file, its size and SHA-256; the mark carries the
  SHA-256 of its own content. A file is etown's only if the mark lists it with that content: a
  file the user made, replaced or edited (whatever its name), a symbolic link, or a hand-made
  mark is never replaced or deleted; the command stops with one line naming it instead.
- **Locked for the whole command**: an exclusive `flock` on `<out>/.etown.lock` (which names the
  holder); a second command on the folder is refused at once. The lock goes with its process.
- **Committed atomically on success**: results are written into `<out>/unfinished-<command>/`
  (`unfinished/` for run and assimilate, which also keep their parts there until they finish)
  and moved in only when all are written: the old primary file first removed, the others moved
  in, the primary last (summary.json, compare.json ...), SIGINT/SIGTERM held back meanwhile. A
  commit cut by a kill is finished by the next command that stages there.
- **Per-command parts**: `etown run`'s parts are in `<out>/parts/`, every other command's in
  `<out>/parts-<command>/` (model/store.py), so commands sharing a folder never touch each
  other's parts.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .io import sha256_file
from .signals import signals_deferred

MARK = ".etown"
"""The ownership mark of a folder (and of a staging folder inside it)."""
MARK_FORMAT = 2
LOCK_FILE = ".etown.lock"
"""Lock file of a folder while a command uses it (holds the holder's pid, host, start and command)."""
COMPLETE = ".complete"
"""In a staging folder: every result is written; the commit may move them in."""
ENSEMBLE_COMMANDS = ("run", "assimilate")
"""Commands whose folder is an ensemble's (staging `unfinished/`, parts `parts/`)."""


class FolderError(RuntimeError):
    """A folder that cannot be used as asked (one line for the user)."""


def staging_name(command: str) -> str:
    """The staging folder of a command inside its output folder."""
    return "unfinished" if command in ENSEMBLE_COMMANDS else f"unfinished-{command}"


def parts_name(command: str) -> str:
    """The parts folder (model/store.py) of a command inside its output folder."""
    return "parts" if command in ENSEMBLE_COMMANDS else f"parts-{command}"


# ---------------------------------------------------------------------- the mark
def _body_digest(entries: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()


def read_mark(root: Path) -> dict[str, dict[str, Any]]:
    """name -> its record in `root/.etown` ({} when there is no valid mark: none, an older
    etown's empty one, or one not written by etown)."""
    path = root / MARK
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 16 << 20:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not (isinstance(data, dict) and data.get("format") == MARK_FORMAT and isinstance(data.get("entries"), dict)):
        return {}
    if data.get("sha256") != _body_digest(data["entries"]):
        return {}
    return data["entries"]


def write_mark(root: Path, entries: dict[str, dict[str, Any]]) -> None:
    from .io import write_json

    write_json(root / MARK, {"etown": "output folder", "format": MARK_FORMAT, "entries": entries,
                             "sha256": _body_digest(entries)})  # fmt: skip


def file_record(path: Path, command: str) -> dict[str, Any]:
    st = path.stat()
    return {"command": command, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256_file(path)}


def owned(root: Path, name: str, entries: dict[str, dict[str, Any]]) -> bool:
    """`root/name` is etown's: the mark lists it, and (a file) with its present content."""
    entry, path = entries.get(name), root / name
    if entry is None or path.is_symlink():
        return False
    if entry.get("folder"):
        return path.is_dir()
    try:
        st = path.stat()
    except OSError:
        return False
    if not path.is_file() or st.st_size != entry.get("bytes"):
        return False
    return st.st_mtime_ns == entry.get("mtime_ns") or sha256_file(path) == entry.get("sha256")


def not_ours(path: Path) -> FolderError:
    return FolderError(f"--out: {path} was not written by etown; move it or choose another --out")


# ---------------------------------------------------------------------- the folder
class OutputFolder:
    """The output folder of one command (see the module docstring). `files`: the result files
    the command writes there, its primary file first (written last, its presence means the
    results are complete); `folders`: sub-folders it owns besides its staging folder (its parts).

    Use as a context manager (check, lock, check again; release on exit), then `stage()` for the
    staging folder, write the results there and `commit()`."""

    def __init__(
        self,
        out: str | Path,
        command: str,
        files: tuple[str, ...],
        folders: tuple[str, ...] = (),
        holder: str | None = None,
    ) -> None:
        from .io import echo

        try:
            self.root = Path(os.path.realpath(os.path.abspath(out)))
        except (OSError, ValueError) as exc:
            raise FolderError(f"--out: {echo(str(out))}: cannot use: {exc}") from None
        self.command = command
        self.holder = holder or f"etown {command}"
        self.files = tuple(files)
        self.folders = tuple(folders)
        self.staging = self.root / staging_name(command)
        self.lock_path = self.root / LOCK_FILE
        self._fd: int | None = None
        self._created = False

    # ---- checks
    def check(self) -> None:
        """Refuse a folder that is not a directory, or holds under one of this command's names
        something etown did not write (a user's file, a replaced one, a symbolic link)."""
        root = self.root
        if os.path.lexists(root) and not root.is_dir():
            raise FolderError(f"--out: {root} exists and is not a folder")
        if not root.is_dir():
            return
        entries = read_mark(root)
        for name in (*self.files, *self.folders, self.staging.name):
            p = root / name
            if not os.path.lexists(p):
                continue
            if p.is_symlink():
                raise FolderError(f"--out: {p} is a symbolic link; etown replaces only its own files there")
            if name == self.staging.name:
                if not (p.is_dir() and ((p / MARK).is_file() or not any(p.iterdir()))):
                    raise not_ours(p)
            elif not owned(root, name, entries):
                raise not_ours(p)

    # ---- lock
    def lock(self, command: str) -> None:
        """Take the folder's lock (creating the folder); a one-line FolderError naming the
        holder if another command has it."""
        try:
            if not self.root.is_dir():
                self.root.mkdir(parents=True)
                self._created = True
            while True:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    holder = os.pread(fd, 2000, 0).decode("utf-8", "replace").strip() or "holder unknown"
                    os.close(fd)
                    raise FolderError(
                        f"--out: {self.root} is in use by another etown command ({' '.join(holder.split())}); "
                        "wait for it to finish or choose another --out"
                    ) from None
                try:
                    same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:  # not a lock file that its holder removed while we opened it
                    break
                os.close(fd)
            holder = (
                f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S')}: {command}"
            )
            os.ftruncate(fd, 0)
            os.pwrite(fd, (" ".join(holder.split())[:1000] + "\n").encode(), 0)
            self._fd = fd
        except OSError as exc:
            raise FolderError(f"--out: {self.root}: cannot use: {exc.strerror or exc}") from None

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.lock_path.unlink()
            os.close(self._fd)
            self._fd = None
        if self._created:  # a folder we made and left empty (the command stopped before writing)
            with contextlib.suppress(OSError):
                self.root.rmdir()

    def __enter__(self) -> OutputFolder:
        self.check()
        self.lock(self.holder)
        try:
            self.check()  # again, now that no other etown command can change it
        except BaseException:
            self.release()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # ---- ownership of sub-folders
    def own(self, name: str) -> Path:
        """Record the sub-folder `name` (a parts folder, a prior ensemble) as this command's in
        the mark; returns its path."""
        entries = read_mark(self.root)
        if entries.get(name, {}).get("folder") is not True or entries[name].get("command") != self.command:
            entries[name] = {"command": self.command, "folder": True}
            write_mark(self.root, entries)
        return self.root / name

    def parts(self) -> Path:
        """This command's parts folder (recorded as its own)."""
        return self.own(parts_name(self.command))

    # ---- staging and commit
    def stage(self, keep: Callable[[Path], None] | None = None) -> Path:
        """A clean staging folder for the results; returns it. First finishes a commit that a
        killed command left half done. `keep(staging)`: instead of discarding a previous
        staging folder, let the caller reuse it (etown run --resume keeps its parts there)."""
        with signals_deferred():
            self._finish_commit()
        if self.staging.exists() and keep is None:
            discard(self.staging, self.files)
        self.staging.mkdir(exist_ok=True)
        (self.staging / MARK).touch()
        if keep is not None:
            keep(self.staging)
        return self.staging

    def commit(self) -> None:
        """Move the staged results in (the primary file last, replacing the previous ones);
        SIGINT and SIGTERM wait until it is done; a command killed meanwhile is completed by the
        next one that stages here."""
        with signals_deferred():
            (self.staging / COMPLETE).touch()
            self._finish_commit()

    def abandon(self) -> None:
        """After a command failed or was interrupted: remove its staging folder (results half
        written, never committed); one that holds a user's file, or a commit to finish, is left."""
        if self.staging.is_dir() and not self.staging.is_symlink() and not (self.staging / COMPLETE).exists():
            with contextlib.suppress(FolderError, OSError):
                discard(self.staging, self.files)

    def _finish_commit(self) -> None:
        st, root = self.staging, self.root
        if not (st / COMPLETE).is_file():
            return
        entries = read_mark(root)
        staged = sorted(p.name for p in st.iterdir() if p.name not in (MARK, COMPLETE) and not p.name.startswith("."))
        for name in staged:  # someone put a file of that name here meanwhile: not replaced
            if os.path.lexists(root / name) and not owned(root, name, entries):
                raise not_ours(root / name)
        primary = self.files[0] if self.files and self.files[0] in staged else None
        if primary is not None:
            (root / primary).unlink(missing_ok=True)  # no primary file until the new one is in
            entries.pop(primary, None)
            write_mark(root, entries)
        for name in [n for n in staged if n != primary]:
            src, dst = st / name, root / name
            if src.is_dir():
                if dst.is_dir():
                    old = st / f".old-{name}"
                    if old.exists():
                        shutil.rmtree(old)
                    os.replace(dst, old)
                os.replace(src, dst)
                entries[name] = {"command": self.command, "folder": True}
            else:
                os.replace(src, dst)
                entries[name] = file_record(dst, self.command)
        if primary is not None:
            write_mark(root, entries)
            os.replace(st / primary, root / primary)
            entries[primary] = file_record(root / primary, self.command)
        write_mark(root, entries)
        shutil.rmtree(st)  # left: its mark, the complete flag, and our previous parts


def discard(staging: Path, files: tuple[str, ...] = ()) -> None:
    """Remove a staging folder of ours: its mark, result files, temporaries, our previous parts
    and its parts store (model/store.py: only the parts it lists). Anything else in it is a
    user's: the folder is then left with it and a FolderError names it."""
    from .store import discard_store

    if (staging / "parts").is_dir():
        discard_store(staging / "parts")
    for p in list(staging.iterdir()):
        if p.is_dir() and not p.is_symlink() and p.name.startswith(".old-"):
            shutil.rmtree(p)
        elif p.name in (MARK, COMPLETE, *files) or (p.name.startswith(".") and p.name.endswith(".tmp")):
            p.unlink()
    left = sorted(p.name for p in staging.iterdir())
    if left:
        raise FolderError(
            f"--out: {staging / left[0]} was not written by etown; move it (or the folder {staging}) "
            "or choose another --out"
        )
    staging.rmdir()


@contextlib.contextmanager
def command_folder(
    out: str | Path,
    command: str,
    files: tuple[str, ...],
    *,
    parts: bool = False,
    progress: bool = False,
    unit: str = "run",
    holder: str | None = None,
) -> Any:
    """The output folder of a command for its whole run: checked, locked (`holder`: the command
    line the lock names), its parts folder recorded as its own (`parts`); yields (folder, bar),
    bar a progress bar of `unit`s (shown with `progress`). SIGINT or SIGTERM end it with
    `Interrupted`, which says how many units were finished and where they are kept; a command
    that fails or is interrupted leaves no staging folder (its parts stay for a rerun)."""
    from tqdm import tqdm

    from .signals import Interrupted, Terminated, signal_name

    folder = OutputFolder(out, command, files, (parts_name(command),) if parts else (), holder)
    with folder, tqdm(total=0, unit=unit, desc=command, disable=not progress, leave=False) as bar:
        if parts:
            folder.parts()
        try:
            yield folder, bar
        except (KeyboardInterrupt, Terminated) as exc:
            folder.abandon()
            kept = folder.root / parts_name(command) if parts else None
            raise Interrupted(signal_name(exc), int(bar.n), int(bar.total or 0), folder.root, kept, unit) from None
        except BaseException:
            folder.abandon()
            raise
