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
A part whose size or checksum no longer matches its line is refused with a one-line error
naming it. A part written but not yet listed (the process was killed in between) is complete,
since parts are written atomically (a temporary file renamed): it is listed when next seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .io import write_atomic, write_json

MANIFEST = "manifest.json"
INDEX = "parts.jsonl"
FORMAT = 1
"""Store layout version (in the manifest)."""


class StoreError(RuntimeError):
    """A store that cannot be used as asked (one line for the user)."""


def _canonical(data: Any) -> Any:
    """JSON round trip: tuples become lists, keys strings (what the manifest holds)."""
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _differences(old: Any, new: Any) -> list[str]:
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return ["everything"]
    keys = sorted(set(old) | set(new))
    return [k for k in keys if old.get(k) != new.get(k)]


class PartStore:
    """A folder of finished parts (see the module docstring). Use `PartStore.open`."""

    def __init__(self, folder: Path, kind: str, fingerprint: Any) -> None:
        self.folder = Path(folder)
        self.kind = kind
        self.fingerprint = _canonical(fingerprint)
        self._index: dict[str, dict[str, Any]] = {}

    # ---- opening: the manifest rule
    @classmethod
    def open(cls, folder: Path, kind: str, fingerprint: Any, *, fresh: bool = False, hint: str = "") -> PartStore:
        """The store in `folder` for this work: started, reused, or (fresh) started again; a
        folder holding other work is a StoreError (`hint`: what the user can do about it)."""
        store = cls(folder, kind, fingerprint)
        manifest = store.folder / MANIFEST
        expected = {"store": "etown parts", "format": FORMAT, "kind": kind, "fingerprint": store.fingerprint}
        if manifest.is_file():
            try:
                saved = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                saved = None
            if saved == expected and not fresh:
                store._read_index()
                store._remove_temporaries()
                return store
            if not fresh:
                if not (isinstance(saved, dict) and saved.get("store") == expected["store"]):
                    why = "were written by an older etown (no part list to check them against)"
                elif saved.get("kind") != kind:
                    why = f"belong to a different kind of work ({saved.get('kind')})"
                else:
                    what = ", ".join(_differences(saved.get("fingerprint"), store.fingerprint))
                    why = f"belong to a different {kind} ({what} differ)"
                raise StoreError(f"{store.folder}: the saved parts {why}" + (f"; {hint}" if hint else ""))
            shutil.rmtree(store.folder)
        elif store.folder.exists() and any(store.folder.iterdir()):
            raise StoreError(
                f"{store.folder} holds files etown did not write (no {MANIFEST}); move them or choose another --out"
            )
        store.folder.mkdir(parents=True, exist_ok=True)
        write_json(manifest, expected)
        (store.folder / INDEX).touch()
        return store

    @classmethod
    def existing(cls, folder: Path, kind: str, fingerprint: Any) -> PartStore | None:
        """The store in `folder` if it holds this work (read only: nothing is created); else None."""
        store = cls(folder, kind, fingerprint)
        try:
            saved = json.loads((store.folder / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not (
            isinstance(saved, dict) and saved.get("kind") == kind and saved.get("fingerprint") == store.fingerprint
        ):
            return None
        store._read_index()
        return store

    def _read_index(self) -> None:
        path = self.folder / INDEX
        if not path.is_file():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                self._index[str(entry["name"])] = entry
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill: that part is simply done again

    def _remove_temporaries(self) -> None:
        for tmp in self.folder.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)

    # ---- parts
    def path(self, name: str) -> Path:
        return self.folder / name

    def has(self, name: str) -> bool:
        """The part is finished: its file is there (listed, or written just before a kill and
        listed now)."""
        if not (self.folder / name).is_file():
            return False
        if name not in self._index:
            self._list(name, {"listed": "after a restart"})
        return True

    def entries(self) -> dict[str, dict[str, Any]]:
        """name -> its line (bytes, sha256, and what the part holds)."""
        return dict(self._index)

    def verify(self, name: str) -> Path:
        """The part's path, after checking its size and checksum against its line (a one-line
        StoreError naming the part otherwise)."""
        entry, path = self._index[name], self.folder / name
        size = path.stat().st_size
        if size != entry.get("bytes") or _sha256(path) != entry.get("sha256"):
            raise StoreError(
                f"{path}: damaged part (size or checksum differs from {INDEX}); delete it and run again to redo it"
            )
        return path

    def put(self, name: str, writer: Callable[[Path], Any], **meta: Any) -> None:
        """Write a part atomically (`writer(tmp_path)`), then list it with its size and checksum."""
        write_atomic(self.folder / name, writer)
        self._list(name, meta)

    def _list(self, name: str, meta: dict[str, Any]) -> None:
        path = self.folder / name
        entry = {"name": name, "bytes": path.stat().st_size, "sha256": _sha256(path), **_canonical(meta)}
        line = json.dumps(entry, sort_keys=True) + "\n"
        fd = os.open(self.folder / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line.encode("utf-8"))
            with contextlib.suppress(OSError):
                os.fsync(fd)
        finally:
            os.close(fd)
        self._index[name] = entry


def own_copy(folder: Path) -> None:
    """Give a store copied with hard links its own manifest and index (so that appending to
    one does not change the other)."""
    for name in (MANIFEST, INDEX):
        path = folder / name
        if path.is_file():
            data = path.read_bytes()
            path.unlink()
            path.write_bytes(data)
