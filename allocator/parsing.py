"""YAML and JSON from untrusted hands, parsed within limits, nothing dropped.

A document is refused (an :class:`~allocator.errors.InputError` naming the file, the place and
the limit) when it holds more than :data:`MAX_NODES` keys and values, nests deeper than :data:`MAX_DEPTH`
levels, or gives a key twice in one mapping (both places are named: the second would silently
replace the first).

YAML is read event by event (libyaml's parser when PyYAML has it) and built here, safely: only
plain data (text, numbers, booleans, null, dates, lists and mappings), no tags that build objects.
An alias (``*name``) counts as all the values it stands for, so ten levels of nine aliases (a few
hundred bytes that stand for a billion values) are refused as soon as the count passes the limit,
with bounded time and memory; small anchors reused as usual are fine.  Booleans are YAML 1.2's:
only true and false (also True, TRUE, False, FALSE), so that country codes such as NO, ON or Y
stay text.

JSON is read by Python's parser; a duplicate key is then located (line, column and path) by a
second, simple scan of the text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode

from allocator.errors import InputError, Problem, format_path

#: How deep a document may nest (an instance needs 5 levels): deeper is refused before any use.
MAX_DEPTH = 32
#: Most keys and values (scalars, lists and mappings; an alias counts as all it stands for) in one
#: document: an instance of 1,000 nations, 20,000 offers and 5,000 tasks with their requirements
#: holds well under a million.
MAX_NODES = 1_000_000
TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"


def too_many(limit: int, aliases: bool = True) -> str:
    """The message of a document beyond `limit` keys and values (`aliases`: YAML's)."""
    return f"more than {limit:,} keys and values" + (
        " (an alias counts as all it stands for)" if aliases else ""
    )


_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
#: Tags a scalar may have: plain data only.
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_MAP_TAGS = {None, "!", "tag:yaml.org,2002:map"}
_SEQ_TAGS = {None, "!", "tag:yaml.org,2002:seq"}


class Resolver(yaml.resolver.Resolver):
    """PyYAML's resolver with YAML 1.2 booleans (only true/false) and no ``=`` value key."""


Resolver.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:value")
    ]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


try:  # libyaml's parser when PyYAML was built with it: the same events, ten times faster
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML without libyaml

    class _Parser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


@dataclass
class _Anchored:
    """A value an anchor names: what an alias to it stands for."""

    value: Any
    size: int
    height: int


@dataclass
class _Open:
    """A list or mapping being read."""

    path: tuple[str | int, ...]
    value: Any
    anchor: str | None
    size: int = 1
    height: int = 1
    #: a mapping's key waiting for its value
    key: Any = None
    has_key: bool = False
    first: dict[Any, Any] = field(default_factory=dict)
    merges: list[dict[Any, Any]] = field(default_factory=list)


class _YamlReader:
    """Builds one YAML document from its events, counting values, depth and aliases."""

    def __init__(self, text: str, label: str, max_nodes: int):
        self.label = label
        self.max_nodes = max_nodes
        self.parser = _Parser(text)
        self.resolver = Resolver()
        self.constructor = SafeConstructor()
        self.anchors: dict[str, _Anchored] = {}
        self.open_anchors: set[str] = set()
        self.nodes = 0
        self.stack: list[_Open] = []
        self.problems: list[Problem] = []
        #: plain scalars already read, by their text (immutable values only)
        self.plain: dict[str, Any] = {}

    def fail(self, mark: Any, message: str, path: tuple[str | int, ...] = ()) -> InputError:
        """A document beyond a limit, at `path`."""
        return InputError(self.label, [Problem(format_path(path), f"{message} (at {_where(mark)})")])

    def invalid(self, mark: Any, message: str, path: tuple[str | int, ...] = ()) -> InputError:
        """A document allocator does not read, at `path`."""
        return InputError(
            self.label, [Problem(format_path(path), f"invalid YAML at {_where(mark)}: {message}")]
        )

    def read(self) -> Any:
        """The document (None when empty); InputError for one beyond the limits or with
        duplicate keys, yaml.YAMLError for a syntax error."""
        parser = self.parser
        root: list[Any] = []
        documents = 0
        try:
            while parser.check_event():
                event: Any = parser.get_event()
                kind = type(event)
                if kind is ScalarEvent:
                    value = self._scalar(event)
                    if event.anchor is not None:
                        self.anchors[event.anchor] = _Anchored(value, 1, 0)
                    self.nodes += 1
                    if self.nodes > self.max_nodes:
                        self._count(0, event)
                    done = self._attach(value, 1, 0, event)
                elif kind is MappingStartEvent or kind is SequenceStartEvent:
                    self._open(event, kind is MappingStartEvent)
                    continue
                elif kind is MappingEndEvent or kind is SequenceEndEvent:
                    done = self._close(event)
                elif kind is AliasEvent:
                    done = self._alias(event)
                elif kind is DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        raise self.invalid(event.start_mark, "more than one document in the file")
                    continue
                else:  # the stream's and the document's start and end
                    continue
                if done is not None:
                    root.append(done[0])
        finally:
            parser.dispose()
        if self.problems:
            raise InputError(self.label, self.problems)
        return root[0] if root else None

    def _alias(self, event: Any) -> tuple[Any] | None:
        anchored = self.anchors.get(event.anchor or "")
        if anchored is None:
            why = "refers to a value that contains it" if event.anchor in self.open_anchors else "is unknown"
            raise self.invalid(event.start_mark, f"the alias *{event.anchor} {why}", self._path())
        if len(self.stack) + anchored.height > MAX_DEPTH:
            raise self.fail(event.start_mark, TOO_DEEP)
        self._count(anchored.size, event)
        return self._attach(anchored.value, anchored.size, anchored.height, event)

    def _open(self, event: Any, mapping: bool) -> None:
        """A list or a mapping begins."""
        if event.tag not in (_MAP_TAGS if mapping else _SEQ_TAGS):
            raise self.invalid(
                event.start_mark, f"the tag '{event.tag}' is not allowed (plain data only)", self._path()
            )
        path = self._path()
        if len(self.stack) + 1 > MAX_DEPTH:
            raise self.fail(event.start_mark, TOO_DEEP)
        self._count(1, event)
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Open(path, {} if mapping else [], event.anchor))

    def _close(self, event: Any) -> tuple[Any] | None:
        """A list or a mapping ends: into its parent (or as the root)."""
        frame = self.stack.pop()
        value = frame.value
        if frame.merges:  # explicit keys first, then the merged mappings in order
            merged: dict[Any, Any] = {}
            for source in reversed(frame.merges):
                merged.update(source)
            merged.update(value)
            value = merged
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = _Anchored(value, frame.size, frame.height)
        return self._attach(value, frame.size, frame.height, event)

    def _scalar(self, event: Any) -> Any:
        tag = event.tag
        value = event.value
        plain = tag is None and event.implicit[0]
        if plain and value in self.plain:  # the same plain text reads the same (keys, 1, true, ...)
            return self.plain[value]
        if tag is None or tag == "!":
            tag = self.resolver.resolve(ScalarNode, value, event.implicit)
        if (
            tag == _MERGE
            and self.stack
            and isinstance(self.stack[-1].value, dict)
            and not self.stack[-1].has_key
        ):
            return _MergeKey
        if tag not in _SCALAR_TAGS:
            raise self.invalid(
                event.start_mark, f"the tag '{tag}' is not allowed (plain data only)", self._path()
            )
        if tag == _STR:
            result = value
        else:
            node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
            try:
                result = self.constructor.yaml_constructors[tag](self.constructor, node)
            except (ValueError, yaml.YAMLError) as exc:
                reason = str(exc).split(";")[0]
                raise self.invalid(
                    event.start_mark, f"cannot read '{value[:60]}': {reason}", self._path()
                ) from None
        if plain and len(value) <= 64 and len(self.plain) < 100_000:
            self.plain[value] = result
        return result

    def _count(self, size: int, event: Any) -> None:
        self.nodes += size
        if self.nodes > self.max_nodes:
            raise self.fail(event.start_mark, too_many(self.max_nodes), self._path())

    def _attach(self, value: Any, size: int, height: int, event: Any) -> tuple[Any] | None:
        """A value of `size` keys and values and `height` levels into its parent (or as the root)."""
        if not self.stack:
            return (value,)
        parent = self.stack[-1]
        parent.size += size
        if height >= parent.height:
            parent.height = height + 1
        if isinstance(parent.value, list):
            parent.value.append(value)
            return None
        if not parent.has_key:
            self._key(parent, value, event)
            return None
        key, parent.key, parent.has_key = parent.key, None, False
        if key is _MergeKey:
            parent.merges += self._merged(value, event)
        else:
            parent.value[key] = value
        return None

    def _key(self, parent: _Open, key: Any, event: Any) -> None:
        if isinstance(key, dict | list):
            raise self.invalid(event.start_mark, "a mapping key must be a single value", parent.path)
        if key in parent.first:
            path = format_path((*parent.path, str(key)))
            self.problems.append(
                Problem(
                    path,
                    f"the key '{key}' is given twice in one mapping: at {_where(parent.first[key])} "
                    f"and at {_where(event.start_mark)} (the second would replace the first)",
                )
            )
        else:
            parent.first[key] = event.start_mark
        parent.key, parent.has_key = key, True

    def _merged(self, value: Any, event: Any) -> list[dict[Any, Any]]:
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(source, dict) for source in sources):
            raise self.invalid(event.start_mark, "'<<' merges a mapping or a list of mappings", self._path())
        return sources

    def _path(self) -> tuple[str | int, ...]:
        """The place of the value about to be read."""
        if not self.stack:
            return ()
        parent = self.stack[-1]
        if isinstance(parent.value, list):
            return (*parent.path, len(parent.value))
        return (*parent.path, str(parent.key)) if parent.has_key else parent.path


class _MergeKeyType:
    """The ``<<`` key of a mapping (merge the mapping or mappings it gives)."""

    def __repr__(self) -> str:
        return "<<"


_MergeKey = _MergeKeyType()


def parse_yaml(text: str, label: str, max_nodes: int = MAX_NODES) -> Any:
    """A YAML document as plain data, within the limits (see the module)."""
    try:
        return _YamlReader(text, label, max_nodes).read()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at {_where(mark)}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        if reason.startswith("exceeded maximum nesting depth"):  # libyaml's own limit (1,000)
            raise InputError(label, [Problem("", f"{TOO_DEEP} (at {_where(mark)})")]) from None
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and context_mark:  # where the construct that is not closed begins
            reason += f" ({context} that begins at {_where(context_mark)})"
        raise InputError(label, [Problem("", f"invalid YAML{where}: {reason}")]) from None


# JSON --------------------------------------------------------------------------------------------
def parse_json(text: str, label: str, max_nodes: int = MAX_NODES) -> Any:
    """A JSON document, within the limits (see the module)."""
    duplicated = False

    def mapping(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal duplicated
        value = dict(pairs)
        if len(value) != len(pairs):
            duplicated = True
        return value

    try:
        document = json.loads(text, object_pairs_hook=mapping)
    except json.JSONDecodeError as exc:
        raise InputError(
            label, [Problem("", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]
        ) from None
    except RecursionError:
        raise InputError(label, [Problem("", TOO_DEEP)]) from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise InputError(label, [Problem("", f"invalid JSON: {exc}")]) from None
    check_depth(document, label, max_nodes)
    if duplicated:
        raise InputError(label, json_duplicates(text))
    return document


_JSON_TOKEN = re.compile(r'[\s]*(?:(")|([{}\[\]:,])|([^\s{}\[\]:,"]+))')


def json_duplicates(text: str) -> list[Problem]:
    """Every key given twice in one object of a valid JSON text, with both places and its path."""
    problems = []
    # each open container: [path, keys seen (key -> position) or None for an array, the next
    # key or index, whether a mapping waits for its key]
    stack: list[list[Any]] = []
    position = 0
    while (match := _JSON_TOKEN.match(text, position)) is not None and match.end() > position:
        position = match.end()
        punctuation = match[2]
        top = stack[-1] if stack else None
        if match[1]:
            start = match.start(1)
            value, position = json.decoder.scanstring(text, position)  # type: ignore[attr-defined]
            if top is not None and top[1] is not None and top[3]:
                if value in top[1]:
                    problems.append(
                        Problem(
                            format_path((*top[0], value)),
                            f"the key '{value}' is given twice in one mapping: at "
                            f"{_json_where(text, top[1][value])} and at {_json_where(text, start)} "
                            "(the second would replace the first)",
                        )
                    )
                else:
                    top[1][value] = start
                top[2], top[3] = value, False
        elif punctuation in ("{", "["):
            path = (*top[0], top[2]) if top is not None else ()
            stack.append([path, {} if punctuation == "{" else None, 0, punctuation == "{"])
        elif punctuation in ("}", "]"):
            stack.pop()
        elif punctuation == "," and top is not None:
            if top[1] is None:
                top[2] += 1
            else:
                top[3] = True
    return problems


def _json_where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return f"line {line + 1}, column {column + 1}"


def check_depth(document: Any, label: str, max_nodes: int = MAX_NODES) -> Any:
    """The document, or :class:`InputError` when it nests deeper than :data:`MAX_DEPTH` or holds
    more than `max_nodes` values (for data without aliases, such as parsed JSON)."""
    todo = [(document, 1)]
    nodes = 0
    while todo:
        value, depth = todo.pop()
        nodes += 1
        if nodes > max_nodes:
            raise InputError(label, [Problem("", too_many(max_nodes, aliases=False))])
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise InputError(label, [Problem("", TOO_DEEP)])
            nodes += len(value) if isinstance(value, dict) else 0  # the keys
            todo.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return document
