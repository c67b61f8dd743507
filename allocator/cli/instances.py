"""Commands about instances: ``validate``, ``convert``, ``template``, ``generate``, ``import``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from allocator.cli.common import (
    EXIT_OK,
    count,
    force_option,
    guarded,
    load,
    out,
    output_folder_option,
    refuse_existing,
    warn,
)
from allocator.instance.fields import MAX_NATIONS, MAX_TASKS
from allocator.instance.index import Index
from allocator.instance.load import INSTANCE_FORMATS
from allocator.instance.model import Instance
from allocator.solution.summary import supply_table, supply_warnings


@click.command()
@click.argument("instance", type=str)
@click.option("--model", "model_name", type=str, default=None, help="Validate with this named model.")
@click.pass_context
def validate(ctx: click.Context, instance: str, model_name: str | None) -> None:
    """Load INSTANCE and check it against the instance format, without solving.

    Prints, per capability, the units required at the peak against the units offered, and warns
    where fewer units are available than required in some period (a shortfall no plan can avoid)."""
    with guarded(ctx.obj["debug"]):
        loaded = load(instance, model_name)
    index = Index.of(loaded)
    model = escape(loaded.spec.name or "(inline)")
    out.print(
        f"[green]ok[/green]: {escape(instance)} ({loaded.name}): {count(len(loaded.nations), 'nation')}, "
        f"{count(len(loaded.offers), 'offer')} ({count(sum(o.units for o in loaded.offers), 'unit')}), "
        f"{count(len(loaded.tasks), 'task')}, {count(loaded.periods, 'period')}, "
        f"{count(len(index.tours()), 'possible tour')}; model {model}"
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
    for text in supply_warnings(supply, label):
        warn(text)


@click.command()
@click.option(
    "--nations",
    type=click.IntRange(min=2, max=MAX_NATIONS),
    required=True,
    help="Nations of the coalition (an instance has at most 1,000).",
)
@click.option(
    "--tasks",
    type=click.IntRange(min=1, max=MAX_TASKS),
    required=True,
    help="Tasks (air, maritime, ... mixed; at most 5,000).",
)
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
    "--leads",
    is_flag=True,
    help="Every headquarters and a fifth of the other tasks get a rotating lead (terms of 4 to 12 "
    "periods, two or three framework nations with offers sized to one lead plan), and every task "
    "min_nations 0 to 2.",
)
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
    leads: bool,
    output: str,
    force: bool,
) -> None:
    """Write a plausible coalition instance (the same file for the same arguments), in the format
    the output's extension names (.yaml, .yml, .json or .xlsx).

    An existing output file is left alone unless --force."""
    import yaml

    from allocator.files import write_atomic
    from allocator.instance.formats import build_instance
    from allocator.instance.load import write_instance
    from allocator.sources.generator import generate as make

    with guarded(ctx.obj["debug"]):
        fmt = _instance_format(output, hint="-o/--output")
        doc = make(nations, tasks, periods, seed, tightness, name, leads=leads)
        refuse_existing(output, force)
        # never write an instance that does not load (one of more than 20,000 offers, say)
        instance = build_instance(doc, f"{output} (generated, not written)")
        if fmt in (".yaml", ".yml"):  # YAML keeps the command that made it, as a comment
            header = (
                f"# allocator generate --nations {nations} --tasks {tasks} --periods {periods} "
                f"--seed {seed} --tightness {tightness:g}{' --leads' if leads else ''}"
                f"{f' --name {name}' if name else ''}\n"
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


@click.command()
@click.argument("source", type=str)
@click.argument("target", type=click.Path(dir_okay=False))
@force_option
@click.pass_context
def convert(ctx: click.Context, source: str, target: str, force: bool) -> None:
    """Convert an instance between YAML, JSON and .xlsx (by the files' extensions), without loss.

    An existing TARGET is left alone unless --force."""
    from allocator.instance.load import write_instance

    with guarded(ctx.obj["debug"]):
        _instance_format(target)
        refuse_existing(target, force)
        loaded = load(source)
        write_instance(loaded, target)
    out.print(f"wrote {escape(target)} ({loaded.name})")
    sys.exit(EXIT_OK)


@click.command()
@click.argument("target", type=click.Path(dir_okay=False))
@force_option
@click.pass_context
def template(ctx: click.Context, target: str, force: bool) -> None:
    """Write a workbook to fill in: the sheets, their headers, one example row each, drop-down lists.

    An existing TARGET (perhaps a filled-in workbook) is left alone unless --force."""
    from allocator.instance.load import write_instance
    from allocator.instance.workbook import template_instance

    with guarded(ctx.obj["debug"]):
        if _instance_format(target) != ".xlsx":
            raise click.BadParameter(
                "the template is a workbook: give a .xlsx file name", param_hint="TARGET"
            )
        refuse_existing(target, force)
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


@click.group(name="import")
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
    from allocator.sources.gap import import_file

    with guarded(ctx.obj["debug"]):
        written = import_file(file, out_dir, sense)
    out.print(f"wrote {len(written)} instance(s) to {out_dir} ({', '.join(p.stem for p in written)})")
