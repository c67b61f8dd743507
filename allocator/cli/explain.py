"""``allocator explain``: why an instance is infeasible, why tasks stay short, what makes up each
objective (``docs/explanations.md``)."""

from __future__ import annotations

import sys

import click
from rich.markup import escape
from rich.table import Table

from allocator.cli.common import (
    EXIT_OK,
    EXIT_UNKNOWN,
    count,
    guarded,
    load,
    out,
    stop_token,
    time_limit_option,
)
from allocator.cli.outputs import json_target
from allocator.explanations import Explanation
from allocator.explanations import explain as explain_instance
from allocator.instance.model import Instance
from allocator.solution.summary import period_labels, period_runs

#: Items of each list shown on the terminal (the JSON has all).
TOP = 8


@click.command()
@click.argument("instance", type=str)
@click.argument("solution", type=str, required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the explanation JSON here (a .json file; replaced if it exists).",
)
@time_limit_option("Seconds for the whole explanation (a solve first when no SOLUTION is given).")
@click.option(
    "--threads", type=click.IntRange(min=1), default=None, help="Search workers (default: all cores)."
)
@click.option("--seed", type=int, default=0, show_default=True, help="The solvers' random seed.")
@click.pass_context
def explain(
    ctx: click.Context,
    instance: str,
    solution: str | None,
    output: str | None,
    time_limit: float,
    threads: int | None,
    seed: int,
) -> None:
    """Explain INSTANCE, or the plan in SOLUTION: a conflict and relaxations when no plan can meet
    every hard rule; otherwise why each shortfall stays open and what makes up each objective.

    Without SOLUTION the instance is solved first, with half of the time limit."""
    with guarded(ctx.obj["debug"]):
        if output:
            json_target(output, "explanation", [(instance, "instance"), (solution, "solution")])
        loaded = load(instance)
        result = explain_instance(
            loaded, solution, time_limit=time_limit, threads=threads, seed=seed, stop=stop_token()
        )
        if output:
            result.write(output)
        print_explanation(loaded, result)
        if output:
            out.print(f"explanation written to {escape(output)}")
    sys.exit(EXIT_UNKNOWN if result.status == "unknown" else EXIT_OK)


def print_explanation(instance: Instance, result: Explanation, top: int = TOP) -> None:
    """The explanation, briefly, on the terminal."""
    labels = period_labels(instance)
    out.print(f"[bold]{escape(instance.name)}[/bold]: {result.status}")
    if result.conflict:
        print_conflict(result, top)
    elif result.status == "unknown":
        out.print("no plan and no proof of infeasibility within the time limit: try a longer --time-limit")
        return
    if result.shortfalls:
        table = Table(title="Why tasks stay short", title_justify="left")
        for column in (
            "task",
            "capability",
            "periods",
            "missing",
            "would close it",
            "why (per offer, periods)",
        ):
            table.add_column(column)
        for gap in result.shortfalls[:top]:
            reasons = "\n".join(
                f"{r['offer']}: {r['reason']} ({period_runs(r['periods'], labels)})" for r in gap["reasons"]
            )
            nations = "units" not in gap
            missing = f"{gap['nations']} nation-periods" if nations else f"{gap['units']} unit-periods"
            needed = gap["needed"]
            closing = f"{needed['nations']} more nation(s)" if nations else f"{needed['units']} more unit(s)"
            periods = gap["labels"][0] if gap["labels"][0] == gap["labels"][1] else "..".join(gap["labels"])
            table.add_row(
                escape(gap["task"]),
                escape(gap["capability"] or "(nations)"),
                periods,
                missing,
                closing,
                escape(reasons or "no offer of it"),
            )
        out.print(table)
        if len(result.shortfalls) > top:
            out.print(
                f"... and {len(result.shortfalls) - top} more runs of short periods "
                "(all in the JSON: -o FILE)"
            )
    elif result.status.has_plan:
        out.print("[green]No shortfall: every requirement and multinational minimum is met.[/green]")
    if result.breakdown:
        table = Table(title="What makes up each objective (largest parts)", title_justify="left")
        for column in ("objective", "part", "value"):
            table.add_column(column, justify="right" if column == "value" else "left")
        for name, rows in result.breakdown.items():
            for row in rows[:3]:
                part = ", ".join(
                    f"{v}" for k, v in row.items() if k in ("task", "capability", "nation") and v
                )
                table.add_row(name, escape(part), f"{row['value']:.4g}")
        out.print(table)


def print_conflict(result: Explanation, top: int = TOP) -> None:
    """The conflict and the relaxations."""
    proven = "proven minimal" if result.minimal else "not proven minimal"
    out.print(f"These {count(len(result.conflict), 'rule instance')} cannot all hold ({proven}):")
    for item in result.conflict[:top]:
        out.print(f"  [bold]{escape(item.name)}[/bold]: {escape(item.text)}")
    if len(result.conflict) > top:
        out.print(f"  ... and {len(result.conflict) - top} more (all in the JSON: explain -o FILE)")
    for number, relaxation in enumerate(result.relaxations, start=1):
        # a rule instance the least-exceeding plan did not need to exceed changes nothing
        changes = [i for i in relaxation if i.change is None or i.change.before != i.change.after]
        texts = list(dict.fromkeys(item.text for item in changes))
        proven = "" if result.smallest[number - 1] else ", not proven smallest"
        out.print(f"Relaxation {number} (drops {count(len(relaxation), 'rule instance')}{proven}):")
        for text in texts[:top]:
            out.print(f"  - {escape(text)}")
        if len(texts) > top:
            out.print(f"  ... and {len(texts) - top} more changes (all in the JSON: explain -o FILE)")
