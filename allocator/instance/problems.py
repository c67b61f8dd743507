"""Pydantic's validation errors as problems a planner can read: the place (``offers[3].units``) and
what is wrong in words, with a suggestion for a misspelt key or choice."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from allocator.errors import Problem, did_you_mean, format_path
from allocator.instance.parts import Capability, Horizon, Lead, Nation, Offer, Requirement, Task
from allocator.instance.spec import ModelSpec

#: The model class that owns the keys found under a section name, for "did you mean" hints.
_KEYS_UNDER: dict[str, type[BaseModel]] = {
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


def suggest_key(key: str, owner: type[BaseModel]) -> str:
    close = difflib.get_close_matches(key, list(owner.model_fields), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else f"; valid keys: {', '.join(owner.model_fields)}"


def _owner(loc: tuple[str | int, ...], root: type[BaseModel]) -> type[BaseModel]:
    names = [part for part in loc if isinstance(part, str)]
    return _KEYS_UNDER.get(names[-1], root) if names else root


def pydantic_problems(
    error: ValidationError, prefix: tuple[str | int, ...], root: type[BaseModel]
) -> list[Problem]:
    """Pydantic errors as problems at user-facing paths, in a planner's words (no class names),
    with a suggestion for unknown keys and misspelt choices."""
    problems: dict[str, Problem] = {}
    for item in error.errors():
        loc = prefix + tuple(p for p in item["loc"] if p not in _UNION_TAGS and "[" not in str(p))
        kind = item["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            message = f"unknown key '{key}'{suggest_key(key, _owner(loc[:-1], root))}"
        elif kind == "missing":
            message = "required key missing"
        else:
            message = _in_words(kind, item)
        path = format_path(loc)
        problems.setdefault(path, Problem(path, message))
    # a list whose only item is wrong is also "too short" once that item is dropped: one mistake,
    # one message
    return [
        p
        for p in problems.values()
        if not (
            p.message.startswith("must have at least") and any(q.startswith(p.path + "[") for q in problems)
        )
    ]


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
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most {max_length} characters",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_pattern_mismatch": "may hold only letters, digits and _ . -",
    "string_unicode": "lone surrogates (a JSON escape such as \\ud800) are not allowed",
}


#: The most characters of a bad string a message repeats.
SHOWN_CHARACTERS = 60


def _shown(value: str | float | bool) -> str:
    """A bad value as a message repeats it: a long string cut, with its length said."""
    if isinstance(value, str) and len(value) > SHOWN_CHARACTERS:
        return f"{value[:SHOWN_CHARACTERS]!r}... ({len(value):,} characters)"
    return repr(value)


def _in_words(kind: str, item: Any) -> str:
    value = item.get("input")
    context = item.get("ctx") or {}
    shown = f" (got {_shown(value)})" if isinstance(value, str | int | float | bool) else ""
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
    figures = {k: figure(v) if isinstance(v, int | float) else v for k, v in context.items()}
    return template.format(**figures) + shown


def figure(value: float) -> str:
    """A limit as a planner reads it: 1000, 1,000,000,000,000, 0.000001, 2.5."""
    if float(value).is_integer():
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    if abs(value) < 1e-4:
        return f"{value:.12f}".rstrip("0")
    return f"{value:g}"
