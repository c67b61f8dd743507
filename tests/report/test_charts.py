"""The report's charts: nation colours, legends, coverage categories, shortfall shading, untrusted text."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

import allocator
from allocator.checker.solution import parse_solution
from allocator.report import build_report, charts, write_report
from allocator.report.document import before_chart_name
from allocator.report.save import REPORT_FILE
from allocator.report.tables import PlanTables, plan_tables
from tests.helpers.instances import base_instance, build
from tests.helpers.reports import REASSURANCE, SMALL_PLAN, small_tables

#: Paul Tol's qualitative schemes (bright, vibrant, muted, light, high-contrast, pale, dark).
TOL = {
    *("#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb"),
    *("#ee7733", "#0077bb", "#33bbee", "#ee3377", "#cc3311", "#009988"),
    *("#cc6677", "#332288", "#ddcc77", "#117733", "#88ccee", "#882255", "#44aa99", "#999933", "#aa4499"),
    *("#dddddd", "#77aadd", "#ee8866", "#eedd88", "#ffaabb", "#99ddff", "#44bb99", "#bbcc33", "#aaaa00"),
    *("#004488", "#ddaa33", "#bb5566"),
    *("#bbccee", "#cceeff", "#ccddaa", "#eeeebb", "#ffcccc"),
    *("#222255", "#225555", "#225522", "#666633", "#663333", "#555555"),
}


def _shown_together(tables: PlanTables) -> dict[str, set[str]]:
    """The nations each task's rotation chart shows: its units' nations and its lead nations."""
    shown: dict[str, set[str]] = {}
    for frame in (tables.assignments, tables.leads):
        for task, nation in zip(frame["task"], frame["nation"], strict=True):
            shown.setdefault(task, set()).add(nation)
    return shown


def _legend_colours(legend: Legend | None) -> list[tuple[str, str]]:
    """(label, face colour) of every patch of a legend."""
    assert legend is not None
    entries = zip(legend.get_texts(), legend.legend_handles, strict=True)
    return [(t.get_text(), to_hex(h.get_facecolor())) for t, h in entries if isinstance(h, Patch)]


def _nation_bars(figure: Figure) -> list[tuple[str, str]]:
    """(nation, face colour) of every bar drawn for a nation."""
    return [
        (str(p.get_gid()).removeprefix("nation:"), to_hex(p.get_facecolor()))
        for axis in figure.axes
        for p in axis.patches
        if (p.get_gid() or "").startswith("nation:")
    ]


# one colour per nation -----------------------------------------------------------------------------


def test_nation_colours_are_deterministic_and_in_id_order(
    reassurance: tuple[allocator.Instance, dict[str, Any]], reassurance_tables: PlanTables
) -> None:
    instance, document = reassurance
    colours = charts.nation_colours(instance, reassurance_tables)
    assert list(colours) == sorted(n.id for n in instance.nations)
    assert charts.nation_colours(instance, reassurance_tables) == colours
    doc = yaml.safe_load(REASSURANCE.read_text())
    doc["nations"].reverse()  # the instance's order does not matter, only the ids
    shuffled = build(doc)
    assert charts.nation_colours(shuffled, plan_tables(shuffled, parse_solution(document, "<x>"))) == colours


def test_nations_shown_together_get_different_colours(
    reassurance: tuple[allocator.Instance, dict[str, Any]], reassurance_tables: PlanTables
) -> None:
    instance, _ = reassurance
    colours = charts.nation_colours(instance, reassurance_tables)
    together = _shown_together(reassurance_tables)
    assert max(len(n) for n in together.values()) > 7  # more than one of Tol's 7-colour schemes holds
    for task in instance.tasks:
        figure = charts.rotation_figure(instance, task, reassurance_tables, colours)
        entries = _legend_colours(figure.axes[0].get_legend())
        nations = [label for label, _ in entries if label != "shortfall"]
        assert set(nations) == together.get(task.id, set()), task.id
        assert nations == sorted(nations), task.id
        shown = [colour for label, colour in entries if label in together.get(task.id, set())]
        assert len(set(shown)) == len(shown), (task.id, entries)


def test_palette_is_tols_and_extra_shades_only_when_it_runs_out(
    reassurance: tuple[allocator.Instance, dict[str, Any]], reassurance_tables: PlanTables
) -> None:
    instance, _ = reassurance
    assert set(charts.PALETTE) <= TOL and len(set(charts.PALETTE)) == len(charts.PALETTE) >= 8
    colours = charts.nation_colours(instance, reassurance_tables)
    neighbours: dict[str, set[str]] = {}
    for group in _shown_together(reassurance_tables).values():
        for nation in group:
            neighbours.setdefault(nation, set()).update(group - {nation})
    for nation, colour in colours.items():
        if colour not in charts.PALETTE:
            assert {colours[n] for n in neighbours[nation]} >= set(charts.PALETTE), nation


def test_a_nation_has_the_same_colour_in_every_chart_and_the_page(
    reassurance: tuple[allocator.Instance, dict[str, Any]], reassurance_tables: PlanTables
) -> None:
    from allocator.report.html import nation_key

    instance, document = reassurance
    tables = reassurance_tables
    colours = charts.nation_colours(instance, tables)
    figures = [charts.rotation_figure(instance, t, tables, colours) for t in instance.tasks]
    figures += [charts.lead_figure(instance, tables, colours), charts.burden_figure(tables, "units", colours)]
    seen = {(n, c) for figure in figures for n, c in _nation_bars(figure)}
    for figure in figures:
        for legend in [*figure.legends, *(a.get_legend() for a in figure.axes if a.get_legend())]:
            seen |= {(n, c) for n, c in _legend_colours(legend) if n in colours}
    assert {n for n, _ in seen} == {n.id for n in instance.nations}  # the burden chart shows them all
    assert {(n, colours[n]) for n, _ in seen} == seen
    report = build_report(instance, document)
    key = nation_key(report)
    assert [(row["id"], row["colour"]) for row in key] == list(colours.items())
    assert {row["name"] for row in key} == {n.label for n in instance.nations}


# burden -----------------------------------------------------------------------------------------


def _small_burden() -> tuple[PlanTables, dict[str, str]]:
    instance, tables = small_tables()
    return tables, charts.nation_colours(instance, tables)


def _reassurance_burden(tables: PlanTables) -> tuple[PlanTables, dict[str, str]]:
    return tables, charts.nation_colours(allocator.load_instance(REASSURANCE), tables)


@pytest.mark.parametrize("size", ["small", "reassurance"])
def test_burden_legend_overlaps_no_title_and_no_panel(size: str, reassurance_tables: PlanTables) -> None:
    tables, colours = _small_burden() if size == "small" else _reassurance_burden(reassurance_tables)
    figure = charts.burden_figure(tables, "units", colours)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    (legend,) = figure.legends
    box = legend.get_window_extent(renderer)
    assert Bbox.intersection(box, figure.bbox) is not None  # the legend is on the figure
    for axis in figure.axes:
        assert axis.get_title()
        assert Bbox.intersection(box, axis.title.get_window_extent(renderer)) is None, axis.get_title()
        panel = axis.get_tightbbox(renderer)  # with its tick labels
        assert panel is not None and Bbox.intersection(box, panel) is None, axis.get_title()


def test_burden_bars_in_nation_colours_with_fair_share_and_difference() -> None:
    tables, colours = _small_burden()
    figure = charts.burden_figure(tables, "units", colours)
    bars = _nation_bars(figure)
    assert sorted(bars) == sorted((n, colours[n]) for n in tables.burden["nation"] for _ in range(3))
    for axis, measure in zip(figure.axes, ("units", "personnel", "cost"), strict=True):
        (marks,) = axis.collections
        drawn = [*marks.get_facecolor(), *marks.get_edgecolor()]
        assert drawn and {to_hex(c) for c in drawn} == {"#000000"}
        assert sorted(np.asarray(marks.get_offsets())[:, 0]) == pytest.approx(
            sorted(tables.burden[f"{measure}_fair_share"])
        )
        written = [float(t.get_text().replace(",", "").replace("−", "-")) for t in axis.texts]
        expected = tables.burden[f"{measure}_difference"]
        assert sorted(written) == pytest.approx(sorted(expected), abs=0.0051)


# coverage ---------------------------------------------------------------------------------------


def _category(instance: allocator.Instance, task_id: str, period: int, need: int, have: int) -> str:
    task = next(t for t in instance.tasks if t.id == task_id)
    lo, hi = task.active or (1, instance.periods)
    if not lo <= period <= hi:
        return "not active"
    if need == 0:
        return "nothing required"
    return "met" if have >= need else "short"


def test_coverage_cells_have_their_categorys_colour_and_a_legend() -> None:
    instance, tables = small_tables()
    figure = charts.coverage_figure(tables, instance)
    axis = figure.axes[0]
    legend = axis.get_legend() or figure.legends[0]
    entries = _legend_colours(legend)
    colour_of = {}
    for keyword in ("met", "short", "nothing required", "not active"):
        matching = [colour for label, colour in entries if keyword in label]
        assert len(matching) == 1, (keyword, entries)
        colour_of[keyword] = matching[0]
    assert len(set(colour_of.values())) == 4 and set(colour_of.values()) <= TOL
    (image,) = axis.images
    cells = np.asarray(image.get_array())
    required, deployed = tables.required.to_numpy(), tables.deployed.to_numpy()
    keys = tables.required.index.to_list()
    seen = set()
    texts = {(round(t.get_position()[0]), round(t.get_position()[1]), t.get_text()) for t in axis.texts}
    for i, (task, _) in enumerate(keys):
        for j in range(required.shape[1]):
            category = _category(instance, task, j + 1, int(required[i, j]), int(deployed[i, j]))
            seen.add(category)
            assert to_hex(tuple(cells[i, j, :3])) == colour_of[category], (task, j + 1, category)
            text = (j + 1, i, f"{deployed[i, j]}/{required[i, j]}")
            assert (text in texts) == (category == "short"), (task, j + 1)
    assert seen == {"met", "short", "nothing required", "not active"}  # the plan shows every category


@pytest.mark.parametrize(
    "min_nations, expected",
    [(2, ["short", "short", "met", "met"]), (1, ["met"] * 4), (0, None)],
)
def test_coverage_chart_has_a_nations_row_short_like_capability_rows(
    min_nations: int, expected: list[str] | None
) -> None:
    """`air` has one nation (FR) in periods 1-2, two after: with min_nations 2, its (nations) row is
    short there, in the short colour with nations/min_nations written; no row without min_nations."""
    instance, tables = small_tables(min_nations)
    axis = charts.coverage_figure(tables, instance).axes[0]
    rows = [label.get_text() for label in axis.get_yticklabels()]
    assert rows[:3] == ["air (fighter)", *(["air (nations)"] if expected else []), "cap (fighter)"]
    if expected is None:
        assert not [row for row in rows if "nations" in row]
        return
    i = rows.index("air (nations)")
    categories = charts.coverage_categories(tables, instance)
    assert categories[i].tolist() == expected
    (image,) = axis.images
    cells = np.asarray(image.get_array())
    colours = [to_hex(tuple(cells[i, j, :3])) for j in range(4)]
    assert colours == [charts.COVERAGE[c][1] for c in expected]
    texts = {(round(t.get_position()[0]), round(t.get_position()[1]), t.get_text()) for t in axis.texts}
    on_row = {(x, text) for x, y, text in texts if y == i}
    assert on_row == ({(1, "1/2"), (2, "1/2")} if min_nations == 2 else set())


# shortfall shading ------------------------------------------------------------------------------


def test_shortfall_shading_leaves_the_bars_colour_exact() -> None:
    instance, tables = small_tables()
    colours = charts.nation_colours(instance, tables)
    task = next(t for t in instance.tasks if t.id == "air")
    short = sorted(set(tables.shortfalls[tables.shortfalls["task"] == "air"]["period"]))
    assert short == [1, 2]  # FR's unit serves alone there
    figure = charts.rotation_figure(instance, task, tables, colours)
    axis = figure.axes[0]
    (bar,) = [  # FR's unit, not its lead term
        p
        for p in axis.patches
        if isinstance(p, Rectangle) and p.get_gid() == "nation:FR" and not p.get_hatch()
    ]
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())  # type: ignore[attr-defined]
    for period in short:
        x, y = axis.transData.transform((period, bar.get_y() + bar.get_height() / 2))
        drawn = pixels[pixels.shape[0] - round(y), round(x), :3] / 255
        assert drawn == pytest.approx(to_rgb(colours["FR"]), abs=2 / 255), period


# untrusted text ---------------------------------------------------------------------------------


def _unescaped_dollars(text: str) -> int:
    return text.count("$") - text.count(r"\$")


def test_dollar_signs_in_ids_and_names_are_plain_text() -> None:
    doc = base_instance()
    doc["nations"] = [{"id": "F$R", "name": "$x^2$"}, {"id": "G$B$"}]
    doc["capabilities"] = [{"id": "c$p", "domain": "air"}]
    doc["offers"] = [
        {"id": "o$ff$", "nation": "F$R", "capability": "c$p", "units": 2},
        {"id": "p$", "nation": "G$B$", "capability": "c$p", "units": 1},
    ]
    doc["tasks"] = [
        {
            "id": r"$\frac{",
            "name": "a$b$c",
            "requirements": [{"capability": "c$p", "units": 3}],
            "lead": {"nations": ["F$R", "G$B$"], "term": 2},
        },
    ]
    instance = build(doc)
    document = {
        "instance": "tiny",
        "status": "feasible",
        "assignments": [
            {"offer": "o$ff$", "unit": 1, "task": r"$\frac{", "start": 1, "end": 4},
            {"offer": "p$", "unit": 1, "task": r"$\frac{", "start": 2, "end": 3},
        ],
        "leads": [
            {"task": r"$\frac{", "nation": "F$R", "start": 1, "end": 2},
            {"task": r"$\frac{", "nation": "G$B$", "start": 3, "end": 4},
        ],
        "shortfalls": [],
    }
    report = build_report(instance, document)  # every chart drawn to PNG without a mathtext error
    assert all(png.startswith(b"\x89PNG") for png in report.charts.values())
    tables = report.tables
    colours = charts.nation_colours(instance, tables)
    figures = [
        charts.rotation_figure(instance, instance.tasks[0], tables, colours),
        charts.lead_figure(instance, tables, colours),
        charts.burden_figure(tables, "units", colours),
        charts.coverage_figure(tables, instance),
        charts.personnel_figure(tables),
    ]
    shown = ""
    for figure in figures:
        figure.canvas.draw()
        for text in figure.findobj(Text):
            assert isinstance(text, Text)
            if text.get_parse_math():
                assert _unescaped_dollars(text.get_text()) == 0, text.get_text()
            shown += text.get_text().replace(r"\$", "$") + "\n"
    for name in (r"$\frac{", "a$b$c", "F$R", "G$B$", "c$p", "o$ff$"):
        assert name in shown, name


def test_small_plan_is_what_the_tests_say() -> None:
    """The hand-made plan the tests above use: shortfalls where their docstrings say."""
    _, tables = small_tables()
    short = {(r["task"], r["period"]) for r in tables.shortfalls.to_dict("records")}
    assert short == {("air", 1), ("air", 2), ("cap", 4)}
    assert len(SMALL_PLAN["assignments"]) == len(tables.assignments)


def test_the_reports_charts_use_the_one_colour_map() -> None:
    instance, tables = small_tables()
    report = build_report(instance, SMALL_PLAN)
    colours = charts.nation_colours(instance, tables)
    expected = {
        charts.chart_name(t.id): charts.rotation_chart(instance, t, tables, colours) for t in instance.tasks
    }
    expected["leads.png"] = charts.lead_chart(instance, tables, colours)
    expected["burden.png"] = charts.burden_chart(tables, instance.spec.fairness, colours)
    expected["coverage.png"] = charts.coverage_chart(tables, instance)
    assert {name: report.charts[name] == png for name, png in expected.items()} == dict.fromkeys(
        expected, True
    )


# layout -----------------------------------------------------------------------------------------


def _extent(artist: Any) -> Bbox:
    figure = artist.figure
    figure.canvas.draw()
    return artist.get_window_extent(figure.canvas.get_renderer())


@pytest.mark.parametrize("size", ["small", "reassurance"])
def test_personnel_colour_bar_spans_the_heat_map(size: str, reassurance_tables: PlanTables) -> None:
    tables = small_tables()[1] if size == "small" else reassurance_tables
    figure = charts.personnel_figure(tables)
    heat = figure.axes[0]
    (image,) = heat.images
    assert image.colorbar is not None
    heat_box, bar_box = _extent(heat), _extent(image.colorbar.ax)
    assert bar_box.y0 == pytest.approx(heat_box.y0, abs=1) and bar_box.y1 == pytest.approx(heat_box.y1, abs=1)
    assert bar_box.x0 > heat_box.x1  # beside it, not over it


def test_personnel_without_personnel_is_pale_not_mid_scale() -> None:
    _, tables = small_tables()  # the small plan's offers have no personnel
    (image,) = charts.personnel_figure(tables).axes[0].images
    assert image.get_clim() == (0, 1)


@pytest.mark.parametrize("size", ["small", "reassurance"])
def test_coverage_texts_are_readable_and_inside_their_cell(size: str) -> None:
    """Deployed/required in short cells at 8-9 pt, each inside its cell; the reassurance scenario
    with nothing deployed has 24 narrow periods, every active cell short."""
    if size == "small":
        instance, tables = small_tables()
    else:
        instance = allocator.load_instance(REASSURANCE)
        empty = {"instance": instance.name, "status": "feasible", "assignments": [], "leads": []}
        tables = plan_tables(instance, parse_solution(empty, "<empty>"))
    figure = charts.coverage_figure(tables, instance)
    axis = figure.axes[0]
    texts = list(axis.texts)
    assert texts
    figure.canvas.draw()  # once: every text's place is then known
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for text in texts:
        assert float(text.get_fontsize()) >= 8, text.get_text()
        x, _ = text.get_position()
        left, right = (axis.transData.transform((x + dx, 0))[0] for dx in (-0.5, 0.5))
        box = text.get_window_extent(renderer)
        assert left <= box.x0 and box.x1 <= right, text.get_text()
    if size == "small":
        assert {t.get_fontsize() for t in texts} == {9}  # wide cells: the larger size


def _bars(axis: Any, hatched: bool) -> list[Rectangle]:
    return [
        p
        for p in axis.patches
        if isinstance(p, Rectangle)
        and (p.get_gid() or "").startswith("nation:")
        and bool(p.get_hatch()) == hatched
    ]


def test_rotation_chart_without_a_lead_has_no_lead_band() -> None:
    instance, tables = small_tables()
    colours = charts.nation_colours(instance, tables)
    task = next(t for t in instance.tasks if t.id == "cap")  # one lane, no lead
    axis = charts.rotation_figure(instance, task, tables, colours).axes[0]
    (bar,) = _bars(axis, hatched=False)
    low, high = sorted(axis.get_ylim())
    lanes = 1
    assert not _bars(axis, hatched=True)
    assert high - low <= lanes + 0.5, (low, high)  # a margin around the lane, no room for a band
    assert low < bar.get_y() and bar.get_y() + bar.get_height() < high


def test_rotation_chart_lead_band_is_on_top() -> None:
    instance, tables = small_tables()
    colours = charts.nation_colours(instance, tables)
    task = next(t for t in instance.tasks if t.id == "air")
    axis = charts.rotation_figure(instance, task, tables, colours).axes[0]
    lanes, band = _bars(axis, hatched=False), _bars(axis, hatched=True)
    assert len(band) == 2 and len(lanes) == 2
    lowest_band = min(_extent(b).y0 for b in band)
    assert all(_extent(b).y1 <= lowest_band for b in lanes)  # screen y grows upwards


def test_every_task_id_has_its_own_stable_chart_file(tmp_path: Path) -> None:
    """Ids that differ only in letters a file name cannot hold (Cyrillic), in case, or in the
    characters a slug replaces, and a task named like another's baseline chart: a file each,
    the same name in every report, and the page's charts named after their files."""
    ids = ["Київ", "Одес", "hq", "HQ", "a b", "a_b", "air", "air-before", "Genève"]
    tasks = [{"id": i, "requirements": [{"capability": "fighter", "units": 1}]} for i in ids]
    instance = build(base_instance(tasks=tasks))
    names = [charts.chart_name(i) for i in ids] + [before_chart_name(i) for i in ids]
    assert len({n.casefold() for n in names}) == len(names)  # unique, even where case is ignored
    assert all(REPORT_FILE.fullmatch(n) for n in names)
    assert charts.chart_name("air") == "rotation-air.png"  # a plain id is kept as it is
    assert charts.chart_name("Київ") == "rotation-task-4ec43ff9.png"  # the same in every report
    result = allocator.solve(instance, threads=1, time_limit=10)
    written = write_report(instance, result, tmp_path)
    assert {charts.chart_name(i) for i in ids} <= {p.name for p in written}
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    for task_id in ids:
        alt = f'alt="rotation chart of {html.escape(task_id)}" data-chart="{charts.chart_name(task_id)}"'
        assert alt in page
