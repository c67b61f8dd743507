"""A request's inputs read exactly as the command line reads files: the same validation, the same
messages and places, as :class:`~allocator.errors.InputError`; nothing in a request names a file
on the server (an upload is read from a private temporary folder under a fixed name)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from allocator.errors import InputError, InputWarning, Problem, format_path
from allocator.instance.catalog import available_models
from allocator.instance.formats import build_instance, instance_document
from allocator.instance.load import instance_of_bytes
from allocator.instance.model import Instance

#: The label of an instance sent in a JSON body (as a file's name labels it on the command line).
INSTANCE_LABEL = "instance"


@dataclass(frozen=True)
class ReadInstance:
    """A validated instance, its document (as the workers receive it), the warnings it gave and
    its label (``instance``, or an upload's file name)."""

    instance: Instance
    document: dict[str, Any]
    warnings: tuple[str, ...]
    label: str


def request_problems(error: ValidationError | Any, source: str = "request") -> InputError:
    """A request whose shape is wrong (pydantic's or FastAPI's validation error), as problems at
    their places."""
    problems = []
    for item in error.errors():
        place = format_path([part for part in item["loc"] if part != "body"])
        problems.append(Problem(place, item["msg"].removeprefix("Value error, ")))
    return InputError(source, problems)


#: The command line's flags and the request fields that carry the same value.
FLAG_FIELDS = {
    "--from": "from",
    "--objectives": "objectives",
    "--baseline": "baseline",
    "--model": "options.model",
}


def for_request(error: InputError) -> InputError:
    """An error of the command line's words in a request's: a flag (``--from``) as the source or
    in a message becomes the request's field (``from``)."""
    source = FLAG_FIELDS.get(error.source, error.source)
    problems = []
    for problem in error.problems:
        message = problem.message
        for flag, name in FLAG_FIELDS.items():
            message = message.replace(f"({flag})", f"(the request's '{name}')")
        problems.append(Problem(problem.path, message))
    return InputError(source, problems)


def instance_of_document(document: dict[str, Any], model: str | None = None) -> ReadInstance:
    """Validate an instance sent as JSON; `model` is the request's ``options.model``."""
    with warnings.catch_warnings(record=True) as caught, _model_option(model):
        warnings.simplefilter("always", InputWarning)
        instance = build_instance(document, INSTANCE_LABEL, model=model)
    return ReadInstance(instance, document, _texts(caught), INSTANCE_LABEL)


@contextmanager
def _model_option(model: str | None) -> Iterator[None]:
    """An unknown model named by the request's options is the request's problem, at
    ``options.model``, not the instance's."""
    try:
        yield
    except InputError:
        if model is None or model in available_models():
            raise
        known = ", ".join(available_models())
        raise InputError(
            "request", [Problem("options.model", f"unknown model '{model}' (known: {known})")]
        ) from None


def upload_label(filename: str | None) -> str:
    """An uploaded file's name as a label only: its last part, printable, at most 100 characters."""
    name = Path((filename or "").replace("\\", "/")).name
    name = re.sub(r"[^\w.\- ]", "_", name)[:100]
    return name or "upload"


def instance_of_upload(data: bytes, filename: str | None, model: str | None = None) -> ReadInstance:
    """Validate an uploaded instance file: a workbook (by its content), else YAML or JSON."""
    label = upload_label(filename)
    with warnings.catch_warnings(record=True) as caught, _model_option(model):
        warnings.simplefilter("always", InputWarning)
        instance = instance_of_bytes(data, label, model)
    return ReadInstance(instance, instance_document(instance), _texts(caught), label)


def _texts(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    return tuple(str(w.message) for w in caught if issubclass(w.category, InputWarning))
