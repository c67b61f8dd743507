"""``allocator solve``: solve an instance, print a summary, write the solution and a report."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, TypeVar

import click
from rich.markup import escape
from rich.table import Table

from allocator import api
from allocator.cli.common import (
    err,
    figure,
    first_plan_option,
    formulation_option,
    guarded,
    load,
    out,
    signed,
    stop_token,
    time_limit_option,
)
from allocator.cli.explain import print_conflict
from allocator.cli.outputs import json_target
from allocator.cli.report import report_folder, write_report
from allocator.explanations import explain_infeasible
from allocator.instance.catalog import available_models
from allocator.instance.model import Instance
from allocator.options import BACKENDS, Progress, SolveOptions, Status
from allocator.solution.result import NO_MODEL, SolveResult
from allocator.solution.summary import burden_table, shortfall_table

#: At most this long is spent on the conflict printed after an infeasible solve (seconds).
EXPLAIN_SECONDS = 10.0


def _progress_printer(live: Any, levels: int) -> Callable[[Progress], None]:
    state: dict[str, Any] = {}

    def update(p: Progress) -> None:
        if p.level_number != state.get("level"):
            state.clear()
            state["level"] = p.level_number
        if p.incumbent is not None:
            state["incumbent"] = p.incumbent
        if p.bound is not None:
            state["bound"] = p.bound
        inc = state.get("incumbent")
        bnd = state.get("bound")
        live.update(
            f"level {p.level_number}/{levels} [bold]{p.level}[/bold]  "
            f"incumbent {'-' if inc is None else f'{inc:g}'}  bound {'-' if bnd is None else f'{bnd:g}'}  "
            f"{p.elapsed:.1f}s"
        )

    return update


def _print_summary(instance: Instance, result: SolveResult) -> None:
    colour = {Status.OPTIMAL: "green", Status.FEASIBLE: "yellow"}.get(result.status, "red")
    out.print(
        f"[bold]{instance.name}[/bold]: [{colour}]{result.status}[/{colour}] "
        f"({result.backend}, {result.wall_time:.2f}s, "
        + ("no model built" if result.formulation == NO_MODEL else f"model built in {result.build_time:.2f}s")
        + ")"
        + ("  [yellow]interrupted[/yellow]" if result.interrupted else "")
    )
    levels = Table(title="Objectives (lexicographic levels)", title_justify="left")
    for column in ("level", "status", "value", "bound", "time (s)"):
        levels.add_column(column, justify="left" if column in ("level", "status") else "right")
    for lv in result.levels:
        levels.add_row(
            lv.key,
            lv.status,
            "-" if lv.value is None else figure(lv.value),
            "-" if lv.bound is None else figure(lv.bound),
            f"{lv.wall_time:.2f}",
        )
    out.print(levels)
    if not result.has_plan:
        return
    out.print(
        "All objectives of the plan: " + ", ".join(f"{k} {figure(v)}" for k, v in result.objectives.items())
    )
    _print_shortfalls(instance, result)
    _print_burden(instance, result)


def _print_shortfalls(instance: Instance, result: SolveResult) -> None:
    gaps = shortfall_table(instance, result.shortfalls)
    if gaps.empty:
        out.print("[green]No shortfall: every requirement and multinational minimum is met.[/green]")
        return
    title = "Shortfalls (the shortfall objective is the sum of the priority-weighted column)"
    table = Table(title=title, title_justify="left")
    for column in ("task", "capability", "periods short", "missing", "× priority"):
        table.add_column(column, justify="right" if column[0] in "m×" else "left")
    for gap in gaps.to_dict("records"):
        unit = "nation-periods" if gap["what"] == "(nations)" else "unit-periods"
        missing = f"{gap['missing']:g} {unit}"
        table.add_row(
            escape(gap["task"]), escape(gap["what"]), gap["periods"], missing, f"{gap['weighted']:g}"
        )
    out.print(table)


def _print_burden(instance: Instance, result: SolveResult) -> None:
    burden = burden_table(instance, result.assignments)
    table = Table(title=f"Burden against fair share ({burden.attrs['measure']})", title_justify="left")
    for column in ("nation", "burden", "fair share", "difference"):
        table.add_column(column, justify="left" if column == "nation" else "right")
    for row in burden.to_dict("records"):
        difference = float(row["difference"])
        style = "red" if difference > 0.5 else ("cyan" if difference < -0.5 else "")
        table.add_row(
            escape(str(row["nation"])),
            f"{row['burden']:g}",
            f"{row['fair_share']:.1f}",
            f"[{style}]{signed(difference)}[/{style}]" if style else signed(difference),
        )
    out.print(table)


def _print_why_infeasible(instance: Instance, time_limit: float, threads: int | None, seed: int) -> None:
    """The conflict and a relaxation, briefly (``allocator explain`` gives them in full)."""
    seconds = min(EXPLAIN_SECONDS, time_limit)
    with err.status("looking for the rules that conflict ...") if err.is_terminal else nullcontext():
        why = explain_infeasible(instance, seconds, threads=threads, seed=seed)
    if why.conflict:
        print_conflict(why, top=5)
        out.print("(allocator explain INSTANCE -o FILE.json gives the whole explanation)")
    else:
        out.print(f"no conflict found within {seconds:g} s: try allocator explain with a longer --time-limit")


F = TypeVar("F", bound=Callable[..., Any])


def search_options(
    command: F,
    first_plan: Callable[[F], F] = first_plan_option,
    formulation: Callable[[F], F] = formulation_option,
) -> F:
    """The options of a search, shared by solve and replan: backend, time limit, threads, seed,
    formulation and the first plan (each option with its help: `formulation`, `first_plan`),
    the solver's log."""
    options: list[Callable[[Any], Any]] = [
        click.option(
            "--backend",
            type=click.Choice(BACKENDS),
            default="auto",
            show_default=True,
            help=(
                "auto: HiGHS and CP-SAT in turn at each level, passing plans (later levels first "
                "searched near their LP relaxation); cpsat: OR-Tools CP-SAT alone; highs, cbc: the "
                "MILP through PuLP."
            ),
        ),
        time_limit_option("Seconds for the whole solve, all levels together."),
        click.option(
            "--threads",
            type=click.IntRange(min=1),
            default=None,
            help="Search workers (default: all cores); for the same plan on every run, --reproducible.",
        ),
        click.option(
            "--seed",
            type=int,
            default=0,
            show_default=True,
            help="The solver's random seed (with --reproducible: the same plan for the same seed).",
        ),
        formulation,
        first_plan,
        click.option("--log-search", is_flag=True, help="Print the solver's own search log."),
        click.option(
            "--reproducible",
            is_flag=True,
            help="The same plan on every run, on any machine and load: one thread, CP-SAT alone "
            "(--backend auto or cpsat), --time-limit counted in CP-SAT's deterministic work units "
            "instead of seconds (a unit takes 2-10 s on two cores).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def solve_options(*values: Any, **named: Any) -> SolveOptions:
    """:class:`SolveOptions` from the command's options; a combination they refuse (the
    reproducible mode with two threads) is a usage error (exit 2)."""
    try:
        return SolveOptions(*values, **named)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def report_option(command: F) -> F:
    return click.option(
        "--report",
        "report_dir",
        type=click.Path(file_okay=False),
        help="Also write the plan report (workbook, charts, HTML page) into this folder; report files "
        "already there are replaced, and an earlier report's files this one does not write are removed "
        "(other files are left alone).",
    )(command)


def run_with_progress(instance: Instance, quiet: bool, solve: Callable[..., SolveResult]) -> SolveResult:
    """Run `solve(progress=...)` with a live status line on a terminal."""
    levels = len(instance.spec.levels)
    started = time.perf_counter()
    if err.is_terminal and not quiet:
        with err.status("building the model ...") as live:
            result = solve(progress=_progress_printer(live, levels))
    else:
        result = solve()
    logging.getLogger(__name__).info("solved in %.2fs", time.perf_counter() - started)
    return result


def save(
    instance: Instance,
    result: SolveResult,
    output: str | None,
    report_dir: str | None,
    quiet: bool,
    baseline: Any = None,
) -> list[str]:
    """Write the solution and the report (of a re-plan, with its baseline) before anything is
    printed, so that a terminal closed early (``| head``) loses nothing; the lines saying where."""
    lines: list[str] = []
    if output:
        result.write(output)
        lines.append(f"solution written to {escape(output)}")
    else:
        lines.append("no solution file written (add -o FILE.json to keep the plan)")
    if report_dir and result.has_plan:
        write_report(instance, result, report_dir, instance.name, quiet, baseline, lines.append)
    elif report_dir:
        err.print(f"[yellow]no plan ({result.status}): no report written[/yellow]")
    return [] if quiet else lines


def check_outputs(output: str | None, report_dir: str | None, inputs: list[tuple[str | None, str]]) -> None:
    """Refuse, before any work, a solution file (`output`) or a report folder that cannot be
    written or would replace one of `inputs` (pairs of a path and what it is), or each other."""
    if output:
        json_target(output, "solution", inputs)
    if report_dir:
        report_folder(report_dir, [*inputs, (output, "solution")])


def say_saved(lines: list[str]) -> None:
    """Print what :func:`save` wrote."""
    for line in lines:
        out.print(line)


@click.command()
@click.argument("instance", type=str)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the solution JSON here (a .json file; replaced if it exists).",
)
@search_options
@click.option(
    "--model",
    "model_name",
    type=str,
    default=None,
    help=f"A named model, overriding the instance's ({', '.join(available_models())}).",
)
@report_option
@click.pass_context
def solve(
    ctx: click.Context,
    instance: str,
    output: str | None,
    backend: str,
    time_limit: float,
    threads: int | None,
    seed: int,
    formulation: str,
    first_plan: bool,
    log_search: bool,
    reproducible: bool,
    model_name: str | None,
    report_dir: str | None,
    quiet: bool,
) -> None:
    """Solve INSTANCE (YAML, JSON or .xlsx workbook; - for standard input)."""
    with guarded(ctx.obj["debug"], quiet):
        options = solve_options(
            backend, time_limit, threads, seed, formulation, log_search, first_plan, reproducible
        )
        check_outputs(output, report_dir, [(instance, "instance")])
        loaded = load(instance, model_name)
        api.refuse_changes(loaded, instance)
        stop = stop_token()
        result = run_with_progress(loaded, quiet, lambda **kw: api.solve(loaded, options, stop=stop, **kw))
        saved = save(loaded, result, output, report_dir, quiet)
        if not quiet:
            _print_summary(loaded, result)
            if result.status == Status.INFEASIBLE and not stop.stopped:
                _print_why_infeasible(loaded, time_limit, threads, seed)
        say_saved(saved)
    sys.exit(result.exit_code)
