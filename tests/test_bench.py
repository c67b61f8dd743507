"""Benchmarking: one run, the aggregates, the CLI on a local Dask cluster and on a real scheduler."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator import bench
from allocator.cli import main
from allocator.instance.load import load_instance, write_instance
from allocator.options import SolveOptions
from allocator.sources.gap import import_file
from tests.helpers.instances import EXAMPLES


def basic_optimal_cost() -> float:
    """The optimal cost of basic.yaml, derived from its data: every unit-period of demand can be
    covered (shortfall 0), and split by the shares with no deviation (fairness 0); each nation has
    one offer, so the cost of a fair full cover is the sum of each nation's share of the demand
    times its offer's cost (FR 2/3 of 12 at 3.5, NL 1/3 of 12 at 4: 28 + 16 = 44)."""
    instance = load_instance(EXAMPLES / "basic.yaml")
    (task,) = instance.tasks
    demand = sum(r.units for r in task.requirements) * instance.periods
    shares = sum(n.share for n in instance.nations)
    cost = {o.nation: o.cost for o in instance.offers}
    return sum(n.share / shares * demand * cost[n.id] for n in instance.nations)


def test_run_one_verifies_and_measures(tmp_path: Path) -> None:
    row = bench.run_one(
        bench.Run(str(EXAMPLES / "basic.yaml"), SolveOptions(time_limit=10, threads=1), 1, str(tmp_path))
    )
    assert row["status"] == "optimal" and row["verified"] is True and row["gap"] == 0.0
    assert row["objective_shortfall"] == 0 and row["objective_fairness"] == 0
    assert row["peak_memory_mib"] > 0 and row["build_time"] >= 0
    assert row["objective_cost"] == pytest.approx(basic_optimal_cost())
    assert (tmp_path / "basic-auto-s0-r1.json").exists()


def test_run_one_passes_the_formulation_on() -> None:
    run = bench.Run(str(EXAMPLES / "basic.yaml"), SolveOptions(time_limit=10, threads=1, formulation="flow"))
    row = bench.run_one(run)
    assert row["formulation"] == "flow" and row["verified"] is True
    assert row["objective_cost"] == pytest.approx(basic_optimal_cost())


def test_run_one_reports_errors() -> None:
    row = bench.run_one(bench.Run("/nonexistent.yaml", SolveOptions(time_limit=10, threads=1)))
    assert row["status"] == "error" and "no such file" in row["error"]


def test_shifted_geometric_mean() -> None:
    assert bench.shifted_geometric_mean([0.0, 0.0]) == 0.0
    assert bench.shifted_geometric_mean([1.0, 3.0]) == pytest.approx(math.sqrt(2 * 4) - 1)


def test_find_instances(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text("x")
    (tmp_path / "manifest.tsv").write_text("x")
    (tmp_path / "sub" / "c.XLSX").write_text("x")  # every format the loader reads
    (tmp_path / "~$c.xlsx").write_text("x")  # Excel's owner file beside an open workbook
    (tmp_path / ".hidden.yaml").write_text("x")
    assert [p.name for p in bench.find_instances([tmp_path])] == ["a.yaml", "b.json", "c.XLSX"]


def test_cli_bench_reads_a_folder_of_workbooks(tmp_path: Path) -> None:
    folder = tmp_path / "workbooks"
    folder.mkdir()
    write_instance(load_instance(EXAMPLES / "basic.yaml"), folder / "basic.xlsx")
    result = CliRunner().invoke(
        main, ["bench", str(folder), "--time-limit", "5", "--out", str(tmp_path / "results.csv")]
    )
    assert result.exit_code == 0, result.output
    rows = _rows(tmp_path / "results.csv")
    assert [(r["instance"], r["status"], r["verified"]) for r in rows] == [("basic", "optimal", "True")]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


@pytest.mark.slow
def test_cli_bench_on_local_cluster(tmp_path: Path) -> None:
    source = tmp_path / "toy"
    source.write_text("2 3\n 1 2 3\n 4 5 6\n 1 1 1\n 1 1 1\n 2 2\n")
    import_file(source, tmp_path / "gap", "min")
    optima = tmp_path / "optima.tsv"
    optima.write_text("instance\tsense\tbest_known\ntoy\tmin\t9\n")
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            str(tmp_path / "gap"),
            str(EXAMPLES / "basic.yaml"),
            "--backend",
            "cpsat",
            "--backend",
            "highs",
            "--time-limit",
            "10",
            "--optima",
            str(optima),
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert len(rows) == 4 and all(r["verified"] == "True" for r in rows)
    toy = [r for r in rows if r["instance"] == "toy"]
    assert all(float(r["published_value"]) == 9 and float(r["gap_to_published"]) == 0 for r in toy)
    assert out.with_suffix(".png").stat().st_size > 1000


@pytest.mark.slow
def test_cli_bench_through_a_real_scheduler(tmp_path: Path, dask_cluster: str) -> None:
    out = tmp_path / "results.csv"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            str(EXAMPLES / "basic.yaml"),
            str(EXAMPLES / "caps.yaml"),
            "--time-limit",
            "10",
            "--seed",
            "1",
            "--seed",
            "2",
            "--scheduler",
            dask_cluster,
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    assert sorted((r["instance"], r["seed"]) for r in rows) == [
        ("basic", "1"),
        ("basic", "2"),
        ("caps", "1"),
        ("caps", "2"),
    ]
    assert all(r["status"] == "optimal" and r["verified"] == "True" for r in rows)


def test_performance_profile_without_optimal_runs(tmp_path: Path) -> None:
    """A backend with no proven-optimal run still gets its curve (and the legend no warning)."""
    import warnings

    import pandas as pd

    frame = pd.DataFrame(
        [
            {"instance": "a", "seed": 0, "repeat": 1, "backend": b, "status": s, "wall_time": t}
            for b, s, t in (("cpsat", "feasible", 60.0), ("highs", "optimal", 3.0))
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bench.performance_profile(frame, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_solution_files_of_instances_with_the_same_name_do_not_collide(tmp_path: Path) -> None:
    paths = [tmp_path / "a" / "plan.yaml", tmp_path / "b" / "plan.yaml", tmp_path / "a" / "plan.xlsx"]
    paths.append(tmp_path / "a" / "other.yaml")
    labels = bench.unique_labels(paths)
    assert labels[paths[3]] == "other"
    assert len(set(labels.values())) == len(paths)
    runs = bench.plan_runs(
        paths, SolveOptions(time_limit=5, threads=1), ["cpsat"], [0], 1, str(tmp_path / "solutions")
    )
    assert [r.label for r in runs] == [labels[p] for p in paths]


def test_run_one_records_the_warnings_of_loading(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    path = tmp_path / "basic.xlsx"
    write_instance(load_instance(EXAMPLES / "basic.yaml"), path)
    book = load_workbook(path)
    book.create_sheet("notes")
    book.save(path)
    row = bench.run_one(bench.Run(str(path), SolveOptions(time_limit=5, threads=1)))
    assert row["verified"] is True
    assert "sheet 'notes' ignored" in row["warnings"]


def test_bench_skips_solutions_in_a_folder_and_keeps_its_columns(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_instance(load_instance(EXAMPLES / "basic.yaml"), folder / "basic.yaml")
    (folder / "plan.json").write_text('{"instance": "basic", "status": "unknown", "solver": {}}')
    result = CliRunner().invoke(
        main, ["bench", str(folder), "--time-limit", "5", "--out", str(tmp_path / "results.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "this is a solution file" in result.output
    rows = _rows(tmp_path / "results.csv")
    assert [r["status"] for r in rows] == ["optimal", "skipped"]
    assert list(rows[0])[: len(bench.COLUMNS)] == list(bench.COLUMNS)
