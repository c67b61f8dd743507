"""Cells with more units than required are marked as surplus in every view of the report."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from matplotlib.colors import to_hex

from allocator.report import build_report, charts, write_report
from allocator.report.html import render_html
from allocator.report.workbook import OK_FILL, SHORT_FILL, SURPLUS_FILL
from tests.helpers.reports import SMALL_PLAN, small_instance
from tests.report.test_html import _tables
from tests.report.test_report import _coverage_cells


def _surplus_plan() -> dict[str, Any]:
    """SMALL_PLAN with a second GB unit on `air` in periods 3-4: 3 fighters where 2 are required."""
    plan = copy.deepcopy(SMALL_PLAN)
    plan["assignments"].append({"offer": "GB-a", "unit": 2, "task": "air", "start": 3, "end": 4})
    return plan


def test_the_checker_and_the_report_count_the_surplus() -> None:
    report = build_report(small_instance(), _surplus_plan())
    assert report.objectives["surplus"] == 2
    assert report.tables.surplus.tolist()[0] == [False, False, True, True]


def test_html_marks_surplus_cells() -> None:
    page = render_html(build_report(small_instance(), _surplus_plan()))
    (coverage,) = [t for t in _tables(page) if t["class"] == "coverage"]
    rows = {
        (row[0][0], row[1][0]): [(text, attrs.get("class")) for text, attrs in row[2:]]
        for row in coverage["body"]
    }
    expected = [("1/2", "short"), ("1/2", "short"), ("3/2", "surplus"), ("3/2", "surplus")]
    assert rows["air", "fighter"] == expected
    assert "td.surplus" in page


def test_workbook_fills_surplus_cells(tmp_path: Path) -> None:
    write_report(small_instance(), _surplus_plan(), tmp_path)
    rows = _coverage_cells(tmp_path / "report.xlsx")
    assert rows["air", "fighter"] == [
        ("1 / 2", SHORT_FILL),
        ("1 / 2", SHORT_FILL),
        ("3 / 2", SURPLUS_FILL),
        ("3 / 2", SURPLUS_FILL),
    ]
    assert rows["cap", "fighter"][2] == ("1 / 1", OK_FILL)


def test_chart_colours_surplus_cells_and_writes_their_counts() -> None:
    instance = small_instance()
    report = build_report(instance, _surplus_plan())
    axis = charts.coverage_figure(report.tables, instance).axes[0]
    categories = charts.coverage_categories(report.tables, instance)
    assert categories[0].tolist() == ["short", "short", "surplus", "surplus"]
    (image,) = axis.images
    colour = to_hex(tuple(image.get_array()[0, 2, :3]))
    assert colour == charts.COVERAGE["surplus"][1]
    assert {t.get_text() for t in axis.texts} >= {"3/2", "1/2"}
    legend = axis.get_legend() or axis.figure.legends[0]
    assert any("more units than required" in t.get_text() for t in legend.get_texts())
