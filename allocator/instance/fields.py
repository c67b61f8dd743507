"""The building blocks of every instance model: the immutable base class, ids, text and limits.

The limits are documented in ``docs/instance-format.md``.
"""

from __future__ import annotations

import re
from typing import Annotated, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

#: Largest horizon accepted: far above any plausible plan (10 years of weeks), far below
#: what would exhaust memory.
MAX_PERIODS = 1000
#: Largest number of identical units in one offer.
MAX_UNITS = 100_000
#: Most items of each section: far above a real coalition (30 nations today, every member state
#: of the United Nations would be 193), and refused before any model is built.
MAX_NATIONS = 1_000
MAX_CAPABILITIES = 5_000
MAX_OFFERS = 20_000
MAX_TASKS = 5_000
#: Most requirement entries of one task (a profile of 5 capabilities over 1,000 periods).
MAX_REQUIREMENTS = 5_000
#: Largest amount (cost, budget, personnel): the solvers work on whole numbers, a value with d
#: decimal places counting 10**d times (d at most :data:`DECIMALS`), and hold them exactly up
#: to 2**53; the sums a plan can reach are checked as a whole too (``check_magnitudes``).
MAX_AMOUNT = 1e12
#: Most decimal places a number keeps (the solvers round the rest).
DECIMALS = 6
#: Smallest and largest weight (a share, a priority, an objective's weight in a level): the
#: smallest is the finest a number keeps.
MIN_WEIGHT = 10.0**-DECIMALS
MAX_WEIGHT = 1e6

MONTH = re.compile(r"(\d{4})-(0?[1-9]|1[0-2])")
#: Characters no id or text may hold: control characters (C0 and C1), lone surrogates (a JSON
#: escape can make one) and U+FFFE, U+FFFF (no XML part, hence no workbook, can hold them).
_UNWRITABLE = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
_CONTROL = re.compile(f"[{_UNWRITABLE}\t\n\r]")
_CONTROL_IN_TEXT = re.compile(f"[{_UNWRITABLE}\r]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters (tab, newline, escape, ...) are not allowed in an id")
    if value != value.strip():
        raise ValueError("an id may not begin or end with a space")
    return value


def _no_control_in_text(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("control characters (other than tab and newline) are not allowed")
    return value


def _blank_is_none(value: object) -> object:
    """Text that is empty or only spaces means the same as leaving the key out."""
    return None if isinstance(value, str) and not value.strip() else value


#: An id: 1 to 200 characters, none of them a control character (ids reach terminals and
#: workbooks), no space at either end.
Id = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_control)]
#: Free text (names, labels): 1 to 2,000 characters once the spaces and line breaks at either
#: end are dropped, no control characters but tab and newline.
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    AfterValidator(_no_control_in_text),
]
#: Optional free text: empty or blank text is the same as none.
OptionalText = Annotated[Text | None, BeforeValidator(_blank_is_none)]
#: An instance's name: letters, digits, "_", "." and "-", at most 200 of them (it names files).
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]+$", max_length=200)]
Window = tuple[int, int]


class Frozen(BaseModel):
    """Base: immutable, unknown keys rejected, no true/false where a number belongs."""

    # parts are checked again when an instance is built from them: a part changed with pydantic's
    # model_copy(update=...) skips validation, and no unchecked value may reach a solver
    model_config = ConfigDict(frozen=True, extra="forbid", revalidate_instances="always")

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: object, info: ValidationInfo) -> object:
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _numeric(field.annotation):
            raise ValueError("must be a number, not true or false")
        return value


def _numeric(annotation: object) -> bool:
    """int, float, or either of them or None."""
    return annotation in (int, float) or set(get_args(annotation)) in ({int, type(None)}, {float, type(None)})
