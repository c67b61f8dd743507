"""The report of a re-plan shows what changed: a table recomputed from both plans, and each
changed task's rotation chart before and after."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from allocator.errors import InputError
from allocator.replanning import replan, withdraw
from allocator.report import build_report, save_report
from tests.helpers.instances import build
from tests.replanning.test_replan import baseline, ships


def test_a_replan_report_shows_what_changed(tmp_path: Path) -> None:
    doc = ships()
    doc["tasks"].append({"id": "quiet", "requirements": [{"capability": "ship", "units": 0}]})
    base = baseline([("BE-1", 1, "mcm", 1, 6)])
    instance = withdraw(build(doc), "BE", 3).instance
    result = replan(instance, base, 3, time_limit=10, threads=1)
    report = build_report(instance, result, "replan", baseline=base)
    assert report.changed_tasks == ["mcm"]
    changes = report.changes
    assert changes is not None
    be = changes[changes["offer"] == "BE-1"].iloc[0]
    assert (be["from"], be["to"], be["before"], be["after"]) == ("3", "6", 1, 0)
    assert changes["periods"].sum() == 8  # 4 months of BE's gone, 4 months of another ship
    assert "rotation-mcm-before.png" in report.charts and "rotation-quiet-before.png" not in report.charts
    written = {p.name for p in save_report(report, tmp_path / "report")}
    assert {"rotation-mcm-before.png", "report.html"} <= written
    page = (tmp_path / "report" / "report.html").read_text()
    assert 'id="changes"' in page and "What changed (re-plan from 3)" in page and "8 change(s)" in page
    book = load_workbook(io.BytesIO((tmp_path / "report" / "report.xlsx").read_bytes()))
    assert "changes" in book.sheetnames


def test_a_replan_without_its_baseline_gets_no_report() -> None:
    base = baseline([("BE-1", 1, "mcm", 1, 6)])
    instance = withdraw(build(ships()), "BE", 3).instance
    result = replan(instance, base, 3, time_limit=10, threads=1)
    with pytest.raises(InputError, match="check it with its baseline"):
        build_report(instance, result, "replan")
