"""Files as untrusted input and output written atomically: reading regular files (or standard
input) with a size limit, YAML and JSON parsed within limits (:mod:`allocator.parsing`), and
writing through a temporary file and a rename."""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

from allocator.errors import InputError, Problem
from allocator.parsing import MAX_DEPTH, MAX_NODES, TOO_DEEP, check_depth, parse_json, parse_yaml

__all__ = [
    "MAX_DEPTH",
    "TOO_DEEP",
    "check_depth",
    "decoded",
    "load_document",
    "parse_document",
    "read_bytes",
    "read_text",
    "stdin_bytes",
    "write_atomic",
]


#: Largest YAML or JSON instance (a file or standard input): an instance of a thousand nations and
#: twenty thousand offers takes a few MiB.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Largest solution file read (allocator writes them; a plan of a large instance over a long
#: horizon holds many tours).
MAX_SOLUTION_BYTES = 64 * 1024 * 1024
#: Most values in a solution file (see :data:`allocator.parsing.MAX_NODES` for instances).
MAX_SOLUTION_NODES = 5 * MAX_NODES
_CHUNK = 1 << 20


def _larger(limit: int, what: str = "file") -> Problem:
    size = f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit:,} bytes"
    return Problem("", f"{what} larger than {size}")


def read_bytes(source: str | Path, limit: int = MAX_FILE_BYTES) -> tuple[bytes, str]:
    """(content, label) of a regular file, or of standard input for '-': at most `limit` bytes,
    whatever the file says its size is.  A device, a pipe (FIFO), a socket or a folder is
    refused (InputError), without being read."""
    if str(source) == "-":
        return stdin_bytes(limit), "<stdin>"
    label = str(source)
    try:  # not blocking on a FIFO, and checked once opened: what is read is what was checked
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(label, [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise InputError(label, [Problem("", "is a directory, not a file")]) from None
    except OSError as exc:
        raise InputError(label, [Problem("", exc.strerror or str(exc))]) from None
    kind = os.fstat(fd).st_mode
    if not stat.S_ISREG(kind):
        os.close(fd)
        if stat.S_ISDIR(kind):
            raise InputError(label, [Problem("", "is a directory, not a file")])
        raise InputError(label, [Problem("", f"is {_kind(kind)}, not a regular file")])
    with os.fdopen(fd, "rb") as stream:
        data = _read_at_most(stream, limit)
    if data is None:
        raise InputError(label, [_larger(limit)])
    return data, label


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _read_at_most(stream: Any, limit: int) -> bytes | None:
    """At most `limit` bytes of a binary stream, None when it holds more."""
    chunks = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def read_text(source: str | Path, limit: int = MAX_FILE_BYTES) -> tuple[str, str]:
    """(text, label) of a UTF-8 file, or of standard input for '-' (see :func:`read_bytes`)."""
    data, label = read_bytes(source, limit)
    return decoded(data, label), label


def stdin_bytes(limit: int = MAX_FILE_BYTES) -> bytes:
    """Standard input, at most `limit` bytes of it (a text-only stream is read as UTF-8)."""
    binary = getattr(sys.stdin, "buffer", None)
    if binary is not None:
        data = _read_at_most(binary, limit)
    else:
        text = sys.stdin.read(limit + 1).encode("utf-8")
        data = text if len(text) <= limit else None
    if data is None:
        raise InputError("<stdin>", [_larger(limit, "input")])
    return data


def decoded(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(label, [Problem("", f"not UTF-8 text ({exc.reason})")]) from None


def parse_document(text: str, label: str, max_nodes: int = MAX_NODES) -> Any:
    """Parse YAML or JSON (by extension; YAML otherwise, which also reads JSON), safely and within
    the limits of :mod:`allocator.parsing`: at most `max_nodes` values, nested at most
    MAX_DEPTH levels, no key twice in a mapping."""
    if label.lower().endswith(".json"):
        return parse_json(text, label, max_nodes)
    return parse_yaml(text, label, max_nodes)


def load_document(source: str | Path) -> tuple[Any, str]:
    """A parsed JSON or YAML document and its label (for solutions: larger limits than instances)."""
    if str(source).lower().endswith(".xlsx"):
        raise InputError(
            str(source),
            [Problem("", "a workbook holds an instance, not a solution (solve -o writes a JSON one)")],
        )
    text, label = read_text(source, MAX_SOLUTION_BYTES)
    return parse_document(text, label, MAX_SOLUTION_NODES), label


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write `text` (or bytes) to `path` through a temporary file in the same folder, then rename.

    Only a regular file is ever replaced: a symbolic link is followed (the file it names is
    replaced, the link kept); a character device or a named pipe (``/dev/null``, ``/dev/stdout``)
    is written to directly, never replaced; anything else (a folder, a block device, a socket) is
    refused with :class:`InputError`."""
    target = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        mode = target.stat().st_mode  # follows links
    except FileNotFoundError:
        mode = None
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        with os.fdopen(os.open(target, os.O_WRONLY), "wb") as stream:  # no rename, no temporary
            stream.write(data)
        return
    if mode is not None and not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise InputError(str(path), [Problem("", f"is {what}: name a file to write")])
    if target.is_symlink():  # the file the link names is replaced, the link kept
        target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL as mkstemp, but mode 0666 so the umask gives the file its usual mode (mkstemp: 0600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
