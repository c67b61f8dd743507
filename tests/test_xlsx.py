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
from tests.helpers.instances import EXAMPLES, base_instance, build
from tests.helpers.workbooks import (
    ENTITY_BOMB,
    formula_cells,
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
