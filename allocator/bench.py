"""Benchmarking instance sets on Dask: every instance x backend x seed x repeat, every plan verified.

Runs go to an embedded local cluster (processes; a worker per core divided by the threads each
solve uses) or to an existing cluster named by its scheduler address.  Workers read instance files
by path and write solutions by path, so a remote cluster needs the same files at the same paths.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.api import solve
from allocator.checker import check
from allocator.cluster import dask_client
from allocator.cluster_stop import shared_stop, worker_stop
from allocator.errors import InputWarning, NotAnInstance
from allocator.instance.load import INSTANCE_FORMATS, load_instance
from allocator.options import SolveOptions, Status, StopToken
from allocator.sources.gap import read_manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Run:
    """One solve of one instance file: its options (backend, seed, time, threads, formulation),
    which repeat it is, and where its solution goes."""

    path: str
    options: SolveOptions
    repeat: int = 1
    solutions: str | None = None
    #: the name of the run's solution files: the file's stem, made unique among the instances
    label: str = ""


def find_instances(paths: Iterable[str | Path]) -> list[Path]:
    """Instance files named directly or found (recursively) in folders, sorted, absolute.

    In folders: every format the loader reads (YAML, JSON, .xlsx), but no hidden files and no
    owner files Excel keeps beside an open workbook (``~$plan.xlsx``)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if _is_instance_file(p))
        else:
            out.append(path)
    return [p.resolve() for p in dict.fromkeys(out)]


def _is_instance_file(path: Path) -> bool:
    return (
        path.suffix.lower() in INSTANCE_FORMATS and not path.name.startswith((".", "~$")) and path.is_file()
    )


class _PeakMemory:
    """Samples this process's resident memory in a thread; `peak` in MiB."""

    def __init__(self, interval: float = 0.05):
        import psutil

        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> _PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def mib(self) -> float:
        return self.peak / 2**20


def _published(path: Path, cost: float | None) -> tuple[str | None, float | None]:
    """(sense, published objective) from the folder's GAP manifest, if the instance is in it."""
    for row in read_manifest(path.parent):
        if row["file"] == path.name:
            value = None if cost is None else float(row["offset"]) + float(row["sign"]) * cost
            return row["sense"], value
    return None, None


def run_one(run: Run, stop_name: str | None = None) -> dict[str, Any]:
    """Load, solve, verify one instance on one backend (on a Dask worker); one row of results.
    Once the benchmark's stop `stop_name` is set (:mod:`allocator.cluster_stop`), a running solve
    ends with its best plan and a run not yet started is a row of status ``stopped``."""
    with worker_stop(stop_name) as stop:
        return _run_one(run, stop)


def _run_one(run: Run, stop: StopToken) -> dict[str, Any]:
    path = Path(run.path)
    row: dict[str, Any] = {
        "instance": path.stem,
        "path": str(path),
        "backend": run.options.backend,
        "seed": run.options.seed,
        "repeat": run.repeat,
    }
    if stop.stopped:
        row.update(status="stopped", error="the benchmark was stopped before this run")
        return row
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InputWarning)
            instance = load_instance(path)
        if caught:
            row["warnings"] = "; ".join(str(w.message) for w in caught)
        row["instance"] = instance.name
        load_time = time.perf_counter() - started
        with _PeakMemory() as memory:
            result = solve(instance, run.options, stop=stop)
        verified = check(instance, result).ok if result.has_plan else None
    except NotAnInstance as exc:  # a solution or a report in the folder: not a benchmark run
        row.update(status="skipped", error=str(exc))
        return row
    except Exception as exc:  # one failing run must not stop a benchmark
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        return row
    unproven = next((lv for lv in result.levels if lv.status != Status.OPTIMAL), None)
    last = result.levels[-1] if result.levels else None
    level = unproven or last
    gap = None
    if level is not None and level.value is not None and level.bound is not None:
        gap = 0.0 if level.value == level.bound else (level.value - level.bound) / max(abs(level.value), 1e-9)
    sense, published = _published(path, result.objectives.get("cost") if result.has_plan else None)
    row.update(
        status=result.status,
        formulation=result.formulation,
        **{f"objective_{k}": v for k, v in result.objectives.items()},
        level=None if level is None else level.key,
        value=None if level is None else level.value,
        bound=None if level is None else level.bound,
        gap=gap,
        load_time=round(load_time, 4),
        build_time=round(result.build_time, 4),
        first_plan_time=None if result.first_plan_time is None else round(result.first_plan_time, 4),
        solve_time=round(result.wall_time - result.build_time, 4),
        wall_time=round(result.wall_time, 4),
        peak_memory_mib=round(memory.mib, 1),
        verified=verified,
        sense=sense,
        published_value=published,
    )
    if run.solutions and result.has_plan:
        name = f"{run.label or path.stem}-{run.options.backend}-s{run.options.seed}-r{run.repeat}.json"
        result.write(Path(run.solutions) / name)
    return row


def add_published_gaps(frame: pd.DataFrame, optima: str | Path) -> pd.DataFrame:
    """Join published best values (OPTIMA.tsv: instance, sense, best_known) and the gap to them."""
    table = pd.read_csv(optima, sep="\t")[["instance", "sense", "best_known"]]
    if "sense" not in frame or frame["sense"].isna().all():
        frame = frame.assign(published_best=math.nan, gap_to_published=math.nan)
        return frame
    merged = frame.merge(
        table.rename(columns={"best_known": "published_best"}), on=["instance", "sense"], how="left"
    )
    sign = merged["sense"].map({"min": 1.0, "max": -1.0})
    merged["gap_to_published"] = (
        sign * (merged["published_value"] - merged["published_best"]) / merged["published_best"].abs() + 0.0
    )
    return merged


def shifted_geometric_mean(values: Iterable[float], shift: float = 1.0) -> float:
    """exp(mean(log(t + shift))) - shift: the usual aggregate of solver times."""
    data = [v for v in values if v is not None and not math.isnan(v)]
    if not data:
        return math.nan
    return math.exp(sum(math.log(v + shift) for v in data) / len(data)) - shift


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per backend: runs, verified, optimal, shifted geometric mean time, mean gap to published
    (files skipped as not instances are not runs)."""
    rows = []
    for backend, group in frame[frame["status"] != "skipped"].groupby("backend", sort=False):
        has_published = "gap_to_published" in group and group["gap_to_published"].notna().any()
        rows.append(
            {
                "backend": backend,
                "runs": len(group),
                "verified": int(group["verified"].eq(True).sum()) if "verified" in group else 0,
                "optimal": int((group["status"] == Status.OPTIMAL).sum()),
                "errors": int((group["status"] == "error").sum()),
                "sgm_time_s": round(
                    shifted_geometric_mean(group.get("wall_time", pd.Series(dtype=float))), 3
                ),
                "mean_gap_to_published": round(float(group["gap_to_published"].mean()), 6)
                if has_published
                else None,
            }
        )
    return pd.DataFrame(rows)


def performance_profile(frame: pd.DataFrame, target: str | Path) -> None:
    """Dolan-More performance profile of wall time over solved-to-optimality runs, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = frame.assign(t=frame["wall_time"].where(frame["status"] == Status.OPTIMAL))
    table = times.pivot_table(
        index=["instance", "seed", "repeat"], columns="backend", values="t", aggfunc="first", dropna=False
    )
    best = table.min(axis=1)
    ratios = table.div(best, axis=0).fillna(math.inf)
    finite = ratios.replace(math.inf, math.nan).max().max()
    top = max(2.0, float(finite) * 1.1) if not math.isnan(finite) else 2.0
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for backend in ratios.columns:
        values = sorted(ratios[backend])
        taus = [1.0] + [v for v in values if v <= top] + [top]
        shares = [sum(1 for v in values if v <= tau) / len(values) for tau in taus]
        ax.step(taus, shares, where="post", label=backend)
    ax.set_xscale("log")
    ax.set_xlabel("time / best time (proven optimal runs)")
    ax.set_ylabel("share of instances")
    ax.set_ylim(0, 1.02)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(target)
    plt.close(fig)


def run_all(
    runs: list[Run],
    scheduler: str | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    stop: StopToken | None = None,
) -> pd.DataFrame:
    """Run every benchmark run on Dask and return one row per run, in submission order; `stop`
    ends the benchmark early (running solves keep their best plan, runs not started are
    ``stopped``)."""
    from dask.distributed import as_completed

    threads = max((r.options.threads or 1 for r in runs), default=1)
    rows: list[dict[str, Any] | None] = [None] * len(runs)
    with dask_client(scheduler, threads) as client, shared_stop(client, stop) as stop_name:
        futures = client.map(run_one, runs, stop_name=stop_name, pure=False)
        order = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            row = future.result()
            rows[order[future.key]] = row
            if on_done is not None:
                on_done(row)
    frame = pd.DataFrame([r for r in rows if r is not None])
    return frame.reindex(columns=[*COLUMNS, *sorted(set(frame.columns) - set(COLUMNS))])


#: The columns of every results table, in this order (objectives follow as objective_<name>).
COLUMNS = (
    "instance",
    "path",
    "backend",
    "seed",
    "repeat",
    "status",
    "formulation",
    "level",
    "value",
    "bound",
    "gap",
    "load_time",
    "build_time",
    "first_plan_time",
    "solve_time",
    "wall_time",
    "peak_memory_mib",
    "verified",
    "sense",
    "published_value",
    "warnings",
    "error",
)


def plan_runs(
    instances: list[Path],
    options: SolveOptions,
    backends: list[str],
    seeds: list[int],
    repeat: int = 1,
    solutions: str | None = None,
) -> list[Run]:
    """Every instance x backend x seed x repeat, with `options` for the rest."""
    labels = unique_labels(instances)
    return [
        Run(str(path), options.replace(backend=backend, seed=seed), k, solutions, labels[path])
        for path in instances
        for backend in backends
        for seed in seeds
        for k in range(1, repeat + 1)
    ]


def unique_labels(paths: list[Path]) -> dict[Path, str]:
    """A distinct name per instance file, for its solution files: the file's stem; where stems
    repeat, with the extension (``plan-xlsx``), then as many parent folders as it takes
    (``a__plan-yaml``, ``b__plan-yaml``)."""
    labels = {}
    for path in paths:
        group = [p for p in paths if p.stem == path.stem]
        level = 0
        while level <= len(path.parts) and len({_label(p, level) for p in group}) < len(group):
            level += 1
        labels[path] = _label(path, level)
    return labels


def _label(path: Path, level: int) -> str:
    if level == 0:
        return path.stem
    name = f"{path.stem}-{path.suffix.lstrip('.')}" if path.suffix else path.stem
    folders = [part for part in path.parent.parts if part != path.anchor]
    return "__".join([*folders[len(folders) - (level - 1) :], name] if level > 1 else [name])
