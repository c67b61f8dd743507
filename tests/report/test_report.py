"""The plan report: files, numbers read back from the workbook, and the HTML page in a real browser."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import allocator
from allocator.cli import main
from allocator.report import build_report, chart_name, write_report
from allocator.report.tables import period_labels
from tests.helpers.instances import EXAMPLES
from tests.helpers.reports import REASSURANCE


@pytest.fixture(scope="module")
def solved(
    reassurance: tuple[allocator.Instance, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> tuple[allocator.Instance, dict[str, Any], Path]:
    """The reassurance scenario solved briefly, its solution file and its report folder."""
    instance, document = reassurance
    folder = tmp_path_factory.mktemp("report")
    solution = folder / "solution.json"
    solution.write_text(json.dumps(document))
    out = folder / "report"
    invoked = CliRunner().invoke(main, ["report", str(REASSURANCE), str(solution), "-o", str(out)])
    assert invoked.exit_code == 0, invoked.output
    return instance, json.loads(solution.read_text()), out


def test_report_writes_every_file(solved: tuple[allocator.Instance, dict[str, Any], Path]) -> None:
    instance, _, out = solved
    expected = {"report.xlsx", "report.html", "personnel.png", "burden.png", "leads.png", "coverage.png"}
    expected |= {chart_name(t.id) for t in instance.tasks}
    assert {p.name for p in out.iterdir()} == expected | {".allocator-report"}
    for png in out.glob("*.png"):
        assert png.read_bytes().startswith(b"\x89PNG"), png


def _sheets(out: Path) -> dict[str, pd.DataFrame]:
    return pd.read_excel(out / "report.xlsx", sheet_name=None)


def test_workbook_assignments_and_leads_are_the_solutions(
    solved: tuple[allocator.Instance, dict[str, Any], Path],
) -> None:
    _, solution, out = solved
    sheets = _sheets(out)
    tours = Counter(
        (row["offer"], row["unit"], row["task"], row["start"], row["end"])
        for row in sheets["assignments"].to_dict("records")
    )
    assert tours == Counter(
        (a["offer"], a["unit"], a["task"], a["start"], a["end"]) for a in solution["assignments"]
    )
    leads = {(r["task"], r["nation"], r["start"], r["end"]) for r in sheets["leads"].to_dict("records")}
    assert leads == {(t["task"], t["nation"], t["start"], t["end"]) for t in solution["leads"]}
    mnhq = sheets["leads"][sheets["leads"]["task"] == "mnhq"].sort_values("start")
    assert list(mnhq["nation"]) == ["FR", "GB"]  # Paris, then London
    assert list(mnhq["from"]) == ["2027-01", "2028-01"]


def test_workbook_coverage_and_shortfalls_match_the_solution(
    solved: tuple[allocator.Instance, dict[str, Any], Path],
) -> None:
    instance, solution, out = solved
    sheets = _sheets(out)
    labels = period_labels(instance)
    deployed: Counter[tuple[str, str, int]] = Counter()
    nations: dict[tuple[str, int], set[str]] = {}
    offers = {o.id: o for o in instance.offers}
    for a in solution["assignments"]:
        for p in range(a["start"], a["end"] + 1):
            deployed[a["task"], offers[a["offer"]].capability, p] += 1
            nations.setdefault((a["task"], p), set()).add(offers[a["offer"]].nation)
    coverage = sheets["coverage"]
    short_cells = set()
    for row in coverage.to_dict("records"):
        for p, label in enumerate(labels, start=1):
            cell = row[label]
            if isinstance(cell, str) and cell:
                have, need = (int(x) for x in cell.split(" / "))
                if row["capability"] == "(nations)":
                    assert have == len(nations.get((row["task"], p), ())), (row["task"], label)
                else:
                    assert have == deployed[row["task"], row["capability"], p], (row["task"], label)
                if have < need:
                    short_cells.add((row["task"], row["capability"], p, need - have))
    nation_rows = {row["task"] for row in coverage.to_dict("records") if row["capability"] == "(nations)"}
    assert nation_rows == {t.id for t in instance.tasks if t.min_nations}
    expected_short = {
        (s["task"], s["capability"], s["period"], s["units"])
        if "capability" in s
        else (s["task"], "(nations)", s["period"], s["nations"])
        for s in solution["shortfalls"]
    }
    assert short_cells == expected_short
    units_short = {short for short in expected_short if short[1] != "(nations)"}
    sheet = sheets["shortfalls"]
    from_sheet = {
        (r["task"], r["what"], r["period"], r["missing"])
        for r in sheet.to_dict("records")
        if r["what"] != "(nations)"
    }
    assert from_sheet == units_short
    missing_nations = {
        (r["task"], r["period"], r["missing"]) for r in sheet.to_dict("records") if r["what"] == "(nations)"
    }
    assert missing_nations == {
        (s["task"], s["period"], s["nations"]) for s in solution["shortfalls"] if "nations" in s
    }


def test_workbook_burden_under_every_measure(solved: tuple[allocator.Instance, dict[str, Any], Path]) -> None:
    instance, solution, out = solved
    burden = _sheets(out)["burden"].set_index("nation")
    offers = {o.id: o for o in instance.offers}
    expected = {"units": Counter(), "personnel": Counter(), "cost": Counter()}  # type: ignore[var-annotated]
    for a in solution["assignments"]:
        offer = offers[a["offer"]]
        periods = a["end"] - a["start"] + 1
        expected["units"][offer.nation] += periods
        expected["personnel"][offer.nation] += periods * offer.personnel
        expected["cost"][offer.nation] += periods * offer.cost
    total_share = sum(n.share for n in instance.nations)
    for measure, per_nation in expected.items():
        total = sum(per_nation.values())
        for nation in instance.nations:
            assert burden.loc[nation.id, measure] == pytest.approx(per_nation[nation.id], abs=1e-3)
            fair = nation.share / total_share * total
            assert burden.loc[nation.id, f"{measure}_fair_share"] == pytest.approx(fair, abs=1e-3)
    assert solution["objectives"]["fairness"] == pytest.approx(
        (burden["units"] - burden["units_fair_share"]).abs().sum(), abs=0.01
    )


def test_html_is_self_contained(solved: tuple[allocator.Instance, dict[str, Any], Path]) -> None:
    instance, _, out = solved
    html = (out / "report.html").read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert html.count('src="data:image/png;base64,') == len(instance.tasks) + 4
    for nation in ("FR", "GB"):
        assert f"<td>{nation}</td>" in html


def test_solve_writes_the_report_too(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["solve", str(EXAMPLES / "lead-rotation.yaml"), "--threads", "1", "--report", str(tmp_path / "r")],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.html").exists() and (tmp_path / "r" / "report.xlsx").exists()


def test_report_lists_the_checkers_violations(tmp_path: Path) -> None:
    instance = allocator.load_instance(EXAMPLES / "basic.yaml")
    doc = allocator.solve(instance, threads=1, time_limit=10).to_json()
    doc["objectives"]["cost"] += 1  # a solution file that misreports its cost
    report = build_report(instance, doc)
    assert report.violations and report.violations[0].startswith("report:")
    write_report(instance, doc, tmp_path)
    assert "violation(s)" in (tmp_path / "report.html").read_text()


@pytest.mark.parametrize("status", ["unknown", "infeasible"])
def test_report_of_a_solution_without_a_plan_says_so(tmp_path: Path, status: str) -> None:
    instance = allocator.load_instance(EXAMPLES / "basic.yaml")
    doc = {"instance": instance.name, "status": status, "solver": {"backend": "cpsat"}}
    write_report(instance, doc, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert 'id="no-plan"' in page and "No plan:" in page
    summary = pd.read_excel(tmp_path / "report.xlsx", sheet_name="summary")
    assert summary.set_index("item").loc["plan", "value"].startswith("No plan:")
    planned = allocator.solve(instance, threads=1, time_limit=10).to_json()
    write_report(instance, planned, tmp_path / "planned")
    assert 'id="no-plan"' not in (tmp_path / "planned" / "report.html").read_text()


def test_bad_solution_file_exit_2_nothing_written(tmp_path: Path) -> None:
    bad = tmp_path / "solution.json"
    bad.write_text(json.dumps({"instance": "basic", "status": "feasible", "assignments": [{"offer": 3}]}))
    result = CliRunner().invoke(
        main, ["report", str(EXAMPLES / "basic.yaml"), str(bad), "-o", str(tmp_path / "r")]
    )
    assert result.exit_code == 2
    assert "assignments[0]" in result.output
    assert not (tmp_path / "r").exists()


# the page in a real browser ---------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _browser(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def test_html_page_in_headless_chromium(
    solved: tuple[allocator.Instance, dict[str, Any], Path], tmp_path: Path
) -> None:
    """Every chart loads, every table is there, nothing is logged to the console, it fits a laptop."""
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("ALLOCATOR_REQUIRE_BROWSER"):
            pytest.fail(
                "chromium and chromedriver are required (Debian: apt-get install chromium chromium-driver)"
            )
        pytest.skip("no chromium/chromedriver here (.ci/run installs them)")
    instance, solution, out = solved
    driver = _browser(tmp_path / "profile")
    try:
        driver.set_window_size(1366, 768)
        driver.get((out / "report.html").as_uri())
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0])"
        )
        assert len(images) == len(instance.tasks) + 4
        assert all(ok for _, ok in images), [alt for alt, ok in images if not ok]
        tables = driver.execute_script("return document.querySelectorAll('table').length")
        why = driver.execute_script("return document.querySelectorAll('#why table').length")
        # leads, coverage, burden, assignments, and shortfalls when there are any; in "why", the
        # parts of every objective that has some (fairness, deployments and cost always do)
        assert tables - why == 4 + bool(solution["shortfalls"])
        assert 3 <= why <= 5
        sections = driver.execute_script(
            "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)"
        )
        assert sections[:2] == ["Summary", "Lead nations"]
        wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"the page is {wide}px wider than a laptop window"
        burden = driver.execute_script(
            "const box = document.querySelector('#burden table').parentElement;"
            "return box.scrollWidth - box.clientWidth"
        )
        assert burden <= 0, f"the burden table is {burden}px wider than its box: it scrolls"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
        assert not errors, errors
        folder = Path(os.environ.get("ALLOCATOR_SCREENSHOTS", tmp_path))
        folder.mkdir(parents=True, exist_ok=True)
        screenshot = folder / "report.png"
        assert driver.save_screenshot(str(screenshot))
        assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 10_000
    finally:
        driver.quit()


# the summary: recomputed, not claimed -------------------------------------------------------------


def test_workbook_summary_shows_recomputed_objectives_and_claimed_status(tmp_path: Path) -> None:
    from tests.helpers.reports import SMALL_PLAN, small_instance

    document = {
        **SMALL_PLAN,
        "status": "optimal",
        "objectives": {"shortfall": 0, "surplus": 0, "fairness": 0, "deployments": 3, "cost": 9},
        "solver": {"backend": "cpsat", "bounds": {"shortfall": 0}},
    }
    write_report(small_instance(), document, tmp_path)
    rows = pd.read_excel(tmp_path / "report.xlsx", sheet_name="summary").to_dict("records")
    summary = {row["item"]: row["value"] for row in rows}
    assert summary["status"] == "optimal (claimed; the checker finds 5 violations)"
    assert summary["objective: shortfall"] == 3 and summary["objective: fairness"] == pytest.approx(10 / 3)
    assert summary["claimed objective: shortfall"] == 0
    assert summary["solver's bound (claimed): shortfall"] == 0
    assert not [item for item in summary if item.startswith("bound")]


# a report folder holds one report -------------------------------------------------------------------


def _named(name: str, tasks: list[str]) -> tuple[allocator.Instance, dict[str, Any]]:
    """An instance `name` with one fighter task per id in `tasks`, and an empty plan of it."""
    from tests.helpers.instances import base_instance, build

    doc = base_instance(name=name)
    doc["tasks"] = [{"id": t, "requirements": [{"capability": "fighter", "units": 1}]} for t in tasks]
    plan = {"instance": name, "status": "feasible", "assignments": [], "leads": [], "shortfalls": []}
    return build(doc), plan


def test_a_report_replaces_the_older_reports_files_and_keeps_the_users(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    write_report(*_named("a", ["a1", "a2"]), tmp_path)
    assert {"rotation-a1.png", "rotation-a2.png"} <= {p.name for p in tmp_path.iterdir()}
    written = write_report(*_named("b", ["b1"]), tmp_path)
    charts = {"leads.png", "coverage.png", "personnel.png", "burden.png", "rotation-b1.png"}
    files = {"report.html", "report.xlsx", *charts}
    assert {p.name for p in written} == files
    assert {p.name for p in tmp_path.iterdir()} == files | {"notes.txt", ".allocator-report"}
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "entry", ["../x", "../out/x", "/ABSOLUTE/x", "sub/report.html", "..", ".", "", "sub\\report.html"]
)
def test_a_manifest_from_elsewhere_deletes_nothing_outside_the_folder(tmp_path: Path, entry: str) -> None:
    folder, outside, sub = tmp_path / "report", tmp_path / "out", tmp_path / "report" / "sub"
    sub.mkdir(parents=True)
    outside.mkdir()
    keep = [tmp_path / "x", outside / "x", sub / "report.html", folder / "sub\\report.html"]
    for path in keep:
        path.write_text("keep")
    entry = entry.replace("/ABSOLUTE", str(tmp_path))
    (folder / ".allocator-report").write_text(f"{entry}\nnotes.txt\n")
    (folder / "notes.txt").write_text("mine")  # named, but not a report's file
    write_report(*_named("b", ["b1"]), folder)
    assert all(path.read_text() == "keep" for path in keep), entry
    assert (folder / "notes.txt").read_text() == "mine" and sub.is_dir()


def test_the_manifest_lists_the_files_written(tmp_path: Path) -> None:
    written = write_report(*_named("b", ["b1"]), tmp_path)
    lines = (tmp_path / ".allocator-report").read_text().splitlines()
    assert sorted(line for line in lines if not line.startswith("#")) == sorted(p.name for p in written)


# the header ---------------------------------------------------------------------------------------


def _caption(page: Path) -> str:
    import re

    found = re.search(r"Solution: ([^<]*?)\.\s*</p>", page.read_text())
    assert found, page
    return found.group(1)


def test_report_and_solve_report_name_the_solution_alike(tmp_path: Path) -> None:
    plan = tmp_path / "t.json"
    instance = str(EXAMPLES / "lead-rotation.yaml")
    options = ["--threads", "1", "--time-limit", "10", "-o", str(plan), "--report", str(tmp_path / "solved")]
    solved = CliRunner().invoke(main, ["solve", instance, *options])
    assert solved.exit_code == 0, solved.output
    status = json.loads(plan.read_text())["status"]
    assert _caption(tmp_path / "solved" / "report.html") == f"lead-rotation (auto, {status})"
    invoked = CliRunner().invoke(main, ["report", instance, str(plan), "-o", str(tmp_path / "r")])
    assert invoked.exit_code == 0, invoked.output
    assert _caption(tmp_path / "r" / "report.html") == f"{plan} (auto, {status})"


def test_a_report_without_a_label_names_the_instance(tmp_path: Path) -> None:
    """Called from Python without a label, the page and the workbook name the instance, as
    `allocator solve --report` does, never a placeholder."""
    from tests.helpers.reports import SMALL_PLAN, small_instance

    document = {**SMALL_PLAN, "solver": {"backend": "cpsat"}}
    assert build_report(small_instance(), document).caption == "tiny (cpsat, feasible)"
    write_report(small_instance(), document, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert _caption(tmp_path / "report.html") == "tiny (cpsat, feasible)"
    assert "solution&gt;" not in page and "<solution>" not in page
    summary = pd.read_excel(tmp_path / "report.xlsx", sheet_name="summary").set_index("item")["value"]
    assert summary["solution"] == "tiny"


# coverage: nations --------------------------------------------------------------------------------


def _coverage_cells(path: Path) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    """The coverage sheet's rows by (task, capability): each period's text and fill colour."""
    from openpyxl import load_workbook

    sheet = load_workbook(path)["coverage"]
    rows = {}
    for row in sheet.iter_rows(min_row=2):
        fills = [c.fill.fgColor.rgb if c.fill.fill_type == "solid" else None for c in row[2:]]
        rows[row[0].value, row[1].value] = [
            (c.value or "", str(fill)[-6:] if fill else None) for c, fill in zip(row[2:], fills, strict=True)
        ]
    return rows


@pytest.mark.parametrize("min_nations", [2, 1, 0])
def test_workbook_coverage_has_a_nations_row_filled_like_capability_rows(
    tmp_path: Path, min_nations: int
) -> None:
    """`air` has one nation (FR) in periods 1-2 and two after: its (nations) row follows its fighters,
    nations / min_nations, short cells red; no such row without min_nations."""
    from allocator.report.workbook import OK_FILL, SHORT_FILL
    from tests.helpers.reports import SMALL_PLAN, small_instance

    write_report(small_instance(min_nations), SMALL_PLAN, tmp_path)
    rows = _coverage_cells(tmp_path / "report.xlsx")
    short, ok = SHORT_FILL, OK_FILL
    assert rows["air", "fighter"] == [("1 / 2", short), ("1 / 2", short), ("2 / 2", ok), ("2 / 2", ok)]
    if not min_nations:
        assert list(rows) == [("air", "fighter"), ("cap", "fighter")]
        return
    assert list(rows) == [("air", "fighter"), ("air", "(nations)"), ("cap", "fighter")]
    expected = {
        2: [("1 / 2", short), ("1 / 2", short), ("2 / 2", ok), ("2 / 2", ok)],
        1: [("1 / 1", ok), ("1 / 1", ok), ("2 / 1", ok), ("2 / 1", ok)],
    }
    assert rows["air", "(nations)"] == expected[min_nations]


# a plan made for other data ---------------------------------------------------------------------------


def _stale(digest: str | None) -> dict[str, Any]:
    from tests.helpers.reports import SMALL_PLAN

    return {**SMALL_PLAN, "solver": {"backend": "cpsat", **({"instance_digest": digest} if digest else {})}}


def _page_warnings(page: str) -> list[str]:
    import re

    found = re.search(r'<ul class="warnings"[^>]*>(.*?)</ul>', page, re.S)
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S) if found else []


def test_a_plan_made_for_other_data_warns_on_the_page_and_in_the_workbook(tmp_path: Path) -> None:
    from allocator.errors import InputWarning
    from tests.helpers.reports import small_instance

    with pytest.warns(InputWarning, match="other data") as caught:  # still issued to the caller
        write_report(small_instance(), _stale("0" * 64), tmp_path, "<b>old</b>.json")
    assert len([w for w in caught if issubclass(w.category, InputWarning)]) == 1
    page = (tmp_path / "report.html").read_text()
    (shown,) = _page_warnings(page)
    assert (
        shown.startswith("warning: &lt;b&gt;old&lt;/b&gt;.json: solver.instance_digest: ")
        and "other data" in shown
    )
    assert "<b>old</b>" not in page  # escaped like all text
    summary = pd.read_excel(tmp_path / "report.xlsx", sheet_name="summary")
    (value,) = summary[summary["item"] == "warning"]["value"]
    assert value.startswith("<b>old</b>.json: solver.instance_digest: ") and "other data" in value


@pytest.mark.parametrize("digest", [None, "same"])
def test_a_plan_of_these_data_or_without_a_digest_warns_nowhere(tmp_path: Path, digest: str | None) -> None:
    import warnings

    from allocator.errors import InputWarning
    from allocator.instance.formats import instance_digest
    from tests.helpers.reports import small_instance

    instance = small_instance()
    document = _stale(instance_digest(instance) if digest else None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_report(instance, document, tmp_path)
    assert not [w for w in caught if issubclass(w.category, InputWarning)]
    page = (tmp_path / "report.html").read_text()
    assert 'class="warnings"' not in page and not _page_warnings(page)
    summary = pd.read_excel(tmp_path / "report.xlsx", sheet_name="summary")
    assert "warning" not in set(summary["item"])


def test_allocator_report_prints_the_warning_it_shows(tmp_path: Path) -> None:
    from tests.helpers.instances import base_instance
    from tests.helpers.reports import SMALL_PLAN

    instance = tmp_path / "tiny.json"
    instance.write_text(json.dumps(base_instance()))
    plan = tmp_path / "plan.json"
    tours = [a for a in SMALL_PLAN["assignments"] if a["offer"] != "IT-a"]
    plan.write_text(json.dumps({**_stale("0" * 64), "assignments": tours, "leads": []}))
    invoked = CliRunner().invoke(main, ["report", str(instance), str(plan), "-o", str(tmp_path / "r")])
    assert invoked.exit_code == 0, invoked.output
    assert "warning:" in invoked.output and "other data" in invoked.output
    (shown,) = _page_warnings((tmp_path / "r" / "report.html").read_text())
    assert "other data" in shown


def test_the_workbook_says_why(tmp_path: Path) -> None:
    """The page's "Why" section as sheets: each short run's offers and reasons, and the parts of
    every objective; none for a plan the checker rejects."""
    instance = allocator.load_instance(EXAMPLES / "shortfall.yaml")
    plan = allocator.solve(instance, time_limit=10, threads=1).to_json()
    write_report(instance, plan, tmp_path / "ok")
    why = pd.read_excel(tmp_path / "ok" / "report.xlsx", sheet_name="why")
    explained = allocator.explain(instance, plan)
    reasons = [(g["task"], r["offer"], r["reason"]) for g in explained.shortfalls for r in g["reasons"]]
    assert list(zip(why["task"], why["offer"], why["reason"], strict=True)) == reasons and reasons
    parts = pd.read_excel(tmp_path / "ok" / "report.xlsx", sheet_name="why-objectives")
    assert set(parts["objective"]) <= set(instance.spec.objective_names) and "shortfall" in set(
        parts["objective"]
    )
    broken = json.loads(json.dumps(plan))
    broken["assignments"][0]["end"] += 1
    write_report(instance, broken, tmp_path / "broken")
    sheets = pd.ExcelFile(tmp_path / "broken" / "report.xlsx").sheet_names
    assert "why" not in sheets and "why-objectives" not in sheets
