"""The job's side of the service (allocator.service.work) without a cluster: what a stopped job says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from allocator.instance import load_instance
from allocator.options import SolveOptions, StopToken
from allocator.service.work import _plan

INSTANCES = Path(__file__).resolve().parents[2] / "instances"


class StoppedSignals:
    """A job's signals whose stop came before its solve began."""

    def __init__(self) -> None:
        self.token = StopToken()
        self.token.stop()

    def update(self, *_: Any, **__: Any) -> None:
        pass

    def plan(self, *_: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("example", "kept"),
    [("examples/basic.yaml", True), ("examples/hard-demand.yaml", False)],
)
def test_a_stopped_job_says_whether_it_kept_a_plan(example: str, kept: bool, tmp_path: Path) -> None:
    """A stop before the search keeps the greedy first plan; with hard demand more than the offers
    hold, the greedy's plan is no plan and a stop before the search leaves none: the reason must not
    claim one was kept (it said 'the best plan found is kept' of a solution without a plan)."""
    text = (INSTANCES / example).read_text()
    if not kept:  # 7 units wanted, 6 offered: the greedy leaves a gap
        text = text.replace("patrol-aircraft, units: 3}", "patrol-aircraft, units: 7}")
        assert "units: 7" in text
    (tmp_path / "instance.yaml").write_text(text)
    instance = load_instance(tmp_path / "instance.yaml")
    out = _plan(instance, {"kind": "solve"}, SolveOptions(time_limit=5, threads=1), StoppedSignals())
    assert out["outcome"] == "stopped"
    assert (out["verified"] is not None) == kept, out
    if kept:
        assert out["reason"] == "stopped on request; the best plan found is kept" and out["verified"]
    else:
        assert "before any plan was found" in out["reason"] and out["result_status"] == "unknown", out
