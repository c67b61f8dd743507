"""Where a command will write, checked before it works: an output that cannot be written is bad
input (exit 2, the place named, nothing computed), never a failure after a long solve.

A file (`-o`, `bench --out`) may be new or a regular file (replaced atomically), a character
device or a named pipe (``/dev/null``, ``/dev/stdout``: written to directly); its folder must
exist or be creatable, and be writable; it must not be one of the command's inputs. A folder
(`--report`, `whatif -o`) must be a folder or creatable, writable, and must not hold an input
under a name the command writes.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from allocator.errors import InputError, Problem


def output_file(path: str, what: str, inputs: Iterable[tuple[str | None, str]] = ()) -> None:
    """Refuse the file `path` that will hold the `what` (a solution, an explanation, ...):
    :class:`InputError` when it is a folder or a node that is neither a file, a character device
    nor a named pipe, when its folder cannot be created or written, or when it is one of
    `inputs` (pairs of a path, or None, and what it is: "instance", "baseline")."""
    target = Path(path)
    mode = _mode(target, path)
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(path, [Problem("", f"is a folder; name a file for the {what}")])
    if mode is not None and (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        return  # /dev/null, /dev/stdout, a pipe: written to directly
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(path, [Problem("", f"is not a regular file; name a file for the {what}")])
    for source, kind in inputs:
        if source is not None and source != "-" and _same(target, Path(source)):
            raise InputError(
                path, [Problem("", f"is the {kind} file itself; name another file for the {what}")]
            )
    real = Path(os.path.realpath(target))  # a link's file is replaced, in the link's target folder
    _writable_folder(real.parent, path)


def output_folder(
    path: str,
    what: str,
    inputs: Iterable[tuple[str | None, str]] = (),
    writes: Callable[[str], bool] = lambda _name: False,
) -> None:
    """Refuse the folder `path` that will hold the `what` (a report, a what-if sweep):
    :class:`InputError` when it is not a folder, cannot be created or written, or holds one of
    `inputs` (pairs of a path, or None, and what it is) under a name for which `writes` (given
    the path inside the folder, with ``/``) is true."""
    folder = Path(path)
    mode = _mode(folder, path)
    if mode is not None and not stat.S_ISDIR(mode):
        raise InputError(path, [Problem("", f"exists and is not a folder; name a folder for the {what}")])
    _writable_folder(folder, path)
    if mode is None:
        return
    real = Path(os.path.realpath(folder))
    for source, kind in inputs:
        if source is None or source == "-":
            continue
        inside = Path(os.path.realpath(source))
        if inside.is_relative_to(real) and writes(inside.relative_to(real).as_posix()):
            name = inside.relative_to(real).as_posix()
            raise InputError(
                path, [Problem("", f"the {what} would replace {name}, the {kind} file; name another folder")]
            )


def _mode(target: Path, label: str) -> int | None:
    """The mode of what `target` names (links followed), None when nothing is there."""
    try:
        return target.stat().st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise InputError(label, [Problem("", "cannot be created: a part of its folder is a file")]) from None
    except OSError as exc:
        raise InputError(label, [Problem("", f"cannot be written: {exc.strerror or exc}")]) from None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _writable_folder(folder: Path, label: str) -> None:
    """:class:`InputError` naming `label` unless `folder` exists and takes a new file, or can be
    created in a folder that does: a probe file is created and removed there (the system's
    answer, whatever the permissions say to root)."""
    existing = Path(os.path.abspath(folder))
    while not existing.exists():
        if existing.is_symlink():  # a dangling link in the way
            raise InputError(label, [Problem("", f"cannot be created: {existing} is a broken link")])
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(label, [Problem("", f"cannot be created: {existing} is a file, not a folder")])
    probe = existing / f".allocator-probe-{secrets.token_hex(6)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        where = (
            "its folder"
            if existing == Path(os.path.abspath(folder))
            else f"{existing}, where its folder would be created,"
        )
        raise InputError(
            label, [Problem("", f"cannot be written: {where} refuses new files ({exc.strerror or exc})")]
        ) from None
    probe.unlink(missing_ok=True)


def json_target(output: str, what: str, inputs: Iterable[tuple[str | None, str]]) -> None:
    """A JSON output file (the solution, an explanation): writable (:func:`output_file`), not one
    of `inputs`, not named as an instance, not a file that holds an instance."""
    output_file(output, what, inputs)
    target = Path(output)
    if target.suffix.lower() in (".xlsx", ".yaml", ".yml"):
        raise InputError(output, [Problem("", f"the {what} is JSON: name a .json file")])
    if target.is_file() and holds_an_instance(target):
        raise InputError(output, [Problem("", f"holds an instance; name another file for the {what}")])


def holds_an_instance(path: Path) -> bool:
    """True for a JSON file whose top level has `nations` (an instance, not a plan)."""
    try:
        with path.open(encoding="utf-8") as stream:
            document = json.loads(stream.read(8 * 2**20))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "nations" in document
