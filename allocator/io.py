"""Reading and writing instances (YAML, JSON, Excel workbooks, standard input), files atomically."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from allocator.catalog import available_models, resolve_model
from allocator.errors import InputError, Problem, format_path
from allocator.instance import (
    Capability,
    Horizon,
    Instance,
    Lead,
    ModelSpec,
    Name,
    Nation,
    Offer,
    Requirement,
    Task,
)
from allocator.validation import cross_check, references_of_invalid_items


class SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 booleans: only true/false, so that country codes such
    as NO (Norway), ON or Y stay strings."""


SafeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SafeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

#: Files larger than this are refused before parsing.
MAX_FILE_BYTES = 64 * 1024 * 1024

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

#: The model class that owns the keys found under a section name, for "did you mean" hints.
_KEYS_UNDER: dict[str, type[BaseModel]] = {
    "": Instance,
    "horizon": Horizon,
    "nations": Nation,
    "capabilities": Capability,
    "offers": Offer,
    "tasks": Task,
    "requirements": Requirement,
    "lead": Lead,
    "model": ModelSpec,
}
#: Union member tags pydantic puts into error locations; they mean nothing to a user.
_UNION_TAGS = {"str", "int", "float", "dict[str,float]", "ModelSpec", "none"}


def read_text(source: str | Path) -> tuple[str, str]:
    """(text, label) of a file, or of standard input for '-'."""
    if str(source) == "-":
        return sys.stdin.read(MAX_FILE_BYTES + 1), "<stdin>"
    path = Path(source)
    label = str(source)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(label, [Problem("", f"file larger than {MAX_FILE_BYTES >> 20} MiB")])
        return path.read_text(encoding="utf-8"), label
    except FileNotFoundError:
        raise InputError(label, [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise InputError(label, [Problem("", "is a directory, not a file")]) from None
    except UnicodeDecodeError as exc:
        raise InputError(label, [Problem("", f"not UTF-8 text ({exc.reason})")]) from None
    except OSError as exc:
        raise InputError(label, [Problem("", exc.strerror or str(exc))]) from None


def parse_document(text: str, label: str) -> Any:
    """Parse YAML or JSON (by extension; YAML otherwise, which also reads JSON), safely."""
    if len(text) > MAX_FILE_BYTES:
        raise InputError(label, [Problem("", f"input larger than {MAX_FILE_BYTES >> 20} MiB")])
    if label.lower().endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                label,
                [Problem("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")],
            ) from None
    try:
        return yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError(label, [Problem("", f"invalid YAML{where}: {reason}")]) from None


def _suggest(key: str, owner: type[BaseModel]) -> str:
    close = difflib.get_close_matches(key, list(owner.model_fields), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(owner.model_fields)}"


def _owner(loc: tuple[str | int, ...]) -> type[BaseModel]:
    names = [part for part in loc if isinstance(part, str)]
    return _KEYS_UNDER.get(names[-1] if names else "", Instance)


def pydantic_problems(error: ValidationError, prefix: tuple[str | int, ...]) -> list[Problem]:
    """Pydantic errors as problems at user-facing paths, with a suggestion for unknown keys."""
    problems: dict[str, Problem] = {}
    for item in error.errors():
        loc = prefix + tuple(p for p in item["loc"] if p not in _UNION_TAGS and "[" not in str(p))
        kind = item["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key '{key}'{_suggest(key, _owner(loc[:-1]))}"
        elif kind == "missing":
            message = "required key missing"
        elif kind == "value_error":  # our own validators: their message without pydantic's prefix
            value = item.get("input")
            shown = f" (got {value!r})" if isinstance(value, str) else ""
            message = f"{item.get('ctx', {}).get('error', item['msg'])}{shown}"
        else:
            value = item.get("input")
            shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
            message = f"{item['msg']}{shown}"
        path = format_path(loc)
        problems.setdefault(path, Problem(path, message))
    return list(problems.values())


def _validate(
    adapter: Callable[[Any], T], data: Any, prefix: tuple[str | int, ...], out: list[Problem]
) -> T | None:
    try:
        return adapter(data)
    except ValidationError as exc:
        out.extend(pydantic_problems(exc, prefix))
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
        if raw not in available_models():
            close = difflib.get_close_matches(raw, list(available_models()), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            out.append(
                Problem("model", f"unknown model '{raw}'{hint} (known: {', '.join(available_models())})")
            )
            return None
        return resolve_model(raw), "model"
    spec = _validate(ModelSpec.model_validate, raw, ("model",), out)
    return (spec, "model") if spec is not None else None


def _document_order(problem: Problem) -> tuple[Any, ...]:
    """Problems in the order of the document: sections as a file lists them, then items by index."""
    parts = re.findall(r"[^.\[\]]+", problem.path)
    sections = list(Instance.model_fields)
    section = sections.index(parts[0]) if parts and parts[0] in sections else -1
    return (section, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts[1:]))


def _declared_ids(raw: Any) -> set[str]:
    """Every id a section of the document gives, valid item or not."""
    if not isinstance(raw, list):
        return set()
    return {item["id"] for item in raw if isinstance(item, dict) and isinstance(item.get("id"), str)}


def build_instance(data: Any, label: str, model: str | None = None) -> Instance:
    """Validate a parsed document into an :class:`Instance`, reporting every problem at once.

    `model` (a model name, as given by ``--model``) overrides the instance's own model.
    """
    if not isinstance(data, dict):
        raise InputError(label, [Problem("", "the instance must be a mapping of keys to values")])
    if "nations" not in data and {"status", "solver"} & set(data):
        raise InputError(label, [Problem("", "this is a solution file (it has 'status'), not an instance")])
    problems: list[Problem] = []
    for key in data:
        if key not in Instance.model_fields:
            problems.append(Problem(str(key), f"unknown key '{key}'{_suggest(str(key), Instance)}"))
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
    complete = not problems
    problems += cross_check(
        horizon, nations, capability_ids, offers, tasks, spec, declared=declared, complete=complete
    )
    problems += references_of_invalid_items(data, set(offers), set(tasks), declared, problems)
    if problems:
        raise InputError(label, sorted(problems, key=_document_order))
    instance = Instance(
        name=str(name),
        horizon=horizon,
        nations=tuple(nations.values()),
        capabilities=tuple(capabilities.values()),
        offers=tuple(offers.values()),
        tasks=tuple(tasks.values()),
        model=spec[0] if spec else resolve_model(None),
    )
    return instance


def load_instance(source: str | Path, model: str | None = None) -> Instance:
    """Load and validate an instance from a YAML, JSON or .xlsx file ('-' for standard input).

    Raises :class:`~allocator.errors.InputError` listing every problem found.
    """
    from allocator import spreadsheet

    if spreadsheet.is_workbook(source):
        return spreadsheet.load_workbook_instance(source, model=model)
    text, label = read_text(source)
    return build_instance(parse_document(text, label), label, model=model)


def load_document(source: str | Path) -> tuple[Any, str]:
    """A parsed JSON or YAML document and its label (for solutions)."""
    text, label = read_text(source)
    return parse_document(text, label), label


INSTANCE_FORMATS = (".yaml", ".yml", ".json", ".xlsx")


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


def dump_instance(instance: Instance, fmt: str) -> str | bytes:
    """An instance in a file format: '.yaml', '.json' or '.xlsx'."""
    if fmt in (".yaml", ".yml"):
        return yaml.dump(instance_document(instance), Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    if fmt == ".json":
        return json.dumps(instance_document(instance), indent=2, ensure_ascii=False) + "\n"
    if fmt == ".xlsx":
        from allocator.spreadsheet import workbook_bytes

        return workbook_bytes(instance)
    raise ValueError(f"unknown instance format '{fmt}' (known: {', '.join(INSTANCE_FORMATS)})")


def instance_digest(instance: Instance) -> str:
    """A fingerprint of the instance's data (SHA-256 of its canonical JSON): equal for the same
    data whatever the file format, different when anything changes."""
    text = json.dumps(instance.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def write_instance(instance: Instance, path: str | Path) -> None:
    """Write an instance atomically, in the format its extension names."""
    write_atomic(path, dump_instance(instance, Path(path).suffix.lower()))


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write `text` (or bytes) to `path` through a temporary file in the same folder, then rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL as mkstemp, but mode 0666 so the umask gives the file its usual mode (mkstemp: 0600)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
