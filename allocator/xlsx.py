"""Excel workbooks from untrusted hands: inspected before they are read, written without formulas.

A workbook (.xlsx) is a zip archive of XML parts.  Before openpyxl reads one, :func:`inspect_workbook`
checks the archive against the limits below, parses every XML part with defusedxml (no document
type declarations, hence no entity expansion and no external references) and counts the rows of
every sheet, with bounded memory.  Anything hostile or broken is an :class:`InputError` naming
the file and the part, never an exception from deep inside a parser.

Writing, :func:`set_cell` stores text as text: a name such as ``=HYPERLINK(...)`` becomes a string
cell, never a live formula, and it reads back unchanged.

Limits (refused with a message, exit code 2):

- the file: at most :data:`MAX_WORKBOOK_BYTES` bytes;
- the archive: at most :data:`MAX_PARTS` parts, each at most :data:`MAX_PART_BYTES` bytes
  unpacked, all together at most :data:`MAX_UNPACKED_BYTES` (a zip's declared sizes bound what
  Python unpacks, so a lying header cannot smuggle more);
- a sheet: at most :data:`MAX_ROWS` rows (counted, and the last row number, before reading).
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import defusedxml
from defusedxml.ElementTree import iterparse

from allocator.errors import InputError, Problem

#: Largest workbook file read.
MAX_WORKBOOK_BYTES = 32 * 1024 * 1024
#: Most parts (files) in a workbook's archive.
MAX_PARTS = 1000
#: Largest part, unpacked.
MAX_PART_BYTES = 64 * 1024 * 1024
#: Largest sum of the parts, unpacked.
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
#: Most rows in one sheet (headers included).
MAX_ROWS = 20_000

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
#: First characters that make a spreadsheet program read typed text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@")


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _fail(label: str, place: str, message: str) -> InputError:
    return InputError(label, [Problem(place, message)])


def inspect_workbook(path: str | Path, label: str | None = None) -> dict[str, int]:
    """Check a workbook file before it is read: the number of rows of each sheet, by sheet name.

    Raises :class:`InputError` for a file that is missing, too large, not a workbook, holds a part
    beyond the limits, unsafe or malformed XML, or a sheet with too many rows.
    """
    label = label or str(path)
    try:
        size = Path(path).stat().st_size
    except FileNotFoundError:
        raise _fail(label, "", "no such file") from None
    except OSError as exc:
        raise _fail(label, "", exc.strerror or str(exc)) from None
    if Path(path).is_dir():
        raise _fail(label, "", "is a directory, not a file")
    if size > MAX_WORKBOOK_BYTES:
        raise _fail(label, "", f"workbook larger than {_mib(MAX_WORKBOOK_BYTES)} ({_mib(size)})")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(label, "", f"not an Excel workbook (.xlsx): {exc}") from None
    with archive:
        _check_sizes(archive, label)
        sheets = _sheet_parts(archive, label)
        names = {part: name for name, part in sheets.items()}
        rows: dict[str, int] = {}
        for info in archive.infolist():
            if info.filename.endswith((".xml", ".rels")):
                counted = _scan_part(archive, info.filename, names.get(info.filename), label)
                if info.filename in names:
                    rows[names[info.filename]] = counted
    return rows


def _check_sizes(archive: zipfile.ZipFile, label: str) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise _fail(label, "", f"the workbook holds {len(infos):,} parts (limit {MAX_PARTS:,})")
    total = 0
    for info in infos:
        if info.file_size > MAX_PART_BYTES:
            raise _fail(
                label,
                info.filename,
                f"part unpacks to {_mib(info.file_size)} (limit {_mib(MAX_PART_BYTES)} per part)",
            )
        total += info.file_size
    if total > MAX_UNPACKED_BYTES:
        raise _fail(label, "", f"the workbook unpacks to {_mib(total)} (limit {_mib(MAX_UNPACKED_BYTES)})")


def _relationships(archive: zipfile.ZipFile, part: str, label: str) -> list[tuple[str, str, str]]:
    """(id, type, target part) of each internal relationship of `part` ("" for the package)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in archive.namelist():
        return []
    out = []
    for element in _elements(archive, rels, label, None):
        if element.tag == f"{_REL}Relationship" and element.get("TargetMode") != "External":
            target = element.get("Target", "")
            resolved = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            out.append((element.get("Id", ""), element.get("Type", ""), posixpath.normpath(resolved)))
    return out


def _sheet_parts(archive: zipfile.ZipFile, label: str) -> dict[str, str]:
    """Sheet name -> its part, from the package's relationships and the workbook part."""
    books = [t for _, kind, t in _relationships(archive, "", label) if kind.endswith("/officeDocument")]
    book = books[0] if books else "xl/workbook.xml"
    if book not in archive.namelist():
        raise _fail(label, "", "not an Excel workbook (.xlsx): no workbook part")
    targets = {rel_id: target for rel_id, _, target in _relationships(archive, book, label)}
    sheets = {}
    for element in _elements(archive, book, label, None):
        if element.tag == f"{_MAIN}sheet":
            target = targets.get(element.get(f"{_DOC_REL}id", ""))
            if target is not None:
                sheets[element.get("name", "")] = target
    return sheets


def _where(part: str, sheet: str | None) -> str:
    return f"{part} (sheet '{sheet}')" if sheet else part


def _elements(archive: zipfile.ZipFile, part: str, label: str, sheet: str | None) -> Iterator[Any]:
    """Every element of an XML part as it ends, parsed safely and cleared after use."""
    try:
        with archive.open(part) as stream:
            yield from _parse(stream)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise _fail(
            label,
            _where(part, sheet),
            "unsafe XML: a document type declaration or entity (refused: it could expand without bound)",
        ) from None
    except Exception as exc:  # expat's ParseError, zlib and CRC errors of a damaged archive
        raise _fail(label, _where(part, sheet), f"unreadable part: {exc}") from None


def _parse(stream: IO[bytes]) -> Iterator[Any]:
    root = None
    for event, element in iterparse(stream, events=("start", "end"), forbid_dtd=True):
        if event == "start":
            if root is None:
                root = element
            continue
        yield element
        if element is not root:
            element.clear()
            if root is not None and len(root) > 64:
                del root[:]


def _scan_part(archive: zipfile.ZipFile, part: str, sheet: str | None, label: str) -> int:
    """Parse one XML part; for a sheet, count its rows and refuse more than MAX_ROWS."""
    rows = 0
    for element in _elements(archive, part, label, sheet):
        if sheet is None or element.tag != f"{_MAIN}row":
            continue
        rows += 1
        number = element.get("r")
        last = int(number) if number and number.isdigit() else rows
        if rows > MAX_ROWS or last > MAX_ROWS:
            raise _fail(
                label,
                _where(part, sheet),
                f"more than {MAX_ROWS:,} rows (row {max(rows, last):,}); split the data or remove empty rows",
            )
    return rows


# writing -----------------------------------------------------------------------------------------
def set_cell(sheet: Any, row: int, column: int, value: Any) -> Any:
    """Write `value` into a cell; text always as a string cell, never as a formula."""
    cell = sheet.cell(row=row, column=column)
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        cell.value = None
        return cell
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True  # typed over in Excel, it stays text
    return cell


def append_rows(sheet: Any, rows: Any, first_row: int | None = None) -> None:
    """Append rows of values below the sheet's last row (or from `first_row`), text as text."""
    start = sheet.max_row + 1 if first_row is None else first_row
    if first_row is None and sheet.max_row == 1 and sheet.cell(1, 1).value is None:
        start = 1
    for offset, values in enumerate(rows):
        for column, value in enumerate(values, start=1):
            set_cell(sheet, start + offset, column, value)
