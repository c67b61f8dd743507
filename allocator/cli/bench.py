"""``allocator bench``: run instance sets on every backend, on Dask, and verify every plan."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from allocator.cli.common import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNKNOWN,
    err,
    first_plan_option,
    formulation_option,
    guarded,
    out,
    progress_bar,
    scheduler_option,
    stop_token,
    time_limit_option,
    warn,
)
from allocator.cli.outputs import output_file, output_folder
from allocator.instance.load import INSTANCE_FORMATS
from allocator.options import BACKENDS, SolveOptions


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(BACKENDS),
    help="Backend to run (repeat for several; default auto).",
)
@time_limit_option("Seconds for each run (every level of one instance on one backend together).")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Threads of each solve; the local cluster runs cores / threads workers.",
)
@click.option("--seed", "seeds", type=int, multiple=True, help="Seed (repeat for several; default 0).")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Runs of each instance, backend and seed.",
)
@click.option(
    "--optima",
    type=click.Path(exists=True, dir_okay=False),
    help="Published values (TSV: instance, sense, best_known), e.g. OPTIMA.tsv.",
)
@click.option(
    "--out",
    "out_csv",
    type=click.Path(dir_okay=False),
    default="results.csv",
    show_default=True,
    help="The results table (replaced if it exists; the profile goes beside it as .png).",
)
@click.option(
    "--solutions", type=click.Path(file_okay=False), help="Write every solution here (replacing older ones)."
)
@scheduler_option
@formulation_option
@first_plan_option
@click.pass_context
def bench(
    ctx: click.Context,
    paths: tuple[str, ...],
    backends: tuple[str, ...],
    time_limit: float,
    threads: int,
    seeds: tuple[int, ...],
    repeat: int,
    optima: str | None,
    out_csv: str,
    solutions: str | None,
    scheduler: str | None,
    formulation: str,
    first_plan: bool,
) -> None:
    """Run every instance in PATHS (files or folders) on every backend, verify every plan."""

    from allocator import bench as benchmark
    from allocator.csvtext import csv_text
    from allocator.files import write_atomic

    with guarded(ctx.obj["debug"]):
        output_file(out_csv, "results table", [(optima, "published values")])
        if len(set(backends)) > 1:  # the profile compares backends
            chart = str(Path(out_csv).with_suffix(".png"))
            output_file(chart, "performance profile", [(optima, "published values")])
        if solutions:
            output_folder(solutions, "solutions")
        instances = benchmark.find_instances(paths)
        if not instances:
            raise click.UsageError(
                f"no instance files ({', '.join(INSTANCE_FORMATS)}) found in {', '.join(paths)}"
            )
        runs = benchmark.plan_runs(
            instances,
            SolveOptions(
                time_limit=time_limit, threads=threads, formulation=formulation, first_plan=first_plan
            ),
            list(backends) or ["auto"],
            list(seeds) or [0],
            repeat,
            str(Path(solutions).resolve()) if solutions else None,
        )
        with progress_bar() as bar:
            task = bar.add_task("benchmark", total=len(runs))
            frame = benchmark.run_all(
                runs, scheduler, on_done=lambda _row: bar.advance(task), stop=stop_token()
            )
        if optima:
            frame = benchmark.add_published_gaps(frame, optima)
        write_atomic(out_csv, csv_text(frame))
        table = benchmark.summary(frame)
        if len(table) > 1:
            profile = Path(out_csv).with_suffix(".png")
            benchmark.performance_profile(frame, profile)
            out.print(f"performance profile: {profile}")
    rich_table = Table(title=f"{len(runs)} runs, results in {out_csv}", title_justify="left")
    for column in table.columns:
        rich_table.add_column(str(column), justify="left" if column == "backend" else "right")
    for record in table.to_dict("records"):
        rich_table.add_row(*("-" if v is None or v != v else str(v) for v in record.values()))
    out.print(rich_table)
    skipped = frame[frame["status"] == "skipped"].drop_duplicates("path")
    for record in skipped.to_dict("records"):
        warn(f"skipped {record['error']}")
    rejected = frame["verified"].eq(False) if "verified" in frame else False
    failed = frame[(frame["status"] == "error") | rejected]
    for record in failed.to_dict("records"):
        err.print(
            f"[red]failed:[/red] {record['instance']} ({record['backend']}): "
            f"{record.get('error') or 'plan rejected by the checker'}"
        )
    stopped = frame[frame["status"] == "stopped"]
    if len(stopped):
        warn(f"{len(stopped)} run(s) not made: the benchmark was stopped (SIGTERM)")
    sys.exit(EXIT_FAIL if len(failed) else EXIT_UNKNOWN if len(stopped) else EXIT_OK)
