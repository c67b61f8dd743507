"""CSV files safe in a spreadsheet: text cells that would be read as formulas get a leading
quote (whatif.csv is tested in tests/replanning/test_whatif.py), in every CSV allocator writes."""

from __future__ import annotations

import csv
import importlib
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from allocator.csvtext import csv_text
from tests.cli.test_cli import run
from tests.helpers.instances import EXAMPLES

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_formula_cells_are_quoted_and_the_rest_kept() -> None:
    frame = pd.DataFrame({"text": [*HOSTILE, "plain", "a=b"], "number": [-1.5, 2, 3, 4, 5, 6, -7, None]})
    rows = list(csv.DictReader(io.StringIO(csv_text(frame), newline="")))
    assert [r["text"] for r in rows] == [*("'" + h for h in HOSTILE), "plain", "a=b"]
    assert rows[0]["number"] == "-1.5" and rows[-1]["number"] == ""  # numbers stay numbers


def test_bench_results_are_quoted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance named like a formula (a name may start with '-'; an error quotes any text)."""

    def run_all(runs: list[Any], *_args: Any, **_kwargs: Any) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "instance": "-x",
                    "backend": "auto",
                    "status": "optimal",
                    "wall_time": 1.0,
                    "verified": True,
                },
                {
                    "instance": "basic",
                    "backend": "auto",
                    "status": "error",
                    "error": "=1+2",
                    "wall_time": 1.0,
                },
            ]
        )

    monkeypatch.setattr(importlib.import_module("allocator.bench"), "run_all", run_all)
    out = tmp_path / "results.csv"
    result = run("bench", str(EXAMPLES / "basic.yaml"), "--out", str(out))
    assert result.exit_code == 1, result.output  # the run that failed
    rows = list(csv.DictReader(out.open(newline="")))
    assert [r["instance"] for r in rows] == ["'-x", "basic"] and rows[1]["error"] == "'=1+2"
