"""What-if sweeps (SPEC v2 section 8, ``docs/replanning.md``): every case a re-plan of one baseline
under changed data, run in parallel on Dask, each verified, ranked by the shortfall it adds and
then the other objectives; a case that leaves a task without its lead says so in columns of its
own (no shortfall counts a lost lead).

Cases: "nothing changes" (the reference, always), every nation (or offer) withdrawn in turn, or
every instance file of a folder (edited copies of the instance).  The base instance and the
baseline go to the workers once; a case that fails is reported with its reason, never the sweep
lost.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from allocator.checker import check
from allocator.cluster import dask_client
from allocator.cluster_stop import shared_stop, worker_stop
from allocator.csvtext import csv_text
from allocator.errors import InputError, Problem
from allocator.files import write_atomic
from allocator.instance.load import INSTANCE_FORMATS, load_instance
from allocator.instance.model import Instance
from allocator.options import SolveOptions, Status, StopToken

log = logging.getLogger(__name__)

KINDS = ("nation", "offer")
#: The row of the case in which nothing changes.
REFERENCE = "reference"
#: The name of a case's solution file (an earlier sweep's are replaced, nothing else is touched).
CASE_FILE = re.compile(r"\d{3}-[A-Za-z0-9_-]+\.json", re.A)


#: The status of a case the sweep's stop (SIGTERM, a StopToken) came before.
STOPPED = "stopped"
STOPPED_TEXT = "the sweep was stopped before this case ran"
#: The files of a sweep's folder besides its cases' solutions.
SWEEP_FILES = ("whatif.csv", "whatif.html", "baseline.json")


def writes(name: str) -> bool:
    """Whether :meth:`WhatIf.write` writes (or removes) the file `name` of its folder (a path
    inside it, with ``/``)."""
    folder, _, file = name.rpartition("/")
    return name in SWEEP_FILES or (folder == "cases" and CASE_FILE.fullmatch(file) is not None)


@dataclass(frozen=True)
class Case:
    """One case of a sweep: what changes (`kind`: reference, nation, offer or scenario; `subject`:
    the id or file), and for a scenario the edited instance (or why it could not be read)."""

    name: str
    kind: str
    subject: str = ""
    scenario: Instance | None = None
    problem: str | None = None

    @property
    def file_stem(self) -> str:
        """A safe file name for the case's solution (ids may hold any character)."""
        return re.sub(r"[^A-Za-z0-9-]+", "_", self.name).strip("_") or "case"


def cases_of(
    instance: Instance, withdraw_each: str | None = None, scenarios: str | Path | None = None
) -> list[Case]:
    """The reference, then a case per nation or offer (in the instance's order) or per instance
    file of the folder `scenarios` (sorted; one that does not load is a failed case)."""
    out = [Case(REFERENCE, REFERENCE)]
    if withdraw_each == "nation":
        out += [Case(f"withdraw {n.id}", "nation", n.id) for n in instance.nations]
    elif withdraw_each == "offer":
        out += [Case(f"withdraw {o.id}", "offer", o.id) for o in instance.offers]
    elif withdraw_each is not None:
        raise ValueError(f"withdraw_each is one of {', '.join(KINDS)}, got {withdraw_each!r}")
    if scenarios is not None:
        folder = Path(scenarios)
        if not folder.is_dir():
            raise InputError(str(folder), [Problem("", "is not a folder of instance files")])
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in INSTANCE_FORMATS and p.is_file())
        if not files:
            raise InputError(
                str(folder), [Problem("", f"holds no instance file ({', '.join(INSTANCE_FORMATS)})")]
            )
        for path in files:
            try:
                out.append(Case(f"scenario {path.name}", "scenario", path.name, scenario=load_instance(path)))
            except InputError as exc:
                text = "; ".join(p.render(exc.source) for p in exc.problems)
                out.append(Case(f"scenario {path.name}", "scenario", path.name, problem=text))
    return out


def run_case(
    case: Case,
    instance: Instance,
    baseline: dict[str, Any],
    start: int,
    options: SolveOptions,
    stop_name: str | None = None,
) -> dict[str, Any]:
    """One case on a worker: the changed data, its re-plan, the checker's verdict; a failure is a
    row with its reason.  Returns ``{"row": ..., "solution": document or None}``.  `stop_name`
    names the sweep's stop (:func:`allocator.cluster_stop.shared_stop`): once it is set, a
    running re-plan ends with its best plan and a case not yet started is a row of status
    :data:`STOPPED`, without work."""
    with worker_stop(stop_name) as stop:
        if stop.stopped:
            return {"row": _stopped_row(case), "solution": None}
        return _run_case(case, instance, baseline, start, options, stop)


def _run_case(
    case: Case,
    instance: Instance,
    baseline: dict[str, Any],
    start: int,
    options: SolveOptions,
    stop: StopToken,
) -> dict[str, Any]:
    from allocator.replanning.plan import replan
    from allocator.replanning.withdraw import withdraw

    started = time.perf_counter()
    row: dict[str, Any] = {"case": case.name, "kind": case.kind, "subject": case.subject}
    try:
        if case.problem is not None:
            raise InputError(case.subject, [Problem("", case.problem)])
        notes: tuple[str, ...] = ()
        changed = instance
        if case.kind in KINDS:
            withdrawal = withdraw(instance, case.subject, start, kind=case.kind)
            changed, notes = withdrawal.instance, withdrawal.notes
        elif case.scenario is not None:
            changed = case.scenario
        lost = leads_lost(instance, changed, start)
        row["leads_lost"] = " ".join(lost)
        row["lead_periods_lost"] = sum(lost.values())
        if case.kind not in KINDS:  # (a withdrawal's notes say it already)
            notes += tuple(f"task {task} has no lead in this scenario" for task in lost)
        row["notes"] = "; ".join(notes)
        result = replan(changed, baseline, start, options, stop=stop)
        if result.interrupted:
            row["notes"] = "; ".join((*notes, "stopped before its time limit: the best plan found"))
        row["status"] = str(result.status)
        row.update(result.objectives)
        # the shortfall proven: a case's shortfall above its bound may be the time limit's doing
        row["shortfall_bound"] = result.bounds.get("shortfall")
        if result.has_plan:
            assert result.problem is not None
            row["verified"] = check(result.problem, result, baseline=baseline).ok
            row["short_by_task"] = _short_by_task(result.to_json())
        solution: dict[str, Any] | None = result.to_json()
    except InputError as exc:
        row["status"], solution = "error", None
        row["error"] = "; ".join(p.render(exc.source) for p in exc.problems)
    except Exception as exc:  # a failed case is reported, never the sweep lost
        row["status"], solution = "error", None
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["wall_time"] = round(time.perf_counter() - started, 3)
    return {"row": row, "solution": solution}


def leads_lost(instance: Instance, changed: Instance, start: int) -> dict[str, int]:
    """The tasks of `instance` with a lead that have none in `changed` (a withdrawn nation was
    the only one eligible, or a scenario dropped it), each with the periods from `start` on in
    which it is active and so goes without the lead the data asked for."""
    now = {task.id: task for task in changed.tasks}
    lost: dict[str, int] = {}
    for task in instance.tasks:
        if task.lead is None or task.id not in now or now[task.id].lead is not None:
            continue
        first, last = now[task.id].active or (1, changed.periods)
        periods = last - max(first, start) + 1
        if periods > 0:
            lost[task.id] = periods
    return lost


def _short_by_task(solution: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for gap in solution.get("shortfalls", []):
        out[gap["task"]] = out.get(gap["task"], 0) + gap.get("units", 0) + gap.get("nations", 0)
    return out


@dataclass
class WhatIf:
    """A sweep's outcome: one row per case, ranked (``whatif.csv``); every case's solution; the
    baseline; the objectives in model order."""

    frame: pd.DataFrame
    solutions: dict[str, dict[str, Any]]
    baseline: dict[str, Any]
    start: int
    objectives: list[str]
    stems: dict[str, str] = field(default_factory=dict)
    wall_time: float = 0.0

    def write(self, folder: str | Path) -> None:
        """``whatif.csv``, ``whatif.html``, ``baseline.json`` and ``cases/NNN-CASE.json``, each
        atomically; case files of an earlier sweep in the folder that this one does not write go."""
        import json

        target = Path(folder)
        cases = target / "cases"
        cases.mkdir(parents=True, exist_ok=True)
        write_atomic(target / "baseline.json", json.dumps(self.baseline, indent=2) + "\n")
        written = set()
        for name, solution in self.solutions.items():
            written.add(f"{self.stems[name]}.json")
            write_atomic(cases / f"{self.stems[name]}.json", json.dumps(solution, indent=2) + "\n")
        for stale in cases.iterdir():
            if CASE_FILE.fullmatch(stale.name) and stale.name not in written and stale.is_file():
                stale.unlink()
        write_atomic(target / "whatif.csv", csv_text(self.frame))
        write_atomic(target / "whatif.html", page(self))


def whatif(
    instance: Instance | str | Path,
    start: int,
    *,
    baseline: Any = None,
    withdraw_each: str | None = None,
    scenarios: str | Path | None = None,
    options: SolveOptions | None = None,
    scheduler: str | None = None,
    cases: Sequence[Case] | None = None,
    on_done: Callable[[dict[str, Any]], None] | None = None,
    stop: StopToken | None = None,
    source: str | None = None,
    **option_values: Any,
) -> WhatIf:
    """Re-plan every case (:func:`cases_of`) from period `start` on, in parallel on Dask (a local
    cluster, or the one at `scheduler`), each with `options` (time limit, threads per case,
    backend, seed).  Without `baseline` (a solution file, document or result) the instance is
    solved first with the same options.  `on_done` is called with each case's row; `cases`, when
    given, are those of :func:`cases_of` already made (scenario files read once). `stop` ends
    the sweep early: the baseline's solve and every running case end with their best plan, the
    cases not yet started are rows of status :data:`STOPPED`. `source` names the instance in
    messages (its file; by default its path or name); an instance solved for the baseline that
    gives no plan is an :class:`InputError` there."""
    from allocator.api import solve
    from allocator.replanning.history import check_start, history_of, read_baseline

    started = time.perf_counter()
    options = (options or SolveOptions(time_limit=20.0, threads=1)).replace(**option_values)
    source = source or (instance.name if isinstance(instance, Instance) else str(instance))
    if not isinstance(instance, Instance):
        instance = load_instance(instance)
    check_start(instance, start)  # before the baseline's solve: bad input at once
    cases = list(cases) if cases is not None else cases_of(instance, withdraw_each, scenarios)
    solved = baseline is None
    if baseline is None:
        baseline = solve(instance, options, stop=stop)
    document, label = read_baseline(baseline)
    if solved and not baseline.has_plan:  # the instance itself, not a file of the user's
        why = f"solving the instance for the baseline gave status '{baseline.status}', no plan"
        hint = "allocator explain says why" if baseline.status == "infeasible" else "give more time"
        raise InputError(source, [Problem("baseline", f"{why} ({hint})")])
    history_of(instance, document, start, label)  # a baseline with no plan, or naming what is gone
    if stop is not None and stop.stopped:  # stopped during the baseline's solve: no case runs
        rows = {case.name: _stopped_row(case) for case in cases}
        solutions: dict[str, dict[str, Any]] = {}
        for row in rows.values():
            if on_done is not None:
                on_done(row)
    else:
        rows, solutions = _run_cases(instance, document, start, cases, options, scheduler, on_done, stop)
    objectives = _objective_order([rows[c.name] for c in cases])
    frame = ranked([rows[c.name] for c in cases], objectives)
    stems = _unique_stems(cases)
    return WhatIf(frame, solutions, document, start, objectives, stems, time.perf_counter() - started)


def _run_cases(
    instance: Instance,
    baseline: dict[str, Any],
    start: int,
    cases: Sequence[Case],
    options: SolveOptions,
    scheduler: str | None,
    on_done: Callable[[dict[str, Any]], None] | None,
    stop: StopToken | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every case on Dask: the rows and the solutions, by case name."""
    from dask.distributed import as_completed

    rows: dict[str, dict[str, Any]] = {}
    solutions: dict[str, dict[str, Any]] = {}
    with dask_client(scheduler, options.threads or 1) as client, shared_stop(client, stop) as stop_name:
        shipped_instance = client.scatter(instance, broadcast=True)
        shipped_baseline = client.scatter(baseline, broadcast=True)
        futures = [
            client.submit(
                run_case, case, shipped_instance, shipped_baseline, start, options, stop_name, pure=False
            )
            for case in cases
        ]
        names = {f.key: case.name for f, case in zip(futures, cases, strict=True)}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died, say: the case failed, the sweep goes on
                name = names[future.key]
                outcome = {"row": {"case": name, "status": "error", "error": f"{type(exc).__name__}: {exc}"}}
            rows[outcome["row"]["case"]] = outcome["row"]
            if outcome.get("solution") is not None:
                solutions[outcome["row"]["case"]] = outcome["solution"]
            if on_done is not None:
                on_done(outcome["row"])
    return rows, solutions


def _stopped_row(case: Case) -> dict[str, Any]:
    return {"case": case.name, "status": STOPPED, "error": STOPPED_TEXT}


def _objective_order(rows: Sequence[dict[str, Any]]) -> list[str]:
    from allocator.instance.spec import OBJECTIVE_NAMES, REPLAN_OBJECTIVE

    present = {key for row in rows for key in row}
    return [name for name in (*OBJECTIVE_NAMES, REPLAN_OBJECTIVE) if name in present]


def _unique_stems(cases: Sequence[Case]) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, case in enumerate(cases):
        out[case.name] = f"{number:03d}-{case.file_stem}"
    return out


def ranked(rows: Sequence[dict[str, Any]], objectives: Sequence[str]) -> pd.DataFrame:
    """One row per case: its status, the periods in which a task goes without the lead the data
    asked for and those tasks (:func:`leads_lost`), every objective and its difference to the
    reference, the shortfall's proven bound (below the shortfall when the time limit stopped the
    search first), the tasks that lose coverage (more shortfall than in the reference) and
    whether the checker verified the plan. Ranked by the shortfall each case adds, then the other
    objectives' differences in model order (largest first), as the solution format's contract
    says; cases without a plan last.  A lost lead is not in the ranking's key (no objective counts
    it): its columns, the notes and the chart's label say it."""
    reference = next((r for r in rows if r["case"] == REFERENCE), {})
    base_short = reference.get("short_by_task", {})
    records = []
    for row in rows:
        record: dict[str, Any] = {"case": row["case"], "status": row.get("status", "error")}
        record["lead_periods_lost"] = row.get("lead_periods_lost", 0)
        record["leads_lost"] = row.get("leads_lost", "")
        for name in objectives:
            value = row.get(name)
            record[name] = value
            ref = reference.get(name)
            record[f"{name}_diff"] = None if value is None or ref is None else round(value - ref, 9)
        if "shortfall" in objectives:
            record["shortfall_bound"] = row.get("shortfall_bound")
        short = row.get("short_by_task")
        lost = [] if short is None else sorted(t for t, v in short.items() if v > base_short.get(t, 0))
        record["tasks_losing_coverage"] = " ".join(lost)
        record["verified"] = row.get("verified")
        record["notes"] = row.get("notes", "")
        record["error"] = row.get("error", "")
        record["wall_time"] = row.get("wall_time")
        records.append(record)
    frame = pd.DataFrame(records)
    keys = [f"{name}_diff" for name in objectives]
    has_plan = frame["status"].isin([Status.OPTIMAL, Status.FEASIBLE])
    frame = frame.assign(_plan=~has_plan)
    frame = frame.sort_values(["_plan", *keys], ascending=[True, *[False] * len(keys)], kind="stable")
    return frame.drop(columns="_plan").reset_index(drop=True)


def chart_png(result: WhatIf) -> bytes:
    """A horizontal bar per case with a plan: the shortfall it adds (the ranking)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = (
        result.frame[result.frame["shortfall_diff"].notna()]
        if "shortfall_diff" in result.frame
        else result.frame.iloc[:0]  # no case with a plan
    )
    values = frame.get("shortfall_diff", pd.Series(dtype=float)).astype(float)
    labels = chart_labels(frame)
    fig, axis = plt.subplots(figsize=(8, max(2.0, 0.28 * len(frame) + 1)))
    axis.barh(labels[::-1], values[::-1], color="#CC6677")
    axis.set_xlabel("shortfall added against the reference (priority-weighted unit- and nation-periods)")
    axis.set_title(f"What if ... from period {result.start}: the shortfall each case adds")
    axis.axvline(0, color="black", linewidth=0.8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def chart_labels(frame: pd.DataFrame) -> pd.Series:
    """Each case's name in the chart, with the tasks it leaves without a lead: "withdraw FR (no
    lead: hq)"."""
    lost = frame.get("leads_lost", pd.Series("", index=frame.index)).fillna("").astype(str)
    return frame["case"].astype(str) + lost.map(lambda tasks: f" (no lead: {tasks})" if tasks else "")


def page(result: WhatIf) -> str:
    """``whatif.html``: the ranking chart and table, self-contained."""
    chart = base64.b64encode(chart_png(result)).decode("ascii")
    table = result.frame.to_html(index=False, border=0, classes="data", na_rep="")
    title = f"What if ... (from period {result.start})"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table.data{border-collapse:collapse;font-size:90%}"
        "table.data td,table.data th{border-bottom:1px solid #ddd;padding:2px 8px;text-align:right}"
        "table.data td:first-child{text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{len(result.frame)} cases, each a re-plan of the baseline verified by the checker, "
        f"in {result.wall_time:.1f} s. Ranked by the shortfall each case adds, then the other "
        "objectives in model order; a case that leaves a task without the lead the data ask for says "
        "so (lead_periods_lost, leads_lost, and its label).</p>"
        f"<img alt='ranking' src='data:image/png;base64,{chart}'>"
        f"{table}</body></html>\n"
    )
