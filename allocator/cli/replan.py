"""``allocator replan``, ``allocator withdraw`` and ``allocator whatif``: re-plan from a baseline
when the data change, say a withdrawal in the data, and sweep cases on Dask
(``docs/replanning.md``)."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click
import pandas as pd
from rich.markup import escape
from rich.table import Table

import allocator.replanning as replanning
import allocator.replanning.sweep as whatifs
from allocator.cli.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNKNOWN,
    err,
    first_plan_flag,
    force_option,
    formulation_flag,
    guarded,
    load,
    out,
    progress_bar,
    refuse_existing,
    scheduler_option,
    stop_token,
)
from allocator.cli.outputs import output_file, output_folder
from allocator.cli.solve import (
    _print_summary,
    check_outputs,
    report_option,
    run_with_progress,
    save,
    say_saved,
    search_options,
    solve_options,
)
from allocator.errors import InputError, Problem
from allocator.instance.load import INSTANCE_FORMATS, write_instance
from allocator.options import BACKENDS, SolveOptions, Status
from allocator.replanning.history import read_baseline
from allocator.solution.result import SolveResult

#: Changes shown on the terminal (the solution file has them all).
TOP_CHANGES = 12


@click.command()
@click.argument("instance", type=str)
@click.argument("baseline", type=str)
@click.option(
    "--from",
    "start",
    type=int,
    required=True,
    help="The first period the new plan may change (2..periods); the periods before are history.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the re-planned solution JSON here (a .json file; replaced if it exists).",
)
@click.option(
    "--objectives",
    type=str,
    default=None,
    help="Comma-separated levels replacing the default (shortfall,changes, then the model's); "
    "leave out 'changes' for a re-plan that keeps history but ignores persistence.",
)
@click.option(
    "--max-changes",
    type=click.IntRange(min=0),
    default=None,
    help="At most this many changes (a hard rule; the objective 'changes' counts them).",
)
@functools.partial(
    search_options,
    formulation=formulation_flag(
        "tours or auto: a re-plan uses the tours formulation (a variable per feasible tour); flow is refused."
    ),
    first_plan=first_plan_flag(
        "Start the search from the baseline made a plan of the new data when the levels ask for "
        "persistence ('changes', or --max-changes), else from the greedy first plan built on the "
        "history (each used when the checker accepts it, the other tried if not); "
        "--no-first-plan starts from nothing."
    ),
)
@report_option
@click.pass_context
def replan(
    ctx: click.Context,
    instance: str,
    baseline: str,
    start: int,
    output: str | None,
    objectives: str | None,
    max_changes: int | None,
    backend: str,
    time_limit: float,
    threads: int | None,
    seed: int,
    formulation: str,
    first_plan: bool,
    log_search: bool,
    reproducible: bool,
    report_dir: str | None,
    quiet: bool,
) -> None:
    """Re-plan INSTANCE (the data as they stand now) from period --from on, keeping the history of
    BASELINE (the solution file of the plan being executed).

    History before --from is kept exactly; tours running across it may go on or end at --from - 1;
    lead terms that began in history keep their lead unless it is no longer eligible. The plan
    moves as little as it can: `changes` comes right after `shortfall`. Check the result with
    allocator check INSTANCE SOLUTION --baseline BASELINE."""
    with guarded(ctx.obj["debug"], quiet):
        options = solve_options(
            backend, time_limit, threads, seed, formulation, log_search, first_plan, reproducible
        )
        check_outputs(output, report_dir, [(instance, "instance"), (baseline, "baseline")])
        loaded = load(instance)
        levels = _levels(objectives)
        result = run_with_progress(
            loaded,
            quiet,
            lambda **kw: replanning.replan(
                loaded,
                baseline,
                start,
                options,
                objectives=levels,
                max_changes=max_changes,
                stop=stop_token(),
                **kw,
            ),
        )
        base = read_baseline(baseline)[0] if report_dir else None
        saved = save(result.problem or loaded, result, output, report_dir, quiet, base)
        if not quiet:
            _print_summary(result.problem or loaded, result)
            print_changes(result)
            print_why_infeasible(result, max_changes)
        say_saved(saved)
    sys.exit(result.exit_code)


def _levels(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise InputError(
            "--objectives", [Problem("", f"'{text}': a comma-separated list of objective names")]
        )
    return names


def print_why_infeasible(result: SolveResult, max_changes: int | None) -> None:
    """What may make a re-plan infeasible, and the command that says more."""
    if result.status != Status.INFEASIBLE:
        return
    if max_changes is not None:
        out.print(
            f"No plan keeps every hard rule with at most {max_changes} changes: the changes the "
            "data force may be more. Re-plan without --max-changes to see the fewest possible "
            "(the level 'changes')."
        )
    else:
        out.print(
            "No plan keeps every hard rule from --from on with this history: allocator explain "
            "INSTANCE names the rules that conflict in the new data."
        )


def print_changes(result: SolveResult, top: int = TOP_CHANGES) -> None:
    """What moved against the baseline, briefly."""
    if not result.has_plan or result.replan is None:
        return
    total = result.objectives.get("changes", 0)
    if not result.changes:
        out.print("[green]No change against the baseline.[/green]")
        return
    table = Table(title=f"Changes against the baseline ({total:g} in all)", title_justify="left")
    for column in ("task", "offer / lead", "periods", "before", "after"):
        table.add_column(column)
    in_report_order = sorted(  # as the report's table: by task, its lead first, then offers
        result.changes, key=lambda c: (c["task"], c.get("offer", "(lead)"), c["periods"])
    )
    for change in in_report_order[:top]:
        first, last = change["periods"]
        periods = str(first) if first == last else f"{first}-{last}"
        if "offer" in change:
            row = (change["task"], change["offer"], periods, str(change["before"]), str(change["after"]))
        else:
            row = (change["task"], "(lead)", periods, str(change["lead_before"]), str(change["lead_after"]))
        table.add_row(*(escape(str(v)) for v in row))
    out.print(table)
    if len(result.changes) > top:
        out.print(f"... and {len(result.changes) - top} more (all in the solution file: -o FILE.json)")


@click.command()
@click.argument("instance", type=str)
@click.argument("who", type=str)
@click.option(
    "--from", "start", type=int, required=True, help="The first period the nation or offer is gone."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The new instance file (.yaml, .json or .xlsx).",
)
@click.option(
    "--kind",
    type=click.Choice(["nation", "offer"]),
    default=None,
    help="What WHO names (default: a nation's id, else an offer's).",
)
@force_option
@click.pass_context
def withdraw(
    ctx: click.Context, instance: str, who: str, start: int, output: str, kind: str | None, force: bool
) -> None:
    """Write INSTANCE with nation or offer WHO withdrawn from period --from on: its offers'
    availability ends at --from - 1 (an offer with no period left goes), a nation leaves every lead
    (and `first`; a lead with no nation left goes). Re-plan the new file with allocator replan."""
    with guarded(ctx.obj["debug"]):
        if Path(output).suffix.lower() not in INSTANCE_FORMATS:
            raise InputError(
                output, [Problem("", f"an instance file: name a {', '.join(INSTANCE_FORMATS)} file")]
            )
        output_file(output, "new instance", [(instance, "instance")])
        refuse_existing(output, force)
        loaded = load(instance)
        try:
            done = replanning.withdraw(loaded, who, start, kind=kind)
        except InputError as exc:
            raise InputError(instance, exc.problems) from None
        write_instance(done.instance, output)
    out.print(f"wrote {escape(output)}: {done.kind} {escape(who)} withdrawn from period {start}")
    for note in done.notes:
        out.print(f"  {escape(note)}")
    sys.exit(EXIT_OK)


@click.command()
@click.argument("instance", type=str)
@click.option(
    "--baseline", type=str, default=None, help="The plan being executed (solved first when not given)."
)
@click.option(
    "--from", "start", type=int, required=True, help="The first period each case may change (2..periods)."
)
@click.option(
    "--withdraw-each",
    type=click.Choice(["nation", "offer"]),
    default=None,
    help="A case per nation (or offer) withdrawn from --from on.",
)
@click.option(
    "--scenarios",
    type=click.Path(file_okay=False),
    default=None,
    help="A case per instance file in this folder (edited copies of INSTANCE).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    help="Seconds for each case's re-plan (and for the baseline's solve when there is none).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Threads of each case's solve; a local cluster runs cores / threads cases at once.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="auto",
    show_default=True,
    help="The solver of every case.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="The solvers' random seed.")
@scheduler_option
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False),
    required=True,
    help="The folder for whatif.csv, whatif.html, baseline.json and every case's solution (cases/).",
)
@click.pass_context
def whatif(
    ctx: click.Context,
    instance: str,
    baseline: str | None,
    start: int,
    withdraw_each: str | None,
    scenarios: str | None,
    time_limit: float,
    threads: int,
    backend: str,
    seed: int,
    scheduler: str | None,
    out_dir: str,
) -> None:
    """Re-plan INSTANCE under every case from period --from on, in parallel on Dask: each nation (or
    offer) withdrawn in turn, or each instance file of a folder, and "nothing changes" as the
    reference. Every plan is verified; the cases are ranked by the shortfall they add, then by the
    other objectives; a case that leaves a task without its lead (its only eligible nation
    withdrawn) says so in its own columns and label."""
    with guarded(ctx.obj["debug"]):
        if (withdraw_each is None) == (scenarios is None):
            raise click.UsageError("give exactly one of --withdraw-each and --scenarios")
        inputs = [(instance, "instance"), (baseline, "baseline")]
        output_folder(out_dir, "what-if sweep", inputs, whatifs.writes)
        if scenarios is not None and Path(scenarios).resolve() == Path(out_dir).resolve():
            raise InputError(
                out_dir,
                [Problem("", "is the --scenarios folder: its files would become cases; name another")],
            )
        loaded = load(instance)
        options = SolveOptions(backend, time_limit, threads, seed)
        cases = whatifs.cases_of(loaded, withdraw_each, scenarios)
        with progress_bar() as bar:
            task = bar.add_task("what if", total=len(cases))
            result = whatifs.whatif(
                loaded,
                start,
                baseline=baseline,
                cases=cases,
                options=options,
                scheduler=scheduler,
                on_done=lambda _row: bar.advance(task),
                stop=stop_token(),
                source=instance,
            )
        result.write(out_dir)
    print_whatif(result)
    out.print(f"written to {escape(out_dir)}: whatif.csv, whatif.html, baseline.json, cases/")
    failed = result.frame[(result.frame["status"] == "error") | result.frame["verified"].eq(False)]
    stopped = result.frame[result.frame["status"] == whatifs.STOPPED]
    sys.exit(EXIT_FAIL if len(failed) else EXIT_UNKNOWN if len(stopped) else EXIT_OK)


def print_whatif(result: whatifs.WhatIf, top: int = TOP_CHANGES) -> None:
    """The ranking, briefly."""
    title = f"{len(result.frame)} cases, ranked by the shortfall they add, then the other objectives"
    table = Table(title=title, title_justify="left")
    columns = [
        "case",
        "status",
        "lead_periods_lost",
        *[f"{name}_diff" for name in result.objectives if name != "changes"],
        "changes",
    ]
    headers = {"lead_periods_lost": "lead periods lost"}
    for column in (*columns, "tasks losing coverage"):
        header = headers.get(
            column, column.removesuffix("_diff") + (" +" if column.endswith("_diff") else "")
        )
        table.add_column(header)
    for record in result.frame.head(top).to_dict("records"):
        cells = [
            "-"
            if record.get(c) is None or record.get(c) != record.get(c)
            else f"{record[c]:g}"
            if isinstance(record[c], float)
            else str(record[c])
            for c in columns
        ]
        if record.get("leads_lost"):
            cells[columns.index("lead_periods_lost")] += f" ({record['leads_lost']})"
        table.add_row(*(escape(c) for c in cells), escape(str(record.get("tasks_losing_coverage", ""))))
    out.print(table)
    if len(result.frame) > top:
        out.print(f"... and {len(result.frame) - top} more cases (all in whatif.csv and whatif.html)")
    frame = result.frame
    if "shortfall_bound" in frame:
        value = pd.to_numeric(frame["shortfall"], errors="coerce")
        bound = pd.to_numeric(frame["shortfall_bound"], errors="coerce")
        unproven = frame[value > bound + 1e-9]
    if "shortfall_bound" in frame and len(unproven):
        out.print(
            f"[yellow]{len(unproven)} case(s) stopped by the time limit above their proven shortfall bound "
            "(column shortfall_bound): give --time-limit more for a ranking you can trust[/yellow]"
        )
    for record in result.frame.to_dict("records"):
        if record["status"] == "error":
            err.print(f"[red]case failed:[/red] {escape(record['case'])}: {escape(str(record['error']))}")
        elif record["status"] == whatifs.STOPPED:
            err.print(f"[yellow]case not run:[/yellow] {escape(record['case'])}: {whatifs.STOPPED_TEXT}")
        elif record.get("verified") is False:
            err.print(f"[red]case rejected by the checker:[/red] {escape(record['case'])}")
