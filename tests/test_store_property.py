"""Property-based tests of the part store (model/store.py, issue 19): whatever happens to a
store's files between two commands (bytes flipped, files truncated, emptied, deleted, swapped,
replaced by links, lines of the part list torn or appended, files of the user's added), a
reopened store hands back only parts that hold exactly what was written, says which ones it
computes again, and never deletes a file it did not write."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.store import INDEX, MANIFEST, PartStore, StoreError, discard_store

KIND, FINGERPRINT = "test", {"seed": 7, "settings": "a"}
DAMAGES = ("flip", "truncate", "empty", "delete", "link", "swap", "relabel", "unlisted")

parts_strategy = st.dictionaries(
    st.text("abcdef0123456789", min_size=1, max_size=8).map(lambda s: f"{s}.npy"),
    st.binary(min_size=1, max_size=64),
    min_size=1,
    max_size=8,
)
damage_strategy = st.lists(st.tuples(st.sampled_from(DAMAGES), st.integers(0, 7), st.integers(0, 63)), max_size=6)


def _write(folder: Path, parts: dict[str, bytes]) -> None:
    store = PartStore.open(folder, KIND, FINGERPRINT)
    for i, (name, data) in enumerate(parts.items()):
        store.put(name, lambda p, d=data: p.write_bytes(d), runs=[10 * i, 10 * i + 10], seed=7)


def _damage(folder: Path, parts: dict[str, bytes], damages: list[tuple[str, int, int]], other: Path) -> None:
    names = list(parts)
    for what, which, at in damages:
        name = names[which % len(names)]
        path = folder / name
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        if not data:  # emptied by an earlier damage
            continue
        if what == "flip":
            path.write_bytes(data[: at % len(data)] + bytes([data[at % len(data)] ^ 0x5A]) + data[at % len(data) + 1 :])
        elif what == "truncate":
            path.write_bytes(data[: at % len(data)])
        elif what == "empty":
            path.write_bytes(b"")
        elif what == "delete":
            path.unlink()
        elif what == "link":
            (other / name).write_bytes(data)
            path.unlink()
            path.symlink_to(other / name)
        elif what == "swap":
            partner = folder / names[(which + 1) % len(names)]
            if partner.is_file() and not partner.is_symlink():
                path.write_bytes(partner.read_bytes())
                partner.write_bytes(data)
        elif what == "relabel":  # its line now says it holds other runs (a part of other work)
            lines = [json.loads(line) for line in (folder / INDEX).read_text().splitlines() if line.strip()]
            for entry in lines:
                if entry.get("name") == name:
                    entry["runs"] = [entry["runs"][0] + 1000, entry["runs"][1] + 1000]
            (folder / INDEX).write_text("".join(json.dumps(e) + "\n" for e in lines))
        elif what == "unlisted":  # a user's file next to the parts
            (folder / f"user{at}.txt").write_bytes(data)


@settings(max_examples=60, deadline=None)
@given(parts=parts_strategy, damages=damage_strategy, torn=st.binary(max_size=40))
def test_a_reopened_store_hands_back_only_what_was_written(parts, damages, torn) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder, other = Path(tmp) / "parts", Path(tmp) / "other"
        other.mkdir()
        _write(folder, parts)
        _damage(folder, parts, damages, other)
        with open(folder / INDEX, "ab") as f:  # a line torn by a kill, or garbage
            f.write(torn)
        store = PartStore.open(folder, KIND, FINGERPRINT)
        for i, (name, data) in enumerate(parts.items()):
            path = folder / name
            intact = (
                path.is_file() and not path.is_symlink() and path.read_bytes() == data
                and "relabel" not in {w for w, which, _ in damages if list(parts)[which % len(parts)] == name}
            )  # fmt: skip
            got = store.get(name, runs=[10 * i, 10 * i + 10], seed=7)
            if got is None:
                assert not intact, f"{name}: an intact part was refused"
                assert name in store.redone  # and said so
            else:
                assert got.read_bytes() == data, f"{name}: a damaged part was handed back"
        assert all(name in parts for name in store.redone)
        # a damaged part is computed again: put() replaces it, and it then reads back whole
        for name in store.redone:
            store.put(name, lambda p, d=parts[name]: p.write_bytes(d), runs=[0, 1], seed=7)
            assert store.get(name, runs=[0, 1], seed=7).read_bytes() == parts[name]


@settings(max_examples=40, deadline=None)
@given(parts=parts_strategy, damages=damage_strategy)
def test_discarding_a_store_never_deletes_a_file_it_did_not_write(parts, damages) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder, other = Path(tmp) / "parts", Path(tmp) / "other"
        other.mkdir()
        _write(folder, parts)
        _damage(folder, parts, damages, other)
        foreign = sorted(p.name for p in folder.iterdir() if p.name.startswith("user"))
        before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()}
        if foreign:
            with pytest.raises(StoreError, match="was not written by etown"):
                discard_store(folder)
            assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.is_symlink()} == before
            with pytest.raises(StoreError):  # neither by a fresh start
                PartStore.open(folder, KIND, {"seed": 8}, fresh=True)
            assert sorted(p.name for p in folder.iterdir() if p.name.startswith("user")) == foreign
        else:
            discard_store(folder)
            assert not folder.exists()
        assert sorted(os.listdir(other)) == sorted(p.name for p in other.iterdir())  # the links' targets stay


@settings(max_examples=30, deadline=None)
@given(parts=parts_strategy, seed=st.integers(0, 2**63 - 1).filter(lambda s: s != 7))
def test_a_store_of_other_work_is_refused_and_kept(parts, seed) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "parts"
        _write(folder, parts)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        with pytest.raises(StoreError, match="seed differ"):
            PartStore.open(folder, KIND, {**FINGERPRINT, "seed": seed})
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
        fresh = PartStore.open(folder, KIND, {**FINGERPRINT, "seed": seed}, fresh=True)
        assert fresh.entries() == {} and sorted(p.name for p in folder.iterdir()) == sorted([INDEX, MANIFEST])
