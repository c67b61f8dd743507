"""The command line: ``allocator solve | check | validate`` (SPEC section 5), over the API."""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from allocator import api
from allocator.backends.common import Progress
from allocator.backends.structure import FORMULATIONS
from allocator.catalog import available_models
from allocator.checker import check_file
from allocator.errors import InputError, InputWarning, Problem
from allocator.instance import Instance
from allocator.io import INSTANCE_FORMATS, load_instance
from allocator.result import SolveResult
from allocator.summary import burden_table, shortfall_table, supply_table

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_UNKNOWN = 0, 1, 2, 3, 4

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
for _console in (out, err):
    if not _console.is_terminal:  # into a file or a pipe: tables as wide as they need
        _console.width = max(_console.width, 160)


def _fail_input(exc: InputError) -> None:
    for problem in exc.problems:
        err.print(f"[red]error:[/red] {escape(problem.render(exc.source))}")
    sys.exit(EXIT_INPUT)


@contextmanager
def _guarded(debug: bool, quiet: bool = False) -> Iterator[None]:
    """Bad input: exit 2 with the message; anything unexpected: exit 1 without a traceback.
    Warnings raised inside (an ignored sheet, a plan made for other data) are printed as
    ``warning: ...`` lines, whether the command succeeds or not; none with `quiet`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            yield
        except InputError as exc:
            _print_warnings(caught, quiet)
            _fail_input(exc)
        except (SystemExit, click.exceptions.Exit, click.ClickException):
            _print_warnings(caught, quiet)
            raise
        except Exception as exc:  # the last line of defence of the command line
            _print_warnings(caught, quiet)
            if debug:
                raise
            what = escape(f"{type(exc).__name__}: {exc}")
            err.print(f"[red]internal error:[/red] {what} (run with --debug for details)")
            sys.exit(EXIT_FAIL)
        _print_warnings(caught, quiet)


def _print_warnings(caught: list[warnings.WarningMessage], quiet: bool) -> None:
    seen = set()
    for warning in caught:
        text = str(warning.message)
        ours = issubclass(warning.category, InputWarning) or "allocator" in Path(warning.filename).parts
        if quiet or text in seen or not ours:
            continue
        seen.add(text)
        _warn(text)
    caught.clear()


def _load(path: str, model: str | None = None) -> Instance:
    return load_instance(path, model=model)


def _warn(text: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(text)}")


def _new_file(path: str, force: bool) -> None:
    """Refuse to replace an existing file unless --force: it may be a planner's filled-in workbook."""
    if Path(path).exists() and not force:
        raise InputError(path, [Problem("", "exists; add --force to replace it")])


force_option = click.option(
    "--force", is_flag=True, help="Replace the file written if it exists (refused otherwise)."
)


formulation_option = click.option(
    "--formulation",
    type=click.Choice(FORMULATIONS),
    default="auto",
    show_default=True,
    help="tours: a variable per feasible tour; flow: units per offer, task and period (long horizons); "
    "auto: flow above 50,000 tours.",
)


F = TypeVar("F", bound=Callable[..., Any])


def time_limit_option(help: str) -> Callable[[F], F]:
    """The `--time-limit S` option (seconds, default 60)."""
    return click.option(
        "--time-limit",
        type=click.FloatRange(min=0, min_open=True),
        default=60.0,
        show_default=True,
        help=help,
    )


def output_folder_option(help: str) -> Callable[[F], F]:
    """The required `-o/--output DIR` option of commands that write a folder."""
    return click.option(
        "-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True, help=help
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="allocator")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, verbose: int, debug: bool) -> None:
    """allocator: plan multinational force contributions with CP-SAT."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"debug": debug}


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
    colour = {"optimal": "green", "feasible": "yellow"}.get(result.status, "red")
    out.print(
        f"[bold]{instance.name}[/bold]: [{colour}]{result.status}[/{colour}] "
        f"({result.backend}, {result.wall_time:.2f}s, model built in {result.build_time:.2f}s)"
        + ("  [yellow]interrupted[/yellow]" if result.interrupted else "")
    )
    levels = Table(title="Objectives (lexicographic levels)", title_justify="left")
    for column in ("level", "status", "value", "bound", "time (s)"):
        levels.add_column(column, justify="left" if column in ("level", "status") else "right")
    for lv in result.levels:
        levels.add_row(
            lv.key,
            lv.status,
            "-" if lv.value is None else f"{lv.value:g}",
            "-" if lv.bound is None else f"{lv.bound:g}",
            f"{lv.wall_time:.2f}",
        )
    out.print(levels)
    if not result.has_plan:
        return
    out.print("All objectives of the plan: " + ", ".join(f"{k} {v:g}" for k, v in result.objectives.items()))
    _print_shortfalls(instance, result)
    _print_burden(instance, result)


def _print_shortfalls(instance: Instance, result: SolveResult) -> None:
    gaps = shortfall_table(instance, result)
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


def _count(n: int, noun: str) -> str:
    """'1 nation', '3 nations'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _signed(value: float) -> str:
    """A difference with its sign, one decimal, never '-0.0'."""
    rounded = round(value, 1) + 0.0
    return "0" if rounded == 0 else f"{rounded:+.1f}"


def _print_burden(instance: Instance, result: SolveResult) -> None:
    burden = burden_table(instance, result)
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
            f"[{style}]{_signed(difference)}[/{style}]" if style else _signed(difference),
        )
    out.print(table)


@main.command()
@click.argument("instance", type=str)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the solution JSON here (a .json file; replaced if it exists).",
)
@click.option(
    "--backend",
    type=click.Choice(api.BACKENDS),
    default="cpsat",
    show_default=True,
    help="cpsat: OR-Tools CP-SAT; highs, cbc: the MILP through PuLP.",
)
@time_limit_option("Seconds for the whole solve, all levels together.")
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Search workers (default: all cores); 1 gives the same plan on every run.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="The solver's random seed (with --threads 1: same plan).",
)
@click.option(
    "--model",
    "model_name",
    type=str,
    default=None,
    help=f"A named model, overriding the instance's ({', '.join(available_models())}).",
)
@formulation_option
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False),
    help="Also write the plan report (workbook, charts, HTML page) into this folder; report files "
    "already there are replaced, and an earlier report's files this one does not write are removed "
    "(other files are left alone).",
)
@click.option("--log-search", is_flag=True, help="Print the solver's own search log.")
@click.option("-q", "--quiet", is_flag=True, help="No summary, only errors.")
@click.pass_context
def solve(
    ctx: click.Context,
    instance: str,
    output: str | None,
    backend: str,
    time_limit: float,
    threads: int | None,
    seed: int,
    model_name: str | None,
    formulation: str,
    report_dir: str | None,
    log_search: bool,
    quiet: bool,
) -> None:
    """Solve INSTANCE (YAML, JSON or .xlsx workbook; - for standard input)."""
    with _guarded(ctx.obj["debug"], quiet):
        if output:
            _solution_target(output, instance)
        loaded = _load(instance, model_name)
        levels = len(loaded.spec.levels)
        started = time.perf_counter()
        if err.is_terminal and not quiet:
            with err.status("building the model ...") as live:
                result = api.solve(
                    loaded,
                    backend=backend,
                    time_limit=time_limit,
                    threads=threads,
                    seed=seed,
                    progress=_progress_printer(live, levels),
                    log_search=log_search,
                    formulation=formulation,
                )
        else:
            result = api.solve(
                loaded,
                backend=backend,
                time_limit=time_limit,
                threads=threads,
                seed=seed,
                log_search=log_search,
                formulation=formulation,
            )
        logging.getLogger(__name__).info("solved in %.2fs", time.perf_counter() - started)
        if output:
            result.write(output)
        if not quiet:
            _print_summary(loaded, result)
            if output:
                out.print(f"solution written to {escape(output)}")
            else:
                out.print("no solution file written (add -o FILE.json to keep the plan)")
        if report_dir and result.has_plan:
            _write_report(loaded, result, report_dir, loaded.name, quiet)
        elif report_dir:
            err.print(f"[yellow]no plan ({result.status}): no report written[/yellow]")
    sys.exit(result.exit_code)


def _solution_target(output: str, instance: str) -> None:
    """A solution file must not replace the instance, nor land in a file named as an instance."""
    target = Path(output)
    if instance != "-" and target.exists() and target.resolve() == Path(instance).resolve():
        raise InputError(
            output, [Problem("", "is the instance file itself; name another file for the solution")]
        )
    if target.suffix.lower() in (".xlsx", ".yaml", ".yml"):
        raise InputError(output, [Problem("", "the solution is JSON: name a .json file")])
    if target.is_file() and _holds_an_instance(target):
        raise InputError(output, [Problem("", "holds an instance; name another file for the solution")])


def _holds_an_instance(path: Path) -> bool:
    """True for a JSON file whose top level has `nations` (an instance, not a plan)."""
    import json

    try:
        with path.open(encoding="utf-8") as stream:
            document = json.loads(stream.read(8 * 2**20))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "nations" in document


def _write_report(instance: Instance, solution: Any, folder: str, label: str, quiet: bool) -> tuple[str, ...]:
    """Write the report; the checker's violations of the plan (the report lists them too)."""
    from allocator.report import build_report, save_report

    if Path(folder).exists() and not Path(folder).is_dir():
        raise InputError(folder, [Problem("", "exists and is not a folder")])
    report = build_report(instance, solution, label)
    written = save_report(report, folder)
    if not quiet:
        page = escape(str(Path(folder) / "report.html"))
        out.print(f"report written to {escape(folder)}: {len(written)} files, open {page}")
    return report.violations


@main.command()
@click.argument("instance", type=str)
@click.argument("solution", type=str)
@output_folder_option(
    "Folder for the report (created if needed); report files already there are replaced, and an earlier "
    "report's files this one does not write are removed (other files are left alone)."
)
@click.pass_context
def report(ctx: click.Context, instance: str, solution: str, out_dir: str) -> None:
    """Write the report of SOLUTION: a workbook, rotation charts and one HTML page (into -o DIR)."""
    from allocator.io import load_document

    with _guarded(ctx.obj["debug"]):
        loaded = _load(instance)
        document, label = load_document(solution)
        violations = _write_report(loaded, document, out_dir, label, quiet=False)
    if violations:
        err.print(f"[yellow]the checker finds {len(violations)} violation(s); the report lists them[/yellow]")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("source", type=str)
@click.argument("target", type=click.Path(dir_okay=False))
@force_option
@click.pass_context
def convert(ctx: click.Context, source: str, target: str, force: bool) -> None:
    """Convert an instance between YAML, JSON and .xlsx (by the files' extensions), without loss.

    An existing TARGET is left alone unless --force."""
    from allocator.io import write_instance

    with _guarded(ctx.obj["debug"]):
        _instance_format(target)
        _new_file(target, force)
        loaded = _load(source)
        write_instance(loaded, target)
    out.print(f"wrote {escape(target)} ({loaded.name})")
    sys.exit(EXIT_OK)


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@force_option
@click.pass_context
def template(ctx: click.Context, target: str, force: bool) -> None:
    """Write a workbook to fill in: the sheets, their headers, one example row each, drop-down lists.

    An existing TARGET (perhaps a filled-in workbook) is left alone unless --force."""
    from allocator.io import write_instance
    from allocator.spreadsheet import template_instance

    with _guarded(ctx.obj["debug"]):
        if _instance_format(target) != ".xlsx":
            raise click.BadParameter(
                "the template is a workbook: give a .xlsx file name", param_hint="TARGET"
            )
        _new_file(target, force)
        write_instance(template_instance(), target)
    name = escape(target)
    out.print(
        f"wrote {name}: fill in the sheets, then run: allocator solve {name} -o plan.json --report report/"
    )
    sys.exit(EXIT_OK)


def _instance_format(path: str, hint: str = "TARGET") -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in INSTANCE_FORMATS:
        raise click.BadParameter(
            f"unknown format '{suffix or path}' (use {', '.join(INSTANCE_FORMATS)})", param_hint=hint
        )
    return suffix


@main.command()
@click.argument("instance", type=str)
@click.argument("solution", type=str)
@click.pass_context
def check(ctx: click.Context, instance: str, solution: str) -> None:
    """Verify SOLUTION against every rule of INSTANCE and recompute its objectives."""
    with _guarded(ctx.obj["debug"]):
        loaded = _load(instance)
        report = check_file(loaded, solution)
    if report.ok:
        recomputed = ", ".join(f"{k} {v:g}" for k, v in report.objectives.items())
        out.print(
            f"[green]ok[/green]: {escape(solution)} satisfies every rule ({report.status})"
            + (f"; objectives: {recomputed}" if recomputed else "")
        )
        sys.exit(EXIT_OK)
    out.print(f"[red]{len(report.violations)} violation(s)[/red] in {escape(solution)}:")
    for violation in report.violations:
        out.print(f"  {violation.rule}: {violation.message}", markup=False)
    sys.exit(EXIT_FAIL)


@main.command()
@click.argument("instance", type=str)
@click.option("--model", "model_name", type=str, default=None, help="Validate with this named model.")
@click.pass_context
def validate(ctx: click.Context, instance: str, model_name: str | None) -> None:
    """Load INSTANCE and check it against the instance format, without solving.

    Prints, per capability, the units required at the peak against the units offered, and warns
    where fewer units are available than required in some period (a shortfall no plan can avoid)."""
    with _guarded(ctx.obj["debug"]):
        loaded = _load(instance, model_name)
    index = loaded.index
    model = escape(loaded.spec.name or "(inline)")
    out.print(
        f"[green]ok[/green]: {escape(instance)} ({loaded.name}): {_count(len(loaded.nations), 'nation')}, "
        f"{_count(len(loaded.offers), 'offer')} ({_count(sum(o.units for o in loaded.offers), 'unit')}), "
        f"{_count(len(loaded.tasks), 'task')}, {_count(loaded.periods, 'period')}, "
        f"{_count(len(index.tours()), 'possible tour')}; model {model}"
    )
    _print_supply(loaded, instance)
    sys.exit(EXIT_OK)


def _print_supply(instance: Instance, label: str) -> None:
    supply = supply_table(instance)
    table = Table(title="Supply against demand", title_justify="left")
    for column in ("capability", "required at the peak", "units offered", "short"):
        table.add_column(column, justify="left" if column == "capability" else "right")
    for row in supply.to_dict("records"):
        short = f"[red]{row['short_by']} in {row['short_periods']}[/red]" if row["short_by"] else "-"
        table.add_row(escape(row["capability"]), str(row["required_peak"]), str(row["offered"]), short)
    out.print(table)
    for row in supply.to_dict("records"):
        if row["short_by"]:
            _warn(
                f"{label}: capability '{row['capability']}': {row['short_by']} unit(s) more are required "
                f"than offered in {row['short_periods']}: a shortfall no plan can avoid"
            )


@main.command()
@click.option("--nations", type=click.IntRange(min=2), required=True, help="Nations of the coalition.")
@click.option("--tasks", type=click.IntRange(min=1), required=True, help="Tasks (air, maritime, ... mixed).")
@click.option("--periods", type=click.IntRange(min=2, max=1000), required=True, help="Months of the horizon.")
@click.option("--seed", type=int, default=0, show_default=True, help="The same file for the same seed.")
@click.option(
    "--tightness",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Scales demand: about 1 is roughly coverable, more leaves shortfalls.",
)
@click.option("--name", type=str, default=None, help="Instance name (default from the arguments).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The instance file (.yaml, .json, .xlsx).",
)
@force_option
@click.pass_context
def generate(
    ctx: click.Context,
    nations: int,
    tasks: int,
    periods: int,
    seed: int,
    tightness: float,
    name: str | None,
    output: str,
    force: bool,
) -> None:
    """Write a plausible coalition instance (the same file for the same arguments), in the format
    the output's extension names (.yaml, .yml, .json or .xlsx).

    An existing output file is left alone unless --force."""
    import yaml

    from allocator.generator import generate as make
    from allocator.io import build_instance, write_atomic, write_instance

    with _guarded(ctx.obj["debug"]):
        fmt = _instance_format(output, hint="-o/--output")
        doc = make(nations, tasks, periods, seed, tightness, name)
        _new_file(output, force)
        instance = build_instance(doc, output)  # never write an instance that does not load
        if fmt in (".yaml", ".yml"):  # YAML keeps the command that made it, as a comment
            header = (
                f"# allocator generate --nations {nations} --tasks {tasks} --periods {periods} "
                f"--seed {seed} --tightness {tightness:g}\n"
            )
            dumped = yaml.safe_dump(
                doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110
            )
            write_atomic(output, header + dumped)
        else:
            write_instance(instance, output)
    out.print(
        f"wrote {escape(output)}: {len(instance.nations)} nations, {len(instance.offers)} offers, "
        f"{len(instance.tasks)} tasks, {instance.periods} periods"
    )


@main.group(name="import")
def import_group() -> None:
    """Turn published benchmark files into allocator instances."""


@import_group.command(name="gap")
@click.argument("file", type=str)
@click.option(
    "--sense",
    type=click.Choice(["min", "max"]),
    default=None,
    help="Objective sense (default: max for gap1..gap12 as published, min otherwise).",
)
@output_folder_option(
    "Folder for the instances and their manifest.tsv (files of the same names are replaced)."
)
@click.pass_context
def import_gap(ctx: click.Context, file: str, sense: str | None, out_dir: str) -> None:
    """Import a generalised assignment file (OR-Library or Yagiura format) as instances."""
    from allocator.importers.gap import import_file

    with _guarded(ctx.obj["debug"]):
        written = import_file(file, out_dir, sense)
    out.print(f"wrote {len(written)} instance(s) to {out_dir} ({', '.join(p.stem for p in written)})")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--backend",
    "backends",
    multiple=True,
    type=click.Choice(api.BACKENDS),
    help="Backend to run (repeat for several; default cpsat).",
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
@click.option(
    "--scheduler", type=str, help="Use this Dask scheduler (tcp://HOST:PORT) instead of a local cluster."
)
@formulation_option
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
) -> None:
    """Run every instance in PATHS (files or folders) on every backend, verify every plan."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from allocator import bench as benchmark
    from allocator.io import write_atomic

    with _guarded(ctx.obj["debug"]):
        instances = benchmark.find_instances(paths)
        if not instances:
            raise click.UsageError(
                f"no instance files ({', '.join(INSTANCE_FORMATS)}) found in {', '.join(paths)}"
            )
        runs = benchmark.plan_runs(
            instances,
            list(backends) or ["cpsat"],
            list(seeds) or [0],
            repeat,
            time_limit,
            threads,
            str(Path(solutions).resolve()) if solutions else None,
            formulation,
        )
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("benchmark", total=len(runs))
            frame = benchmark.run_all(runs, scheduler, on_done=lambda _row: bar.advance(task))
        if optima:
            frame = benchmark.add_published_gaps(frame, optima)
        write_atomic(out_csv, frame.to_csv(index=False))
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
        _warn(f"skipped {record['error']}")
    rejected = frame["verified"].eq(False) if "verified" in frame else False
    failed = frame[(frame["status"] == "error") | rejected]
    for record in failed.to_dict("records"):
        err.print(
            f"[red]failed:[/red] {record['instance']} ({record['backend']}): "
            f"{record.get('error') or 'plan rejected by the checker'}"
        )
    sys.exit(EXIT_FAIL if len(failed) else EXIT_OK)


if __name__ == "__main__":  # pragma: no cover
    main()
