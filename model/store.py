"""The one resumable store of finished work (`etown run`'s chunks, the experiments' replication
blocks): a folder with

- `manifest.json`: what the work is (`kind`, and a `fingerprint` of everything that
  determines its numbers: scenario, seed, settings, model version ...);
- `parts.jsonl`: one line per finished part, appended when the part is complete: its file name,
  size in bytes, SHA-256, and what it holds (point, runs ...);
- the part files, each written atomically before its line is appended.

One manifest rule (`PartStore.open`): a folder without a manifest is started; a folder whose
manifest is the same work is reused, finished parts are read back and only the rest is run; a
folder holding *different* work is a one-line `StoreError` naming what differs, never wiped,
unless the caller asks for a fresh start (`fresh=True`: `etown run` without `--resume`,
an experiment with `--fresh`), which discards the parts of a folder that holds our manifest.
Verified parts. A part is listed (its line appended) before its temporary file is renamed into
place, so a finished part is always listed and an unlisted file is never taken for one. Reading
a part back (`get`) checks everything its line promises: a regular file (not a link), its size
and SHA-256, and what it holds (`expect`: run indices, seed, stream, chunk ...). A part that
fails any check is reported in one line (`notice`) and computed again, so a resumed piece of
work is the same as one never interrupted. A fresh start (`fresh=True`) and `discard_store`
remove only the files the store lists (and its own temporaries): a user's file in the folder is
never deleted; the store then stops with one line naming it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .io import atomic_path, sha256_file, write_json

MANIFEST = "manifest.json"
INDEX = "parts.jsonl"
FORMAT = 1
"""Store layout version (in the manifest)."""


class StoreError(RuntimeError):
    """A store that cannot be used as asked (one line for the user)."""


def notice(message: str) -> None:
    """Report a part that is computed again (one line on stderr; tests replace it)."""
    print(f"warning: {message}", file=sys.stderr)


def _canonical(data: Any) -> Any:
    """JSON round trip: tuples become lists, keys strings (what the manifest holds)."""
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def _differences(old: Any, new: Any) -> list[str]:
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return ["everything"]
    keys = sorted(set(old) | set(new))
    return [k for k in keys if old.get(k) != new.get(k)]


def _is_temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


class PartStore:
    """A folder of finished parts (see the module docstring). Use `PartStore.open`."""

    def __init__(self, folder: Path, kind: str, fingerprint: Any) -> None:
        self.folder = Path(folder)
        self.kind = kind
        self.fingerprint = _canonical(fingerprint)
        self._index: dict[str, dict[str, Any]] = {}
        self.redone: list[str] = []  # parts found damaged or foreign, computed again

    # ---- opening: the manifest rule
    @classmethod
    def open(cls, folder: Path, kind: str, fingerprint: Any, *, fresh: bool = False, hint: str = "") -> PartStore:
        """The store in `folder` for this work: started, reused, or (fresh) started again; a
        folder holding other work is a StoreError (`hint`: what the user can do about it)."""
        store = cls(folder, kind, fingerprint)
        manifest = store.folder / MANIFEST
        expected = {"store": "etown parts", "format": FORMAT, "kind": kind, "fingerprint": store.fingerprint}
        if store.folder.is_symlink() or (store.folder.exists() and not store.folder.is_dir()):
            raise StoreError(f"{store.folder} is not a folder etown made; move it or choose another --out")
        saved = _read_manifest(manifest)
        if saved is not None:
            if saved == expected and not fresh:
                store._read_index()
                store._remove_temporaries()
                return store
            if not fresh or saved.get("store") != expected["store"]:
                if saved.get("store") != expected["store"]:
                    why = "were not written by this etown (no part list to check them against)"
                elif saved.get("kind") != kind:
                    why = f"belong to a different kind of work ({saved.get('kind')})"
                else:
                    what = ", ".join(_differences(saved.get("fingerprint"), store.fingerprint))
                    why = f"belong to a different {kind} ({what} differ)"
                raise StoreError(f"{store.folder}: the saved parts {why}" + (f"; {hint}" if hint else ""))
            discard_store(store.folder)
        elif store.folder.exists() and any(not _is_temporary(p.name) for p in store.folder.iterdir()):
            raise StoreError(
                f"{store.folder} holds files etown did not write (no valid {MANIFEST}); "
                "move them or choose another --out"
            )
        store.folder.mkdir(parents=True, exist_ok=True)
        store._remove_temporaries()
        write_json(manifest, expected)
        (store.folder / INDEX).write_bytes(b"")
        return store

    @classmethod
    def existing(cls, folder: Path, kind: str, fingerprint: Any) -> PartStore | None:
        """The store in `folder` if it holds this work (read only: nothing is created); else None."""
        store = cls(folder, kind, fingerprint)
        saved = _read_manifest(store.folder / MANIFEST)
        if not (saved and saved.get("kind") == kind and saved.get("fingerprint") == store.fingerprint):
            return None
        store._read_index()
        return store

    def _read_index(self) -> None:
        path = self.folder / INDEX
        if path.is_symlink() or not path.is_file():
            return
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                name = entry["name"]
                if isinstance(name, str) and "/" not in name and not name.startswith("."):
                    self._index[name] = entry
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill: that part is simply done again

    def _remove_temporaries(self) -> None:
        for tmp in self.folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # ---- parts
    def path(self, name: str) -> Path:
        return self.folder / name

    def has(self, name: str) -> bool:
        """The part is listed and its file is there (`get` checks its content)."""
        path = self.folder / name
        return name in self._index and path.is_file() and not path.is_symlink()

    def entries(self) -> dict[str, dict[str, Any]]:
        """name -> its line (bytes, sha256, and what the part holds)."""
        return dict(self._index)

    def problem(self, name: str, **expect: Any) -> str | None:
        """What is wrong with a listed part (None: nothing; it holds what its line says)."""
        entry, path = self._index.get(name), self.folder / name
        if entry is None:
            return "not listed"
        if path.is_symlink() or not path.is_file():
            return "not a regular file" if os.path.lexists(path) else "missing"
        if path.stat().st_size != entry.get("bytes") or sha256_file(path) != entry.get("sha256"):
            return f"size or checksum differs from {INDEX}"
        wrong = [k for k, v in _canonical(expect).items() if entry.get(k) != v]
        if wrong:
            return f"holds other work ({', '.join(wrong)} differ)"
        return None

    def get(self, name: str, **expect: Any) -> Path | None:
        """The path of a finished part that passes every check (`problem`), else None: the part
        is to be computed (a listed part that fails is reported by `notice` and forgotten)."""
        if name not in self._index:
            return None
        why = self.problem(name, **expect)
        if why is None:
            return self.folder / name
        self.reject(name, why)
        return None

    def reject(self, name: str, why: str) -> None:
        """Forget a damaged or foreign part (it is computed again), and say so."""
        self._index.pop(name, None)
        self.redone.append(name)
        notice(f"{self.folder / name}: damaged or foreign part ({why}); computing it again")

    def verify(self, name: str, **expect: Any) -> Path:
        """The part's path, after the checks of `get`; a one-line StoreError naming it otherwise."""
        why = self.problem(name, **expect)
        if why is not None:
            raise StoreError(f"{self.folder / name}: damaged part ({why}); delete it and run again to redo it")
        return self.folder / name

    def put(self, name: str, writer: Callable[[Path], Any], **meta: Any) -> None:
        """Write a part: `writer(tmp_path)`, list it with its size, checksum and `meta`, then
        rename it into place (so a part on disk is always listed). A file of that name the
        store does not list is not replaced (a StoreError naming it)."""
        target = self.folder / name
        if os.path.lexists(target) and name not in self._index and name not in self.redone:
            raise StoreError(f"{target}: a file etown did not list in {INDEX}; move it or choose another --out")
        with atomic_path(target) as tmp:
            writer(tmp)
            entry = {"name": name, "bytes": tmp.stat().st_size, "sha256": sha256_file(tmp), **_canonical(meta)}
            self._append(entry)
        self._index[name] = entry

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, sort_keys=True) + "\n"
        fd = os.open(self.folder / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        try:
            os.write(fd, line.encode("utf-8"))
            with contextlib.suppress(OSError):
                os.fsync(fd)
        finally:
            os.close(fd)


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 64 << 20:
            return None
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"store": None}  # a manifest etown cannot read: not a store of ours
    return saved if isinstance(saved, dict) else {"store": None}


def discard_store(folder: Path) -> None:
    """Remove a store: the parts it lists, its manifest, part list and temporaries. A file it
    does not list is a user's: then nothing is removed, and a StoreError names the file."""
    store = PartStore(folder, "", None)
    store._read_index()
    ours = {*store._index, MANIFEST, INDEX}
    foreign = sorted(
        p.name for p in folder.iterdir() if not _is_temporary(p.name) and (p.name not in ours or p.is_dir())
    )
    if foreign:
        raise StoreError(f"{folder / foreign[0]} was not written by etown; move it or choose another --out")
    for name in ours:
        path = folder / name
        if os.path.lexists(path):
            path.unlink()
    store._remove_temporaries()
    folder.rmdir()


def own_copy(folder: Path) -> None:
    """Give a store copied with hard links its own manifest and index (so that appending to
    one does not change the other)."""
    for name in (MANIFEST, INDEX):
        path = folder / name
        if path.is_file():
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)
