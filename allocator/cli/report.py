"""``allocator report``: a workbook, rotation charts and one HTML page for a solution."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from allocator.cli.common import EXIT_OK, err, guarded, load, out, output_folder_option
from allocator.cli.outputs import output_folder
from allocator.files import load_document
from allocator.instance.model import Instance


def write_report(
    instance: Instance,
    solution: Any,
    folder: str,
    label: str,
    quiet: bool,
    baseline: Any = None,
    say: Callable[[str], None] = out.print,
) -> tuple[str, ...]:
    """Write the report (of a re-plan, with its `baseline`), `say` where (unless `quiet`); the
    checker's violations of the plan (the report lists them too)."""
    from allocator.report import build_report, save_report  # matplotlib and jinja2 load only here

    report = build_report(instance, solution, label, baseline)
    written = save_report(report, folder)
    if not quiet:
        page = escape(str(Path(folder) / "report.html"))
        say(f"report written to {escape(folder)}: {len(written)} files, open {page}")
    return report.violations


def report_folder(folder: str, inputs: Iterable[tuple[str | None, str]]) -> None:
    """Refuse, before any work, a report folder that cannot be written or would replace one of
    `inputs` (pairs of a path and what it is) by a report file."""
    from allocator.report.save import MANIFEST, REPORT_FILE

    def writes(name: str) -> bool:
        return name == MANIFEST or REPORT_FILE.fullmatch(name) is not None

    output_folder(folder, "report", inputs, writes)


@click.command()
@click.argument("instance", type=str)
@click.argument("solution", type=str)
@output_folder_option(
    "Folder for the report (created if needed); report files already there are replaced, and an earlier "
    "report's files this one does not write are removed (other files are left alone)."
)
@click.option(
    "--baseline",
    type=str,
    default=None,
    help="The baseline of a re-planned SOLUTION (required for one): the report shows what changed.",
)
@click.pass_context
def report(ctx: click.Context, instance: str, solution: str, out_dir: str, baseline: str | None) -> None:
    """Write the report of SOLUTION: a workbook, rotation charts and one HTML page (into -o DIR).

    The report of a re-plan (with --baseline) also shows what changed: a table, and each changed
    task's rotation chart before and after."""
    with guarded(ctx.obj["debug"]):
        report_folder(out_dir, [(instance, "instance"), (solution, "solution"), (baseline, "baseline")])
        loaded = load(instance)
        document, label = load_document(solution)
        base = load_document(baseline)[0] if baseline is not None else None
        violations = write_report(loaded, document, out_dir, label, quiet=False, baseline=base)
    if violations:
        err.print(f"[yellow]the checker finds {len(violations)} violation(s); the report lists them[/yellow]")
    sys.exit(EXIT_OK)
