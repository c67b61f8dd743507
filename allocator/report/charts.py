"""The report's charts (matplotlib, drawn off-screen to PNG bytes).

- a rotation chart per task: periods across, one lane per unit, bars coloured by nation, lead
  terms in a band above, shortfall periods shaded red;
- a nation x period heat map of deployed personnel;
- burden against fair share by nation, under each measure;
- the lead nation of every task with a lead, and coverage at a glance (task x period).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex
from matplotlib.patches import Patch

from allocator.instance import Instance, Task
from allocator.report.tables import PlanTables, records
from allocator.summary import MEASURES

DPI = 110


def chart_name(task_id: str) -> str:
    """The file name of a task's rotation chart."""
    return "rotation-" + re.sub(r"[^A-Za-z0-9_.-]", "_", task_id) + ".png"


SHORTFALL = "#d62728"


def nation_colours(instance: Instance) -> dict[str, str]:
    """A stable colour per nation (instance order), distinct for up to 40 nations."""
    maps = [plt.get_cmap(name) for name in ("tab20", "tab20b", "tab20c")]
    palette = [to_hex(cmap(i)) for cmap in maps for i in range(cmap.N)]
    return {n.id: palette[i % len(palette)] for i, n in enumerate(instance.nations)}


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _period_axis(axis: plt.Axes, labels: Sequence[str]) -> None:
    step = max(1, len(labels) // 12)
    ticks = list(range(1, len(labels) + 1, step))
    axis.set_xticks(ticks)
    axis.set_xticklabels([labels[t - 1] for t in ticks], rotation=45 if len(labels[0]) > 3 else 0, ha="right")
    axis.set_xlim(0.5, len(labels) + 0.5)


def rotation_chart(instance: Instance, task: Task, tables: PlanTables, colours: dict[str, str]) -> bytes:
    """One task: a lane per unit that serves it, the lead band on top, shortfall periods shaded."""
    tours = tables.assignments[tables.assignments["task"] == task.id]
    lanes = sorted({(a["offer"], a["unit"]) for a in records(tours)})
    lane_of = {lane: i for i, lane in enumerate(lanes)}
    height = 1.6 + 0.28 * max(len(lanes), 2)
    figure, axis = plt.subplots(figsize=(11, height))
    for a in records(tours):
        axis.barh(
            lane_of[a["offer"], a["unit"]],
            a["end"] - a["start"] + 1,
            left=a["start"] - 0.5,
            height=0.7,
            color=colours[a["nation"]],
            edgecolor="white",
        )
    short = tables.shortfalls[tables.shortfalls["task"] == task.id]
    for period in sorted(set(short["period"])):
        axis.axvspan(period - 0.5, period + 0.5, color=SHORTFALL, alpha=0.18, lw=0)
    top = len(lanes) - 0.3 if lanes else 0.7
    for term in records(tables.leads[tables.leads["task"] == task.id]):
        axis.barh(
            top + 0.55,
            term["end"] - term["start"] + 1,
            left=term["start"] - 0.5,
            height=0.5,
            color=colours.get(term["nation"], "#888888"),
            edgecolor="black",
            hatch="//",
        )
        axis.text(
            (term["start"] + term["end"]) / 2,
            top + 0.55,
            f"lead {term['nation']}",
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
            color="black",
            bbox={"facecolor": "white", "alpha": 0.8, "lw": 0, "pad": 1},
        )
    axis.set_yticks(range(len(lanes)))
    axis.set_yticklabels([f"{offer} #{unit}" for offer, unit in lanes], fontsize=7)
    axis.set_ylim(-0.7, top + 1.0)
    axis.invert_yaxis()
    _period_axis(axis, tables.labels)
    axis.grid(axis="x", alpha=0.3)
    nations = list(dict.fromkeys(tours["nation"]))
    handles = [Patch(color=colours[n], label=n) for n in nations]
    if len(short):
        handles.append(Patch(color=SHORTFALL, alpha=0.3, label="shortfall"))
    axis.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    title = f"{task.id}" + (f": {task.name}" if task.name else "")
    axis.set_title(title, loc="left", fontsize=11, fontweight="bold")
    return _png(figure)


def personnel_heatmap(tables: PlanTables) -> bytes:
    """Personnel each nation deploys in each period."""
    grid = tables.personnel
    figure, axis = plt.subplots(figsize=(11, 1.2 + 0.28 * len(grid)))
    image = axis.imshow(
        grid.to_numpy(),
        aspect="auto",
        cmap="YlOrRd",
        interpolation="nearest",
        extent=(0.5, grid.shape[1] + 0.5, len(grid) - 0.5, -0.5),
    )
    axis.set_yticks(range(len(grid)))
    axis.set_yticklabels(grid.index, fontsize=8)
    _period_axis(axis, tables.labels)
    figure.colorbar(image, ax=axis, label="personnel deployed", fraction=0.03, pad=0.01)
    axis.set_title("Personnel deployed by nation and period", loc="left", fontsize=11, fontweight="bold")
    return _png(figure)


def burden_chart(tables: PlanTables, fairness: str) -> bytes:
    """Burden (bars) against fair share (marks) by nation, one panel per measure."""
    burden = tables.burden
    figure, axes = plt.subplots(1, len(MEASURES), figsize=(12, 1.2 + 0.24 * len(burden)), sharey=True)
    positions = range(len(burden))
    for axis, measure in zip(axes, MEASURES, strict=True):
        over = burden[f"{measure}_difference"] > 1e-9
        colours = ["#c44e52" if o else "#4c72b0" for o in over]
        axis.barh(positions, burden[measure], color=colours, height=0.7)
        axis.scatter(burden[f"{measure}_fair_share"], positions, marker="|", s=120, color="black", zorder=3)
        label = {"units": "unit-periods", "personnel": "personnel-periods", "cost": "cost"}[measure]
        axis.set_title(label + (" (model's measure)" if measure == fairness else ""), fontsize=10)
        axis.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(list(positions))
    axes[0].set_yticklabels(burden["nation"], fontsize=8)
    axes[0].invert_yaxis()
    figure.legend(
        handles=[
            Patch(color="#c44e52", label="above fair share"),
            Patch(color="#4c72b0", label="at or below fair share"),
            plt.Line2D([], [], color="black", marker="|", linestyle="", markersize=12, label="fair share"),
        ],
        loc="upper center",
        ncol=3,
        frameon=False,
        bbox_to_anchor=(0.5, 1.02),
    )
    return _png(figure)


def lead_chart(instance: Instance, tables: PlanTables, colours: dict[str, str]) -> bytes:
    """Who leads each task with a lead, term by term."""
    led = [t for t in instance.tasks if t.lead is not None]
    figure, axis = plt.subplots(figsize=(11, 1.0 + 0.45 * max(len(led), 1)))
    for row, task in enumerate(led):
        for term in records(tables.leads[tables.leads["task"] == task.id]):
            axis.barh(
                row,
                term["end"] - term["start"] + 1,
                left=term["start"] - 0.5,
                height=0.7,
                color=colours.get(term["nation"], "#888888"),
                edgecolor="white",
            )
            axis.text(
                (term["start"] + term["end"]) / 2,
                row,
                term["nation"],
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold",
                bbox={"facecolor": "white", "alpha": 0.75, "lw": 0, "pad": 1},
            )
    axis.set_yticks(range(len(led)))
    axis.set_yticklabels([t.id for t in led], fontsize=9)
    axis.set_ylim(max(len(led), 1) - 0.5, -0.5)
    _period_axis(axis, tables.labels)
    axis.grid(axis="x", alpha=0.3)
    axis.set_title("Lead nation by task and period", loc="left", fontsize=11, fontweight="bold")
    return _png(figure)


def coverage_chart(tables: PlanTables) -> bytes:
    """Deployed / required per task and capability and period: green met, red short, grey not required."""
    required = tables.required.to_numpy().astype(float)
    deployed = tables.deployed.to_numpy().astype(float)
    ratio = np.where(required > 0, np.minimum(deployed / np.maximum(required, 1), 1.0), np.nan)
    keys: list[tuple[str, str]] = tables.required.index.to_list()
    figure, axis = plt.subplots(figsize=(11, 1.2 + 0.3 * len(keys)))
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#eeeeee")
    axis.imshow(
        np.ma.masked_invalid(ratio),
        aspect="auto",
        cmap=cmap,
        vmin=0,
        vmax=1,
        interpolation="nearest",
        extent=(0.5, ratio.shape[1] + 0.5, len(keys) - 0.5, -0.5),
    )
    if ratio.size <= 1500:
        for i, j in zip(*np.nonzero(required > 0), strict=True):
            if deployed[i, j] < required[i, j]:
                axis.text(
                    j + 1,
                    i,
                    f"{int(deployed[i, j])}/{int(required[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=6,
                )
    axis.set_yticks(range(len(keys)))
    axis.set_yticklabels([f"{task} ({capability})" for task, capability in keys], fontsize=8)
    _period_axis(axis, tables.labels)
    axis.set_title(
        "Coverage: green met, red short (deployed/required shown where short)",
        loc="left",
        fontsize=11,
        fontweight="bold",
    )
    return _png(figure)
