"""The YAML and JSON formats of an instance (``docs/instance-format.md``): a parsed document to a
validated :class:`~allocator.instance.model.Instance`, reporting every problem at once, and back."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from allocator.errors import InputError, NotAnInstance, Problem, warn_input
from allocator.instance.catalog import available_models, known_model
from allocator.instance.fields import Name
from allocator.instance.model import Instance
from allocator.instance.parts import Capability, Horizon, Nation, Offer, Task
from allocator.instance.problems import pydantic_problems, suggest_key
from allocator.instance.spec import ModelSpec
from allocator.instance.validation import AnyId, cross_check, references_of_invalid_items

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def _validate(
    adapter: Callable[[Any], T], data: Any, prefix: tuple[str | int, ...], out: list[Problem]
) -> T | None:
    try:
        return adapter(data)
    except ValidationError as exc:
        out.extend(pydantic_problems(exc, prefix, root=Instance))
        return None


def _validate_list(
    cls: type[M], data: Mapping[str, Any], key: str, out: list[Problem], required: bool
) -> dict[int, M]:
    raw = data.get(key)
    if raw is None:
        if required:
            out.append(Problem(key, "required key missing"))
        return {}
    if not isinstance(raw, list):
        out.append(Problem(key, f"must be a list, got {type(raw).__name__}"))
        return {}
    if required and not raw:
        out.append(Problem(key, "must not be empty"))
    valid = {}
    for i, item in enumerate(raw):
        parsed = _validate(cls.model_validate, item, (key, i), out)
        if parsed is not None:
            valid[i] = parsed
    return valid


def _model_spec(raw: Any, out: list[Problem]) -> tuple[ModelSpec, str] | None:
    """The instance's `model`: a known name or an inline mapping."""
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            return known_model(raw), "model"
        except ValueError as exc:
            out.append(Problem("model", str(exc)))
            return None
    spec = _validate(ModelSpec.model_validate, raw, ("model",), out)
    return (spec, "model") if spec is not None else None


def _document_order(problem: Problem) -> tuple[Any, ...]:
    """Problems in the order of the document: sections as a file lists them, then items by index."""
    parts = re.findall(r"[^.\[\]]+", problem.path)
    sections = list(Instance.model_fields)
    section = sections.index(parts[0]) if parts and parts[0] in sections else -1
    return (section, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts[1:]))


def _declared_ids(raw: Any) -> set[str]:
    """Every id a section of the document gives, valid item or not; for a section that is not a
    list (already reported), any id: references into it are not reported a second time."""
    if not isinstance(raw, list):
        return AnyId()
    return {item["id"] for item in raw if isinstance(item, dict) and isinstance(item.get("id"), str)}


def build_instance(data: Any, label: str, model: str | None = None) -> Instance:
    """Validate a parsed document into an :class:`Instance`, reporting every problem at once.

    `model` (a model name, as given by ``--model``) overrides the instance's own model.
    """
    if not isinstance(data, dict):
        raise InputError(label, [Problem("", "the instance must be a mapping of keys to values")])
    if "nations" not in data and {"status", "solver"} & set(data):
        raise NotAnInstance(
            label, [Problem("", "this is a solution file (it has 'status'), not an instance")]
        )
    problems: list[Problem] = []
    for key in data:
        if key not in Instance.model_fields:
            problems.append(Problem(str(key), f"unknown key '{key}'{suggest_key(str(key), Instance)}"))
    name = None
    if "name" in data:
        name = _validate(TypeAdapter(Name).validate_python, data["name"], ("name",), problems)
    else:
        problems.append(Problem("name", "required key missing"))
    horizon = None
    if "horizon" in data:
        horizon = _validate(Horizon.model_validate, data["horizon"], ("horizon",), problems)
    else:
        problems.append(Problem("horizon", "required key missing"))
    nations = _validate_list(Nation, data, "nations", problems, required=True)
    capabilities = _validate_list(Capability, data, "capabilities", problems, required=True)
    offers = _validate_list(Offer, data, "offers", problems, required=False)
    tasks = _validate_list(Task, data, "tasks", problems, required=True)
    if model is not None:
        data = {**data, "model": model}
    spec = _model_spec(data.get("model"), problems)
    capability_ids = {i: c.id for i, c in capabilities.items()}
    declared = {key: _declared_ids(data.get(key)) for key in ("nations", "capabilities", "tasks")}
    if problems:  # the checks across parts, on the parts that could be read
        problems += cross_check(
            horizon, nations, capability_ids, offers, tasks, spec, declared=declared, complete=False
        )
        problems += references_of_invalid_items(data, set(offers), set(tasks), declared, problems)
        raise InputError(label, sorted(problems, key=_document_order))
    try:  # every part is sound: the instance checks itself as a whole
        instance = Instance(
            name=str(name),
            horizon=horizon,
            nations=tuple(nations.values()),
            capabilities=tuple(capabilities.values()),
            offers=tuple(offers.values()),
            tasks=tuple(tasks.values()),
            model=spec[0] if spec else None,
        )
    except InputError as exc:
        raise InputError(label, sorted(exc.problems, key=_document_order)) from None
    horizon = instance.horizon
    if horizon.unit == "month" and horizon.start and horizon.first_month is None:
        warn_input(
            label,
            "horizon.start",
            f"'{horizon.start}' is not a month written YYYY-MM (as 2027-03): periods are labelled 1, 2, ...",
        )
    return instance


def instance_document(instance: Instance) -> dict[str, Any]:
    """An instance as a YAML/JSON document: defaults left out, a catalogued model by its name."""
    doc = instance.model_dump(mode="json", exclude_defaults=True, exclude={"model"})
    spec = instance.model
    if isinstance(spec, ModelSpec):
        known = available_models().get(spec.name or "")
        doc["model"] = spec.name if spec == known else spec.model_dump(mode="json", exclude_defaults=True)
    elif spec is not None:
        doc["model"] = spec
    return _tidy(doc)


def _tidy(value: Any) -> Any:
    """Whole floats as integers (``150`` rather than ``150.0``), recursively."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    """Lists of scalars in flow style (``available: [1, 12]``), everything else in block style."""


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = all(not isinstance(v, dict | list) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump_document(instance: Instance, fmt: str) -> str:
    """An instance as a YAML ('.yaml', '.yml') or JSON ('.json') document."""
    if fmt in (".yaml", ".yml"):
        return yaml.dump(instance_document(instance), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    if fmt == ".json":
        return json.dumps(instance_document(instance), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"unknown instance format '{fmt}' (known: .yaml, .yml, .json, .xlsx)")


def instance_digest(instance: Instance) -> str:
    """A fingerprint of the instance's data (SHA-256 of its canonical JSON): equal for the same
    data whatever the file format, different when anything changes."""
    text = json.dumps(instance.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
