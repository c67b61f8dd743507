"""The command line, a thin layer over the API: a module per command group (``docs/cli.md``).

Exit codes: 0 a plan (or success), 1 a failure (a rejected plan, an internal error), 2 bad input,
3 infeasible, 4 no plan found in time (``docs/exit-codes.md``).
"""

from __future__ import annotations

import logging
import sys

import click

from allocator.cli.bench import bench
from allocator.cli.check import check
from allocator.cli.explain import explain
from allocator.cli.instances import convert, generate, import_group, template, validate
from allocator.cli.replan import replan, whatif, withdraw
from allocator.cli.report import report
from allocator.cli.serve import serve
from allocator.cli.solve import solve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="allocator")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def main(ctx: click.Context, verbose: int, debug: bool) -> None:
    """allocator: plan multinational force contributions (CP-SAT, HiGHS or CBC)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    ctx.obj = {"debug": debug}


for _command in (
    solve,
    check,
    explain,
    replan,
    withdraw,
    whatif,
    report,
    validate,
    convert,
    template,
    generate,
    import_group,
    bench,
    serve,
):
    main.add_command(_command)
