"""Files in and out: atomic writes (a killed process never leaves a half-written result file)
and bounded, strict reading of users' YAML files.

Reading a user's file is bounded whatever the file holds: only regular files are read (a
FIFO, a device or a directory is refused before it is opened), at most MAX_FILE_BYTES, and the
YAML may expand (aliases included) to at most MAX_NODES values nested at most MAX_DEPTH deep.
Duplicate keys, recursive aliases, more than one document, numbers that are not finite,
beyond MAX_NUMBER or non-zero below MIN_NUMBER in magnitude are errors. Every problem raises
the caller's error class with one line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import reprlib
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1 << 20
"""Largest user YAML file read (1 MiB; the shipped scenarios are under 2 KB)."""
MAX_NODES = 100_000
"""Most values (scalars, lists and mappings) a user YAML file may hold once aliases are expanded."""
MAX_DEPTH = 32
"""Deepest nesting of lists and mappings in a user YAML file."""
MAX_NUMBER = 1e15
"""Largest magnitude of any number in a user YAML file (1e15 yuan is ten times China's GDP)."""
MIN_NUMBER = 1e-12
"""Smallest magnitude of a non-zero number (tinier ones underflow to 0 in the model's arithmetic)."""
MAX_ECHO = 60
"""Most characters of a user's value echoed in an error message."""

_echo_repr = reprlib.Repr(maxlevel=2, maxdict=3, maxlist=3, maxtuple=3, maxset=3, maxstring=MAX_ECHO, maxother=MAX_ECHO)
_echo_repr.maxlong = MAX_ECHO


def echo(value: Any) -> str:
    """A short repr of a user's value for an error message (never more than ~2 x MAX_ECHO chars)."""
    text = _echo_repr.repr(value)
    return text if len(text) <= 2 * MAX_ECHO else text[: 2 * MAX_ECHO - 3] + "..."


# ---------------------------------------------------------------------- writing
@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600: a result file is readable like any other
    finally:
        os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def current_umask() -> int:
    """The process's file-creation mask: from /proc on Linux (no change, thread-safe), else
    read by setting it and putting it back."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, writer: Callable[[Path], Any]) -> None:
    """Call `writer(tmp_path)` and move the result to `path` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_json(path: str | Path, data: Any, digits: int | None = None) -> None:
    """Write JSON (UTF-8, indented) atomically; with `digits`, floats rounded to that many
    significant digits (`rounded`). A number that is not finite (NaN, infinite) is written as
    null: the file is always standard JSON, which every reader accepts."""
    if digits is not None:
        data = rounded(data, digits)
    text = json.dumps(finite(data), indent=2, ensure_ascii=False, allow_nan=False, default=_plain)
    write_atomic(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def finite(data: Any) -> Any:
    """A copy of nested dicts/lists/tuples with every NaN or infinite float (numpy's too) as None."""
    if isinstance(data, float) or (hasattr(data, "dtype") and getattr(data, "ndim", None) == 0):
        value = data.item() if hasattr(data, "item") else data
        return value if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def _plain(value: Any) -> Any:
    """What json cannot write itself: numpy arrays as lists."""
    if hasattr(value, "tolist"):
        return finite(value.tolist())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


RESULT_DIGITS = 5
"""Significant digits of the figures in result JSON files: Monte Carlo error is far larger than
1 in 10^5, so more digits only look precise (0.38333 not 0.38333333333333336)."""


def round_sig(x: float, digits: int = RESULT_DIGITS) -> float:
    """`x` rounded to `digits` significant digits (0, inf and NaN unchanged)."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - math.floor(math.log10(abs(x))))


def rounded(data: Any, digits: int = RESULT_DIGITS) -> Any:
    """A copy of nested dicts/lists/tuples with every float rounded to `digits` significant
    digits (ints, strings and booleans unchanged)."""
    if isinstance(data, float):
        return round_sig(data, digits)
    if isinstance(data, dict):
        return {k: rounded(v, digits) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [rounded(v, digits) for v in data]
    if hasattr(data, "item") and getattr(data, "ndim", None) == 0:  # a numpy scalar
        return rounded(data.item(), digits)
    return data


# ---------------------------------------------------------------------- reading users' files
_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS.items() if test(mode)), "not a regular file")


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_user_file(path: Path, error: type[Exception], limit: int = MAX_FILE_BYTES) -> tuple[bytes, tuple[int, int]]:
    """The bytes of a regular file (at most `limit`) and its identity (device, inode).

    Refuses anything but a regular file before opening it (a FIFO or a device would block or
    never end), symlink loops, and files larger than `limit`; raises `error` with one line."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as exc:  # ELOOP (symlink loop), EACCES, ENAMETOOLONG, ENOTDIR...
        raise error(f"{path}: cannot read: {_os_reason(exc)}") from None
    except ValueError as exc:  # an embedded NUL byte
        raise error(f"{path!r}: cannot read: {exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: not a regular file ({_kind(st.st_mode)})")
    if st.st_size > limit:
        raise error(f"{path}: file too large ({st.st_size:,} bytes; the limit is {limit:,})")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise error(f"{path}: cannot read: {_os_reason(exc)}") from None
    try:
        st = os.fstat(fd)  # the file opened may not be the one stat()ed (replaced in between)
        if not stat.S_ISREG(st.st_mode):
            raise error(f"{path}: not a regular file ({_kind(st.st_mode)})")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise error(f"{path}: cannot read: {_os_reason(exc)}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise error(f"{path}: file too large (more than {limit:,} bytes)")
    return data, (st.st_dev, st.st_ino)


def _loader_base() -> type:
    from .data import _Loader  # SafeLoader (libyaml's parser when available) reading 1e9 as a float

    return _Loader


class _YamlProblem(Exception):
    """A problem found while reading YAML: message without the file name, and the line (1-based)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _check_events(loader_cls: type, text: str) -> None:
    """Walk the YAML event stream (no recursion, no expansion) and enforce the limits on
    documents, nesting depth and the number of values once aliases are expanded."""
    from yaml import events as ev

    total = 0
    docs = 0
    stack: list[tuple[str | None, int]] = []  # open collections: (anchor, total when opened)
    sizes: dict[str, int] = {}  # anchor -> expanded number of values
    open_anchors: set[str] = set()
    for event in yaml.parse(text, Loader=loader_cls):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, ev.DocumentStartEvent):
            docs += 1
            if docs > 1:
                raise _YamlProblem("more than one YAML document (a second '---'); give one", line)
        elif isinstance(event, ev.CollectionStartEvent):
            total += 1
            stack.append((event.anchor, total))
            if event.anchor:
                open_anchors.add(event.anchor)
            if len(stack) > MAX_DEPTH:
                raise _YamlProblem(f"nested more than {MAX_DEPTH} levels deep (the limit)", line)
        elif isinstance(event, ev.CollectionEndEvent):
            anchor, opened = stack.pop()
            if anchor:
                sizes[anchor] = total - opened + 1
                open_anchors.discard(anchor)
        elif isinstance(event, ev.ScalarEvent):
            total += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, ev.AliasEvent):
            if event.anchor in open_anchors:
                raise _YamlProblem(f"alias *{event.anchor} refers to a value that contains it (recursive)", line)
            total += sizes.get(event.anchor, 1)
        if total > MAX_NODES:
            raise _YamlProblem(
                f"more than {MAX_NODES:,} values once aliases are expanded (the limit); "
                "is an alias (*name) repeated many times?",
                line,
            )


def _key_text(node: yaml.Node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


def _make_loader(base: type) -> type:
    class UserLoader(base):  # type: ignore[misc, valid-type]
        """Rejects duplicate keys and unhashable keys; remembers the line of every key."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # type: ignore[override]
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _YamlProblem(
                        "a mapping key must be a plain value, not a list or mapping", key_node.start_mark.line + 1
                    ) from None
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _YamlProblem(
                        f"duplicate key {echo(key)} (first at line {seen[key]}); give each key once", line
                    )
                seen[key] = line
            return super().construct_mapping(node, deep)

        def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)
            except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits, a date like 2020-13-45
                if isinstance(exc, _YamlProblem):
                    raise
                reason = str(exc).split(";")[0]
                raise _YamlProblem(f"cannot read {echo(node.value)}: {reason}", node.start_mark.line + 1) from None

    return UserLoader


_USER_LOADER: type | None = None


def _user_loader() -> type:
    global _USER_LOADER
    if _USER_LOADER is None:
        _USER_LOADER = _make_loader(_loader_base())
    return _USER_LOADER


def _key_lines(node: yaml.Node, prefix: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    """Line (1-based) of every key and list item, by path (keys as written), merge keys
    (<<) followed; bounded by the event check (depth and expanded size)."""
    if isinstance(node, yaml.MappingNode):
        explicit = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for m in merged:
                    _key_lines(m, prefix, out)
            else:
                explicit.append((key_node, value_node))
        for key_node, value_node in explicit:  # explicit keys override merged ones
            path = (*prefix, _key_text(key_node))
            out[path] = key_node.start_mark.line + 1
            _key_lines(value_node, path, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, str(i))
            out[path] = item.start_mark.line + 1
            _key_lines(item, path, out)


def _check_numbers(value: Any, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    """Every number finite and within +-MAX_NUMBER (iterative walk)."""
    todo: list[tuple[Any, tuple[str, ...]]] = [(value, path)]
    while todo:
        val, where = todo.pop()
        if isinstance(val, dict):
            todo.extend((v, (*where, str(k))) for k, v in val.items())
        elif isinstance(val, list):
            todo.extend((v, (*where, str(i))) for i, v in enumerate(val))
        elif isinstance(val, (int, float)) and not isinstance(val, bool):
            problem = None
            if isinstance(val, float) and not math.isfinite(val):
                problem = f"must be a finite number, got {val!r}"
            elif abs(val) > MAX_NUMBER:
                problem = f"{echo(val)} is beyond the limit of +-{MAX_NUMBER:g} for any number"
            elif val and abs(val) < MIN_NUMBER:
                problem = f"{echo(val)} is too close to 0: give 0 or a magnitude of at least {MIN_NUMBER:g}"
            if problem:
                key = ".".join(where) or "(top level)"
                raise _YamlProblem(f"{key}: {problem}", _line_of(lines, where))


def _line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """Line of `path` or of its nearest ancestor that has one."""
    for n in range(len(path), 0, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return None


@dataclass(frozen=True)
class YamlFile:
    """A user's YAML mapping as read: data, text, the line of each key path, and the file's identity."""

    path: Path
    data: dict[str, Any]
    text: str
    lines: dict[tuple[str, ...], int]
    identity: tuple[int, int]


def read_yaml_file(path: Path, error: type[Exception], expected: str) -> YamlFile:
    """Read a user's YAML file that must hold a mapping, within the limits of this module.

    Any problem (missing, not a regular file, too large, not YAML, limits, duplicate keys, not
    a mapping, non-finite numbers) raises `error` with one line naming the file (and the line);
    `expected` lists the top-level keys for that message."""
    raw, identity = read_user_file(path, error)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte {exc.start})") from None
    loader_cls = _user_loader()
    try:
        _check_events(loader_cls, text)
        loader = loader_cls(text)
        try:
            node = loader.get_single_node()
            lines: dict[tuple[str, ...], int] = {}
            if node is not None:
                _key_lines(node, (), lines)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        if not isinstance(data, dict):
            raise error(f"{path}: top level must be a mapping ({expected})")
        _check_numbers(data, (), lines)
    except error:
        raise
    except _YamlProblem as exc:
        where = f"line {exc.line}: " if exc.line else ""
        raise error(f"{path}: {where}{exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}: not valid YAML at {where}: {' '.join(str(problem).split())}") from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. an integer of 5,000 digits, a bad date
        raise error(f"{path}: cannot read a value: {echo(' '.join(str(exc).split()))}") from None
    return YamlFile(path, data, text, lines, identity)


def read_yaml_mapping(path: Path, error: type[Exception], expected: str) -> tuple[dict[str, Any], str]:
    """Read a user's YAML file that must hold a mapping: returns (mapping, text).

    See read_yaml_file for the checks; any problem raises `error` with one line naming the file."""
    doc = read_yaml_file(path, error, expected)
    return doc.data, doc.text
