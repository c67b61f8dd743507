"""The instance: one validated, immutable aggregate (``docs/instance-format.md``).

However an instance is built (a file, a workbook, or Python code), it is checked as a whole on
construction: pydantic's structural checks, then the cross-reference checks of
:mod:`allocator.instance.validation`.  Every problem is raised at once, with its place, in one
:class:`~allocator.errors.InputError`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from allocator.errors import InputError, Problem
from allocator.instance.catalog import available_models, known_model
from allocator.instance.document import read_document
from allocator.instance.fields import MAX_CAPABILITIES, MAX_NATIONS, MAX_OFFERS, MAX_TASKS, Frozen, Name
from allocator.instance.parts import Capability, Horizon, Nation, Offer, Task
from allocator.instance.problems import pydantic_problems
from allocator.instance.spec import ModelSpec
from allocator.instance.validation import check_instance

#: The source named in the errors of an instance built in Python code.
IN_CODE = "<instance>"


class Instance(Frozen):
    """A validated instance.  ``Instance(...)`` and ``Instance.model_validate(...)`` raise
    :class:`~allocator.errors.InputError` listing every problem; :meth:`replace` gives a validated
    variant."""

    name: Name
    horizon: Horizon
    nations: tuple[Nation, ...] = Field(min_length=1, max_length=MAX_NATIONS)
    capabilities: tuple[Capability, ...] = Field(min_length=1, max_length=MAX_CAPABILITIES)
    offers: tuple[Offer, ...] = Field(default=(), max_length=MAX_OFFERS)
    tasks: tuple[Task, ...] = Field(min_length=1, max_length=MAX_TASKS)
    model: ModelSpec = Field(default_factory=lambda: known_model(None))
    #: derived indices, built on first use by :meth:`allocator.instance.index.Index.of`
    _index: Any = PrivateAttr(default=None)

    @field_validator("model", mode="before")
    @classmethod
    def _named_model(cls, value: object) -> object:
        """A model name stands for its definition in ``models/``; none means the default model."""
        if value is None or isinstance(value, str):
            return known_model(value)
        return value

    @field_validator("model")
    @classmethod
    def _honest_name(cls, spec: ModelSpec) -> ModelSpec:
        """A model that takes the name of a named model but differs from it (edited objectives,
        say) does not claim to be it: it is called 'NAME (edited)', and so is the named model's
        description when it kept it."""
        named = available_models().get(spec.name or "")
        if named is not None and spec != named:
            update = {"name": f"{spec.name} (edited)"}
            if spec.description is not None and spec.description == named.description:
                update["description"] = f"{spec.description} (edited)"
            return spec.model_copy(update=update)
        return spec

    @model_validator(mode="wrap")
    @classmethod
    def _checked(cls, data: Any, handler: Any) -> Instance:
        """Structural checks, then the checks across parts; every problem in one InputError."""
        try:
            instance: Instance = handler(data)
        except ValidationError as exc:
            # part by part, as a file is read: every problem, and one message for one mistake
            problems = read_document(data, cls)[1] if isinstance(data, dict) else []
            raise InputError(IN_CODE, problems or pydantic_problems(exc, (), root=cls)) from None
        problems = check_instance(
            instance.horizon,
            instance.nations,
            instance.capabilities,
            instance.offers,
            instance.tasks,
            instance.model,
        )
        if problems:
            raise InputError(IN_CODE, problems)
        return instance

    @property
    def periods(self) -> int:
        return self.horizon.periods

    @property
    def spec(self) -> ModelSpec:
        """The instance's model (a name given in the file is resolved on construction)."""
        return self.model

    def replace(self, **changes: Any) -> Instance:
        """A validated copy with some top-level keys changed (``instance.replace(offers=...)``)."""
        unknown = set(changes) - set(type(self).model_fields)
        if unknown:
            raise InputError(IN_CODE, [Problem(key, "unknown key") for key in sorted(unknown)])
        data = {name: getattr(self, name) for name in type(self).model_fields}
        return type(self).model_validate({**data, **changes})
