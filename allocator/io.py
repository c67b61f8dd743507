"""Reading and writing instances (YAML, JSON, Excel workbooks, standard input), files atomically."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import secrets
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from allocator.catalog import available_models, resolve_model
from allocator.errors import InputError, NotAnInstance, Problem, did_you_mean, format_path, warn_input
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
from allocator.validation import AnyId, cross_check, references_of_invalid_items


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
        return _decoded(stdin_bytes(), "<stdin>"), "<stdin>"
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


def stdin_bytes() -> bytes:
    """Standard input, at most MAX_FILE_BYTES of it (a text-only stream is read as UTF-8)."""
    binary = getattr(sys.stdin, "buffer", None)
    data = binary.read(MAX_FILE_BYTES + 1) if binary else sys.stdin.read(MAX_FILE_BYTES + 1).encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise InputError("<stdin>", [Problem("", f"input larger than {MAX_FILE_BYTES >> 20} MiB")])
    return data


def _decoded(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(label, [Problem("", f"not UTF-8 text ({exc.reason})")]) from None


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
    """Pydantic errors as problems at user-facing paths, in a planner's words (no class names),
    with a suggestion for unknown keys and misspelt choices."""
    problems: dict[str, Problem] = {}
    for item in error.errors():
        loc = prefix + tuple(p for p in item["loc"] if p not in _UNION_TAGS and "[" not in str(p))
        kind = item["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key '{key}'{_suggest(key, _owner(loc[:-1]))}"
        elif kind == "missing":
            message = "required key missing"
        else:
            message = _in_words(kind, item)
        path = format_path(loc)
        problems.setdefault(path, Problem(path, message))
    return list(problems.values())


#: Pydantic error types -> what they mean for a value in an instance file ({limit}: the bound).
_WORDS = {
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "greater_than_equal": "must be at least {ge:g}",
    "greater_than": "must be more than {gt:g}",
    "less_than_equal": "must be at most {le:g}",
    "less_than": "must be less than {lt:g}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_pattern_mismatch": "may hold only letters, digits and _ . -",
}


def _in_words(kind: str, item: Any) -> str:
    value = item.get("input")
    context = item.get("ctx") or {}
    shown = f" (got {value!r})" if isinstance(value, str | int | float | bool) else ""
    if kind == "value_error":  # our own validators: their message without pydantic's prefix
        return f"{context.get('error', item['msg'])}{shown if isinstance(value, str) else ''}"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
        return f"must be one of {', '.join(choices)}{shown}{hint}"
    if kind == "too_long" and context.get("max_length") == 2:  # windows are the only pairs
        return f"must be a window [first, last]{shown}"
    template = _WORDS.get(kind)
    if template is None:
        return f"{item['msg']}{shown}"
    return template.format(**context) + shown


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
    horizon = instance.horizon
    if horizon.unit == "month" and horizon.start and horizon.first_month is None:
        warn_input(
            label,
            "horizon.start",
            f"'{horizon.start}' is not a month written YYYY-MM (as 2027-03): periods are labelled 1, 2, ...",
        )
    return instance


def load_instance(source: str | Path, model: str | None = None) -> Instance:
    """Load and validate an instance from a YAML, JSON or .xlsx file ('-' for standard input).

    Raises :class:`~allocator.errors.InputError` listing every problem found.
    """
    from allocator import spreadsheet

    if spreadsheet.is_workbook(source):
        return spreadsheet.load_workbook_instance(source, model=model)
    if str(source) == "-":  # a document, or a workbook piped in
        data = stdin_bytes()
        if data.startswith(b"PK\x03\x04"):
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "stdin.xlsx"
                path.write_bytes(data)
                return spreadsheet.load_workbook_instance(path, model=model, label="<stdin>")
        return build_instance(parse_document(_decoded(data, "<stdin>"), "<stdin>"), "<stdin>", model=model)
    text, label = read_text(source)
    return build_instance(parse_document(text, label), label, model=model)


def load_document(source: str | Path) -> tuple[Any, str]:
    """A parsed JSON or YAML document and its label (for solutions)."""
    if str(source).lower().endswith(".xlsx"):
        raise InputError(
            str(source),
            [Problem("", "a workbook holds an instance, not a solution (solve -o writes a JSON one)")],
        )
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
