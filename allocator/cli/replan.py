"""``allocator replan`` and ``allocator withdraw``: re-plan from a baseline when the data change,
and say a withdrawal in the data (``docs/replanning.md``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

import allocator.replanning as replanning
from allocator.cli.common import EXIT_OK, force_option, guarded, json_target, load, out, refuse_existing
from allocator.cli.solve import _print_summary, finish, report_option, run_with_progress, search_options
from allocator.errors import InputError, Problem
from allocator.instance.load import INSTANCE_FORMATS, write_instance
from allocator.options import SolveOptions
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
@search_options
@report_option
@click.option("-q", "--quiet", is_flag=True, help="No summary, only errors.")
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
        if output:
            json_target(output, instance, "solution")
            if Path(output).resolve() == Path(baseline).resolve():
                raise InputError(output, [Problem("", "is the baseline; name another file for the re-plan")])
        loaded = load(instance)
        levels = _levels(objectives)
        options = SolveOptions(backend, time_limit, threads, seed, formulation, log_search, first_plan)
        result = run_with_progress(
            loaded,
            quiet,
            lambda **kw: replanning.replan(
                loaded, baseline, start, options, objectives=levels, max_changes=max_changes, **kw
            ),
        )
        if not quiet:
            _print_summary(result.problem or loaded, result)
            print_changes(result)
        finish(result.problem or loaded, result, output, report_dir, quiet)
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
    for change in result.changes[:top]:
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
        if instance != "-" and Path(output).resolve() == Path(instance).resolve():
            raise InputError(output, [Problem("", "is the instance itself; name a new file")])
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
