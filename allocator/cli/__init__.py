"""The command line, a thin layer over the API: a module per command group (``docs/cli.md``).

Exit codes: 0 a plan (or success), 1 a failure (a rejected plan, an internal error), 2 bad input,
3 infeasible, 4 no plan found in time (``docs/exit-codes.md``).
"""

from __future__ import annotations

import click

from allocator.cli.bench import bench
from allocator.cli.check import check
from allocator.cli.common import log_options, stop_on_sigterm
from allocator.cli.explain import explain
from allocator.cli.instances import convert, generate, import_group, template, validate
from allocator.cli.replan import replan, whatif, withdraw
from allocator.cli.report import report
from allocator.cli.serve import serve
from allocator.cli.solve import solve


@log_options
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="allocator")
@click.pass_context
def main(ctx: click.Context) -> None:
    """allocator: plan multinational force contributions (CP-SAT, HiGHS or CBC).

    -v, -q and --debug go before or after the command's name. SIGTERM stops a search as Ctrl-C
    does: the best plan found is written."""
    if ctx.invoked_subcommand != "serve":  # the service handles its own signals
        stop_on_sigterm(ctx)


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
    main.add_command(log_options(_command))
