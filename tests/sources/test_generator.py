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


def test_cli_generate_matches_shipped_lead_set(tmp_path: Path) -> None:
    """The command in a shipped lead instance's first line makes that very file."""
    shipped = ROOT / "instances" / "synthetic" / "leads" / "leads-30-12-24.yaml"
    command = shipped.read_text().splitlines()[0].removeprefix("# allocator ").split()
    out = tmp_path / "leads.yaml"
    result = CliRunner().invoke(main, [*command, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == shipped.read_text()


@pytest.mark.parametrize("seed", range(4))
def test_leads_rotate_among_framework_nations_with_offers_of_their_own(seed: int) -> None:
    doc = generate(30, 12, 24, seed, leads=True)
    instance = allocator.build_instance(doc, "<generated>")
    plain = generate(30, 12, 24, seed)
    led = [t for t in instance.tasks if t.lead is not None]
    others = [t for t in instance.tasks if t.domain != "command"]
    assert {t.id for t in instance.tasks if t.domain == "command"} <= {t.id for t in led}
    assert len(led) - (len(instance.tasks) - len(others)) == max(1, round(0.2 * len(others)))
    for task in led:
        assert task.lead is not None and 2 <= len(task.lead.nations) <= 3
        assert 4 <= task.lead.term <= 12 and task.lead.rotate and task.lead.first in task.lead.nations
        for nation in task.lead.nations:
            own = [o for o in instance.offers if o.nation == nation and o.id.endswith("-framework")]
            assert any(task.id in (o.tasks or ()) for o in own), (task.id, nation)
    assert all(0 <= t.min_nations <= 2 for t in instance.tasks)
    # everything else is the instance without leads: its offers are all there, as they were
    assert {o["id"] for o in plain["offers"]} <= {o.id for o in instance.offers}


@pytest.mark.parametrize(
    "path", sorted((ROOT / "instances" / "synthetic").rglob("*.yaml")), ids=lambda p: p.stem
)
def test_shipped_sets_load(path: Path) -> None:
    assert allocator.load_instance(path).name == yaml.safe_load(path.read_text())["name"]
