"""The CSV files allocator writes (``whatif.csv``, ``bench --out``), safe to open in a
spreadsheet: a text cell that a spreadsheet would read as a formula, one that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return, is written with a leading single quote (the
OWASP rule against CSV injection), so that an id from another staff's file such as
``=HYPERLINK(...)`` shows as text and runs nothing. Numbers stay numbers. Lines end in CRLF
(RFC 4180), so that a cell holding a carriage return or a line feed is quoted and never splits
its row."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: What a formula may start with, in a spreadsheet's reading of a CSV cell.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value: Any) -> Any:
    """`value`, with a leading ``'`` when it is text that starts like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV text without its index, every text cell and header :func:`neutralised`."""
    safe = frame.map(neutralised)
    safe.columns = [neutralised(str(column)) for column in frame.columns]
    return safe.to_csv(index=False, lineterminator="\r\n")
