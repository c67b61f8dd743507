"""The HTML page: summary cards, the burden table's headers, how numbers print, the nation key."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

import allocator
from allocator.report import build_report
from allocator.report.html import render_html
from tests.helpers.reports import SMALL_PLAN, small_instance

NUMBER = re.compile(r"^[-+−]?\d{1,3}(,\d{3})*(\.\d+)?$")


class _Tables(HTMLParser):
    """Every table of a page: its section, and its header and body rows as (text, attributes) cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self.section = ""
        self.part = ""
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.section = dict(attrs).get("id") or ""
        elif tag == "table":
            self.tables.append(
                {"section": self.section, "class": dict(attrs).get("class"), "head": [], "body": []}
            )
        elif tag in ("thead", "tbody"):
            self.part = "head" if tag == "thead" else "body"
        elif tag == "tr" and self.tables:
            self.tables[-1][self.part or "body"].append([])
        elif tag in ("td", "th"):
            self.cell = []
            self.attrs = dict(attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][self.part or "body"][-1].append(("".join(self.cell).strip(), self.attrs))
            self.cell = None
        elif tag in ("thead", "tbody", "table"):
            self.part = ""

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _tables(page: str) -> list[dict[str, Any]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def _page(**model: Any) -> str:
    instance = small_instance(**model)
    return render_html(build_report(instance, SMALL_PLAN))


def _cards(page: str) -> list[str]:
    return re.findall(r'<div class="card">\s*([^<]+?)\s*<b', page)


def test_no_tours_card_when_deployments_is_an_objective() -> None:
    instance = small_instance()
    result = allocator.solve(instance, threads=1, time_limit=10)
    assert "deployments" in result.objectives
    cards = _cards(render_html(build_report(instance, result)))
    assert cards[0] == "status" and cards[1:-1] == list(result.objectives), cards
    assert "tours" not in cards


def test_tours_card_when_the_model_has_no_deployments_objective() -> None:
    instance = small_instance(objectives=["shortfall", "cost"])
    document = {**SMALL_PLAN, "objectives": {"shortfall": 4, "cost": 9}}  # made by another tool
    page = render_html(build_report(instance, document))
    assert _cards(page)[:3] == ["status", "shortfall", "cost"]
    assert re.search(r'<div class="card">tours<b>3</b>', page)


def test_burden_table_has_a_two_level_readable_header_and_names() -> None:
    page = _page()
    (burden,) = [t for t in _tables(page) if t["section"] == "burden"]
    top, sub = burden["head"]
    groups = [(text, attrs.get("colspan")) for text, attrs in top if attrs.get("colspan")]
    assert [(text.split()[0], span) for text, span in groups] == [
        ("units", "3"),
        ("personnel", "3"),
        ("cost", "3"),
    ]
    assert [text for text, _ in sub] == ["burden", "fair share", "difference"] * 3
    names = {row[1][0] for row in burden["body"]}
    assert names == {"United Kingdom", "France", "Italy"}
    every_header = [text for table in _tables(page) for row in table["head"] for text, _ in row]
    assert not [h for h in every_header if "_" in h], every_header


def test_numbers_print_whole_without_decimals_others_with_at_most_two() -> None:
    page = _page()
    tables = _tables(page)
    numbers = [text for t in tables for row in t["body"] for text, _ in row if NUMBER.match(text)]
    assert numbers
    for text in numbers:
        decimals = text.partition(".")[2]
        assert len(decimals) <= 2 and not decimals.endswith("0"), text
    (burden,) = [t for t in tables if t["section"] == "burden"]
    rows = {row[0][0]: [text for text, _ in row] for row in burden["body"]}
    # units: FR 4, GB 2, IT 1 unit-periods, equal shares: fair share 7/3 each
    assert rows["FR"][rows["FR"].index("4") + 1 : rows["FR"].index("4") + 3] == ["2.33", "+1.67"]
    assert "−0.33" in rows["GB"] and "−1.33" in rows["IT"]
    (tours,) = [t for t in tables if t["section"] == "tables"]
    costs = [row[-1][0] for row in tours["body"]]
    assert costs == ["4", "4", "1"]  # cost per tour: 4 x 1, 2 x 2, 1 x 1


def test_page_shows_a_nation_key_in_id_order() -> None:
    from allocator.report.charts import nation_colours

    instance = small_instance()
    report = build_report(instance, SMALL_PLAN)
    page = render_html(report)
    swatch = r'<span class="swatch" style="background: (#[0-9a-f]{6})"></span>'
    key = re.findall(rf"<li[^>]*>{swatch}\s*<b>([^<]+)</b>\s*([^<]*)</li>", page)
    colours = nation_colours(instance, report.tables)
    assert [(nation, colour) for colour, nation, _ in key] == list(colours.items())
    assert [name.strip() for _, _, name in key] == ["France", "United Kingdom", "Italy"]


# the summary: recomputed, not claimed -------------------------------------------------------------

#: SMALL_PLAN as a file claiming a perfect plan: it is 3 units short (priority 1) and uneven.
CLAIMING = {
    **SMALL_PLAN,
    "status": "optimal",
    "objectives": {"shortfall": 0, "surplus": 0, "fairness": 0, "deployments": 3, "cost": 9},
    "solver": {
        "backend": "cpsat",
        "bounds": {"shortfall": 0, "surplus": 0, "fairness": 0, "deployments": 3, "cost": 9},
    },
}


def _card_values(page: str) -> dict[str, tuple[str | None, str]]:
    """Every summary card: its name, the class and the text of its value."""
    found = re.findall(r'<div class="card">\s*([^<]+?)\s*<b(?: class="([^"]*)")?>([^<]*)</b>', page)
    return {name: (css or None, value) for name, css, value in found}


def test_cards_show_the_objectives_recomputed_not_the_files_claim() -> None:
    cards = _card_values(render_html(build_report(small_instance(), CLAIMING)))
    values = {name: value for name, (_, value) in cards.items()}
    assert values["shortfall"] == "3" and values["fairness"] == "3.33", cards
    assert values["deployments"] == "3" and values["cost"] == "9"


def test_status_of_a_plan_the_checker_rejects_is_claimed_not_green() -> None:
    report = build_report(small_instance(), CLAIMING)
    assert len(report.violations) == 5
    css, text = _card_values(render_html(report))["status"]
    assert css == "status-bad"
    assert text == "optimal (claimed; the checker finds 5 violations)"


def test_status_of_a_plan_the_checker_accepts_is_shown_as_is() -> None:
    instance = small_instance()
    result = allocator.solve(instance, threads=1, time_limit=10)
    report = build_report(instance, result)
    assert not report.violations and report.objectives == pytest.approx(result.objectives)
    css, text = _card_values(render_html(report))["status"]
    assert (css, text) == (f"status-{result.status}", result.status)


def test_bounds_are_labelled_as_the_solvers_claim() -> None:
    page = render_html(build_report(small_instance(), CLAIMING))
    (line,) = re.findall(r"<p>[^<]*bounds[^<]*</p>", page)
    assert "solver" in line and "claim" in line and "shortfall &ge; 0" in line, line


# numbers and captions ---------------------------------------------------------------------------


def test_burden_differences_are_signed_as_in_the_burden_chart() -> None:
    from allocator.report import charts

    report = build_report(small_instance(), SMALL_PLAN)
    (burden,) = [t for t in _tables(render_html(report)) if t["section"] == "burden"]
    figure = charts.burden_figure(report.tables, "units")
    for k, axis in enumerate(figure.axes):  # a panel per measure; a column group of 3 per measure
        in_table = sorted(row[3 + 3 * k + 2][0] for row in burden["body"])
        assert in_table == sorted(t.get_text() for t in axis.texts), axis.get_title()
    units = {row[0][0]: row[5][0] for row in burden["body"]}
    assert units == {"FR": "+1.67", "GB": "−0.33", "IT": "−1.33"}


def test_equal_burden_difference_is_zero_without_sign() -> None:
    from allocator.report.charts import signed

    assert [signed(v) for v in (6, -6, 0, -0.001, 1234.5)] == ["+6", "−6", "0", "0", "+1,234.5"]


@pytest.mark.parametrize(
    "document, label, caption",
    [
        (CLAIMING, "t.json", "t.json (cpsat, optimal)"),
        ({**SMALL_PLAN, "solver": {"backend": "highs"}}, "plan.json", "plan.json (highs, feasible)"),
        (SMALL_PLAN, "plan.json", "plan.json (feasible)"),  # another tool: no backend
        ({**CLAIMING, "status": "feasible"}, "tiny (cpsat)", "tiny (cpsat, feasible)"),  # solve's label
    ],
)
def test_header_names_the_solution_its_backend_and_status(
    document: dict[str, Any], label: str, caption: str
) -> None:
    page = render_html(build_report(small_instance(), document, label))
    assert re.search(r"Solution: ([^<]*?)\.\s*</p>", page).group(1) == caption  # type: ignore[union-attr]


# coverage: nations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "min_nations, expected",
    [
        (2, [("1/2", "short"), ("1/2", "short"), ("2/2", "ok"), ("2/2", "ok")]),
        (1, [("1/1", "ok"), ("1/1", "ok"), ("2/1", "ok"), ("2/1", "ok")]),
        (0, None),
    ],
)
def test_coverage_table_has_a_nations_row_styled_like_capability_rows(
    min_nations: int, expected: list[tuple[str, str]] | None
) -> None:
    """`air` has one nation (FR) in periods 1-2 and two after; its (nations) row follows its
    capability rows, nations/min_nations per period, short cells red like the fighters' cells."""
    page = render_html(build_report(small_instance(min_nations), SMALL_PLAN))
    (coverage,) = [t for t in _tables(page) if t["class"] == "coverage"]
    rows = {
        (row[0][0], row[1][0]): [(text, attrs.get("class")) for text, attrs in row[2:]]
        for row in coverage["body"]
    }
    assert rows[("air", "fighter")] == [("1/2", "short"), ("1/2", "short"), ("2/2", "ok"), ("2/2", "ok")]
    keys = list(rows)
    if expected is None:
        assert keys == [("air", "fighter"), ("cap", "fighter")]
    else:
        assert keys == [("air", "fighter"), ("air", "(nations)"), ("cap", "fighter")]
        assert rows[("air", "(nations)")] == expected
