"""The instance: its data model and validation, its file formats, named models, derived indices.

Data flows file -> :mod:`~allocator.instance.load` (by format: :mod:`~allocator.instance.formats`
for YAML and JSON, :mod:`~allocator.instance.workbook` for .xlsx) -> a validated
:class:`~allocator.instance.model.Instance` -> :class:`~allocator.instance.index.Index` (derived
arrays, built once) for the formulation and the plan.
"""

from allocator.instance.catalog import available_models
from allocator.instance.load import INSTANCE_FORMATS, dump_instance, load_instance, write_instance
from allocator.instance.model import Instance
from allocator.instance.spec import ModelSpec

__all__ = [
    "INSTANCE_FORMATS",
    "Instance",
    "ModelSpec",
    "available_models",
    "dump_instance",
    "load_instance",
    "write_instance",
]
