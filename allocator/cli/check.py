"""``allocator check``: verify a solution against every rule, independently of the solver."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from allocator.checker import check_file
from allocator.cli.common import EXIT_FAIL, EXIT_OK, figure, guarded, load, out
from allocator.options import Status


@click.command()
@click.argument("instance", type=str)
@click.argument("solution", type=str)
@click.option(
    "--baseline",
    type=str,
    default=None,
    help="The baseline solution a re-planned SOLUTION was made from (required for a re-plan): "
    "history kept, and every other rule judged from the re-plan's first period.",
)
@click.pass_context
def check(ctx: click.Context, instance: str, solution: str, baseline: str | None) -> None:
    """Verify SOLUTION against every rule of INSTANCE and recompute its objectives.

    A re-planned SOLUTION (allocator replan) is checked with --baseline."""
    with guarded(ctx.obj["debug"]):
        loaded = load(instance)
        report = check_file(loaded, solution, baseline)
    if report.ok and not Status(report.status).has_plan:
        out.print(
            f"[green]ok[/green]: {escape(solution)} holds no plan ({report.status}): nothing to "
            "check. A claim that no plan exists is not verified here; allocator explain INSTANCE "
            "looks for the rules that conflict."
        )
        sys.exit(EXIT_OK)
    if report.ok:
        recomputed = ", ".join(f"{k} {figure(v)}" for k, v in report.objectives.items())
        out.print(
            f"[green]ok[/green]: {escape(solution)} satisfies every rule ({report.status})"
            + (f"; objectives: {recomputed}" if recomputed else "")
        )
        sys.exit(EXIT_OK)
    out.print(f"[red]{len(report.violations)} violation(s)[/red] in {escape(solution)}:")
    for violation in report.violations:
        out.print(f"  {violation}", markup=False)
    sys.exit(EXIT_FAIL)
