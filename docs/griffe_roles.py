"""A Griffe extension for the API page: Sphinx cross-reference roles as inline code.

The package's docstrings use roles such as ``:class:`~allocator.errors.InputError```; mkdocstrings
renders Markdown, where such a role would appear verbatim. This extension rewrites each role into
a code span (``InputError``) when the docs are built. It changes nothing in the package itself.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _code(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRoles(Extension):
    """Turn ``:role:`target``` into ``target`` (``~`` keeps the last component only)."""

    def on_object(self, *, obj: Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ":" in obj.docstring.value:
            obj.docstring.value = ROLE.sub(_code, obj.docstring.value)
