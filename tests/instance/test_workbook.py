"""Workbook instances: lossless round trips, the template, and errors named by sheet, row and column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from openpyxl import load_workbook

import allocator
import allocator.instance.catalog
from allocator.cli import main
from allocator.errors import InputError
from allocator.instance.load import load_instance, write_instance
from allocator.instance.workbook import (
    COLUMNS,
    NO_ITEMS,
    format_objectives,
    parse_objectives,
    read_list,
    template_instance,
    write_list,
)
from tests.helpers.instances import EXAMPLES, ROOT, base_instance, build

SOURCES = [*sorted(EXAMPLES.glob("*.yaml")), ROOT / "instances" / "reassurance.yaml"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_format_round_trips_without_loss(source: Path, tmp_path: Path) -> None:
    """YAML -> XLSX -> JSON -> YAML -> XLSX: the same instance at every step."""
    original = load_instance(source)
    current = source
    for step, suffix in enumerate((".xlsx", ".json", ".yaml", ".xlsx")):
        target = tmp_path / f"step{step}{suffix}"
        write_instance(load_instance(current), target)
        assert load_instance(target) == original, f"{current.suffix} -> {suffix} changed the instance"
        current = target


def test_convert_command_round_trips(tmp_path: Path) -> None:
    runner = CliRunner()
    source = EXAMPLES / "lead-rotation.yaml"
    first = runner.invoke(main, ["convert", str(source), str(tmp_path / "plan.xlsx")])
    back = runner.invoke(main, ["convert", str(tmp_path / "plan.xlsx"), str(tmp_path / "plan.json")])
    assert first.exit_code == 0 and back.exit_code == 0, first.output + back.output
    assert load_instance(tmp_path / "plan.json") == load_instance(source)


def test_convert_refuses_unknown_formats_and_writes_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["convert", str(EXAMPLES / "basic.yaml"), str(tmp_path / "plan.txt")])
    assert result.exit_code == 2
    assert "unknown format '.txt'" in result.output
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "text, levels",
    [
        ("shortfall, fairness, deployments, cost", ["shortfall", "fairness", "deployments", "cost"]),
        ("2*shortfall + cost, deployments", [{"shortfall": 2, "cost": 1}, "deployments"]),
        ("0.5*fairness + 1.25*cost", [{"fairness": 0.5, "cost": 1.25}]),
    ],
)
def test_objectives_cell_reads_and_writes(text: str, levels: list[Any]) -> None:
    assert parse_objectives(text) == levels
    assert parse_objectives(format_objectives(levels)) == levels


def test_unreadable_objectives_are_refused() -> None:
    assert parse_objectives("shortfall, 2**cost") is None
    assert parse_objectives("shortfall,, cost") is None


# the template -------------------------------------------------------------------------------------
def test_template_has_every_sheet_an_example_row_and_drop_downs(tmp_path: Path) -> None:
    target = tmp_path / "plan.xlsx"
    result = CliRunner().invoke(main, ["template", str(target)])
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert book.sheetnames == list(COLUMNS)
    for name, columns in COLUMNS.items():
        sheet = book[name]
        assert tuple(c.value for c in sheet[1]) == columns
        assert sheet.max_row >= 2, f"sheet {name} has no example row"
    lists = {
        (name, str(v.sqref).split(":")[0][0]): v.formula1
        for name in COLUMNS
        for v in book[name].data_validations.dataValidation
    }
    assert lists["offers", "B"] == "=nations!$A$2:$A$2000"  # offers.nation
    assert lists["offers", "C"] == "=capabilities!$A$2:$A$2000"  # offers.capability
    assert lists["requirements", "A"] == "=tasks!$A$2:$A$2000"
    assert lists["capabilities", "B"] == '"air,maritime,training,command"'
    assert load_instance(target) == template_instance()


def test_template_solves_as_it_is(tmp_path: Path) -> None:
    target = tmp_path / "plan.xlsx"
    CliRunner().invoke(main, ["template", str(target)])
    result = allocator.solve(target, threads=1, time_limit=10)
    assert result.status == "optimal"
    assert result.objectives["shortfall"] == 0


def test_template_must_be_a_workbook(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["template", str(tmp_path / "plan.yaml")])
    assert result.exit_code == 2
    assert not list(tmp_path.iterdir())


# errors at their cells ------------------------------------------------------------------------------
@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    target = tmp_path / "plan.xlsx"
    write_instance(load_instance(EXAMPLES / "lead-rotation.yaml"), target)
    return target


def _edit(path: Path, sheet: str, cell: str, value: Any) -> None:
    book = load_workbook(path)
    book[sheet][cell] = value
    book.save(path)


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_instance(path)
    return [problem.render(caught.value.source) for problem in caught.value.problems]


@pytest.mark.parametrize(
    "sheet, cell, value, expected",
    [
        ("offers", "B3", "XX", "offers!B3: unknown nation 'XX'"),
        ("offers", "D2", 0, "offers!D2: must be at least 1 (got 0)"),
        ("requirements", "C2", "many", "requirements!C2: must be a whole number (got 'many')"),
        ("requirements", "A2", "nope", "requirements!A2: unknown task 'nope'"),
        ("leads", "D2", "ZZ", "leads!D2:"),
        ("tasks", "F2", -1, "tasks!F2: must be at least 0.000001 (got -1)"),
        ("model", "B3", 0, "model!B3: must be at least 1 (got 0)"),
        ("offers", "G2", 3, "offers!H2: give both 'available_from' and 'available_to', or neither"),
        ("nations", "F1", "colour", "nations!F1: unknown column 'colour'"),
        ("leads", "E2", "maybe", "leads!E2: expected TRUE or FALSE"),
    ],
)
def test_problems_name_sheet_row_and_column(
    workbook: Path, sheet: str, cell: str, value: Any, expected: str
) -> None:
    if cell == "G2":  # a window with only its first end: clear the second
        _edit(workbook, sheet, "H2", None)
    _edit(workbook, sheet, cell, value)
    problems = _problems(workbook)
    assert any(expected in p for p in problems), problems
    assert all(p.startswith(str(workbook)) for p in problems)


def test_a_start_month_excel_stored_as_a_date_reads_as_year_month(workbook: Path) -> None:
    import datetime

    book = load_workbook(workbook)
    row = next(r for r in range(2, 12) if book["model"][f"A{r}"].value == "start")
    book["model"][f"B{row}"] = datetime.datetime(2027, 3, 1)
    book.save(workbook)
    assert load_instance(workbook).horizon.start == "2027-03"


def test_a_task_without_requirement_rows_is_named(workbook: Path) -> None:
    book = load_workbook(workbook)
    book["requirements"].delete_rows(2, book["requirements"].max_row)
    book.save(workbook)
    assert any("tasks!A2: the task has no rows in the requirements sheet" in p for p in _problems(workbook))


def test_missing_sheet_and_not_a_workbook(workbook: Path, tmp_path: Path) -> None:
    book = load_workbook(workbook)
    del book["offers"], book["tasks"]
    book.save(workbook)
    assert any("sheet 'tasks' missing" in p for p in _problems(workbook))
    fake = tmp_path / "fake.xlsx"
    fake.write_text("name: x\n")
    assert any("not an Excel workbook" in p for p in _problems(fake))


def test_solve_reports_workbook_errors_with_exit_2_and_writes_nothing(workbook: Path, tmp_path: Path) -> None:
    _edit(workbook, "offers", "B3", "XX")
    output = tmp_path / "solution.json"
    result = CliRunner().invoke(
        main, ["solve", str(workbook), "-o", str(output), "--report", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "offers!B3: unknown nation 'XX'" in result.output
    assert "Traceback" not in result.output
    assert not output.exists() and not (tmp_path / "r").exists()


# one mistake, one message, at the right cell --------------------------------------------------------
def test_a_bad_boolean_gives_one_message(workbook: Path) -> None:
    _edit(workbook, "leads", "E2", "maybe")
    assert _problems(workbook) == [
        f"{workbook}: leads!E2: expected TRUE or FALSE (or yes / no, 1 / 0), got 'maybe'"
    ]


@pytest.mark.parametrize(
    "cell, value, expected",
    [
        ("H2", 99, "offers!H2: window [1, 99] lies outside the horizon [1, 12]"),  # available_to
        ("G2", 0, "offers!G2: window [0, 12] lies outside the horizon [1, 12]"),  # available_from
        ("G2", 13, "offers!G2:H2: window [13, 12] is reversed"),
    ],
)
def test_a_window_error_names_the_cell_at_fault(workbook: Path, cell: str, value: int, expected: str) -> None:
    _edit(workbook, "offers", "H2", 12)
    _edit(workbook, "offers", "G2", 1)
    _edit(workbook, "offers", cell, value)
    problems = _problems(workbook)
    assert len(problems) == 1 and expected in problems[0], problems


def test_unknown_ids_in_a_workbook_get_a_suggestion(workbook: Path) -> None:
    _edit(workbook, "offers", "B3", "gb")
    _edit(workbook, "requirements", "A2", "MNHQ")
    problems = _problems(workbook)
    assert any("offers!B3: unknown nation 'gb'; did you mean 'GB'?" in p for p in problems), problems
    assert any("requirements!A2: unknown task 'MNHQ'; did you mean 'mnhq'?" in p for p in problems), problems


def test_an_extra_sheet_is_a_warning_not_an_error(workbook: Path) -> None:
    book = load_workbook(workbook)
    book.create_sheet("notes")["A1"] = "call Rome about the frigate"
    book.save(workbook)
    with pytest.warns(allocator.InputWarning, match="sheet 'notes' ignored"):
        instance = load_instance(workbook)
    assert instance == load_instance(EXAMPLES / "lead-rotation.yaml")
    result = CliRunner().invoke(main, ["validate", str(workbook)])
    assert result.exit_code == 0, result.output
    assert f"warning: {workbook}: notes: sheet 'notes' ignored" in " ".join(result.output.split())


@pytest.mark.parametrize("sheet", list(COLUMNS))
def test_a_missing_sheet_is_reported_as_missing(workbook: Path, sheet: str) -> None:
    book = load_workbook(workbook)
    del book[sheet]
    book.save(workbook)
    problems = _problems(workbook)
    assert len(problems) == 1 and f"{sheet}: sheet '{sheet}' missing" in problems[0], problems


def test_a_header_in_the_wrong_case_is_one_message_and_hides_nothing(workbook: Path) -> None:
    _edit(workbook, "offers", "D1", "Units")
    _edit(workbook, "offers", "B3", "gb")
    problems = _problems(workbook)
    assert any("offers!D1: unknown column 'Units'; did you mean 'units'?" in p for p in problems), problems
    assert any("offers!B3: unknown nation 'gb'; did you mean 'GB'?" in p for p in problems), problems
    assert len(problems) == 2, problems  # the units are still read: no 'required key missing' per row


def test_settings_and_lead_nations_get_a_suggestion_and_items_their_cell(workbook: Path) -> None:
    book = load_workbook(workbook)
    row = next(r for r in range(2, 12) if book["model"][f"A{r}"].value == "shortfall")
    book["model"][f"A{row}"] = "Shortfall"
    book["leads"]["D2"] = "fr"
    book["nations"]["A3"] = "FR"  # a duplicate of row 2
    book.save(workbook)
    problems = " | ".join(_problems(workbook))
    assert f"model!A{row}: unknown setting 'Shortfall'; did you mean 'shortfall'?" in problems
    assert "leads!D2: 'fr' is not one of the lead's nations; did you mean 'FR'?" in problems
    assert "nations!A3: duplicate id 'FR' (already used by nations!A2)" in problems


def test_a_report_workbook_is_not_an_instance(tmp_path: Path) -> None:
    from allocator.report import write_report

    instance = load_instance(EXAMPLES / "basic.yaml")
    write_report(instance, allocator.solve(instance, threads=1, time_limit=10), tmp_path)
    problems = _problems(tmp_path / "report.xlsx")
    assert problems == [
        f"{tmp_path / 'report.xlsx'}: this is a plan report (allocator report), not an instance"
    ]


# nothing lost ---------------------------------------------------------------------------------------
def test_an_offer_that_serves_no_task_stays_so_through_a_workbook(tmp_path: Path) -> None:
    """Before: `tasks: []` came back from `convert x.yaml x.xlsx; convert x.xlsx y.yaml` as no
    caveat at all (any task)."""
    doc = base_instance()
    doc["offers"][1]["tasks"] = []
    source = tmp_path / "x.yaml"
    source.write_text(yaml.safe_dump(doc))
    runner = CliRunner()
    for args in (
        ["convert", str(source), str(tmp_path / "x.xlsx")],
        ["convert", str(tmp_path / "x.xlsx"), str(tmp_path / "y.yaml")],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    assert load_instance(tmp_path / "y.yaml").offers[1].tasks == ()
    assert load_instance(tmp_path / "y.yaml") == load_instance(source)
    book = load_workbook(tmp_path / "x.xlsx")
    assert book["offers"]["L3"].value == NO_ITEMS
    assert book["offers"]["L2"].value is None  # no caveat: any task


@pytest.mark.parametrize(
    ("cell", "ids"),
    [
        ("(none)", []),
        (" (none) ", []),
        ("a, b", ["a", "b"]),
        ('"Kyiv, west", Lviv', ["Kyiv, west", "Lviv"]),
        ('"(none)"', ["(none)"]),
        ('"say ""hi""", x', ['say "hi"', "x"]),
        ("a,, b,", ["a", "b"]),
    ],
)
def test_list_cells_read_and_write(cell: str, ids: list[str]) -> None:
    assert read_list(cell) == ids
    assert read_list(write_list(ids)) == ids


def test_ids_with_commas_and_quotes_survive_a_workbook(tmp_path: Path) -> None:
    doc = base_instance(
        tasks=[
            {"id": t, "requirements": [{"capability": "fighter", "units": 1}]}
            for t in ("Kyiv, west", '"(none)"', "(none)")
        ]
    )
    doc["offers"][0]["tasks"] = ["Kyiv, west", "(none)"]
    doc["offers"][1]["tasks"] = ['"(none)"']
    doc["tasks"][0]["lead"] = {"nations": ["FR"], "term": 2}
    instance = build(doc)
    write_instance(instance, tmp_path / "plan.xlsx")
    assert load_instance(tmp_path / "plan.xlsx") == instance


# windows as months ----------------------------------------------------------------------------------
@pytest.fixture
def monthly(tmp_path: Path) -> Path:
    """The template: 12 months from 2027-01; offers!G2:H2 the offer's window, requirements!D2:E2
    the requirement's, tasks!D2:E2 the task's."""
    target = tmp_path / "plan.xlsx"
    write_instance(template_instance(), target)
    return target


def test_a_window_may_give_months_of_the_horizon(monthly: Path) -> None:
    import datetime

    _edit(monthly, "offers", "G2", "2027-03")
    _edit(monthly, "offers", "H2", datetime.datetime(2027, 11, 1))  # a month Excel stored as a date
    _edit(monthly, "tasks", "D2", "2027-02")
    _edit(monthly, "requirements", "D2", "2027-04")
    _edit(monthly, "requirements", "E2", 6)
    instance = load_instance(monthly)
    assert instance.offers[0].available == (3, 11)
    assert instance.tasks[0].active == (2, 12)
    assert instance.tasks[0].requirements[0].periods == (4, 6)


@pytest.mark.parametrize(
    ("cell", "value", "expected"),
    [
        ("G2", "2026-12", "offers!G2: '2026-12' is not a month of the horizon (2027-01 to 2027-12)"),
        ("H2", "2028-01", "offers!H2: '2028-01' is not a month of the horizon (2027-01 to 2027-12)"),
    ],
)
def test_a_month_outside_the_horizon_is_refused_at_its_cell(
    monthly: Path, cell: str, value: str, expected: str
) -> None:
    _edit(monthly, "offers", cell, value)
    assert _problems(monthly) == [f"{monthly}: {expected}"]


def test_a_month_without_monthly_periods_is_refused_at_its_cell(workbook: Path) -> None:
    _edit(workbook, "offers", "G2", "2027-03")
    _edit(workbook, "offers", "H2", 4)
    problems = _problems(workbook)
    assert (
        len(problems) == 1
        and "offers!G2: '2027-03' is a month, but the periods are not months" in problems[0]
    )


# the model sheet --------------------------------------------------------------------------------------
def _setting_row(path: Path, setting: str) -> int:
    book = load_workbook(path)
    return next(r for r in range(2, 20) if book["model"][f"A{r}"].value == setting)


def test_edited_objectives_do_not_claim_the_named_model(monthly: Path) -> None:
    """Before: a workbook naming coverage-first with other objectives printed 'model
    coverage-first'."""
    assert load_instance(monthly).spec.name == "coverage-first"
    _edit(monthly, "model", f"B{_setting_row(monthly, 'objectives')}", "cost, shortfall")
    spec = load_instance(monthly).spec
    assert spec.name == "coverage-first (edited)"
    assert spec.objectives == ("cost", "shortfall")
    named = allocator.instance.catalog.known_model("coverage-first")
    assert named.description and spec.description == f"{named.description} (edited)"
    result = CliRunner().invoke(main, ["validate", str(monthly)])
    assert result.exit_code == 0, result.output
    assert "model coverage-first (edited)" in " ".join(result.output.split())


def test_settings_left_blank_keep_those_of_the_named_model(monthly: Path) -> None:
    """min-cost with only its objectives edited keeps min-cost's hard shortfall."""
    book = load_workbook(monthly)
    for setting in ("description", "shortfall", "fairness", "objectives"):
        book["model"][f"B{_setting_row(monthly, setting)}"] = None
    book["model"][f"B{_setting_row(monthly, 'model_name')}"] = "min-cost"
    book.save(monthly)
    assert load_instance(monthly).spec == allocator.instance.catalog.known_model("min-cost")
    _edit(monthly, "model", f"B{_setting_row(monthly, 'objectives')}", "cost")
    spec = load_instance(monthly).spec
    assert (spec.name, spec.shortfall, spec.objectives) == ("min-cost (edited)", "hard", ("cost",))
