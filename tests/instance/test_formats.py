"""Loading instances: formats, standard input, and one test per validation error (path named)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import allocator
from allocator.errors import InputError
from allocator.files import parse_document, write_atomic
from allocator.instance.load import load_instance
from tests.helpers.instances import EXAMPLES, base_instance, build


def problems_of(doc: Any) -> dict[str, str]:
    with pytest.raises(InputError) as info:
        allocator.build_instance(doc, "bad.yaml")
    return {p.path: p.message for p in info.value.problems}


def _offer(**changes: Any) -> dict[str, Any]:
    offer = {"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1}
    offer.update(changes)
    return base_instance(offers=[offer])


def _task(**changes: Any) -> dict[str, Any]:
    task = {"id": "air", "requirements": [{"capability": "fighter", "units": 1}]}
    task.update(changes)
    return base_instance(tasks=[task])


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown nation", _offer(nation="XX"), "offers[0].nation", "unknown nation 'XX'"),
    ("unknown capability", _offer(capability="jet"), "offers[0].capability", "unknown capability"),
    ("unknown task in caveat", _offer(tasks=["nope"]), "offers[0].tasks[0]", "unknown task 'nope'"),
    ("typo key with hint", _offer(max_tours=3), "offers[0].max_tours", "did you mean 'max_tour'"),
    ("top-level typo", {**base_instance(), "nation": []}, "nation", "did you mean 'nations'"),
    (
        "duplicate id",
        base_instance(nations=[{"id": "FR"}, {"id": "GB"}, {"id": "FR"}]),
        "nations[2].id",
        "duplicate id",
    ),
    ("reversed window", _offer(available=[3, 1]), "offers[0].available", "reversed"),
    (
        "window outside horizon",
        _offer(available=[1, 9]),
        "offers[0].available[1]",  # the end that lies outside
        "outside the horizon",
    ),
    ("task window outside", _task(active=[0, 4]), "tasks[0].active[0]", "outside the horizon"),
    (
        "requirement outside active",
        _task(active=[2, 3], requirements=[{"capability": "fighter", "units": 1, "periods": [1, 3]}]),
        "tasks[0].requirements[0].periods[0]",
        "active window",
    ),
    ("min_tour > max_tour", _offer(min_tour=3, max_tour=2), "offers[0].min_tour", "> max_tour"),
    ("units zero", _offer(units=0), "offers[0].units", "must be at least 1 (got 0)"),
    ("negative cost", _offer(cost=-1), "offers[0].cost", "must be at least 0 (got -1)"),
    (
        "share zero",
        base_instance(nations=[{"id": "FR", "share": 0}, {"id": "GB"}]),
        "nations[0].share",
        "must be at least 0.000001 (got 0)",
    ),
    ("wrong type", _offer(units="two"), "offers[0].units", "must be a whole number (got 'two')"),
    ("a fraction of a unit", _offer(units=1.5), "offers[0].units", "must be a whole number (got 1.5)"),
    ("a list as text", _offer(tasks="air"), "offers[0].tasks", "must be a list (got 'air')"),
    ("true as a number", _offer(units=True), "offers[0].units", "must be a number, not true or false"),
    (
        "a window of three",
        _offer(available=[1, 2, 3]),
        "offers[0].available",
        "must be a window [first, last]",
    ),
    (
        "horizon as a number",
        {**base_instance(), "horizon": 6},
        "horizon",
        "must be a mapping of keys to values",
    ),
    (
        "a choice in the wrong case",
        base_instance(model={"fairness": "Units"}),
        "model.fairness",
        "must be one of units, personnel, cost (got 'Units'); did you mean 'units'?",
    ),
    (
        "missing key",
        base_instance(capabilities=[{"id": "fighter"}]),
        "capabilities[0].domain",
        "missing",
    ),
    ("no tasks", base_instance(tasks=[]), "tasks", "empty"),
    (
        "bad name",
        base_instance(name="a name"),
        "name",
        "may hold only letters, digits and _ . - (got 'a name')",
    ),
    (
        "min > max nations",
        _task(min_nations=3, max_nations=2),
        "tasks[0].min_nations",
        "> max_nations",
    ),
    (
        "lead unknown nation",
        _task(lead={"nations": ["XX"], "term": 2}),
        "tasks[0].lead.nations[0]",
        "unknown nation",
    ),
    (
        "lead first not eligible",
        _task(lead={"nations": ["FR"], "term": 2, "first": "GB"}),
        "tasks[0].lead.first",
        "not one of",
    ),
    (
        "lead nation cannot serve",
        {
            **_task(lead={"nations": ["FR", "GB"], "term": 2}),
            "offers": [{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1}],
        },
        "tasks[0].lead.nations[1]",
        "no offer that could serve",
    ),
    ("unknown model", base_instance(model="cheapest"), "model", "unknown model"),
    (
        "unknown objective",
        base_instance(model={"objectives": ["speed"]}),
        "model.objectives[0]",
        "unknown objective",
    ),
    (
        "objective twice",
        base_instance(model={"objectives": ["cost", {"cost": 1, "shortfall": 1}]}),
        "model.objectives[1]",
        "twice",
    ),
    ("bad shortfall mode", base_instance(model={"shortfall": "firm"}), "model.shortfall", "soft"),
    (
        "absurd horizon",
        base_instance(horizon={"periods": 10_000_000}),
        "horizon.periods",
        "must be at most 1000",
    ),
    (
        "too many tours",
        base_instance(
            horizon={"periods": 1000},
            offers=[{"id": f"o{i}", "nation": "FR", "capability": "fighter", "units": 1} for i in range(10)],
        ),
        "offers",
        "too large",
    ),
]


BAD += [
    # one mistake, one message: an item with a structural problem is still known to references
    (
        "share zero, nation referenced",
        {
            **_task(lead={"nations": ["FR", "GB"], "term": 2, "first": "FR"}),
            "nations": [{"id": "FR", "share": 0}, {"id": "GB"}],
        },
        "nations[0].share",
        "must be at least 0.000001 (got 0)",
    ),
    (
        "typo in the only offer of a lead nation",
        {
            **_task(lead={"nations": ["FR"], "term": 2}),
            "offers": [{"id": "FR-a", "nation": "FR", "capability": "fighter", "units": 1, "max_tours": 2}],
        },
        "offers[0].max_tours",
        "did you mean 'max_tour'",
    ),
    (
        "unknown nation, close",
        _offer(nation="Fr"),
        "offers[0].nation",
        "unknown nation 'Fr'; did you mean 'FR'?",
    ),
    (
        "unknown capability, close",
        _offer(capability="fighters"),
        "offers[0].capability",
        "did you mean 'fighter'?",
    ),
    ("unknown task, close", _offer(tasks=["Air"]), "offers[0].tasks[0]", "did you mean 'air'?"),
    (
        "lead nation, close",
        _task(lead={"nations": ["gb"], "term": 2}),
        "tasks[0].lead.nations[0]",
        "did you mean 'GB'?",
    ),
]


BAD += [
    (
        "escape sequence in a name",
        base_instance(nations=[{"id": "FR", "name": "Fr\x1b[2Jance"}, {"id": "GB"}]),
        "nations[0].name",
        "control characters",
    ),
    ("newline in an id", _offer(id="FR\na"), "offers[0].id", "control characters"),
    (
        "a name that would not fit in a file name, repeated only in part",
        base_instance(name="x" * 5000),
        "name",
        "at most 200 characters (got '" + "x" * 60 + "'... (5,000 characters))",
    ),
]


def all_problems_of(doc: Any) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as info:
        allocator.build_instance(doc, "bad.yaml")
    return [(p.path, p.message) for p in info.value.problems]


@pytest.mark.parametrize(("what", "doc", "path", "fragment"), BAD, ids=[b[0] for b in BAD])
def test_bad_instance_names_the_place_once(what: str, doc: dict[str, Any], path: str, fragment: str) -> None:
    """Each mistake gives exactly one message, at its place."""
    problems = all_problems_of(doc)
    assert [place for place, _ in problems] == [path], (
        f"{what}: expected one problem at {path}, got {problems}"
    )
    assert fragment in problems[0][1]


def test_all_problems_reported_at_once() -> None:
    doc = base_instance(name="bad name", nations=[{"id": "FR", "share": -1}, {"id": "GB"}])
    doc["offers"][0]["nation"] = "XX"
    doc["offers"][1]["max_tours"] = 2
    assert {"name", "nations[0].share", "offers[0].nation", "offers[1].max_tours"} <= set(problems_of(doc))


def test_not_a_mapping() -> None:
    assert "" in problems_of([1, 2])


@pytest.mark.parametrize("text", ["name: [unclosed", "a: b: c"])
def test_invalid_yaml_reports_line(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_instance(path)
    assert "invalid YAML" in info.value.render() and "line 1" in info.value.render()


def test_invalid_json_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n  oops}')
    with pytest.raises(InputError, match="line 2"):
        load_instance(path)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="no such file"):
        load_instance("/nonexistent/instance.yaml")


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(InputError, match="invalid YAML"):
        load_instance(path)


def test_norway_stays_a_country_code() -> None:
    doc = yaml.safe_dump(base_instance(nations=[{"id": "FR"}, {"id": "GB"}, {"id": "NO"}]))
    instance = allocator.build_instance(parse_document(doc.replace("'NO'", "NO"), "x.yaml"), "x")
    assert [n.id for n in instance.nations] == ["FR", "GB", "NO"]


def test_json_and_yaml_load_alike(tmp_path: Path) -> None:
    doc = base_instance()
    (tmp_path / "i.json").write_text(json.dumps(doc))
    (tmp_path / "i.yaml").write_text(yaml.safe_dump(doc))
    assert load_instance(tmp_path / "i.json") == load_instance(tmp_path / "i.yaml")


def test_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(base_instance())))
    assert load_instance("-").name == "tiny"


def test_instance_is_immutable() -> None:
    instance = build(base_instance())
    with pytest.raises(Exception, match="frozen"):
        instance.name = "other"  # type: ignore[misc]


def test_model_override_and_default() -> None:
    assert build(base_instance()).spec.name == "coverage-first"
    doc = base_instance(model="fair-share")
    assert allocator.build_instance(doc, "x", model="min-cost").spec.shortfall == "hard"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_load(path: Path) -> None:
    assert load_instance(path).name == path.stem


def test_write_atomic_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(tmp_path) == ["out.json"]


def test_write_atomic_keeps_old_file_on_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")

    def boom(*_: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_write_atomic_gives_the_usual_file_mode(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        write_atomic(tmp_path / "plan.json", b"{}")
    finally:
        os.umask(mask)
    assert (tmp_path / "plan.json").stat().st_mode & 0o777 == 0o644


def test_written_yaml_is_tidy_and_loads_back(tmp_path: Path) -> None:
    from allocator.instance.load import write_instance

    instance = load_instance(EXAMPLES / "basic.yaml")
    write_instance(instance, tmp_path / "copy.yaml")
    text = (tmp_path / "copy.yaml").read_text()
    assert ".0\n" not in text  # whole numbers stay whole
    assert "\nmodel: coverage-first\n" in text  # a catalogued model by its name
    assert load_instance(tmp_path / "copy.yaml") == instance


def test_references_inside_an_item_with_its_own_error_are_reported_too() -> None:
    """Every problem at once: an offer with units 0 and an unknown nation gives both."""
    doc = base_instance()
    doc["offers"][0].update(nation="Fr", units=0)
    assert all_problems_of(doc) == [
        ("offers[0].nation", "unknown nation 'Fr'; did you mean 'FR'?"),
        ("offers[0].units", "must be at least 1 (got 0)"),
    ]


def test_a_solution_file_given_as_an_instance_is_named_as_such() -> None:
    assert all_problems_of({"instance": "x", "status": "optimal", "solver": {}}) == [
        ("", "this is a solution file (it has 'status'), not an instance")
    ]


def test_a_section_that_is_not_a_list_gives_one_message() -> None:
    doc = base_instance()
    doc["nations"] = {"FR": {"share": 1}}
    assert all_problems_of(doc) == [("nations", "must be a list, got dict")]


def test_a_start_that_is_not_a_month_is_a_warning() -> None:
    with pytest.warns(allocator.InputWarning, match="'March 2027' is not a month written YYYY-MM"):
        instance = build(base_instance(horizon={"periods": 4, "start": "March 2027"}))
    assert instance.horizon.first_month is None
    assert build(base_instance(horizon={"periods": 4, "start": "2027-03"})).horizon.first_month == (2027, 3)
    assert (
        build(base_instance(horizon={"periods": 4, "start": "3", "unit": "week"})).horizon.first_month is None
    )


@pytest.mark.parametrize(
    ("label", "text"), [("deep.yaml", "a: " + "[" * 100_000), ("deep.json", "[" * 40 + "]" * 40)]
)
def test_a_document_nested_too_deeply_is_refused(label: str, text: str) -> None:
    """Bad input, not a RecursionError (an instance nests 5 levels; 32 are allowed)."""
    with pytest.raises(InputError, match="nested more than 32 levels deep"):
        parse_document(text, label)


# bounded input: counts and numbers the engine holds exactly -----------------------------------
BAD_NUMBERS: list[tuple[str, dict[str, Any], str, str]] = [
    ("a cost of 1e18", _offer(cost=1e18), "offers[0].cost", "must be at most 1,000,000,000,000 (got 1e+18)"),
    ("an infinite cost", _offer(cost=float("inf")), "offers[0].cost", "must be a finite number"),
    ("a nan cost", _offer(cost=float("nan")), "offers[0].cost", "must be a finite number"),
    ("personnel", _offer(personnel=1e13), "offers[0].personnel", "must be at most 1,000,000,000,000"),
    (
        "a budget",
        base_instance(nations=[{"id": "FR", "budget": 1e15}, {"id": "GB"}]),
        "nations[0].budget",
        "must be at most 1,000,000,000,000",
    ),
    (
        "max_personnel",
        base_instance(nations=[{"id": "FR", "max_personnel": float("inf")}, {"id": "GB"}]),
        "nations[0].max_personnel",
        "must be a finite number",
    ),
    (
        "a share finer than kept",
        base_instance(nations=[{"id": "FR", "share": 1e-9}, {"id": "GB"}]),
        "nations[0].share",
        "must be at least 0.000001",
    ),
    (
        "a huge share",
        base_instance(nations=[{"id": "FR", "share": 1e9}, {"id": "GB"}]),
        "nations[0].share",
        "must be at most 1,000,000",
    ),
    ("a huge priority", _task(priority=1e7), "tasks[0].priority", "must be at most 1,000,000"),
    ("a huge min_rest", _offer(min_rest=10**20), "offers[0].min_rest", "must be at most 1000"),
    ("a huge max_tour", _offer(max_tour=10**6), "offers[0].max_tour", "must be at most 1000"),
    ("a huge term", _task(lead={"nations": ["FR"], "term": 10**9}), "tasks[0].lead.term", "at most 1000"),
    (
        "a huge contribution",
        _task(lead={"nations": ["FR"], "term": 2, "contribution": 10**9}),
        "tasks[0].lead.contribution",
        "must be at most 100,000",
    ),
    ("a huge min_nations", _task(min_nations=10**9), "tasks[0].min_nations", "must be at most 1000"),
    (
        "a nan weight",
        base_instance(model={"objectives": [{"shortfall": float("nan"), "cost": 1}]}),
        "model.objectives[0].shortfall",
        "weight nan must be between 0.000001 and 1,000,000",
    ),
    (
        "an infinite weight",
        base_instance(model={"objectives": [{"shortfall": float("inf"), "cost": 1}]}),
        "model.objectives[0].shortfall",
        "weight inf must be between",
    ),
    (
        "a zero weight",
        base_instance(model={"objectives": [{"shortfall": 0, "cost": 1}]}),
        "model.objectives[0].shortfall",
        "weight 0 must be between",
    ),
    (
        "too many nations",
        base_instance(nations=[{"id": f"N{i}"} for i in range(1001)]),
        "nations",
        "at most 1,000 nations (got 1,001)",
    ),
]


@pytest.mark.parametrize(("what", "doc", "path", "fragment"), BAD_NUMBERS, ids=[b[0] for b in BAD_NUMBERS])
def test_numbers_and_counts_beyond_the_limits_are_refused_at_their_place(
    what: str, doc: dict[str, Any], path: str, fragment: str
) -> None:
    problems = all_problems_of(doc)
    assert [place for place, _ in problems] == [path], f"{what}: {problems}"
    assert fragment in problems[0][1]


def test_sums_beyond_what_the_solvers_hold_exactly_are_refused() -> None:
    """Each cost is within its limit, but a plan's total cost, counted in hundredths, is not."""
    offers = [
        {"id": f"o{i}", "nation": "FR", "capability": "fighter", "units": 100_000, "cost": 1e9 + 0.25}
        for i in range(2)
    ]
    doc = base_instance(horizon={"periods": 12}, offers=offers)
    doc["tasks"][0]["requirements"][0]["units"] = 1
    ((path, message),) = all_problems_of(doc)
    assert path == "offers[0].cost"
    assert message.startswith("numbers too large to plan exactly: the cost of every unit-period offered")
    assert "9,007,199,254,740,992" in message
    for offer in doc["offers"]:
        offer["cost"] = 1e9  # whole: counted once each
    assert build(doc).offers[0].cost == 1e9


def test_a_weighted_level_beyond_what_the_solvers_hold_exactly_is_refused() -> None:
    doc = base_instance(
        horizon={"periods": 1000},
        model={"objectives": [{"cost": 1_000_000, "deployments": 0.000001}]},
    )
    doc["offers"][0].update(units=100_000, cost=1e6, max_tour=1)
    assert all_problems_of(doc)[0][0] == "model.objectives[0]"


def test_a_cost_of_1e18_is_bad_input_for_solve(tmp_path: Path) -> None:
    """Before: `solve` ended with "internal error" (exit 1) in the CP-SAT model."""
    from click.testing import CliRunner

    from allocator.cli import main

    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(_offer(cost=1e18)))
    result = CliRunner().invoke(main, ["solve", str(path), "--time-limit", "5"])
    assert result.exit_code == 2, result.output
    assert "offers[0].cost: must be at most 1,000,000,000,000 (got 1e+18)" in " ".join(result.output.split())


def test_forty_thousand_nations_are_refused_before_any_model_within_the_ceilings(tmp_path: Path) -> None:
    """Before: `solve --time-limit 2` spent 56 s building and solving a model of 40,000 nations."""
    from tests.helpers.bounded import run_bounded

    doc = base_instance(nations=[{"id": f"N{i}", "share": 1} for i in range(40_000)])
    doc["nations"][:2] = [{"id": "FR"}, {"id": "GB"}]
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(doc, default_flow_style=None))
    result = run_bounded("solve", str(path), "--time-limit", "2")
    assert result.returncode == 2, result.output
    assert "nations: at most 1,000 nations (got 40,000)" in result.output


def test_a_large_json_body_of_nations_is_refused_within_the_ceilings(tmp_path: Path) -> None:
    """A 15 MiB JSON of 247,000 nations: refused by its count of values, quickly."""
    from tests.helpers.bounded import run_bounded

    doc = base_instance(nations=[{"id": f"N{i:06d}", "name": "x" * 20, "share": 1} for i in range(247_000)])
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    assert 14 << 20 < path.stat().st_size < 16 << 20
    result = run_bounded("validate", str(path))
    assert result.returncode == 2, result.output
    assert "keys and values" in result.output or "at most 1,000 nations" in result.output


def test_a_50_mb_yaml_is_refused_within_the_ceilings(tmp_path: Path) -> None:
    """Before: 6 minutes and 5 GB."""
    from tests.helpers.bounded import run_bounded

    path = tmp_path / "big.yaml"
    with path.open("w") as stream:
        stream.write("name: big\nnations:\n")
        line = "  - {id: N, share: 1}\n"
        stream.write(line * (50_000_000 // len(line)))
    result = run_bounded("validate", str(path))
    assert result.returncode == 2, result.output
    assert "file larger than 16 MiB" in result.output


# text that every format holds -----------------------------------------------------------------------
BAD_TEXT: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "an id ending with a space",
        _offer(nation="FR "),
        "offers[0].nation",
        "may not begin or end with a space",
    ),
    ("a C1 control character", _offer(id="FR\x85a"), "offers[0].id", "control characters"),
    ("a lone surrogate", _offer(id="FR\ud800"), "offers[0].id", "lone surrogates"),
    ("U+FFFF", _task(name="air\uffff"), "tasks[0].name", "control characters"),
    ("a carriage return", _task(name="air\r\nwest"), "tasks[0].name", "control characters"),
    (
        "a blank domain",
        base_instance(capabilities=[{"id": "fighter", "domain": "  "}]),
        "capabilities[0].domain",
        "must not be empty",
    ),
]


@pytest.mark.parametrize(("what", "doc", "path", "fragment"), BAD_TEXT, ids=[b[0] for b in BAD_TEXT])
def test_text_no_format_can_hold_is_refused(what: str, doc: dict[str, Any], path: str, fragment: str) -> None:
    problems = all_problems_of(doc)
    assert [place for place, _ in problems] == [path], f"{what}: {problems}"
    assert fragment in problems[0][1]


def test_spaces_at_the_ends_of_text_are_dropped_and_blank_text_is_none() -> None:
    """As a workbook reads a cell: the same instance from every format."""
    doc = _task(name="  Air policing\n", domain="")
    doc["nations"][0]["name"] = " "
    instance = build(doc)
    assert (instance.tasks[0].name, instance.tasks[0].domain, instance.nations[0].name) == (
        "Air policing",
        None,
        None,
    )


def test_a_duplicate_key_is_bad_input_for_validate(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from allocator.cli import main

    path = tmp_path / "plan.yaml"
    text = yaml.safe_dump(base_instance(), sort_keys=False)
    path.write_text(text + "offers: []\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "offers: the key 'offers' is given twice in one mapping: at line" in output
