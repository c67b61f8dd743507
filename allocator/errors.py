"""Errors of bad input: each problem names the file, the place inside it and what is wrong."""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, at `path` (``offers[3].nation``)."""

    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}: {self.path}" if self.path else source
        return f"{where}: {self.message}"


def format_path(loc: Sequence[str | int]) -> str:
    """('offers', 3, 'nation') -> 'offers[3].nation'."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class InputError(Exception):
    """Bad input (exit code 2): one or more problems found in one file.

    `source` names the file (``<stdin>``, ``<instance>`` for an instance built in code) and
    `problems` lists every :class:`Problem` found, each with its place and what is wrong.
    """

    def __init__(self, source: str, problems: Iterable[Problem]):
        self.source = source
        self.problems = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """One line per problem: ``FILE: PLACE: what is wrong``."""
        return "\n".join(problem.render(self.source) for problem in self.problems)


class NotAnInstance(InputError):
    """The file is another of allocator's files (a solution, a plan report), not an instance."""


class InputWarning(UserWarning):
    """Something in an input that is allowed but probably not meant (an extra sheet, short supply).

    Issued with :func:`warnings.warn`; the command line prints it as ``warning: FILE: PLACE: ...``.
    """

    def __init__(self, source: str, problem: Problem):
        self.source = source
        self.problem = problem
        super().__init__(problem.render(source))


def warn_input(source: str, path: str, message: str) -> None:
    """Issue an :class:`InputWarning` about `path` in `source`."""
    warnings.warn(InputWarning(source, Problem(path, message)), stacklevel=3)


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """'; did you mean 'FR'?' when `value` is close to one of `known` (case aside), else ''."""
    choices = list(known)
    folded = {c.casefold(): c for c in choices}
    if value.casefold() in folded and folded[value.casefold()] != value:
        return f"; did you mean '{folded[value.casefold()]}'?"
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
