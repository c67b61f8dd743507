"""Workbooks from untrusted hands: hostile names stay text, every row is read, unsafe or oversized
parts are refused with the file and the part named (exit 2, nothing written), memory stays bounded."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

import allocator
from allocator import xlsx
from allocator.cli import main
from allocator.errors import InputError
from allocator.instance.load import load_instance, write_instance
from allocator.instance.workbook import COLUMNS, instance_rows, workbook_bytes
from tests.helpers.bounded import run_bounded
from tests.helpers.instances import EXAMPLES, base_instance, build
from tests.helpers.workbooks import (
    ENTITY_BOMB,
    MAIN,
    formula_cells,
    parts_of,
    replace_parts,
    sheet_part,
    sheet_xml,
)
from tests.helpers.workbooks import (
    workbook_bytes as raw_workbook,
)

#: Text that a spreadsheet program would run as a formula if it were stored as one.
HOSTILE = {
    "nation_name": '=HYPERLINK("http://evil.example/","France")',
    "task": "=cmd|' /C calc'!A0",
    "offer": "@SUM(1+1)*cmd|' /C calc'!A0",
    "capability": "+fighter",
    "task_name": "-2+3",
}


def hostile_instance() -> allocator.Instance:
    doc = base_instance()
    doc["nations"][0]["name"] = HOSTILE["nation_name"]
    doc["capabilities"][0]["id"] = HOSTILE["capability"]
    doc["offers"][0].update(id=HOSTILE["offer"], capability=HOSTILE["capability"])
    doc["offers"][1]["capability"] = HOSTILE["capability"]
    doc["tasks"] = [
        {
            "id": HOSTILE["task"],
            "name": HOSTILE["task_name"],
            "requirements": [{"capability": HOSTILE["capability"], "units": 1}],
            "lead": {"nations": ["FR"], "term": 2},
        }
    ]
    return build(doc)


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


# 1. formula injection ---------------------------------------------------------------------------
def test_openpyxl_parses_through_defusedxml() -> None:
    assert openpyxl.DEFUSEDXML, "defusedxml must be installed (a dependency) so that openpyxl uses it"


def test_convert_writes_hostile_names_as_text_and_reads_them_back(tmp_path: Path) -> None:
    source = tmp_path / "hostile.yaml"
    write_instance(hostile_instance(), source)
    target = tmp_path / "hostile.xlsx"
    result = _run("convert", str(source), str(target))
    assert result.exit_code == 0, result.output
    assert formula_cells(target) == []
    book = load_workbook(target)
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    texts = {c.value for c in cells}
    assert set(HOSTILE.values()) <= texts, "every hostile name is in the workbook, as typed"
    assert load_instance(target) == load_instance(source), "the round trip stays lossless"


def test_template_writes_names_as_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import allocator.instance.workbook

    monkeypatch.setattr(allocator.instance.workbook, "template_instance", hostile_instance)
    target = tmp_path / "plan.xlsx"
    result = _run("template", str(target))
    assert result.exit_code == 0, result.output
    assert formula_cells(target) == []
    assert load_instance(target) == hostile_instance()


def test_report_workbook_writes_names_as_text(tmp_path: Path) -> None:
    from allocator.report import write_report

    instance = hostile_instance()
    result = allocator.solve(instance, threads=1, time_limit=10)
    assert result.has_plan
    write_report(instance, result, tmp_path / "report")
    workbook = tmp_path / "report" / "report.xlsx"
    assert formula_cells(workbook) == []
    values = {c.value for sheet in load_workbook(workbook) for row in sheet.iter_rows() for c in row}
    assert {HOSTILE["task"], HOSTILE["offer"]} <= values
    page = (tmp_path / "report" / "report.html").read_text()
    assert "=cmd|&#39; /C calc&#39;!A0" in page or "=cmd|&#x27; /C calc&#x27;!A0" in page


def test_set_cell_keeps_text_as_text_and_numbers_as_numbers() -> None:
    sheet = openpyxl.Workbook().active
    assert xlsx.set_cell(sheet, 1, 1, "=1+1").data_type == "s"
    assert xlsx.set_cell(sheet, 1, 1, "=1+1").quotePrefix
    assert xlsx.set_cell(sheet, 1, 2, "plain").quotePrefix is False
    assert xlsx.set_cell(sheet, 1, 3, 2.5).data_type == "n"
    assert xlsx.set_cell(sheet, 1, 4, float("nan")).value is None


# 2. every row is read ---------------------------------------------------------------------------
def test_a_stale_dimension_does_not_drop_rows(tmp_path: Path) -> None:
    """The capabilities sheet claims A1:B2 but holds three rows; the third must be read."""
    path = tmp_path / "plan.xlsx"
    doc = base_instance(capabilities=[{"id": "fighter", "domain": "air"}, {"id": "tanker", "domain": "air"}])
    doc["offers"].append({"id": "GB-t", "nation": "GB", "capability": "tanker", "units": 1})
    instance = build(doc)
    write_instance(instance, path)
    part = sheet_part(path, "capabilities")
    rows = [list(COLUMNS["capabilities"]), *instance_rows(instance)["capabilities"]]
    replace_parts(path, {part: sheet_xml(rows, dimension="A1:B2")})
    assert load_instance(path) == instance


def test_a_workbook_built_by_hand_with_stale_dimensions_loads_whole(tmp_path: Path) -> None:
    instance = load_instance(EXAMPLES / "lead-rotation.yaml")
    rows = instance_rows(instance)
    sheets = {
        name: sheet_xml([list(columns), *rows[name]], dimension="A1:A1") for name, columns in COLUMNS.items()
    }
    path = tmp_path / "by-hand.xlsx"
    path.write_bytes(raw_workbook(sheets))
    assert load_instance(path) == instance


# 3. unsafe XML ----------------------------------------------------------------------------------
def _bomb_workbook(tmp_path: Path, part: str = "sheet") -> Path:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    target = sheet_part(path, "capabilities") if part == "sheet" else part
    replace_parts(path, {target: ENTITY_BOMB})
    return path


@pytest.mark.parametrize("part", ["sheet", "xl/workbook.xml", "xl/styles.xml"])
def test_an_entity_bomb_is_refused_naming_the_file_and_part(tmp_path: Path, part: str) -> None:
    path = _bomb_workbook(tmp_path, part)
    with pytest.raises(InputError) as caught:
        load_instance(path)
    (problem,) = caught.value.problems
    expected = sheet_part(path, "capabilities") if part == "sheet" else part
    assert caught.value.source == str(path)
    assert problem.path.startswith(expected)
    assert "unsafe XML" in problem.message


def test_an_entity_bomb_exits_2_without_traceback_and_writes_nothing(tmp_path: Path) -> None:
    path = _bomb_workbook(tmp_path)
    for args in (["validate", str(path)], ["convert", str(path), str(tmp_path / "out.yaml")]):
        result = _run(*args)
        assert result.exit_code == 2, result.output
        assert "unsafe XML" in result.output and "(sheet 'capabilities')" in result.output
        assert "Traceback" not in result.output and "internal error" not in result.output
    assert not (tmp_path / "out.yaml").exists()


def test_malformed_xml_names_the_part(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    part = sheet_part(path, "offers")
    replace_parts(path, {part: b"<worksheet><sheetData><row>"})
    with pytest.raises(InputError) as caught:
        load_instance(path)
    assert caught.value.problems[0].path == f"{part} (sheet 'offers')"
    assert "unreadable part" in caught.value.problems[0].message


# 4. size ----------------------------------------------------------------------------------------
def test_an_oversized_part_is_refused_before_reading_with_bounded_memory(tmp_path: Path) -> None:
    """A 70 MiB sheet compresses to about 70 KiB: refused by its declared size, nothing unpacked."""
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    part = sheet_part(path, "offers")
    padding = b" " * (xlsx.MAX_PART_BYTES + 6 * 2**20)
    replace_parts(path, {part: b"<worksheet>" + padding + b"</worksheet>"})
    del padding
    assert path.stat().st_size < 1 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as caught:
            load_instance(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.problems[0].path == part
    assert "limit 64 MiB per part" in caught.value.problems[0].message
    assert peak < 8 * 2**20, f"refusing the workbook allocated {peak / 2**20:.1f} MiB"


def test_too_many_rows_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    monkeypatch.setattr(xlsx, "MAX_ROWS", 2)
    with pytest.raises(InputError) as caught:
        load_instance(path)
    assert "more than 2 rows" in caught.value.problems[0].message


def test_a_far_row_number_is_refused_before_reading(tmp_path: Path) -> None:
    """One cell in the sheet's last row would make the reader yield a million empty rows."""
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    part = sheet_part(path, "nations")
    far = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    data = sheet_xml([list(COLUMNS["nations"]), ["FR"]]).replace(b"</sheetData>", far + b"</sheetData>")
    replace_parts(path, {part: data})
    with pytest.raises(InputError) as caught:
        load_instance(path)
    assert "more than 20,000 rows (row 1,048,576)" in caught.value.problems[0].message


def test_too_many_parts_and_large_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    with zipfile.ZipFile(path) as archive:
        parts = len(archive.namelist())
    monkeypatch.setattr(xlsx, "MAX_PARTS", parts - 1)
    with pytest.raises(InputError, match=f"holds {parts} parts"):
        load_instance(path)
    monkeypatch.setattr(xlsx, "MAX_PARTS", 1000)
    monkeypatch.setattr(xlsx, "MAX_WORKBOOK_BYTES", 100)
    with pytest.raises(InputError, match="workbook larger than"):
        load_instance(path)


def test_not_a_zip_and_a_damaged_zip(tmp_path: Path) -> None:
    fake = tmp_path / "fake.xlsx"
    fake.write_text("name: x\n")
    with pytest.raises(InputError, match="not an Excel workbook"):
        load_instance(fake)
    damaged = tmp_path / "damaged.xlsx"
    data = bytearray(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    damaged.write_bytes(bytes(data))
    result = _run("validate", str(damaged))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output


# 5. every part counted, whatever its name -------------------------------------------------------
def _rows_xml(count: int, column: str = "A", first: int = 1) -> bytes:
    rows = "".join(f'<row r="{r}"><c r="{column}{r}"><v>1</v></c></row>' for r in range(first, first + count))
    return f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'.encode()


def _renamed(path: Path, sheet: str, data: bytes, name: str = "xl/worksheets/sheet2.dat") -> str:
    """Move `sheet`'s part to `name` (the relationship follows), holding `data`."""
    part = sheet_part(path, sheet)
    parts = parts_of(path)
    del parts[part]
    parts[name] = data
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace(part[len("xl/") :], name[len("xl/") :]).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, value in parts.items():
            archive.writestr(key, value)
    return name


@pytest.fixture
def basic_workbook(tmp_path: Path) -> Path:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(workbook_bytes(load_instance(EXAMPLES / "basic.yaml")))
    return path


def test_a_renamed_sheet_part_is_read_and_counted(basic_workbook: Path) -> None:
    """A sheet in `sheet2.dat` is a sheet: read like any other, its rows counted."""
    instance = load_instance(basic_workbook)
    rows = [list(COLUMNS["capabilities"]), *instance_rows(instance)["capabilities"]]
    _renamed(basic_workbook, "capabilities", sheet_xml(rows))
    assert load_instance(basic_workbook) == instance
    _renamed(basic_workbook, "capabilities", _rows_xml(1, first=30_000))
    with pytest.raises(InputError) as caught:
        load_instance(basic_workbook)
    (problem,) = caught.value.problems
    assert problem.path == "xl/worksheets/sheet2.dat (sheet 'capabilities')"
    assert "more than 20,000 rows (row 30,000)" in problem.message


def test_a_renamed_sheet_of_wide_rows_is_refused_within_the_ceilings(basic_workbook: Path) -> None:
    """Before: 60,000 rows reaching column XFD in `sheet2.dat` (300 KB) took over a minute and
    7.8 GB, the part skipped by every limit for its name."""
    _renamed(basic_workbook, "capabilities", _rows_xml(60_000, column="XFD"))
    assert basic_workbook.stat().st_size < 1 << 20
    result = run_bounded("validate", str(basic_workbook))
    assert result.returncode == 2, result.output
    assert "xl/worksheets/sheet2.dat (sheet 'capabilities'): more than 1,000,000 cells" in result.output


def test_wide_rows_under_the_row_limit_are_refused_within_the_ceilings(basic_workbook: Path) -> None:
    """Before: 19,999 rows each with one cell in column XFD took 34 s and 2.7 GB (openpyxl
    gives every row 16,384 values)."""
    replace_parts(basic_workbook, {sheet_part(basic_workbook, "capabilities"): _rows_xml(19_999, "XFD")})
    result = run_bounded("validate", str(basic_workbook))
    assert result.returncode == 2, result.output
    assert "more than 1,000,000 cells (row 62 reaches column XFD)" in result.output


def test_a_sheet_declared_as_a_picture_is_still_parsed(basic_workbook: Path) -> None:
    """A part openpyxl reads as XML is scanned whatever [Content_Types].xml says it is."""
    name = _renamed(basic_workbook, "capabilities", ENTITY_BOMB, "xl/media/image1.png")
    types = parts_of(basic_workbook)["[Content_Types].xml"].decode()
    types = types.replace("</Types>", '<Default Extension="png" ContentType="image/png"/></Types>')
    replace_parts(basic_workbook, {"[Content_Types].xml": types.encode()})
    with pytest.raises(InputError) as caught:
        load_instance(basic_workbook)
    (problem,) = caught.value.problems
    assert problem.path == f"{name} (sheet 'capabilities')" and "unsafe XML" in problem.message


def test_a_picture_nobody_reads_is_left_alone(basic_workbook: Path) -> None:
    types = parts_of(basic_workbook)["[Content_Types].xml"].decode()
    types = types.replace("</Types>", '<Default Extension="png" ContentType="image/png"/></Types>')
    replace_parts(basic_workbook, {"[Content_Types].xml": types.encode(), "xl/media/logo.png": b"\x89PNG..."})
    assert load_instance(basic_workbook) == load_instance(EXAMPLES / "basic.yaml")


def test_an_unknown_part_is_parsed_as_xml(basic_workbook: Path) -> None:
    replace_parts(basic_workbook, {"xl/notes.dat": ENTITY_BOMB})
    with pytest.raises(InputError, match="unsafe XML"):
        load_instance(basic_workbook)


def test_the_workbook_part_is_found_as_openpyxl_finds_it(basic_workbook: Path) -> None:
    """[Content_Types].xml, not the package relationships, names the workbook openpyxl reads:
    its sheets are the ones counted."""
    parts = parts_of(basic_workbook)
    book, rels = parts["xl/workbook.xml"], parts["xl/_rels/workbook.xml.rels"]
    types = parts["[Content_Types].xml"].decode().replace("/xl/workbook.xml", "/xl/other.xml")
    far = _rows_xml(1, first=30_000)
    replace_parts(
        basic_workbook,
        {
            "[Content_Types].xml": types.encode(),
            "xl/other.xml": book,
            "xl/_rels/other.xml.rels": rels.replace(b"worksheets/sheet3.xml", b"worksheets/far.bin"),
            "xl/worksheets/far.bin": far,
        },
    )
    with pytest.raises(InputError, match=r"far.bin \(sheet '[a-z]+'\): more than 20,000 rows"):
        load_instance(basic_workbook)


def test_too_many_shared_strings_or_elements_are_refused(
    basic_workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strings = "".join(f"<si><t>s{i}</t></si>" for i in range(20))
    table = f'<sst xmlns="{MAIN}" count="20" uniqueCount="20">{strings}</sst>'.encode()
    types = parts_of(basic_workbook)["[Content_Types].xml"].decode()
    override = (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )
    replace_parts(
        basic_workbook,
        {"xl/sharedStrings.xml": table, "[Content_Types].xml": types.replace("</Types>", override).encode()},
    )
    monkeypatch.setattr(xlsx, "MAX_CELLS", 10)
    with pytest.raises(InputError, match=r"xl/sharedStrings\.xml: more than 10 shared strings"):
        load_instance(basic_workbook)
    monkeypatch.setattr(xlsx, "MAX_CELLS", 1000)
    monkeypatch.setattr(xlsx, "MAX_PART_ELEMENTS", 20)
    with pytest.raises(InputError, match=r"xl/styles\.xml: more than 20 XML elements in this part"):
        load_instance(basic_workbook)


def test_a_part_that_lies_about_its_size_is_refused(basic_workbook: Path) -> None:
    """A part claiming 100 bytes that holds more is refused: never more than its claim is
    unpacked, and its checksum then fails."""
    part = sheet_part(basic_workbook, "offers")
    data = bytearray(basic_workbook.read_bytes())
    with zipfile.ZipFile(basic_workbook) as archive:
        info = archive.getinfo(part)
        real = info.file_size
    claimed = 100
    for header, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local and central sizes
        start = 0
        while (start := data.find(header, start)) >= 0:
            name_length = int.from_bytes(
                data[start + (26 if header == b"PK\x03\x04" else 28) :][:2], "little"
            )
            name_start = start + (30 if header == b"PK\x03\x04" else 46)
            if bytes(data[name_start : name_start + name_length]) == part.encode():
                assert int.from_bytes(data[start + offset : start + offset + 4], "little") == real
                data[start + offset : start + offset + 4] = claimed.to_bytes(4, "little")
            start += 4
    basic_workbook.write_bytes(bytes(data))
    with pytest.raises(InputError) as caught:
        load_instance(basic_workbook)
    assert caught.value.problems[0].path.startswith(part), caught.value


def test_a_workbook_from_bytes_is_read_without_a_temporary_file(basic_workbook: Path) -> None:
    from allocator.instance.load import instance_of_bytes

    assert instance_of_bytes(basic_workbook.read_bytes(), "upload.xlsx") == load_instance(basic_workbook)


def test_the_bytes_unpacked_are_counted_not_only_the_sizes_declared(
    basic_workbook: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the declared sizes left unchecked, the count of the bytes unpacked still refuses."""
    monkeypatch.setattr(xlsx, "_check_sizes", lambda archive, label: None)
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 2000)
    with pytest.raises(InputError, match="part unpacks to more than"):
        load_instance(basic_workbook)
    monkeypatch.setattr(xlsx, "MAX_PART_BYTES", 1 << 30)
    monkeypatch.setattr(xlsx, "MAX_UNPACKED_BYTES", 5000)
    with pytest.raises(InputError, match="the workbook unpacks to more than"):
        load_instance(basic_workbook)
