"""A parsed document (a mapping, from a file or from Python code) checked part by part, so that
every problem is found at once and one mistake gives one message: each section's items are
validated on their own, then the checks across parts run on the items that could be read."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from allocator.errors import Problem
from allocator.instance.catalog import known_model
from allocator.instance.fields import MAX_CAPABILITIES, MAX_NATIONS, MAX_OFFERS, MAX_TASKS, Name
from allocator.instance.parts import Capability, Horizon, Nation, Offer, Task
from allocator.instance.problems import pydantic_problems, suggest_key
from allocator.instance.spec import ModelSpec
from allocator.instance.validation import AnyId, cross_check, references_of_invalid_items

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _validate(
    adapter: Callable[[Any], T],
    data: Any,
    prefix: tuple[str | int, ...],
    out: list[Problem],
    root: type[BaseModel],
) -> T | None:
    try:
        return adapter(data)
    except ValidationError as exc:
        out.extend(pydantic_problems(exc, prefix, root=root))
        return None


#: The most items of each section, checked before any item is read.
SECTION_LIMITS = {
    "nations": MAX_NATIONS,
    "capabilities": MAX_CAPABILITIES,
    "offers": MAX_OFFERS,
    "tasks": MAX_TASKS,
}


def _validate_list(
    cls: type[M], data: Mapping[str, Any], key: str, out: list[Problem], required: bool, root: type[BaseModel]
) -> dict[int, M]:
    raw = data.get(key)
    if raw is None:
        if required:
            out.append(Problem(key, "required key missing"))
        return {}
    if not isinstance(raw, list | tuple):
        out.append(Problem(key, f"must be a list, got {type(raw).__name__}"))
        return {}
    if len(raw) > SECTION_LIMITS[key]:
        out.append(Problem(key, f"at most {SECTION_LIMITS[key]:,} {key} (got {len(raw):,})"))
        return {}
    if required and not raw:
        out.append(Problem(key, "must not be empty"))
    valid = {}
    for i, item in enumerate(raw):
        parsed = _validate(cls.model_validate, item, (key, i), out, root)
        if parsed is not None:
            valid[i] = parsed
    return valid


def _model_spec(raw: Any, out: list[Problem], root: type[BaseModel]) -> tuple[ModelSpec, str] | None:
    """The instance's `model`: a known name or an inline mapping."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            return known_model(raw), "model"
        except ValueError as exc:
            out.append(Problem("model", str(exc)))
            return None
    spec = _validate(ModelSpec.model_validate, raw, ("model",), out, root)
    return (spec, "model") if spec is not None else None


def _document_order(problem: Problem, root: type[BaseModel]) -> tuple[Any, ...]:
    """Problems in the order of the document: sections as a file lists them, then items by index."""
    parts = re.findall(r"[^.\[\]]+", problem.path)
    sections = list(root.model_fields)
    section = sections.index(parts[0]) if parts and parts[0] in sections else -1
    return (section, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts[1:]))


def _declared_ids(section: str, raw: Any) -> set[str]:
    """Every id a section of the document gives, valid item or not; for a section that is not a
    list or is too long (already reported), any id: references into it are not reported a second
    time."""
    if not isinstance(raw, list | tuple) or len(raw) > SECTION_LIMITS.get(section, len(raw)):
        return AnyId()
    return {_id for item in raw if isinstance(_id := _item_id(item), str)}


def _item_id(item: Any) -> Any:
    return item.get("id") if isinstance(item, dict) else getattr(item, "id", None)


def read_document(
    data: Mapping[str, Any], root: type[BaseModel], model: str | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """The parts of an instance document, each validated on its own, and every problem found
    (structure, then the checks across the parts that could be read), in document order.

    `root` is the instance model (its keys are the document's sections); `model` (a model name,
    as ``--model`` gives it) overrides the document's own model.  Without problems the parts are
    ready to construct `root` from, which then checks the whole.
    """
    problems: list[Problem] = []
    for key in data:
        if key not in root.model_fields:
            problems.append(Problem(str(key), f"unknown key '{key}'{suggest_key(str(key), root)}"))
    name = None
    if "name" in data:
        name = _validate(TypeAdapter(Name).validate_python, data["name"], ("name",), problems, root)
    else:
        problems.append(Problem("name", "required key missing"))
    horizon = None
    if "horizon" in data:
        horizon = _validate(Horizon.model_validate, data["horizon"], ("horizon",), problems, root)
    else:
        problems.append(Problem("horizon", "required key missing"))
    nations = _validate_list(Nation, data, "nations", problems, required=True, root=root)
    capabilities = _validate_list(Capability, data, "capabilities", problems, required=True, root=root)
    offers = _validate_list(Offer, data, "offers", problems, required=False, root=root)
    tasks = _validate_list(Task, data, "tasks", problems, required=True, root=root)
    if model is not None:
        data = {**data, "model": model}
    spec = _model_spec(data.get("model"), problems, root)
    if problems:  # the checks across parts, on the parts that could be read
        capability_ids = {i: c.id for i, c in capabilities.items()}
        declared = {key: _declared_ids(key, data.get(key)) for key in ("nations", "capabilities", "tasks")}
        problems += cross_check(
            horizon, nations, capability_ids, offers, tasks, spec, declared=declared, complete=False
        )
        problems += references_of_invalid_items(data, set(offers), set(tasks), declared, problems)
    parts = {
        "name": str(name),
        "horizon": horizon,
        "nations": tuple(nations.values()),
        "capabilities": tuple(capabilities.values()),
        "offers": tuple(offers.values()),
        "tasks": tuple(tasks.values()),
        "model": spec[0] if spec else None,
    }
    return parts, sorted(problems, key=lambda problem: _document_order(problem, root))
