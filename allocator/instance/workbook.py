"""Instances as Excel workbooks: one sheet per table, read and written without loss.

Sheets and columns (a header row, then one row per item; empty cells mean "not given"):

- ``model``: ``setting | value`` rows: name, periods, period_unit, start, model_name, description,
  shortfall, fairness, objectives (levels separated by ``,``; a weighted level as
  ``2*shortfall + cost``).
- ``nations``, ``capabilities``, ``offers``, ``tasks``: one row per item; windows as two columns
  (``available_from`` / ``available_to``, ``active_from`` / ``active_to``); an offer's ``tasks``
  as a comma-separated list.
- ``requirements``: task, capability, units, from, to (one row per requirement entry).
- ``leads``: task, nations (comma-separated), term, first, rotate, contribution.

A workbook is turned into the same document a YAML file gives, and validated by the same code;
every problem is then reported at its cell (``offers!C7``).
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allocator.errors import InputError, NotAnInstance, Problem, did_you_mean, warn_input
from allocator.instance.catalog import available_models
from allocator.instance.fields import MONTH
from allocator.instance.formats import build_instance
from allocator.instance.model import Instance
from allocator.instance.parts import Horizon
from allocator.instance.spec import ModelSpec
from allocator.instance.validation import unknown
from allocator.xlsx import append_rows, inspect_workbook, workbook_data

#: sheet -> its columns, in order
COLUMNS: dict[str, tuple[str, ...]] = {
    "model": ("setting", "value"),
    "nations": ("id", "name", "share", "max_personnel", "budget"),
    "capabilities": ("id", "domain"),
    "offers": (
        "id",
        "nation",
        "capability",
        "units",
        "personnel",
        "cost",
        "available_from",
        "available_to",
        "min_tour",
        "max_tour",
        "min_rest",
        "tasks",
    ),
    "tasks": ("id", "name", "domain", "active_from", "active_to", "priority", "min_nations", "max_nations"),
    "requirements": ("task", "capability", "units", "from", "to"),
    "leads": ("task", "nations", "term", "first", "rotate", "contribution"),
}
SETTINGS = (
    "name",
    "periods",
    "period_unit",
    "start",
    "model_name",
    "description",
    "shortfall",
    "fairness",
    "objectives",
)
#: window keys of the instance format -> their two columns
WINDOWS = {"available": ("available_from", "available_to"), "active": ("active_from", "active_to")}
#: columns whose cells hold identifiers (read as text even when Excel stores a number)
ID_COLUMNS = {"id", "nation", "capability", "task", "first", "domain", "name", "setting"}
LISTS = {"tasks", "nations"}
DOMAINS = ("air", "maritime", "training", "command")
#: Sheets of the report workbook (allocator report), told apart from an instance workbook.
REPORT_SHEETS = {"summary", "assignments", "coverage"}
FIRST_ROW = 2  # row 1 holds the headers


def is_workbook(source: str | Path) -> bool:
    return str(source).lower().endswith(".xlsx")


# reading -----------------------------------------------------------------------------------------
@dataclass
class Locator:
    """Where each item of the document came from: (sheet, row) per item, to name cells in errors."""

    rows: dict[tuple[Any, ...], tuple[str, int]] = field(default_factory=dict)
    settings: dict[str, int] = field(default_factory=dict)

    def cell(self, path: str) -> str:
        """'offers[3].nation' -> 'offers!B5' (or the best place known)."""
        parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
        if not parts:
            return path
        head = parts[0]
        if head == "name" or head == "horizon" or head == "model":
            setting = _setting_of(parts)
            row = self.settings.get(setting)
            return f"model!B{row}" if row else f"model ({setting})"
        if head == "tasks" and len(parts) >= 3 and parts[2] == "requirements":
            key: tuple[Any, ...] = (
                ("requirements", parts[1], parts[3]) if len(parts) > 3 else ("tasks", parts[1])
            )
            rest = parts[4:] if len(parts) > 3 else ["requirements"]
        elif head == "tasks" and len(parts) >= 3 and parts[2] == "lead":
            key, rest = ("leads", parts[1]), parts[3:]
        else:
            key, rest = tuple(parts[:2]), parts[2:]
        if key not in self.rows:
            return str(key[0])
        sheet, row = self.rows[key]
        cells = [f"{_column_letter(sheet, column)}{row}" for column in _columns_of(sheet, rest)]
        return f"{sheet}!{':'.join(cells)}"


def _setting_of(parts: list[Any]) -> str:
    if parts[0] == "name":
        return "name"
    if parts[0] == "horizon":
        return {"unit": "period_unit"}.get(str(parts[1]), str(parts[1])) if len(parts) > 1 else "periods"
    if len(parts) == 1:
        return "model_name"
    return {"name": "model_name"}.get(str(parts[1]), str(parts[1]))


def _columns_of(sheet: str, rest: list[Any]) -> list[str]:
    """The column(s) a path inside an item names: both of a window, one end of it, or one."""
    if not rest:
        return [COLUMNS[sheet][0]]
    name = str(rest[0])
    pair = ("from", "to") if sheet == "requirements" and name == "periods" else WINDOWS.get(name)
    if pair is not None:
        if len(rest) > 1 and rest[1] in (0, 1):
            return [pair[int(rest[1])]]
        return list(pair)
    return [name if name in COLUMNS[sheet] else COLUMNS[sheet][0]]


def _column_letter(sheet: str, column: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(COLUMNS[sheet].index(column) + 1)


def read_workbook(
    source: str | Path | bytes, label: str | None = None
) -> tuple[dict[str, Any], Locator, list[Problem]]:
    """The instance document of a workbook (a file, or its bytes), where each item came from, and
    the problems of rows that could not be placed (a requirement of an unknown task, say).  Raises
    for a file that is not a workbook of these sheets and columns, or that
    :func:`allocator.xlsx.inspect_workbook` refuses (unsafe or oversized parts, too many rows)."""
    from openpyxl import load_workbook

    label = label or (str(source) if not isinstance(source, bytes) else "<workbook>")
    data = workbook_data(source, label)  # read once: what openpyxl reads is what was inspected
    inspect_workbook(data, label)  # limits and safe XML before openpyxl reads a byte
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError(label, [Problem("", f"not an Excel workbook (.xlsx): {exc}")]) from None
    problems: list[Problem] = []  # problems of columns: reported with those of the document
    missing: list[Problem] = []  # problems that leave nothing to read
    tables: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    try:
        if set(book.sheetnames) >= REPORT_SHEETS and "nations" not in book.sheetnames:
            raise NotAnInstance(
                label, [Problem("", "this is a plan report (allocator report), not an instance")]
            )
        for sheet in COLUMNS:
            if sheet not in book.sheetnames:
                missing.append(
                    Problem(
                        sheet,
                        f"sheet '{sheet}' missing (every sheet is needed, even empty: "
                        f"{', '.join(COLUMNS)}; `allocator template` writes them all)",
                    )
                )
                continue
            tables[sheet] = _read_sheet(book[sheet], sheet, label, problems, missing)
        for extra in sorted(set(book.sheetnames) - set(COLUMNS)):
            warn_input(
                label, extra, f"sheet '{extra}' ignored (the instance is read from: {', '.join(COLUMNS)})"
            )
    finally:
        book.close()
    if missing:
        raise InputError(label, missing + problems)
    return (*_document(tables, problems), problems)


def _read_sheet(
    sheet: Any, name: str, label: str, problems: list[Problem], missing: list[Problem]
) -> list[tuple[int, dict[str, Any]]]:
    """The rows of a sheet as records by column. A header that differs from a known column only
    in case or spacing is reported once, and read as that column so that its cells are still
    checked (one mistake, one message)."""
    # A sheet's stored dimension may be stale (written by another tool): read every row there is.
    sheet.reset_dimensions()
    try:
        rows = list(sheet.iter_rows(values_only=True))
    except Exception as exc:  # a part inspect_workbook passed but openpyxl cannot read
        raise InputError(label, [Problem(name, f"unreadable sheet: {exc}")]) from None
    header = [str(h).strip() if h is not None else "" for h in (rows[0] if rows else ())]
    while header and not header[-1]:
        header.pop()
    known = COLUMNS[name]
    folded = {_fold(column): column for column in known}
    for i, column in enumerate(header):
        if column and column not in known:
            close = folded.get(_fold(column)) or next(
                iter(difflib.get_close_matches(column, known, n=1)), None
            )
            hint = f"; did you mean '{close}'?" if close else ""
            problems.append(
                Problem(
                    f"{name}!{_letter(i)}1", f"unknown column '{column}'{hint} (columns: {', '.join(known)})"
                )
            )
            if close and close not in header:
                header[i] = close
    for column in known:
        if column not in header and column in ("id", "setting", "task"):
            missing.append(Problem(f"{name}!1", f"column '{column}' missing"))
    out = []
    for number, values in enumerate(rows[1:], start=FIRST_ROW):
        record = {
            column: _cell_value(column, value)
            for column, value in zip(header, values, strict=False)
            if column in known and value is not None and str(value).strip() != ""
        }
        if record:
            out.append((number, record))
    return out


def _fold(text: str) -> str:
    """A header as compared for a hint: case, spaces and dashes aside ('Max Tour' ~ 'max_tour')."""
    return re.sub(r"[\s_-]+", "_", text.strip().casefold())


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _cell_value(column: str, value: Any) -> Any:
    if isinstance(value, _dt.datetime):  # Excel turns a typed 2027-01 into a date
        return f"{value.year}-{value.month:02d}" if value.day == 1 else value.date().isoformat()
    if isinstance(value, str):
        value = value.strip()
    if column in ID_COLUMNS or column in LISTS:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _document(
    tables: dict[str, list[tuple[int, dict[str, Any]]]], problems: list[Problem]
) -> tuple[dict[str, Any], Locator]:
    locator = Locator()
    doc: dict[str, Any] = {}
    _settings(tables["model"], doc, locator, problems)
    months = Months.of(doc["horizon"])
    for sheet in ("nations", "capabilities", "offers", "tasks"):
        items: list[dict[str, Any]] = []
        for number, record in tables[sheet]:
            locator.rows[sheet, len(items)] = (sheet, number)
            items.append(_item(sheet, number, record, months, problems))
        doc[sheet] = items
    task_pos = {task.get("id"): i for i, task in enumerate(doc["tasks"])}
    for number, record in tables["requirements"]:
        t = _task_of("requirements", number, record, task_pos, problems)
        if t is None:
            continue
        requirements = doc["tasks"][t].setdefault("requirements", [])
        locator.rows["requirements", t, len(requirements)] = ("requirements", number)
        requirement = {k: v for k, v in record.items() if k in ("capability", "units")}
        _window(record, ("from", "to"), "periods", requirement, ("requirements", number), months, problems)
        requirements.append(requirement)
    for number, record in tables["leads"]:
        t = _task_of("leads", number, record, task_pos, problems)
        if t is None:
            continue
        if "lead" in doc["tasks"][t]:
            problems.append(Problem(f"leads!A{number}", f"a second lead row for task '{record['task']}'"))
            continue
        locator.rows["leads", t] = ("leads", number)
        lead = {k: v for k, v in record.items() if k != "task"}
        if "nations" in lead:
            lead["nations"] = read_list(lead["nations"])
        if "rotate" in lead:
            rotate = _boolean(lead.pop("rotate"), f"leads!E{number}", problems)
            if rotate is not None:
                lead["rotate"] = rotate
        doc["tasks"][t]["lead"] = lead
    return doc, locator


def _settings(
    rows: list[tuple[int, dict[str, Any]]], doc: dict[str, Any], locator: Locator, problems: list[Problem]
) -> None:
    values: dict[str, Any] = {}
    for number, record in rows:
        setting = str(record.get("setting", ""))
        if setting not in SETTINGS:
            problems.append(
                Problem(
                    f"model!A{number}",
                    f"unknown setting '{setting}'{did_you_mean(setting, SETTINGS)} "
                    f"(settings: {', '.join(SETTINGS)})",
                )
            )
            continue
        locator.settings[setting] = number
        if "value" in record:
            values[setting] = record["value"]
    if "name" in values:
        doc["name"] = str(values["name"])
    horizon = {
        "periods": values.get("periods"),
        "unit": values.get("period_unit"),
        "start": values.get("start"),
    }
    doc["horizon"] = {k: v for k, v in horizon.items() if v is not None}
    model: dict[str, Any] = {}
    for setting, key in (
        ("model_name", "name"),
        ("description", "description"),
        ("shortfall", "shortfall"),
        ("fairness", "fairness"),
    ):
        if setting in values:
            model[key] = str(values[setting])
    if "objectives" in values:
        parsed = parse_objectives(str(values["objectives"]))
        if parsed is None:
            row = locator.settings["objectives"]
            problems.append(
                Problem(
                    f"model!B{row}",
                    f"cannot read objectives '{values['objectives']}' (e.g. 'shortfall, 2*fairness + cost')",
                )
            )
        else:
            model["objectives"] = parsed
    named = available_models().get(model.get("name", ""))
    if named is not None and set(model) - {"name"}:  # the named model, with the sheet's settings
        model = {**named.model_dump(mode="json", exclude_none=True), **model}
    if set(model) - {"name"}:
        doc["model"] = model
    elif "name" in model:
        doc["model"] = model["name"]


def _item(
    sheet: str, number: int, record: dict[str, Any], months: Months, problems: list[Problem]
) -> dict[str, Any]:
    item = {k: v for k, v in record.items() if not any(k in pair for pair in WINDOWS.values())}
    for key, pair in WINDOWS.items():
        if pair[0] in COLUMNS[sheet]:
            _window(record, pair, key, item, (sheet, number), months, problems)
    if sheet == "offers" and "tasks" in item:
        item["tasks"] = read_list(item["tasks"])
    return item


def _window(
    record: dict[str, Any],
    pair: tuple[str, str],
    key: str,
    out: dict[str, Any],
    row: tuple[str, int],
    months: Months,
    problems: list[Problem],
) -> None:
    """A window from its two columns into `out[key]`, each a period number or a month of the
    horizon (``2027-03``); one problem, at the empty cell, if one is missing, and one at a month
    that is not the horizon's."""
    given = [record.get(c) for c in pair]
    if given == [None, None]:
        return
    sheet, number = row
    if None in given:
        empty = pair[given.index(None)]
        problems.append(
            Problem(
                f"{sheet}!{_column_letter(sheet, empty)}{number}",
                f"give both '{pair[0]}' and '{pair[1]}', or neither",
            )
        )
        return
    periods = [
        months.period(value, f"{sheet}!{_column_letter(sheet, c)}{number}", problems)
        for c, value in zip(pair, given, strict=True)
    ]
    if None not in periods:
        out[key] = periods


@dataclass(frozen=True)
class Months:
    """The months of a monthly horizon that starts at a month (``start: 2027-01``): a window cell
    may name its period by its month, as reports label it."""

    first: tuple[int, int] | None
    periods: int | None

    @classmethod
    def of(cls, horizon: dict[str, Any]) -> Months:
        try:
            parsed = Horizon.model_validate(horizon)
        except (InputError, ValueError):
            start = MONTH.fullmatch(str(horizon.get("start", "")))
            unit = horizon.get("unit", "month")
            first = (int(start[1]), int(start[2])) if start and unit == "month" else None
            return cls(first, None)
        return cls(parsed.first_month, parsed.periods)

    def label(self, period: int) -> str:
        assert self.first is not None
        year, month = divmod(self.first[0] * 12 + self.first[1] - 1 + period - 1, 12)
        return f"{year}-{month + 1:02d}"

    def period(self, value: Any, cell: str, problems: list[Problem]) -> Any:
        """A window cell's period: a number as it is, a month of the horizon as its period
        number; None (with a problem at the cell) for a month outside the horizon."""
        match = MONTH.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            return value
        if self.first is None:
            problems.append(
                Problem(
                    cell,
                    f"'{value}' is a month, but the periods are not months from a start month: give a "
                    "period number, or period_unit 'month' and a start written YYYY-MM in the model sheet",
                )
            )
            return None
        period = (int(match[1]) - self.first[0]) * 12 + int(match[2]) - self.first[1] + 1
        if self.periods is not None and not 1 <= period <= self.periods:
            problems.append(
                Problem(
                    cell,
                    f"'{value}' is not a month of the horizon "
                    f"({self.label(1)} to {self.label(self.periods)})",
                )
            )
            return None
        return period


def _task_of(
    sheet: str, number: int, record: dict[str, Any], task_pos: dict[Any, int], problems: list[Problem]
) -> int | None:
    task = record.get("task")
    if task is None:
        problems.append(Problem(f"{sheet}!A{number}", "task missing"))
        return None
    if task not in task_pos:
        problems.append(Problem(f"{sheet}!A{number}", unknown("task", str(task), map(str, task_pos))))
        return None
    return task_pos[task]


#: The cell of a list that is empty: an offer's caveat that allows no task (an empty cell is
#: no caveat: any task).
NO_ITEMS = "(none)"


def read_list(value: Any) -> list[str]:
    """The ids of a list cell: separated by commas, an id holding a comma or a double quote in
    double quotes (``"Kyiv, west", Lviv``), :data:`NO_ITEMS` for none."""
    text = str(value).strip()
    if text == NO_ITEMS:
        return []
    return [part.strip() for part in next(csv.reader([text], skipinitialspace=True), []) if part.strip()]


def write_list(ids: Iterable[str]) -> str:
    """The list cell of `ids`, as :func:`read_list` reads it back."""
    items = [
        f'"{item.replace(chr(34), chr(34) * 2)}"'
        if any(c in item for c in ',"') or item == NO_ITEMS
        else item
        for item in ids
    ]
    return ", ".join(items) if items else NO_ITEMS


def _boolean(value: Any, cell: str, problems: list[Problem]) -> bool | None:
    """A TRUE/FALSE cell (also yes/no, 1/0); None, with one problem at the cell, otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    problems.append(Problem(cell, f"expected TRUE or FALSE (or yes / no, 1 / 0), got {value!r}"))
    return None


def parse_objectives(text: str) -> list[Any] | None:
    """'shortfall, 2*fairness + cost' -> ['shortfall', {'fairness': 2, 'cost': 1}] (None if unreadable)."""
    levels: list[Any] = []
    for level in text.split(","):
        terms = [t.strip() for t in level.split("+")]
        if not all(terms):
            return None
        if len(terms) == 1 and "*" not in terms[0]:
            levels.append(terms[0])
            continue
        weights: dict[str, float] = {}
        for term in terms:
            weight, _, name = term.rpartition("*")
            try:
                value = float(weight) if weight.strip() else 1.0
            except ValueError:
                return None
            weights[name.strip()] = int(value) if value.is_integer() else value
        levels.append(weights)
    return levels


def format_objectives(levels: Iterable[Any]) -> str:
    out = []
    for level in levels:
        if isinstance(level, str):
            out.append(level)
        else:
            out.append(" + ".join(f"{_number(w)}*{name}" for name, w in level.items()))
    return ", ".join(out)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def load_workbook_instance(
    source: str | Path | bytes, model: str | None = None, label: str | None = None
) -> Instance:
    """Load and validate an instance workbook (a file, or its bytes); problems are reported at
    their cells (and under `label`, the file's name by default)."""
    label = label or (str(source) if not isinstance(source, bytes) else "<workbook>")
    doc, locator, problems = read_workbook(source, label)
    try:
        instance = build_instance(doc, label, model=model)
    except InputError as exc:
        problems += [_at_cell(locator, p) for p in exc.problems]
    if problems:
        raise InputError(label, problems)
    return instance


def _at_cell(locator: Locator, problem: Problem) -> Problem:
    """A problem of the document at its cell; an item named in the message (``nations[1]``) too."""
    message = re.sub(
        r"\b(nations|capabilities|offers|tasks)\[\d+\]", lambda m: locator.cell(m.group(0)), problem.message
    )
    if re.fullmatch(r"tasks\[\d+\]\.requirements", problem.path) and message == "required key missing":
        message = "the task has no rows in the requirements sheet"
    return Problem(locator.cell(problem.path), message)


# writing -----------------------------------------------------------------------------------------
def instance_rows(instance: Instance) -> dict[str, list[list[Any]]]:
    """The rows of every sheet (headers excluded) for an instance."""
    spec = instance.model if isinstance(instance.model, ModelSpec) else instance.spec
    horizon = instance.horizon
    settings: list[list[Any]] = [
        ["name", instance.name],
        ["periods", horizon.periods],
        ["period_unit", horizon.unit],
        ["start", horizon.start],
        ["model_name", spec.name],
        ["description", spec.description],
        ["shortfall", spec.shortfall],
        ["fairness", spec.fairness],
        ["objectives", format_objectives(spec.objectives)],
    ]
    rows: dict[str, list[list[Any]]] = {"model": settings}
    rows["nations"] = [[n.id, n.name, n.share, n.max_personnel, n.budget] for n in instance.nations]
    rows["capabilities"] = [[c.id, c.domain] for c in instance.capabilities]
    rows["offers"] = [
        [
            o.id,
            o.nation,
            o.capability,
            o.units,
            o.personnel,
            o.cost,
            *(o.available or (None, None)),
            o.min_tour,
            o.max_tour,
            o.min_rest,
            write_list(o.tasks) if o.tasks is not None else None,
        ]
        for o in instance.offers
    ]
    rows["tasks"] = [
        [t.id, t.name, t.domain, *(t.active or (None, None)), t.priority, t.min_nations, t.max_nations]
        for t in instance.tasks
    ]
    rows["requirements"] = [
        [t.id, r.capability, r.units, *(r.periods or (None, None))]
        for t in instance.tasks
        for r in t.requirements
    ]
    rows["leads"] = [
        [t.id, write_list(t.lead.nations), t.lead.term, t.lead.first, t.lead.rotate, t.lead.contribution]
        for t in instance.tasks
        if t.lead is not None
    ]
    return rows


#: drop-down lists: (sheet, column) -> the list's source
DROPDOWNS: dict[tuple[str, str], str] = {
    ("offers", "nation"): "nations",
    ("offers", "capability"): "capabilities",
    ("requirements", "task"): "tasks",
    ("requirements", "capability"): "capabilities",
    ("leads", "task"): "tasks",
    ("leads", "first"): "nations",
    ("capabilities", "domain"): '"' + ",".join(DOMAINS) + '"',
    ("tasks", "domain"): '"' + ",".join(DOMAINS) + '"',
    ("leads", "rotate"): '"TRUE,FALSE"',
}
MAX_ROWS = 2000


def workbook_bytes(instance: Instance) -> bytes:
    """An instance as an .xlsx workbook (headers, one row per item, drop-down lists for references)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    book.remove(book.active)
    header_fill = PatternFill("solid", fgColor="DDE5F0")
    tables = instance_rows(instance)
    for sheet_name, rows in tables.items():
        sheet = book.create_sheet(sheet_name)
        append_rows(sheet, [COLUMNS[sheet_name], *rows], first_row=1)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = header_fill
        sheet.freeze_panes = "A2"
        for i, column in enumerate(COLUMNS[sheet_name]):
            width = max([len(column), *(len(str(r[i])) for r in rows if r[i] is not None)]) + 2
            sheet.column_dimensions[_letter(i)].width = min(width, 60)
    for (sheet_name, column), source in DROPDOWNS.items():
        letter = _column_letter(sheet_name, column)
        formula = source if source.startswith('"') else f"={source}!$A${FIRST_ROW}:$A${MAX_ROWS}"
        validation = DataValidation(type="list", formula1=formula, allow_blank=True)
        validation.error = f"choose a value from the {source.strip(chr(34))} list"
        validation.add(f"{letter}{FIRST_ROW}:{letter}{MAX_ROWS}")
        book[sheet_name].add_data_validation(validation)
    settings = book["model"]
    choices = {"shortfall": '"soft,hard"', "fairness": '"units,personnel,cost"'}
    for number, (setting, _value) in enumerate(tables["model"], start=FIRST_ROW):
        if setting in choices:
            validation = DataValidation(type="list", formula1=choices[setting], allow_blank=True)
            validation.add(f"B{number}")
            settings.add_data_validation(validation)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_instance() -> Instance:
    """The example a template workbook starts from: one row per sheet, solvable as it is."""
    doc = {
        "name": "my-plan",
        "horizon": {"periods": 12, "unit": "month", "start": "2027-01"},
        "nations": [{"id": "FR", "name": "France", "share": 1, "max_personnel": 1000}],
        "capabilities": [{"id": "fighter", "domain": "air"}],
        "offers": [
            {
                "id": "FR-rafale",
                "nation": "FR",
                "capability": "fighter",
                "units": 3,
                "personnel": 150,
                "cost": 3.5,
                "available": [1, 12],
                "min_tour": 2,
                "max_tour": 4,
                "min_rest": 2,
            }
        ],
        "tasks": [
            {
                "id": "air-policing",
                "name": "Air policing",
                "domain": "air",
                "active": [1, 12],
                "priority": 10,
                "requirements": [{"capability": "fighter", "units": 1}],
                "lead": {"nations": ["FR"], "term": 12, "first": "FR"},
            }
        ],
        "model": "coverage-first",
    }
    return build_instance(doc, "<template>")
