"""Files as untrusted input and output written atomically: size-limited reading (or standard
input), safe YAML and JSON parsing, and writing through a temporary file and a rename."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from allocator.errors import InputError, Problem


class SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans: only true/false, so that country codes such
    as NO (Norway), ON or Y stay strings."""


SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

#: Files larger than this are refused before parsing.
MAX_FILE_BYTES = 64 * 1024 * 1024


def read_text(source: str | Path) -> tuple[str, str]:
    """(text, label) of a file, or of standard input for '-'."""
    if str(source) == "-":
        return decoded(stdin_bytes(), "<stdin>"), "<stdin>"
    path = Path(source)
    label = str(source)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(label, [Problem("", f"file larger than {MAX_FILE_BYTES >> 20} MiB")])
        return path.read_text(encoding="utf-8"), label
    except FileNotFoundError:
        raise InputError(label, [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise InputError(label, [Problem("", "is a directory, not a file")]) from None
    except UnicodeDecodeError as exc:
        raise InputError(label, [Problem("", f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise InputError(label, [Problem("", exc.strerror or str(exc))]) from None


def stdin_bytes() -> bytes:
    """Standard input, at most MAX_FILE_BYTES of it (a text-only stream is read as UTF-8)."""
    binary = getattr(sys.stdin, "buffer", None)
    data = binary.read(MAX_FILE_BYTES + 1) if binary else sys.stdin.read(MAX_FILE_BYTES + 1).encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise InputError("<stdin>", [Problem("", f"input larger than {MAX_FILE_BYTES >> 20} MiB")])
    return data


def decoded(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(label, [Problem("", f"not UTF-8 text ({exc.reason})")]) from None


#: How deep a document may nest (an instance needs 5 levels): deeper is refused before any use.
MAX_DEPTH = 32
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def check_depth(document: Any, label: str) -> Any:
    """The document, or :class:`InputError` when it nests deeper than :data:`MAX_DEPTH`."""
    todo = [(document, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InputError(label, [Problem("", TOO_DEEP)])
            todo.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return document


def parse_document(text: str, label: str) -> Any:
    """Parse YAML or JSON (by extension; YAML otherwise, which also reads JSON), safely: at most
    MAX_FILE_BYTES, nested at most MAX_DEPTH levels."""
    try:
        return check_depth(_parse(text, label), label)
    except RecursionError:
        raise InputError(label, [Problem("", TOO_DEEP)]) from None


def _parse(text: str, label: str) -> Any:
    if len(text) > MAX_FILE_BYTES:
        raise InputError(label, [Problem("", f"input larger than {MAX_FILE_BYTES >> 20} MiB")])
    if label.lower().endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                label,
                [Problem("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")],
            ) from None
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError(label, [Problem("", f"invalid YAML{where}: {reason}")]) from None


def load_document(source: str | Path) -> tuple[Any, str]:
    """A parsed JSON or YAML document and its label (for solutions)."""
    if str(source).lower().endswith(".xlsx"):
        raise InputError(
            str(source),
            [Problem("", "a workbook holds an instance, not a solution (solve -o writes a JSON one)")],
        )
    text, label = read_text(source)
    return parse_document(text, label), label


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
