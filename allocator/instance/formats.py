"""The YAML and JSON formats of an instance (``docs/instance-format.md``): a parsed document to a
validated :class:`~allocator.instance.model.Instance`, reporting every problem at once, and back."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from allocator.errors import InputError, NotAnInstance, Problem, warn_input
from allocator.instance.catalog import available_models
from allocator.instance.document import read_document
from allocator.instance.model import Instance
from allocator.instance.spec import ModelSpec


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
    parts, problems = read_document(data, Instance, model)
    if problems:
        raise InputError(label, problems)
    try:  # every part is sound: the instance checks itself as a whole
        instance = Instance(**parts)
    except InputError as exc:
        raise InputError(label, exc.problems) from None
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
    """A fingerprint of the instance's data (SHA-256 of its canonical JSON, the model left out):
    equal for the same data whatever the file format and whichever model a solve used (``solve
    --model``), different when any of the data changes."""
    data = instance.model_dump(mode="json", exclude={"model"})
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
