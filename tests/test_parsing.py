"""YAML and JSON within limits: duplicate keys refused with both places, aliases expanded within a
budget, values and nesting counted, only plain data built."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from allocator.errors import InputError
from allocator.files import parse_document
from allocator.parsing import MAX_NODES
from tests.helpers.bounded import CEILING_SECONDS, run_bounded
from tests.helpers.instances import base_instance


def problems(text: str, label: str = "x.yaml", **limits: Any) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as caught:
        parse_document(text, label, **limits)
    assert caught.value.source == label
    return [(p.path, p.message) for p in caught.value.problems]


# duplicate keys ----------------------------------------------------------------------------------
OFFERS_TWICE = """\
name: twice
offers:
  - {id: FR-a, nation: FR, capability: fighter, units: 1}
horizon: {periods: 4}
offers:
  - {id: GB-a, nation: GB, capability: fighter, units: 1}
"""


def test_a_section_given_twice_is_refused_with_both_places() -> None:
    """PyYAML keeps the last `offers` and drops the first without a word; we refuse it."""
    assert yaml.safe_load(OFFERS_TWICE)["offers"][0]["id"] == "GB-a"  # what would be lost
    assert problems(OFFERS_TWICE) == [
        (
            "offers",
            "the key 'offers' is given twice in one mapping: at line 2, column 1 and at line 5, "
            "column 1 (the second would replace the first)",
        )
    ]


def test_a_key_given_twice_inside_an_item_names_its_path() -> None:
    text = "offers:\n  - {id: a}\n  - {id: b}\n  - {id: c}\n  - id: d\n    units: 1\n    units: 2\n"
    ((path, message),) = problems(text)
    assert path == "offers[3].units"
    assert "at line 6, column 5 and at line 7, column 5" in message


def test_every_duplicate_is_reported_at_once() -> None:
    text = "a: 1\nb: {c: 1, c: 2}\na: 2\n"
    assert [path for path, _ in problems(text)] == ["b.c", "a"]


def test_a_json_key_given_twice_is_refused_with_both_places() -> None:
    doc = json.dumps(base_instance(), indent=2)
    text = doc.replace('"name": "tiny",', '"name": "tiny",\n  "offers": [],', 1)
    assert json.loads(text)["offers"]  # what Python's parser keeps: the last one
    ((path, message),) = problems(text, "x.json")
    assert path == "offers"
    assert message.startswith(
        "the key 'offers' is given twice in one mapping: at line 3, column 3 and at line"
    )


def test_a_json_key_given_twice_deep_inside_names_its_path() -> None:
    text = '{"tasks": [{"id": "a"}, {"id": "b", "lead": {"term": 1,\n "term": 2}}]}'
    assert problems(text, "x.json") == [
        (
            "tasks[1].lead.term",
            "the key 'term' is given twice in one mapping: at line 1, column 46 and at line 2, "
            "column 2 (the second would replace the first)",
        )
    ]


def test_a_merge_key_is_not_a_duplicate_and_explicit_keys_win() -> None:
    text = "base: &base {nation: FR, units: 1}\noffer: {<<: *base, units: 3, id: a}\n"
    assert parse_document(text, "x.yaml")["offer"] == {"nation": "FR", "units": 3, "id": "a"}


def test_the_same_key_in_two_mappings_is_fine() -> None:
    assert parse_document("a: {k: 1}\nb: {k: 2}\n", "x.yaml") == {"a": {"k": 1}, "b": {"k": 2}}


# aliases -----------------------------------------------------------------------------------------
def alias_bomb(levels: int = 10, width: int = 9) -> str:
    """`levels` levels of `width` aliases each: a few hundred bytes that stand for width**levels values."""
    lines = ["a0: &a0 [x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    lines.append(f"name: [{', '.join([f'*a{levels - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_once() -> None:
    text = alias_bomb()
    assert len(text) < 600
    started = time.perf_counter()
    ((path, message),) = problems(text)
    assert time.perf_counter() - started < CEILING_SECONDS
    assert message.startswith(
        f"more than {MAX_NODES:,} keys and values (an alias counts as all it stands for)"
    )
    assert path.startswith("a")


def test_an_alias_bomb_is_refused_by_the_command_line_within_the_ceilings(tmp_path: Path) -> None:
    """Before: `validate` walked the aliases as a tree and never ended."""
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    result = run_bounded("validate", str(path))
    assert result.returncode == 2, result.output
    assert "more than 1,000,000 keys and values" in result.output
    assert "Traceback" not in result.output


def test_aliases_used_as_usual_work() -> None:
    doc = base_instance()
    text = yaml.safe_dump(doc).replace("- capability: fighter\n", "- capability: &jet fighter\n", 1)
    text += "extra: [*jet, *jet]\n"
    data = parse_document(text, "x.yaml")
    assert data["extra"] == ["fighter", "fighter"]
    shared = "common: &c {capability: fighter, units: 1}\nlist: [*c, *c, *c]\n"
    assert parse_document(shared, "x.yaml")["list"] == [{"capability": "fighter", "units": 1}] * 3


def test_aliases_count_against_the_limit_and_nesting() -> None:
    text = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n"  # {} + a + [1, 2, 3] + b + [] + 3 x 4 = 20
    assert parse_document(text, "x.yaml", max_nodes=20)
    assert "more than 19 keys and values" in problems(text, max_nodes=19)[0][1]
    deep = "a: &a " + "[" * 20 + "]" * 20 + "\nb: " + "[" * 12 + "*a" + "]" * 12 + "\n"
    assert "nested more than 32 levels deep" in problems(deep)[0][1]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &a [1, *a]\n", "the alias *a refers to a value that contains it"),
        ("a: *nowhere\n", "the alias *nowhere is unknown"),
    ],
)
def test_recursive_and_unknown_aliases_are_refused(text: str, fragment: str) -> None:
    ((_, message),) = problems(text)
    assert message.startswith("invalid YAML at line 1") and fragment in message


# plain data only ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object/apply:os.system ['echo hacked']\n",
        "a: !!binary aGk=\n",
        "a: !!set {x: null}\n",
        "a: !custom 1\n",
        "a: !!omap [{x: 1}]\n",
    ],
)
def test_tags_that_build_anything_but_plain_data_are_refused(text: str) -> None:
    ((_, message),) = problems(text)
    assert "is not allowed (plain data only)" in message


def test_plain_data_reads_as_pyyaml_reads_it() -> None:
    text = (
        "n: 12\nf: 1.5\nx: 0x1F\ne: 1e3\ninf: .inf\nnull: ~\nt: true\nd: 2027-01-15\n"
        "m: 2027-01\ns: '12'\nq: \"a\\tb\"\nlist: [1, [2, {k: v}]]\n"
    )
    assert parse_document(text, "x.yaml") == yaml.safe_load(text)


def test_booleans_are_yaml_1_2s_so_country_codes_stay_text() -> None:
    data = parse_document("[NO, no, on, Y, yes, off, true, False]", "x.yaml")
    assert data == ["NO", "no", "on", "Y", "yes", "off", True, False]


def test_more_than_one_document_is_refused() -> None:
    assert "more than one document" in problems("a: 1\n---\nb: 2\n")[0][1]


@pytest.mark.parametrize(("label", "digits"), [("x.yaml", 5000), ("x.json", 5000)])
def test_a_number_too_long_to_read_is_bad_input(label: str, digits: int) -> None:
    text = '{"a": 1' + "0" * digits + "}" if label.endswith(".json") else "a: 1" + "0" * digits + "\n"
    ((_, message),) = problems(text, label)
    assert "4300 digits" in message


# counts ------------------------------------------------------------------------------------------
def test_values_are_counted_in_yaml_and_json() -> None:
    doc = {"a": [1, 2, {"b": 3}]}  # {} + a + [] + 1 + 2 + {} + b + 3 = 8
    assert parse_document(json.dumps(doc), "x.json", max_nodes=8) == doc
    assert parse_document(yaml.safe_dump(doc), "x.yaml", max_nodes=8) == doc
    for label, text in (("x.json", json.dumps(doc)), ("x.yaml", yaml.safe_dump(doc))):
        assert problems(text, label, max_nodes=7)[0][1].startswith("more than 7 keys and values")


def test_a_long_yaml_list_is_refused_while_it_is_read(tmp_path: Path) -> None:
    """A list of two million numbers (4 MiB) is refused once the count passes the limit."""
    text = "a: [" + "1," * 2_000_000 + "1]\n"
    started = time.perf_counter()
    ((_, message),) = problems(text)
    assert message.startswith("more than 1,000,000 keys and values")
    assert time.perf_counter() - started < CEILING_SECONDS
