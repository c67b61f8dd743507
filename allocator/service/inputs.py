"""A request's inputs read exactly as the command line reads files: the same validation, the same
messages and places, as :class:`~allocator.errors.InputError`; nothing in a request names a file
on the server (an upload is read from a private temporary folder under a fixed name)."""

from __future__ import annotations

import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from allocator.errors import InputError, InputWarning, Problem, format_path
from allocator.files import decoded, parse_document
from allocator.instance.formats import build_instance, instance_document
from allocator.instance.model import Instance
from allocator.instance.workbook import load_workbook_instance

#: The label of an instance sent in a JSON body (as a file's name labels it on the command line).
INSTANCE_LABEL = "instance"
WORKBOOK_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ReadInstance:
    """A validated instance, its document (as the workers receive it) and the warnings it gave."""

    instance: Instance
    document: dict[str, Any]
    warnings: tuple[str, ...]


def request_problems(error: ValidationError, source: str = "request") -> InputError:
    """A request whose shape is wrong (pydantic), as problems at their places."""
    problems = []
    for item in error.errors():
        place = format_path([part for part in item["loc"] if part != "body"])
        problems.append(Problem(place, item["msg"].removeprefix("Value error, ")))
    return InputError(source, problems)


def flag_source(error: InputError) -> InputError:
    """An error the command line reports at a flag (``--from``) named by the request's field."""
    if error.source.startswith("--"):
        return InputError(error.source[2:].replace("-", "_"), error.problems)
    return error


def instance_of_document(document: dict[str, Any], model: str | None = None) -> ReadInstance:
    """Validate an instance sent as JSON."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        instance = build_instance(document, INSTANCE_LABEL, model=model)
    return ReadInstance(instance, document, _texts(caught))


def upload_label(filename: str | None) -> str:
    """An uploaded file's name as a label only: its last part, printable, at most 100 characters."""
    name = Path((filename or "").replace("\\", "/")).name
    name = re.sub(r"[^\w.\- ]", "_", name)[:100]
    return name or "upload"


def instance_of_upload(data: bytes, filename: str | None, model: str | None = None) -> ReadInstance:
    """Validate an uploaded instance file: a workbook (by its content), else YAML or JSON."""
    label = upload_label(filename)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        if data.startswith(WORKBOOK_MAGIC):
            with tempfile.TemporaryDirectory(prefix="allocator-upload-") as folder:
                path = Path(folder) / "upload.xlsx"
                path.write_bytes(data)
                instance = load_workbook_instance(path, model=model, label=label)
        else:
            instance = build_instance(parse_document(decoded(data, label), label), label, model=model)
    return ReadInstance(instance, instance_document(instance), _texts(caught))


def _texts(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    return tuple(str(w.message) for w in caught if issubclass(w.category, InputWarning))
