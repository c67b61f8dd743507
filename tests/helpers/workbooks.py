"""Workbooks built byte by byte for tests: a minimal valid .xlsx, and ways to damage one.

Nothing here uses openpyxl to write: the parts are XML text put into a zip archive, so that tests
can hold stale dimensions, entity declarations or oversized parts that no library would write.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def _column(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_xml(rows: Sequence[Sequence[Any]], dimension: str | None = None) -> bytes:
    """A worksheet part: strings as inline strings, numbers as numbers; `dimension` as stored."""
    width = max((len(r) for r in rows), default=1)
    ref = dimension or f"A1:{_column(width - 1)}{max(len(rows), 1)}"
    cells = []
    for r, row in enumerate(rows, start=1):
        out = []
        for c, value in enumerate(row):
            where = f"{_column(c)}{r}"
            if value is None:
                continue
            if isinstance(value, bool):
                out.append(f'<c r="{where}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, str):
                out.append(f'<c r="{where}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
            else:
                out.append(f'<c r="{where}"><v>{value}</v></c>')
        cells.append(f'<row r="{r}">{"".join(out)}</row>')
    data = "".join(cells)
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN}"><dimension ref="{ref}"/><sheetData>{data}</sheetData></worksheet>'
    ).encode()


def workbook_bytes(sheets: Mapping[str, bytes], extra: Mapping[str, bytes] | None = None) -> bytes:
    """An .xlsx archive of the given sheet parts (in order), plus any `extra` parts."""
    names = list(sheets)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(names) + 1)
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f"{overrides}</Types>"
        ).encode(),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}"><sheets>'
            + "".join(
                f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
                for i, name in enumerate(names, start=1)
            )
            + "</sheets></workbook>"
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{DOC_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(names) + 1)
            )
            + "</Relationships>"
        ).encode(),
    }
    for i, name in enumerate(names, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = sheets[name]
    parts.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def replace_parts(path: Path, changes: Mapping[str, bytes]) -> None:
    """Rewrite a workbook with some parts replaced (or added)."""
    parts = {**parts_of(path), **changes}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def sheet_part(path: Path, sheet: str) -> str:
    """The part that holds `sheet` in a workbook written by openpyxl."""
    parts = parts_of(path)
    book = parts["xl/workbook.xml"].decode()
    rel_id = re.search(rf'<sheet[^>]*name="{re.escape(sheet)}"[^>]*r:id="(rId\d+)"', book)
    if rel_id is None:
        rel_id = re.search(rf'<sheet[^>]*name="{re.escape(sheet)}"[^>]*id="(rId\d+)"', book)
    assert rel_id is not None, f"no sheet {sheet}"
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'<Relationship[^>]*Id="{rel_id[1]}"[^>]*Target="([^"]+)"', rels)
    if target is None:
        target = re.search(rf'<Relationship[^>]*Target="([^"]+)"[^>]*Id="{rel_id[1]}"', rels)
    assert target is not None
    return target[1].lstrip("/") if target[1].startswith("/") else "xl/" + target[1]


def formula_cells(path: Path) -> list[str]:
    """Every cell of every sheet part stored as a formula (an <f> element), as 'part: cell'."""
    found = []
    for name, data in parts_of(path).items():
        if name.startswith("xl/worksheets/"):
            for match in re.finditer(rb'<c r="([A-Z]+\d+)"[^>]*>(?:(?!</c>).)*<f[ >]', data, re.S):
                found.append(f"{name}: {match[1].decode()}")
    return found


#: A "billion laughs" document: ten levels of ten references, 10**9 copies when expanded.
ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'.encode()
        for i in range(1, 10)
    )
    + f'<!ENTITY lol10 "{"&lol9;" * 10}">\n]>\n'.encode()
    + f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol10;</t></is>'
    f"</c></row></sheetData></worksheet>".encode()
)
