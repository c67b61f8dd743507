"""Cross-reference and range checks of an instance (``docs/instance-format.md``), each naming its place.

Structural checks (types, missing and unknown keys) come from pydantic in :mod:`allocator.instance.formats`;
the checks here need several parts of the instance at once.  Every check appends
:class:`~allocator.errors.Problem` objects and never stops at the first.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction

from allocator.errors import Problem, did_you_mean
from allocator.instance.fields import DECIMALS, MAX_WEIGHT, MIN_WEIGHT
from allocator.instance.parts import Capability, Horizon, Nation, Offer, Task
from allocator.instance.problems import figure
from allocator.instance.spec import OBJECTIVE_NAMES, REPLAN_OBJECTIVE, ModelSpec

#: Refuse instances whose aggregated model would exceed this many tour variables.
MAX_TOUR_VARIABLES = 5_000_000


class AnyId(set[str]):
    """The ids of a section that could not be read (not a list): every reference into it passes,
    so that one mistake gives one message."""

    def __contains__(self, item: object) -> bool:
        return True


def _known(valid: set[str], declared: set[str] | None) -> set[str]:
    """The ids references may name: the valid items' and every other the document declares."""
    if isinstance(declared, AnyId):
        return declared
    return valid | (declared or set())


def check_duplicates(section: str, items: Sequence[tuple[int, str]]) -> list[Problem]:
    """Ids must be unique within a section; name every repeat and where the id first stood."""
    first_seen: dict[str, int] = {}
    problems = []
    for i, item_id in items:
        if item_id in first_seen:
            problems.append(
                Problem(
                    f"{section}[{i}].id",
                    f"duplicate id '{item_id}' (already used by {section}[{first_seen[item_id]}])",
                )
            )
        else:
            first_seen[item_id] = i
    return problems


def check_window(path: str, window: tuple[int, int] | None, lo: int, hi: int, what: str) -> list[Problem]:
    """A window [first, last] must be ordered and lie inside [lo, hi]."""
    if window is None:
        return []
    first, last = window
    if first > last:
        return [Problem(path, f"window [{first}, {last}] is reversed (first > last)")]
    if first < lo or last > hi:
        end = "" if first < lo and last > hi else ("[0]" if first < lo else "[1]")
        return [Problem(path + end, f"window [{first}, {last}] lies outside {what} [{lo}, {hi}]")]
    return []


def unknown(kind: str, value: str, known: Iterable[str]) -> str:
    """The message of an unknown reference with the closest id: ``unknown nation 'Fr'; did you mean 'FR'?``"""
    return f"unknown {kind} '{value}'{did_you_mean(value, known)}"


def check_offer(
    i: int,
    offer: Offer,
    horizon: Horizon | None,
    nations: set[str],
    capabilities: set[str],
    tasks: set[str],
) -> list[Problem]:
    """References, window and tour lengths of one offer."""
    where = f"offers[{i}]"
    problems = []
    if offer.nation not in nations:
        problems.append(Problem(f"{where}.nation", unknown("nation", offer.nation, nations)))
    if offer.capability not in capabilities:
        problems.append(Problem(f"{where}.capability", unknown("capability", offer.capability, capabilities)))
    for j, task in enumerate(offer.tasks or ()):
        if task not in tasks:
            problems.append(Problem(f"{where}.tasks[{j}]", unknown("task", task, tasks)))
    if horizon is not None:
        problems += check_window(f"{where}.available", offer.available, 1, horizon.periods, "the horizon")
    if offer.max_tour is not None and offer.min_tour > offer.max_tour:
        problems.append(
            Problem(f"{where}.min_tour", f"min_tour {offer.min_tour} > max_tour {offer.max_tour}")
        )
    return problems


def check_task(
    i: int, task: Task, horizon: Horizon | None, nations: set[str], capabilities: set[str]
) -> list[Problem]:
    """References, windows, nation bounds and lead of one task (windows only with a horizon)."""
    where = f"tasks[{i}]"
    problems = []
    if horizon is not None:
        problems += check_window(f"{where}.active", task.active, 1, horizon.periods, "the horizon")
    lo, hi = task.active or (1, horizon.periods if horizon else 10**9)
    for j, req in enumerate(task.requirements):
        if req.capability not in capabilities:
            problems.append(
                Problem(
                    f"{where}.requirements[{j}].capability",
                    unknown("capability", req.capability, capabilities),
                )
            )
        if horizon is not None:
            problems += check_window(
                f"{where}.requirements[{j}].periods",
                req.periods,
                lo,
                hi,
                "the task's active window",
            )
    if task.max_nations is not None and task.min_nations > task.max_nations:
        problems.append(
            Problem(
                f"{where}.min_nations",
                f"min_nations {task.min_nations} > max_nations {task.max_nations}",
            )
        )
    if task.lead is not None:
        lead = task.lead
        for j, nation in enumerate(lead.nations):
            if nation not in nations:
                problems.append(Problem(f"{where}.lead.nations[{j}]", unknown("nation", nation, nations)))
        for nation, count in Counter(lead.nations).items():
            if count > 1:
                problems.append(Problem(f"{where}.lead.nations", f"nation '{nation}' listed twice"))
        if lead.first is not None and lead.first not in lead.nations:
            problems.append(
                Problem(
                    f"{where}.lead.first",
                    f"'{lead.first}' is not one of the lead's nations"
                    + did_you_mean(lead.first, lead.nations),
                )
            )
    return problems


def could_serve(offer: Offer, task: Task, horizon: Horizon) -> bool:
    """True if some unit of `offer` could serve `task` in some period (capability, caveat, window)."""
    if offer.tasks is not None and task.id not in offer.tasks:
        return False
    a, b = offer.available or (1, horizon.periods)
    lo, hi = task.active or (1, horizon.periods)
    for req in task.requirements:
        if req.capability != offer.capability or req.units <= 0:
            continue
        first, last = req.periods or (lo, hi)
        if max(a, first) <= min(b, last):
            return True
    return False


def check_leads_can_serve(
    tasks: Iterable[tuple[int, Task]], offers: Sequence[Offer], horizon: Horizon
) -> list[Problem]:
    """Every lead nation needs an offer that could serve its task, when the lead must contribute."""
    problems = []
    for i, task in tasks:
        if task.lead is None or task.lead.contribution == 0:
            continue
        for j, nation in enumerate(task.lead.nations):
            if not any(o.nation == nation and could_serve(o, task, horizon) for o in offers):
                problems.append(
                    Problem(
                        f"tasks[{i}].lead.nations[{j}]",
                        f"nation '{nation}' has no offer that could serve task '{task.id}' "
                        f"(it must contribute {task.lead.contribution} unit(s) when it leads)",
                    )
                )
    return problems


def check_model_spec(spec: ModelSpec, path: str) -> list[Problem]:
    """Objective names known, weights positive, no objective twice."""
    problems = []
    if not spec.objectives:
        problems.append(Problem(f"{path}.objectives", "at least one objective level is needed"))
    seen: set[str] = set()
    for k, level in enumerate(spec.levels):
        if not level:
            problems.append(Problem(f"{path}.objectives[{k}]", "an empty level"))
        for name, weight in level:
            if name not in OBJECTIVE_NAMES and name != REPLAN_OBJECTIVE:
                problems.append(
                    Problem(
                        f"{path}.objectives[{k}]",
                        f"'{name}': unknown objective"
                        f"{did_you_mean(name, (*OBJECTIVE_NAMES, REPLAN_OBJECTIVE))}; choose from "
                        f"{', '.join(OBJECTIVE_NAMES)} (and {REPLAN_OBJECTIVE} when re-planning)",
                    )
                )
            if not MIN_WEIGHT <= weight <= MAX_WEIGHT:  # nan too
                problems.append(
                    Problem(
                        f"{path}.objectives[{k}].{name}",
                        f"weight {figure(weight)} must be between "
                        f"{figure(MIN_WEIGHT)} and {figure(MAX_WEIGHT)}",
                    )
                )
            if name in seen:
                problems.append(Problem(f"{path}.objectives[{k}]", f"objective '{name}' appears twice"))
            seen.add(name)
    return problems


def estimate_tour_variables(offers: Sequence[Offer], tasks: Sequence[Task], horizon: Horizon) -> int:
    """An upper estimate of the aggregated model's size: offers x tasks x starts x lengths."""
    total = 0
    task_list = list(tasks)
    for offer in offers:
        a, b = offer.available or (1, horizon.periods)
        span = b - a + 1
        lengths = min(offer.max_tour or span, span)
        served = sum(1 for task in task_list if could_serve(offer, task, horizon))
        total += served * span * lengths
    return total


def check_size(offers: Sequence[Offer], tasks: Sequence[Task], horizon: Horizon) -> list[Problem]:
    """Refuse absurd sizes with a message instead of exhausting memory."""
    estimate = estimate_tour_variables(offers, tasks, horizon)
    if estimate > MAX_TOUR_VARIABLES:
        return [
            Problem(
                "offers",
                f"too large: about {estimate:,} possible tours (limit {MAX_TOUR_VARIABLES:,}); "
                "shorten the horizon, bound max_tour or narrow the availability windows",
            )
        ]
    return []


#: The largest whole number the solvers hold exactly (HiGHS works in doubles; CP-SAT in 64 bits).
EXACT = 2**53


def decimals(values: Iterable[float]) -> int:
    """The most decimal places among `values` that the solvers keep (at most DECIMALS)."""
    most = 0
    for value in values:
        text = repr(float(value))
        if "e-" in text:
            most = DECIMALS
            break
        if "." in text:
            most = max(most, len(text.split(".")[1].rstrip("0")))
    return min(most, DECIMALS)


def check_magnitudes(
    offers: Sequence[Offer],
    tasks: Sequence[Task],
    nations: Sequence[Nation],
    horizon: Horizon,
    spec: ModelSpec,
) -> list[Problem]:
    """The sums a plan can reach, in the solvers' whole numbers (a value with d decimal places
    counts 10**d times), stay below :data:`EXACT`: the cost of every unit-period offered, the
    shortfall of every unit-period required, the fairness measure times the shares and each
    weighted level; otherwise a problem at the largest contributor, naming the limit."""
    unit_periods = [o.units * (b - a + 1) for o in offers for a, b in [o.available or (1, horizon.periods)]]
    cost_scale = 10 ** decimals(
        [o.cost for o in offers] + [n.budget for n in nations if n.budget is not None]
    )
    personnel_scale = 10 ** decimals(
        [o.personnel for o in offers] + [n.max_personnel for n in nations if n.max_personnel is not None]
    )
    cost = [o.cost * n * cost_scale for o, n in zip(offers, unit_periods, strict=True)]
    missing = [_missing(task, horizon) for task in tasks]
    priority_scale = 10 ** decimals(t.priority for t in tasks)
    share_scale = 10 ** decimals(n.share for n in nations)
    total_share = sum(round(n.share * share_scale) for n in nations)
    measure_scale = {"units": 1, "personnel": personnel_scale, "cost": cost_scale}[spec.fairness]
    burden = sum(
        n * (1.0 if spec.fairness == "units" else getattr(o, spec.fairness)) * measure_scale
        for o, n in zip(offers, unit_periods, strict=True)
    )
    # each objective: its largest value in whole numbers, and how many of them make one
    largest = {
        "shortfall": (sum(missing) * priority_scale, priority_scale),
        "surplus": (float(sum(unit_periods)), 1),
        "fairness": (total_share * burden, total_share * measure_scale),
        "deployments": (float(sum(unit_periods)), 1),
        "cost": (sum(cost), cost_scale),
        REPLAN_OBJECTIVE: (float(sum(unit_periods) + horizon.periods * len(tasks)), 1),
    }
    problems = []
    if largest["cost"][0] > EXACT:
        i = max(range(len(cost)), key=cost.__getitem__)
        what, advice = "the cost of every unit-period offered", "write costs in larger units (thousands)"
        problems.append(_too_large(f"offers[{i}].cost", what, largest["cost"][0], advice))
    if largest["shortfall"][0] > EXACT:
        i = max(range(len(missing)), key=missing.__getitem__)
        what = "the shortfall of every unit-period required, weighted by priority"
        problems.append(
            _too_large(f"tasks[{i}].priority", what, largest["shortfall"][0], "use smaller priorities")
        )
    if "fairness" in spec.objective_names and largest["fairness"][0] > EXACT:
        what, advice = f"the burden in {spec.fairness} times the sum of the shares", "use smaller shares"
        problems.append(
            _too_large("nations", f"{what} (only their ratios count)", largest["fairness"][0], advice)
        )
    for k, level in enumerate(spec.levels):
        if len(level) > 1 and (value := _level_largest(level, largest)) > EXACT:
            what, advice = "this weighted level", "use weights with fewer decimal places"
            problems.append(_too_large(f"model.objectives[{k}]", what, value, advice))
    return problems


def _missing(task: Task, horizon: Horizon) -> float:
    """The priority-weighted shortfall of a task that gets nothing."""
    lo, hi = task.active or (1, horizon.periods)
    need = 0
    for requirement in task.requirements:
        first, last = requirement.periods or (lo, hi)
        need += requirement.units * (last - first + 1)
    return task.priority * (need + task.min_nations * (hi - lo + 1))


def _level_largest(level: tuple[tuple[str, float], ...], largest: Mapping[str, tuple[float, int]]) -> float:
    """A weighted level's largest value in the solvers' whole numbers: the sum of w_i / s_i z_i
    over the least common denominator of the w_i / s_i (each weight kept to DECIMALS places),
    z_i an objective's whole-number value and s_i how many of them make one."""
    fractions = {
        name: Fraction(weight).limit_denominator(10**DECIMALS) / largest[name][1] for name, weight in level
    }
    denominator = math.lcm(*(f.denominator for f in fractions.values()))
    return float(sum(f * denominator * Fraction(largest[name][0]) for name, f in fractions.items()))


def _too_large(path: str, what: str, value: float, advice: str) -> Problem:
    return Problem(
        path,
        f"numbers too large to plan exactly: {what} could reach {value:.3g} in the solvers' whole "
        f"numbers (a value with d decimal places counts 10^d times), above {figure(EXACT)}; {advice}",
    )


def cross_check(
    horizon: Horizon | None,
    nations: Mapping[int, Nation],
    capability_ids: Mapping[int, str],
    offers: Mapping[int, Offer],
    tasks: Mapping[int, Task],
    spec: tuple[ModelSpec, str] | None,
    declared: Mapping[str, set[str]] | None = None,
    complete: bool = True,
) -> list[Problem]:
    """Every check that spans sections, on the items that passed the structural checks.

    `declared` holds, per section, every id the document gives, including those of items with
    structural problems: a reference to such an item is not reported again as unknown (one mistake,
    one message).  The checks that need the whole instance (leads that can serve, size) run only
    when it is `complete` (every item passed) and nothing else is wrong.
    """
    problems: list[Problem] = []
    problems += check_duplicates("nations", [(i, n.id) for i, n in nations.items()])
    problems += check_duplicates("capabilities", list(capability_ids.items()))
    problems += check_duplicates("offers", [(i, o.id) for i, o in offers.items()])
    problems += check_duplicates("tasks", [(i, t.id) for i, t in tasks.items()])
    if spec is not None:
        problems += check_model_spec(*spec)
    declared = declared or {}
    nation_ids = _known({n.id for n in nations.values()}, declared.get("nations"))
    capability_set = _known(set(capability_ids.values()), declared.get("capabilities"))
    task_ids = _known({t.id for t in tasks.values()}, declared.get("tasks"))
    for i, offer in offers.items():
        problems += check_offer(i, offer, horizon, nation_ids, capability_set, task_ids)
    for i, task in tasks.items():
        problems += check_task(i, task, horizon, nation_ids, capability_set)
    if complete and not problems and horizon is not None:
        problems += check_leads_can_serve(tasks.items(), list(offers.values()), horizon)
        problems += check_size(list(offers.values()), list(tasks.values()), horizon)
        if spec is not None and not problems:
            problems += check_magnitudes(
                list(offers.values()), list(tasks.values()), list(nations.values()), horizon, spec[0]
            )
    return problems


def check_instance(
    horizon: Horizon,
    nations: Sequence[Nation],
    capabilities: Sequence[Capability],
    offers: Sequence[Offer],
    tasks: Sequence[Task],
    spec: ModelSpec,
) -> list[Problem]:
    """Every check across the parts of a whole instance whose parts are each sound."""
    return cross_check(
        horizon,
        dict(enumerate(nations)),
        {i: c.id for i, c in enumerate(capabilities)},
        dict(enumerate(offers)),
        dict(enumerate(tasks)),
        (spec, "model"),
    )


def references_of_invalid_items(
    data: Mapping[str, object],
    valid_offers: set[int],
    valid_tasks: set[int],
    declared: Mapping[str, set[str]],
    found: Sequence[Problem],
) -> list[Problem]:
    """Unknown references inside items that failed their structural checks (so that every problem
    is reported at once): an offer's nation, capability and tasks, a task's requirement
    capabilities and lead nations. Paths already reported are left alone."""
    reported = {p.path for p in found}
    candidates: list[tuple[str, str, object]] = []
    for i, offer in _raw_items(data.get("offers"), valid_offers):
        candidates += [(f"offers[{i}].nation", "nations", offer.get("nation"))]
        candidates += [(f"offers[{i}].capability", "capabilities", offer.get("capability"))]
        candidates += [
            (f"offers[{i}].tasks[{j}]", "tasks", t) for j, t in enumerate(_list(offer.get("tasks")))
        ]
    for i, task in _raw_items(data.get("tasks"), valid_tasks):
        for j, req in enumerate(_list(task.get("requirements"))):
            if isinstance(req, dict):
                candidates.append(
                    (f"tasks[{i}].requirements[{j}].capability", "capabilities", req.get("capability"))
                )
        lead = task.get("lead")
        if isinstance(lead, dict):
            candidates += [
                (f"tasks[{i}].lead.nations[{j}]", "nations", n)
                for j, n in enumerate(_list(lead.get("nations")))
            ]
    kinds = {"nations": "nation", "capabilities": "capability", "tasks": "task"}
    return [
        Problem(path, unknown(kinds[section], value, declared.get(section, set())))
        for path, section, value in candidates
        if isinstance(value, str) and value not in declared.get(section, set()) and path not in reported
    ]


def _raw_items(raw: object, valid: set[int]) -> list[tuple[int, dict[str, object]]]:
    if not isinstance(raw, list):
        return []
    return [(i, item) for i, item in enumerate(raw) if i not in valid and isinstance(item, dict)]


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
