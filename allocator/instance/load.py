"""Reading and writing instances in every format: YAML, JSON, Excel workbooks, standard input."""

from __future__ import annotations

from pathlib import Path

import allocator.instance.workbook as workbook
from allocator.files import decoded, parse_document, read_text, stdin_bytes, write_atomic
from allocator.instance.formats import build_instance, dump_document
from allocator.instance.model import Instance

INSTANCE_FORMATS = (".yaml", ".yml", ".json", ".xlsx")
#: How every .xlsx file (a zip archive) begins.
WORKBOOK_MAGIC = b"PK\x03\x04"


def load_instance(source: str | Path, model: str | None = None) -> Instance:
    """Load and validate an instance from a YAML, JSON or .xlsx file ('-' for standard input).

    Raises :class:`~allocator.errors.InputError` listing every problem found.
    """
    if workbook.is_workbook(source):
        return workbook.load_workbook_instance(source, model=model)
    if str(source) == "-":  # a document, or a workbook piped in
        return instance_of_bytes(stdin_bytes(), "<stdin>", model)
    text, label = read_text(source)
    return build_instance(parse_document(text, label), label, model=model)


def instance_of_bytes(data: bytes, label: str, model: str | None = None) -> Instance:
    """Load and validate an instance sent as bytes (standard input, an upload), named `label`: a
    workbook by its content, else YAML or JSON."""
    if data.startswith(WORKBOOK_MAGIC):
        return workbook.load_workbook_instance(data, model=model, label=label)
    return build_instance(parse_document(decoded(data, label), label), label, model=model)


def dump_instance(instance: Instance, fmt: str) -> str | bytes:
    """An instance in a file format: '.yaml', '.json' or '.xlsx'."""
    if fmt == ".xlsx":
        return workbook.workbook_bytes(instance)
    return dump_document(instance, fmt)


def write_instance(instance: Instance, path: str | Path) -> None:
    """Write an instance atomically, in the format its extension names."""
    write_atomic(path, dump_instance(instance, Path(path).suffix.lower()))
