"""The generator: valid, deterministic, plausible instances; every generated plan passes the checker."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import allocator
from allocator.cli import main
from allocator.sources.generator import generate
from tests.helpers.instances import ROOT


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(("nations", "tasks", "periods"), [(2, 1, 2), (8, 5, 12), (30, 12, 24), (60, 40, 52)])
def test_generated_instances_are_valid(nations: int, tasks: int, periods: int, seed: int) -> None:
    instance = allocator.build_instance(generate(nations, tasks, periods, seed), "<generated>")
    assert len(instance.nations) == nations and len(instance.tasks) == tasks and instance.periods == periods
    if nations >= 8:  # a few large nations, many small
        shares = sorted((n.share for n in instance.nations), reverse=True)
        assert shares[0] > 4 * shares[-1] and shares[len(shares) // 2] < shares[0] / 3


def test_same_arguments_same_instance() -> None:
    assert generate(8, 5, 12, 7) == generate(8, 5, 12, 7)
    assert generate(8, 5, 12, 7) != generate(8, 5, 12, 8)


def test_tightness_scales_demand() -> None:
    def demand(doc: dict) -> int:  # type: ignore[type-arg]
        return sum(r["units"] for t in doc["tasks"] for r in t["requirements"])

    assert demand(generate(30, 12, 24, 1, tightness=2.0)) > demand(generate(30, 12, 24, 1))


def test_small_generated_instance_solves(backend: str) -> None:
    instance = allocator.build_instance(generate(6, 3, 8, 11), "<generated>")
    result = allocator.solve(instance, backend=backend, threads=1, time_limit=20)
    assert result.has_plan


def test_cli_generate_matches_shipped_set(tmp_path: Path) -> None:
    out = tmp_path / "small-1.yaml"
    result = CliRunner().invoke(
        main, ["generate", "--nations", "8", "--tasks", "5", "--periods", "12", "--seed", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    shipped = ROOT / "instances" / "synthetic" / "small" / "small-1.yaml"
    assert out.read_text() == shipped.read_text()


@pytest.mark.parametrize(
    "path", sorted((ROOT / "instances" / "synthetic").rglob("*.yaml")), ids=lambda p: p.stem
)
def test_shipped_sets_load(path: Path) -> None:
    assert allocator.load_instance(path).name == yaml.safe_load(path.read_text())["name"]
