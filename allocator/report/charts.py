"""The report's charts (matplotlib, drawn off-screen): each ``*_figure`` function builds a Figure,
:func:`png` turns it into PNG bytes, and each ``*_chart`` function does both.

- a rotation chart per task: periods across, one lane per unit, bars coloured by nation, lead
  terms in a band above, shortfall periods shaded red behind the bars;
- a nation x period heat map of deployed personnel;
- burden (bars in the nation's colour) against fair share (black marks) by nation, under each
  measure, the difference written next to each bar;
- the lead nation of every task with a lead, and coverage at a glance (task and capability x
  period, a row of nations against min_nations per task with one, one colour per category: met,
  short, nothing required, task not active).

Every nation has one colour in the whole report (:func:`nation_colours`), from Paul Tol's
colour-blind-safe schemes; nations shown together get different colours. Ids and names come
from the instance file: their ``$`` are escaped so that matplotlib never reads them as maths.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from allocator.instance.model import Instance
from allocator.instance.parts import Task
from allocator.report.tables import NATIONS, PlanTables, records
from allocator.solution.summary import MEASURES

DPI = 110

#: Nation colours: Paul Tol's bright, vibrant, muted, light and dark schemes, without greys and
#: near-duplicates, the most distinct first (https://personal.sron.nl/~pault/).
PALETTE = (
    *("#4477aa", "#ee7733", "#228833", "#aa3377", "#66ccee", "#ccbb44", "#332288", "#ee6677"),
    *("#009988", "#882255", "#999933", "#bbcc33", "#cc3311", "#663333", "#77aadd", "#ffaabb"),
)
#: A nation not in the colour map (a lead nation the instance does not know).
NO_COLOUR = "#bbbbbb"
#: The shading of shortfall periods in rotation charts (Tol's pale red), behind the bars.
SHORTFALL = "#ffcccc"
#: Coverage categories: (legend label, colour), Tol's bright green, red and yellow, pale blue and grey.
COVERAGE = {
    "met": ("met", "#228833"),
    "short": ("short (deployed/required)", "#ee6677"),
    "surplus": ("more units than required (deployed/required)", "#ccbb44"),
    "idle": ("task active, nothing required", "#bbccee"),
    "inactive": ("task not active", "#dddddd"),
}


#: A task id used as it is in its chart's name: lowercase ASCII, not ending as a hashed or a
#: baseline chart's name does, not too long.
PLAIN_ID = re.compile(r"(?![^\n]*-(?:[0-9a-f]{8}|before)$)[a-z0-9_.-]{1,60}", re.A)


def chart_stem(task_id: str) -> str:
    """The stem of a task's chart files: the id itself when it is lowercase ASCII letters,
    digits, ``_``, ``.`` and ``-`` (:data:`PLAIN_ID`), otherwise a slug of it (accents dropped,
    other characters as ``_``, lowercase, at most 60 characters) and 8 hex digits of the id's
    SHA-256. So every id has its own name (``Київ`` and ``Одес`` too), the same in every report,
    even on a file system that ignores case."""
    if PLAIN_ID.fullmatch(task_id):
        return task_id
    ascii_text = unicodedata.normalize("NFKD", task_id).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9_.-]+", "_", ascii_text.lower()).strip("_.-")[:60] or "task"
    return f"{slug}-{hashlib.sha256(task_id.encode('utf-8')).hexdigest()[:8]}"


def chart_name(task_id: str) -> str:
    """The file name of a task's rotation chart, ``rotation-<stem>.png`` (:func:`chart_stem`)."""
    return f"rotation-{chart_stem(task_id)}.png"


def plain(text: object) -> str:
    """Text from an input file, safe for matplotlib: every ``$`` escaped, so never maths."""
    return str(text).replace("$", r"\$")


# nation colours -----------------------------------------------------------------------------------


def shown_together(tables: PlanTables) -> list[set[str]]:
    """Per task, the nations its rotation chart shows: the units' nations and the lead nations."""
    groups: dict[str, set[str]] = {}
    for frame in (tables.assignments, tables.leads):
        for task, nation in zip(frame["task"], frame["nation"], strict=True):
            groups.setdefault(task, set()).add(nation)
    return list(groups.values())


def _mix(colour: str, other: str, weight: float) -> str:
    rgb = np.array(to_rgb(colour)) * (1 - weight) + np.array(to_rgb(other)) * weight
    return to_hex(tuple(rgb))


#: Shades for when the palette runs out: every palette colour darker, then lighter.
EXTRA = tuple(_mix(c, "black", 0.4) for c in PALETTE) + tuple(_mix(c, "white", 0.5) for c in PALETTE)


def _colour(k: int) -> str:
    return PALETTE[k] if k < len(PALETTE) else EXTRA[(k - len(PALETTE)) % len(EXTRA)]


def colour_indices(nations: Iterable[str], groups: Iterable[Collection[str]]) -> dict[str, int]:
    """DSatur colouring: nations in one group get different colours (indices); the nation with the
    most distinct colours around it goes first (then the most neighbours, then the smallest id) and
    takes the least-used palette colour its neighbours do not have; past the palette only if none."""
    sets = [set(g) for g in groups]
    order = sorted(set(nations).union(*sets))
    neighbours: dict[str, set[str]] = {n: set() for n in order}
    for group in sets:
        for nation in group:
            neighbours[nation] |= group - {nation}
    chosen: dict[str, int] = {}
    used: Counter[int] = Counter()
    while len(chosen) < len(order):
        nation = max(
            (n for n in order if n not in chosen),
            key=lambda n: (len({chosen[m] for m in neighbours[n] if m in chosen}), len(neighbours[n])),
        )
        taken = {chosen[m] for m in neighbours[nation] if m in chosen}
        free = [k for k in range(len(PALETTE)) if k not in taken]
        if free:
            k = min(free, key=lambda k: (used[k], k))
        else:
            k = next(k for k in itertools.count(len(PALETTE)) if k not in taken)
        chosen[nation] = k
        used[k] += 1
    return {n: chosen[n] for n in order}


def _colour_map(nations: Iterable[str], tables: PlanTables | None) -> dict[str, str]:
    groups = shown_together(tables) if tables is not None else []
    return {n: _colour(k) for n, k in colour_indices(nations, groups).items()}


def nation_colours(instance: Instance, tables: PlanTables | None = None) -> dict[str, str]:
    """The report's one colour per nation, in id order; nations that appear together in the plan
    (on one task, as units or leads) get different colours. Without `tables`, no plan is known."""
    return _colour_map((n.id for n in instance.nations), tables)


def _legend_right(axis: Axes, handles: Sequence[Any], columns: int = 1) -> None:
    """A legend outside the axis, at its top right."""
    axis.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False, ncol=columns
    )


def _nation_legend(colours: dict[str, str], nations: Iterable[str]) -> list[Patch]:
    return [Patch(facecolor=colours.get(n, NO_COLOUR), label=plain(n)) for n in sorted(set(nations))]


# figures ----------------------------------------------------------------------------------------


def _figure(width: float, height: float, layout: Literal["constrained"] | None = None) -> Figure:
    figure = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(figure)
    return figure


def png(figure: Figure) -> bytes:
    """A figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def _period_axis(axis: Axes, labels: Sequence[str]) -> None:
    step = max(1, len(labels) // 12)
    ticks = list(range(1, len(labels) + 1, step))
    axis.set_xticks(ticks)
    axis.set_xticklabels([labels[t - 1] for t in ticks], rotation=45 if len(labels[0]) > 3 else 0, ha="right")
    axis.set_xlim(0.5, len(labels) + 0.5)


def _title(axis: Axes, text: str) -> None:
    axis.set_title(text, loc="left", fontsize=11, fontweight="bold")


def rotation_figure(instance: Instance, task: Task, tables: PlanTables, colours: dict[str, str]) -> Figure:
    """One task: a lane per unit that serves it, the lead band on top, shortfall periods shaded."""
    tours = records(tables.assignments[tables.assignments["task"] == task.id])
    terms = records(tables.leads[tables.leads["task"] == task.id])
    lanes = sorted({(a["offer"], a["unit"]) for a in tours})
    lane_of = {lane: i for i, lane in enumerate(lanes)}
    band = task.lead is not None  # a band above the lanes for the lead's terms, only if the task has a lead
    figure = _figure(11, 1.3 + 0.28 * (max(len(lanes), 2) + band))
    axis = figure.subplots()
    axis.set_axisbelow(True)  # the grid behind the bars
    for a in tours:
        axis.barh(
            lane_of[a["offer"], a["unit"]],
            a["end"] - a["start"] + 1,
            left=a["start"] - 0.5,
            height=0.7,
            color=colours.get(a["nation"], NO_COLOUR),
            edgecolor="white",
            gid=f"nation:{a['nation']}",
            zorder=2,
        )
    short = tables.shortfalls[tables.shortfalls["task"] == task.id]
    for period in sorted(set(short["period"])):
        axis.axvspan(period - 0.5, period + 0.5, color=SHORTFALL, lw=0, zorder=0)
    for term in terms:
        _lead_term(axis, term, -1.0, 0.5, colours, band=True)
    axis.set_yticks(range(len(lanes)))
    axis.set_yticklabels([plain(f"{offer} #{unit}") for offer, unit in lanes], fontsize=7)
    axis.set_ylim(max(len(lanes), 1) - 0.4, -1.45 if band else -0.6)  # downwards: lane 0 (or the band) on top
    _period_axis(axis, tables.labels)
    axis.grid(axis="x", alpha=0.3)
    handles = _nation_legend(colours, [a["nation"] for a in tours] + [t["nation"] for t in terms])
    if len(short):
        handles.append(Patch(facecolor=SHORTFALL, label="shortfall"))
    _legend_right(axis, handles, columns=1 if len(handles) <= 14 else 2)
    _title(axis, plain(task.id + (f": {task.name}" if task.name else "")))
    return figure


def _lead_term(
    axis: Axes, term: dict[str, Any], row: float, height: float, colours: dict[str, str], band: bool
) -> None:
    """A lead term as a bar in the nation's colour, labelled; hatched in a rotation chart's band."""
    start, end, nation = int(term["start"]), int(term["end"]), str(term["nation"])
    axis.barh(
        row,
        end - start + 1,
        left=start - 0.5,
        height=height,
        color=colours.get(nation, NO_COLOUR),
        edgecolor="black" if band else "white",
        hatch="//" if band else None,
        gid=f"nation:{nation}",
        zorder=2,
    )
    axis.text(
        (start + end) / 2,
        row,
        plain(f"lead {nation}" if band else nation),
        ha="center",
        va="center",
        fontsize=8,
        fontweight="bold",
        color="black",
        bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1},
        zorder=3,
    )


def personnel_figure(tables: PlanTables) -> Figure:
    """Personnel each nation deploys in each period."""
    grid = tables.personnel
    figure = _figure(11, 1.2 + 0.28 * len(grid))
    axis = figure.subplots()
    values = grid.to_numpy()
    image = axis.imshow(
        values,
        aspect="auto",
        cmap=matplotlib.colormaps["YlOrRd"],
        interpolation="nearest",
        extent=(0.5, grid.shape[1] + 0.5, len(grid) - 0.5, -0.5),
        vmin=0,
        vmax=max(float(values.max(initial=0.0)), 1.0),  # none deployed: pale, not mid-scale
    )
    axis.set_yticks(range(len(grid)))
    axis.set_yticklabels([plain(n) for n in grid.index], fontsize=8)
    _period_axis(axis, tables.labels)
    bar = axis.inset_axes((1.01, 0.0, 0.015, 1.0))  # beside the heat map, its full height
    figure.colorbar(image, cax=bar, label="personnel deployed")
    _title(axis, "Personnel deployed by nation and period")
    return figure


def signed(value: float) -> str:
    """A difference: sign, thousands separators, at most two decimals, none when whole."""
    rounded = round(value, 2)
    if rounded == 0:
        return "0"
    text = f"{abs(rounded):,.2f}".rstrip("0").rstrip(".")
    return ("+" if rounded > 0 else "−") + text


MEASURE_LABELS = {"units": "unit-periods", "personnel": "personnel-periods", "cost": "cost"}


def burden_figure(tables: PlanTables, fairness: str, colours: dict[str, str] | None = None) -> Figure:
    """Burden (bars, the nation's colour) against fair share (black marks) by nation, a panel per
    measure, burden - fair share written next to each bar; the legend below the panels."""
    burden = tables.burden
    nations = [str(n) for n in burden["nation"]]
    colours = colours if colours is not None else _colour_map(nations, tables)
    figure = _figure(12, 1.9 + 0.24 * len(burden), layout="constrained")
    axes = figure.subplots(1, len(MEASURES), sharey=True, squeeze=False)[0]
    positions = np.arange(len(burden))
    for axis, measure in zip(axes, MEASURES, strict=True):
        values = burden[measure].to_numpy(dtype=float)
        fair = burden[f"{measure}_fair_share"].to_numpy(dtype=float)
        axis.set_axisbelow(True)
        bars = axis.barh(positions, values, height=0.7, color=[colours.get(n, NO_COLOUR) for n in nations])
        for bar, nation in zip(bars.patches, nations, strict=True):
            bar.set_gid(f"nation:{nation}")
        axis.scatter(fair, positions, marker="|", s=150, linewidths=2, color="black", zorder=3)
        for y, right, difference in zip(positions, np.maximum(values, fair), values - fair, strict=True):
            axis.annotate(
                signed(difference),
                (right, y),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
        axis.set_xlim(0, max(float(np.max(np.maximum(values, fair), initial=0.0)) * 1.35, 1.0))
        label = MEASURE_LABELS[measure] + (" (model's measure)" if measure == fairness else "")
        axis.set_title(label, fontsize=10)
        axis.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(list(positions))
    axes[0].set_yticklabels([plain(n) for n in nations], fontsize=8)
    axes[0].set_ylim(len(burden) - 0.5, -0.5)
    figure.legend(
        handles=[
            Patch(facecolor="white", edgecolor="black", label="burden (bar, in the nation's colour)"),
            Line2D([], [], color="black", marker="|", linestyle="", markersize=12, mew=2, label="fair share"),
            Patch(visible=False, label="±n: burden − fair share"),
        ],
        loc="outside lower center",
        ncol=3,
        frameon=False,
    )
    return figure


def lead_figure(instance: Instance, tables: PlanTables, colours: dict[str, str]) -> Figure:
    """Who leads each task with a lead, term by term."""
    led = [t for t in instance.tasks if t.lead is not None]
    figure = _figure(11, 1.0 + 0.45 * max(len(led), 1))
    axis = figure.subplots()
    axis.set_axisbelow(True)
    nations = []
    for row, task in enumerate(led):
        for term in records(tables.leads[tables.leads["task"] == task.id]):
            _lead_term(axis, term, row, 0.7, colours, band=False)
            nations.append(str(term["nation"]))
    axis.set_yticks(range(len(led)))
    axis.set_yticklabels([plain(t.id) for t in led], fontsize=9)
    axis.set_ylim(max(len(led), 1) - 0.5, -0.5)
    _period_axis(axis, tables.labels)
    axis.grid(axis="x", alpha=0.3)
    if nations:
        _legend_right(axis, _nation_legend(colours, nations))
    _title(axis, "Lead nation by task and period")
    return figure


def coverage_categories(tables: PlanTables, instance: Instance | None = None) -> np.ndarray:
    """Per coverage row (task and capability, or a task's nations) and period, the key of its
    COVERAGE category. Without the instance, tasks are taken as active throughout."""
    required = tables.coverage_required.to_numpy()
    deployed = tables.coverage_deployed.to_numpy()
    tasks = {t.id: t for t in instance.tasks} if instance is not None else {}
    periods = np.arange(1, required.shape[1] + 1)
    active = np.ones(required.shape, dtype=bool)
    for i, (task_id, _) in enumerate(tables.coverage_required.index.to_list()):
        task = tasks.get(task_id)
        if task is not None and task.active is not None:
            active[i] = (periods >= task.active[0]) & (periods <= task.active[1])
    met = np.where(deployed >= required, "met", "short")
    kinds = np.where(~active, "inactive", np.where(required > 0, met, "idle"))
    return np.where(tables.surplus, "surplus", kinds)


def coverage_figure(tables: PlanTables, instance: Instance | None = None) -> Figure:
    """Coverage per task and capability (and a task's nations against its min_nations) and period,
    a colour per category (legend on the right), deployed/required written in short cells where it
    fits."""
    categories = coverage_categories(tables, instance)
    required, deployed = tables.coverage_required.to_numpy(), tables.coverage_deployed.to_numpy()
    keys: list[tuple[str, str]] = tables.coverage_required.index.to_list()
    figure = _figure(11, 1.4 + 0.3 * len(keys))
    axis = figure.subplots()
    rgb = {key: to_rgb(colour) for key, (_, colour) in COVERAGE.items()}
    image = np.array([[rgb[c] for c in row] for row in categories]).reshape((*categories.shape, 3))
    axis.imshow(
        image,
        aspect="auto",
        interpolation="nearest",
        extent=(0.5, categories.shape[1] + 0.5, len(keys) - 0.5, -0.5),
    )
    axis.set_yticks(range(len(keys)))
    axis.set_yticklabels([plain(_coverage_row(task, what)) for task, what in keys], fontsize=8)
    _period_axis(axis, tables.labels)
    short = list(zip(*np.nonzero(np.isin(categories, ["short", "surplus"])), strict=True))
    if len(short) <= 1500:
        texts = [
            axis.text(j + 1, i, f"{deployed[i, j]}/{required[i, j]}", ha="center", va="center")
            for i, j in short
        ]
        _fit_in_a_period(axis, texts)
    present = set(categories.flat)
    labels = {key: label for key, (label, _) in COVERAGE.items()}
    if instance is None:  # activity unknown: do not claim it
        labels["idle"] = "nothing required"
    _legend_right(
        axis,
        [
            Patch(facecolor=colour, edgecolor="#888888", label=labels[key])
            for key, (_, colour) in COVERAGE.items()
            if key in present
        ],
    )
    _title(
        axis,
        "Coverage by task and period: capabilities and nations "
        "(deployed/required in short and surplus cells)",
    )
    return figure


def _coverage_row(task: str, what: str) -> str:
    """A coverage row's label: 'air (fighter)', 'air (nations)'."""
    return f"{task} {what}" if what == NATIONS else f"{task} ({what})"


def _fit_in_a_period(axis: Axes, texts: Sequence[Text], sizes: Sequence[float] = (9, 8)) -> None:
    """Give each text the largest of `sizes` at which it fits in one period's cell; remove it if none.

    Texts differ only in their words, so each distinct text is measured once (a chart may hold a
    thousand '0/2')."""
    if not texts:
        return
    renderer = axis.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    cell = abs(axis.transData.transform((1, 0))[0] - axis.transData.transform((0, 0))[0])
    fitting: dict[str, float | None] = {}
    for text in texts:
        words = text.get_text()
        if words not in fitting:
            fitting[words] = next(
                (size for size in sizes if _width(text, size, renderer) <= 0.9 * cell), None
            )
        size = fitting[words]
        if size is None:
            text.remove()
        else:
            text.set_fontsize(size)


def _width(text: Text, size: float, renderer: Any) -> float:
    text.set_fontsize(size)
    return float(text.get_window_extent(renderer).width)


# PNG bytes --------------------------------------------------------------------------------------


def rotation_chart(instance: Instance, task: Task, tables: PlanTables, colours: dict[str, str]) -> bytes:
    """The rotation chart of a task as PNG bytes."""
    return png(rotation_figure(instance, task, tables, colours))


def personnel_heatmap(tables: PlanTables) -> bytes:
    """The personnel heat map as PNG bytes."""
    return png(personnel_figure(tables))


def burden_chart(tables: PlanTables, fairness: str, colours: dict[str, str] | None = None) -> bytes:
    """The burden chart as PNG bytes."""
    return png(burden_figure(tables, fairness, colours))


def lead_chart(instance: Instance, tables: PlanTables, colours: dict[str, str]) -> bytes:
    """The lead chart as PNG bytes."""
    return png(lead_figure(instance, tables, colours))


def coverage_chart(tables: PlanTables, instance: Instance | None = None) -> bytes:
    """The coverage chart as PNG bytes."""
    return png(coverage_figure(tables, instance))
