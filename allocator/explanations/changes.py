"""A relaxation said as changes to the data: which field, from what, to what.

The amounts come from a plan of the model with the relaxation's rule instances dropped, so the
changes together let that plan stand: applied to the instance (:func:`apply_changes`), the
instance is feasible.
"""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allocator.errors import InputError, Problem
from allocator.explanations.model import RelaxableModel
from allocator.explanations.reasons import Facts
from allocator.explanations.words import Parsed, parse
from allocator.files import load_document
from allocator.instance.catalog import known_model
from allocator.instance.index import Tour
from allocator.solution.summary import period_runs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """Set the instance field at `path` (``nations[2].budget``) from `before` to `after`."""

    path: str
    before: Any
    after: Any
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "from": self.before, "to": self.after, "text": self.text}


def changes_for(
    model: RelaxableModel, facts: Facts, names: Sequence[str], values: Sequence[int]
) -> dict[str, Change]:
    """The change that drops each rule instance of `names` (instances of one field share it)."""
    groups: dict[tuple[str, str], list[Parsed]] = defaultdict(list)
    keys: dict[str, tuple[str, str]] = {}
    for name in names:
        item = parse(name, facts)
        key = (item.rule, item.nation or item.offer or item.task or "")
        groups[key].append(item)
        keys[name] = key
    said = {
        key: _safely(model, facts, items, [n for n in names if keys[n] == key], values)
        for key, items in groups.items()
    }
    return {name: said[keys[name]] for name in names}


def _safely(
    model: RelaxableModel, facts: Facts, items: list[Parsed], names: list[str], values: Sequence[int]
) -> Change:
    """:func:`_change`, or when wording it fails (a fault of ours), the plain instruction to drop
    the rule instances: the relaxation found stands either way."""
    try:
        return _change(model, facts, items, names, values)
    except Exception:
        log.warning("could not word the change that drops %s", ", ".join(names), exc_info=True)
        return Change("", None, None, f"drop {', '.join(names)} (the change to the data could not be worded)")


def _change(
    model: RelaxableModel, facts: Facts, items: list[Parsed], names: list[str], values: Sequence[int]
) -> Change:
    rule, first = items[0].rule, items[0]
    inst = facts.instance
    periods = sorted({i.period for i in items if i.period is not None})
    where = period_runs(periods, facts.labels)
    scales = model.formulation.structure.scales
    if rule in ("personnel-cap", "budget"):
        n = [x.id for x in inst.nations].index(first.nation or "")
        nation = inst.nations[n]
        scale = scales.personnel if rule == "personnel-cap" else scales.cost
        need = max(model.left_side(name, values) for name in names) / scale
        if rule == "personnel-cap":
            return Change(
                f"nations[{n}].max_personnel",
                nation.max_personnel,
                need,
                f"raise {nation.label}'s personnel cap from {nation.max_personnel:g} to {need:g} ({where})",
            )
        return Change(
            f"nations[{n}].budget",
            nation.budget,
            need,
            f"raise {nation.label}'s budget from {nation.budget:g} to {need:g}",
        )
    if rule in ("unit-capacity", "tour-length"):
        o = [x.id for x in inst.offers].index(first.offer or "")
        offer = inst.offers[o]
        if rule == "unit-capacity":
            need = max(model.left_side(name, values) for name in names)
            return Change(
                f"offers[{o}].units",
                offer.units,
                need,
                f"let {facts.offer_name(offer)} offer {need} units instead of {offer.units} (busy in {where})"
                + (
                    f", or rest less than {offer.min_rest} periods between tours"
                    if offer.min_rest > 1
                    else ""
                ),
            )
        tours = _tours(model, values, o, [x.task or "" for x in items])
        short = [r for r in tours if r.length < offer.min_tour and r.end < facts.T]
        if short:
            r = min(short, key=lambda r: (r.length, r.start))
            return Change(
                f"offers[{o}].min_tour",
                offer.min_tour,
                r.length,
                f"let {facts.offer_name(offer)} serve tours of {r.length} period(s) (min_tour "
                f"{offer.min_tour}), as on {model.instance.tasks[r.task].id} {facts.span(r.start, r.end)}",
            )
        longest = max([offer.max_tour or 0, *(r.length for r in tours)])
        return Change(
            f"offers[{o}].max_tour",
            offer.max_tour,
            longest,
            f"let {facts.offer_name(offer)} serve tours of {longest} period(s) "
            f"(max_tour {offer.max_tour}) around {where}",
        )
    t = [x.id for x in inst.tasks].index(first.task or "")
    task = inst.tasks[t]
    if rule == "demand":
        periods_at: dict[tuple[str, int], list[int]] = defaultdict(list)
        for i, name in zip(items, names, strict=True):
            periods_at[i.capability or "", model.left_side(name, values)].append(i.period or 1)
        lowered = "; ".join(
            f"{cap} to {units} in {period_runs(periods, facts.labels)}"
            for (cap, units), periods in sorted(periods_at.items())
        )
        return Change(
            "model.shortfall",
            "hard",
            "soft",
            f"lower {task.id}'s requirement ({lowered}), or make demand soft (model.shortfall: soft)",
        )
    if rule in ("min-nations", "max-nations"):
        counts = [_nations_on(model, values, t, i.period or 1) for i in items]
        if rule == "min-nations":
            low = min(counts)
            return Change(
                f"tasks[{t}].min_nations",
                task.min_nations,
                low,
                f"lower {task.id}'s min_nations from {task.min_nations} to {low} ({where})",
            )
        high = max(counts)
        return Change(
            f"tasks[{t}].max_nations",
            task.max_nations,
            high,
            f"raise {task.id}'s max_nations from {task.max_nations} to {high} ({where})",
        )
    lead = task.lead
    assert lead is not None
    if rule == "lead-first":
        return Change(
            f"tasks[{t}].lead.first",
            lead.first,
            None,
            f"let another nation than {lead.first} lead {task.id} first",
        )
    if rule == "lead-rotate":
        return Change(
            f"tasks[{t}].lead.rotate",
            True,
            False,
            f"let one nation lead {task.id} in consecutive terms (rotate: false)",
        )
    if rule == "lead-contribution":
        # a nation with no unit able to serve then has the row `leads == 0`: it may lead only
        # with no contribution at all
        low = min(
            0 if row.sense == "==" else model.left_side(name, values)
            for name in names
            for row in model.rows[name]
        )
        return Change(
            f"tasks[{t}].lead.contribution",
            lead.contribution,
            low,
            f"lower the units {task.id}'s lead must deploy from {lead.contribution} to {low} ({where})",
        )
    return Change(
        f"tasks[{t}].lead",
        list(lead.nations),
        None,
        f"let {task.id} go without a lead in {_terms_said(model, facts, t, items)} "
        f"(drop its lead), or make more nations eligible to lead it",
    )


def _terms_said(model: RelaxableModel, facts: Facts, t: int, items: Sequence[Parsed]) -> str:
    """The lead terms of `items` as a planner counts them: from 1, with their periods (rule names
    count terms from 0)."""
    terms = model.index.terms[t]
    numbers = sorted({i.term for i in items if i.term is not None})
    return ", ".join(
        f"term {k + 1} ({facts.span(*terms[k])})" if 0 <= k < len(terms) else f"term {k + 1}" for k in numbers
    )


def _nations_on(model: RelaxableModel, values: Sequence[int], t: int, p: int) -> int:
    """Nations with units on task t in period p, in the plan."""
    cover = model.formulation.structure.nation_cover
    return sum(
        1 for n in range(len(model.instance.nations)) if any(values[i] for i in cover.get((n, t, p), []))
    )


def _tours(model: RelaxableModel, values: Sequence[int], o: int, tasks: list[str]) -> list[Tour]:
    """Offer o's tours on `tasks` in the plan."""
    structure = model.formulation.structure
    task_pos = {t.id: i for i, t in enumerate(model.instance.tasks)}
    wanted = {task_pos[t] for t in tasks if t in task_pos}
    counts = structure.tour_counts(list(values[: len(structure.columns)]))
    found = [tour for tour in counts if tour.offer == o and tour.task in wanted]
    return sorted(found, key=lambda r: (r.task, r.start, r.length))


def apply_changes(document: dict[str, Any], changes: Sequence[Change | dict[str, Any]]) -> dict[str, Any]:
    """A copy of an instance document (a mapping as the file holds it: :func:`read_document`)
    with the changes applied: :class:`Change` objects, or their JSON form (``path``, ``to``).
    A model given by name (``model: min-cost``) becomes that model written out, then changed."""
    out = copy.deepcopy(document)
    for change in changes:
        if isinstance(change, Change):
            path, after = change.path, change.after
        else:
            path, after = change["path"], change["to"]
        if not path:  # a change that could not be worded names no field
            continue
        *parents, last = _steps(path)
        node: Any = out
        for step in parents:
            if step == "model" and isinstance(node.get("model"), str | type(None)):
                spec = known_model(node.get("model"))
                node["model"] = spec.model_dump(mode="json", exclude={"name", "description"})
            node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
        if after is None:
            node.pop(last, None)
        else:
            node[last] = after
    return out


def read_document(path: str | Path) -> dict[str, Any]:
    """An instance file (YAML or JSON) as the mapping it holds, read as ``allocator`` reads it
    (YAML 1.2: ``NO`` stays a string), for :func:`apply_changes`."""
    document, _label = load_document(path)
    if not isinstance(document, dict):
        raise InputError(str(path), [Problem("", "the instance must be a mapping of keys to values")])
    return document


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in path.split("."):
        if "[" in part:
            name, _, rest = part.partition("[")
            steps.extend([name, int(rest.rstrip("]"))])
        else:
            steps.append(part)
    return steps
