"""Excel workbooks from untrusted hands: inspected before they are read, written without formulas.

A workbook (.xlsx) is a zip archive of parts, mostly XML.  Before openpyxl reads one,
:func:`inspect_workbook` checks the archive against the limits below and parses every part that
could be read as XML with defusedxml (no document type declarations, hence no entity expansion
and no external references), whatever the part's name: a sheet renamed ``sheet2.dat`` is found
through the workbook's relationships, as openpyxl finds it, and counted like any other.  Only a
part that ``[Content_Types].xml`` declares as not XML (a picture, say) and that openpyxl never
reads is left unparsed.  Memory stays bounded, and the bytes are counted as they are unpacked
(a zip's declared sizes are checked first, but not trusted alone).  Anything hostile or broken is
an :class:`InputError` naming the file and the part, never an exception from deep inside a parser.

Writing, :func:`set_cell` stores text as text: a name such as ``=HYPERLINK(...)`` becomes a string
cell, never a live formula, and it reads back unchanged.

Limits (refused with a message, exit code 2):

- the file: at most :data:`MAX_WORKBOOK_BYTES` bytes, a regular file (not a device or a pipe);
- the archive: at most :data:`MAX_PARTS` parts, each at most :data:`MAX_PART_BYTES` bytes
  unpacked, all together at most :data:`MAX_UNPACKED_BYTES`, and at most :data:`MAX_ELEMENTS`
  XML elements in all, :data:`MAX_PART_ELEMENTS` in a part other than a sheet or the shared
  strings;
- a sheet: at most :data:`MAX_ROWS` rows (counted, and the last row number, before reading) and
  :data:`MAX_CELLS` cells (a row counts as many cells as the column of its last cell);
- the shared strings: at most :data:`MAX_CELLS` of them.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import defusedxml
from defusedxml.ElementTree import iterparse

from allocator.errors import InputError, Problem
from allocator.files import read_bytes

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
#: Most cells in one sheet, a row counting as many as the column of its last cell (openpyxl gives
#: every row that many values); also the most shared strings.
MAX_CELLS = 1_000_000
#: Most XML elements in all the parts together (a cell is two or three).
MAX_ELEMENTS = 4_000_000
#: Most XML elements in one part other than a sheet or the shared strings (openpyxl reads such a
#: part whole, as a tree: 200,000 elements take it a few seconds and a few hundred MiB).
MAX_PART_ELEMENTS = 200_000

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_CONTENT_TYPES = "[Content_Types].xml"
_SPREADSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml."
#: The content types of a workbook part, in the order openpyxl looks for them.
_WORKBOOK_TYPES = (
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    _SPREADSHEET + "template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    _SPREADSHEET + "sheet.main+xml",
)
_SHARED_STRINGS = _SPREADSHEET + "sharedStrings+xml"
#: Parts openpyxl reads by their name, whatever their content type.
_FIXED_PARTS = ("docProps/core.xml", "docProps/custom.xml", "xl/theme/theme1.xml", "xl/styles.xml")
#: First characters that make a spreadsheet program read typed text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@")


def _mib(size: int) -> str:
    return f"{size / 2**20:,.0f} MiB"


def _fail(label: str, place: str, message: str) -> InputError:
    return InputError(label, [Problem(place, message)])


def workbook_data(source: str | Path | bytes, label: str | None = None) -> bytes:
    """A workbook's bytes: a regular file of at most MAX_WORKBOOK_BYTES (InputError otherwise)."""
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data, _ = read_bytes(source, MAX_WORKBOOK_BYTES)
        except InputError as exc:
            message = exc.problems[0].message
            if message.startswith("file larger"):
                message = f"workbook larger than {_mib(MAX_WORKBOOK_BYTES)}"
            raise _fail(label or str(source), "", message) from None
    if len(data) > MAX_WORKBOOK_BYTES:
        raise _fail(label or "<workbook>", "", f"workbook larger than {_mib(MAX_WORKBOOK_BYTES)}")
    return data


def inspect_workbook(source: str | Path | bytes, label: str | None = None) -> dict[str, int]:
    """Check a workbook (a file, or its bytes) before it is read: the number of rows of each
    sheet, by sheet name.

    Raises :class:`InputError` for a file that is missing, not a regular file, too large, not a
    workbook, holds a part beyond the limits, unsafe or malformed XML, or a sheet with too many
    rows or cells.
    """
    label = label or (str(source) if not isinstance(source, bytes) else "<workbook>")
    data = workbook_data(source, label)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(label, "", f"not an Excel workbook (.xlsx): {exc}") from None
    with archive:
        _check_sizes(archive, label)
        return _Inspection(archive, label).run()


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


def _rels_of(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _where(part: str, sheet: str | None) -> str:
    return f"{part} (sheet '{sheet}')" if sheet else part


_CELL_COLUMN = re.compile(r"[A-Za-z]{1,3}")


def _column(reference: str | None, position: int) -> int:
    """The column number of a cell reference ('C7' -> 3); `position` when there is none."""
    match = _CELL_COLUMN.match(reference or "")
    if match is None:
        return position
    number = 0
    for letter in match[0].upper():
        number = number * 26 + ord(letter) - 64
    return number


@dataclass
class _Inspection:
    """One workbook's archive, scanned part by part."""

    archive: zipfile.ZipFile
    label: str
    unpacked: int = 0
    elements: int = 0
    scanned: set[str] = field(default_factory=set)

    def run(self) -> dict[str, int]:
        names = set(self.archive.namelist())
        if _CONTENT_TYPES not in names:
            raise _fail(self.label, "", f"not an Excel workbook (.xlsx): no {_CONTENT_TYPES}")
        defaults, overrides = self._content_types()
        book = self._workbook_part(defaults, overrides, names)
        rels = self._relationships(book)
        sheets = self._sheets(book, rels, names)
        strings = next((p for p, kind in overrides.items() if kind == _SHARED_STRINGS), None)
        links = [target for kind, target in rels.values() if kind.endswith("/externalLink")]
        read_as_xml = {book, _rels_of(book), *sheets, *map(_rels_of, sheets), *_FIXED_PARTS, *links}
        if strings is not None:
            read_as_xml.add(strings)
        rows: dict[str, int] = {}
        for name in sorted(names - self.scanned):
            kind = overrides.get(name) or defaults.get(posixpath.splitext(name)[1].lstrip(".").lower())
            if name in read_as_xml or name.endswith(".rels") or kind is None or _is_xml(kind):
                counted = self._scan(name, sheets.get(name), counts_strings=name == strings)
                if name in sheets:
                    rows[sheets[name]] = counted
        return rows

    def _content_types(self) -> tuple[dict[str, str], dict[str, str]]:
        defaults: dict[str, str] = {}
        overrides: dict[str, str] = {}
        for element in self._elements(_CONTENT_TYPES, None):
            if element.tag == f"{_TYPES}Default":
                defaults[element.get("Extension", "").lower()] = element.get("ContentType", "")
            elif element.tag == f"{_TYPES}Override":
                overrides.setdefault(element.get("PartName", "").lstrip("/"), element.get("ContentType", ""))
        self.scanned.add(_CONTENT_TYPES)
        return defaults, overrides

    def _workbook_part(self, defaults: dict[str, str], overrides: dict[str, str], names: set[str]) -> str:
        """The workbook part, found as openpyxl finds it: by its content type."""
        for kind in _WORKBOOK_TYPES:
            book = next((part for part, given in overrides.items() if given == kind), None)
            if book is not None:
                break
        else:
            book = "xl/workbook.xml" if set(defaults.values()) & set(_WORKBOOK_TYPES) else None
        if book is None or book not in names:
            raise _fail(self.label, "", "not an Excel workbook (.xlsx): no workbook part")
        return book

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (type, target part) of each internal relationship of `part`, targets resolved
        as openpyxl resolves them."""
        rels = _rels_of(part)
        if rels not in self.archive.namelist():
            return {}
        folder = posixpath.dirname(part)
        out = {}
        for element in self._elements(rels, None):
            if element.tag == f"{_REL}Relationship" and element.get("TargetMode") != "External":
                target = element.get("Target", "")
                resolved = target[1:] if target.startswith("/") else posixpath.join(folder, target)
                out[element.get("Id", "")] = (element.get("Type", ""), posixpath.normpath(resolved))
        self.scanned.add(rels)
        return out

    def _sheets(self, book: str, rels: dict[str, tuple[str, str]], names: set[str]) -> dict[str, str]:
        """Sheet part -> sheet name, for every sheet of the workbook part that is in the archive."""
        sheets = {}
        for element in self._elements(book, None):
            if element.tag == f"{_MAIN}sheet":
                _, target = rels.get(element.get(f"{_DOC_REL}id", ""), ("", ""))
                if target in names:
                    sheets[target] = element.get("name", "")
        self.scanned.add(book)
        return sheets

    def _open(self, part: str) -> _Capped:
        return _Capped(self.archive.open(part), self, part)

    def _elements(self, part: str, sheet: str | None, streamed: bool = False) -> Iterator[Any]:
        """Every element of an XML part as it ends, parsed safely and cleared after use.
        `streamed`: openpyxl reads the part row by row (a sheet, the shared strings), else whole."""
        limit = MAX_ELEMENTS if streamed else MAX_PART_ELEMENTS
        try:
            with self._open(part) as stream:
                for count, element in enumerate(_parse(stream), start=1):
                    self.elements += 1
                    if self.elements > MAX_ELEMENTS or count > limit:
                        whole = self.elements > MAX_ELEMENTS
                        raise _fail(
                            self.label,
                            _where(part, sheet),
                            f"more than {MAX_ELEMENTS if whole else limit:,} XML elements "
                            + ("in the workbook" if whole else "in this part"),
                        )
                    yield element
        except InputError:
            raise
        except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
            raise _fail(
                self.label,
                _where(part, sheet),
                "unsafe XML: a document type declaration or entity (refused: it could expand without bound)",
            ) from None
        except Exception as exc:  # expat's ParseError, zlib and CRC errors of a damaged archive
            raise _fail(self.label, _where(part, sheet), f"unreadable part: {exc}") from None

    def _scan(self, part: str, sheet: str | None, counts_strings: bool) -> int:
        """Parse one XML part; for a sheet, count its rows and cells against the limits; for the
        shared strings, count them."""
        rows = cells = width = strings = 0
        position = 0
        for element in self._elements(part, sheet, streamed=sheet is not None or counts_strings):
            tag = element.tag
            if counts_strings and tag == f"{_MAIN}si":
                strings += 1
                if strings > MAX_CELLS:
                    raise _fail(self.label, part, f"more than {MAX_CELLS:,} shared strings")
            if sheet is None:
                continue
            if tag == f"{_MAIN}c":
                position += 1
                position = _column(element.get("r"), position)
                width = max(width, position)
            elif tag == f"{_MAIN}row":
                rows += 1
                cells += width
                row_width, width, position = width, 0, 0
                number = element.get("r")
                last = int(number) if number and number.isdigit() else rows
                if rows > MAX_ROWS or last > MAX_ROWS:
                    raise _fail(
                        self.label,
                        _where(part, sheet),
                        f"more than {MAX_ROWS:,} rows (row {max(rows, last):,}); "
                        "split the data or remove empty rows",
                    )
                if cells > MAX_CELLS:
                    raise _fail(
                        self.label,
                        _where(part, sheet),
                        f"more than {MAX_CELLS:,} cells (row {last:,} reaches column {_letters(row_width)}); "
                        "remove the cells beyond the table",
                    )
        self.scanned.add(part)
        return rows


def _letters(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(min(max(column, 1), 18278))


def _is_xml(kind: str) -> bool:
    return kind.endswith(("+xml", "/xml"))


class _Capped(io.RawIOBase):
    """A part's stream that counts the bytes it unpacks and refuses more than the limits."""

    def __init__(self, stream: IO[bytes], inspection: _Inspection, part: str):
        self.stream = stream
        self.inspection = inspection
        self.part = part
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        self.size += len(data)
        self.inspection.unpacked += len(data)
        if self.size > MAX_PART_BYTES:
            raise _fail(self.inspection.label, self.part, f"part unpacks to more than {_mib(MAX_PART_BYTES)}")
        if self.inspection.unpacked > MAX_UNPACKED_BYTES:
            raise _fail(
                self.inspection.label, "", f"the workbook unpacks to more than {_mib(MAX_UNPACKED_BYTES)}"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.stream.close()
        super().close()


def _parse(stream: IO[bytes] | io.RawIOBase) -> Iterator[Any]:
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
