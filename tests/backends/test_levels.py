"""The one level loop, for every backend: a later level's false infeasibility, no time left,
stopping, and the options object."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import allocator
from allocator.backends import backend_for, levels
from allocator.backends.interface import Level, LevelOutcome
from allocator.backends.levels import _Levels
from allocator.formulation.build import formulate
from allocator.formulation.warm import plan_values
from allocator.instance.index import Index
from allocator.options import SolveOptions, Status, StopToken
from allocator.solution.greedy import first_plan
from allocator.sources.generator import generate
from tests.helpers.instances import EXAMPLES
from tests.helpers.plans import plan_tours


def _backend_class(backend: str) -> type:
    return type(backend_for(allocator.SolveOptions(backend=backend)))


def test_later_level_called_infeasible_keeps_the_plan(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    """A level after the first cannot be infeasible (the plan in hand meets every bound so far):
    such a claim is a solver fault, so the plan stands and the later levels still run."""
    cls = _backend_class(backend)
    real = cls.solve_level
    calls = {"n": 0}

    def second_infeasible(self: Any, level: Level) -> LevelOutcome:
        calls["n"] += 1
        return LevelOutcome(Status.INFEASIBLE) if calls["n"] == 2 else real(self, level)

    monkeypatch.setattr(cls, "solve_level", second_infeasible)
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend=backend, threads=1)
    assert result.status == "feasible" and result.assignments
    assert [lv.status for lv in result.levels] == ["optimal", "feasible", "optimal", "optimal", "optimal"]
    assert result.levels[1].bound == 0.0  # no bound known: the trivial one
    assert "which the plan in hand disproves" in caplog.text


def test_first_level_infeasible_is_the_answer(backend: str) -> None:
    doc = allocator.load_instance(EXAMPLES / "basic.yaml")
    hard = doc.replace(model=doc.model.model_copy(update={"shortfall": "hard"}))
    tasks = list(hard.tasks)
    req = tasks[0].requirements[0].model_copy(update={"units": 10_000})
    tasks[0] = tasks[0].model_copy(update={"requirements": (req,)})
    result = allocator.solve(hard.replace(tasks=tuple(tasks)), backend=backend, threads=1, time_limit=20)
    assert result.status == Status.INFEASIBLE and result.exit_code == 3
    assert [lv.status for lv in result.levels] == ["infeasible"]


def test_no_plan_in_time_is_unknown(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    cls = _backend_class(backend)
    monkeypatch.setattr(cls, "solve_level", lambda self, level: LevelOutcome(Status.UNKNOWN, None, 3.0))
    monkeypatch.setattr(levels, "first_plan", lambda *args: None)
    result = allocator.solve(EXAMPLES / "basic.yaml", backend=backend, threads=1)
    assert result.status == Status.UNKNOWN and not result.assignments
    assert [(lv.status, lv.value) for lv in result.levels] == [("unknown", None)]


def test_a_solver_that_finds_nothing_still_returns_the_first_plan(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """The greedy first plan stands when no level finds anything (one thread, little time)."""
    cls = _backend_class(backend)
    monkeypatch.setattr(cls, "solve_level", lambda self, level: LevelOutcome(Status.UNKNOWN, None, None))
    result = allocator.solve(EXAMPLES / "basic.yaml", backend=backend, threads=1)
    assert result.status == Status.FEASIBLE and result.assignments
    assert all(lv.status == "feasible" and lv.value is not None for lv in result.levels)
    assert result.levels[0].value == result.objectives["shortfall"]


def test_the_first_plan_is_the_warm_start(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    cls = _backend_class(backend)
    real = cls.solve_level
    warm: list[object] = []

    def record(self: Any, level: Level) -> LevelOutcome:
        warm.append(level.warm)
        return real(self, level)

    monkeypatch.setattr(cls, "solve_level", record)
    allocator.solve(EXAMPLES / "basic.yaml", backend=backend, threads=1)
    assert warm and all(values is not None for values in warm)
    warm.clear()
    result = allocator.solve(EXAMPLES / "basic.yaml", backend=backend, threads=1, first_plan=False)
    assert warm[0] is None and all(values is not None for values in warm[1:])
    assert "first_plan_time" not in result.to_json()["solver"]


def test_a_stopped_solve_keeps_its_plan(backend: str) -> None:
    stop = allocator.StopToken()
    seen: list[allocator.Progress] = []

    def progress(event: allocator.Progress) -> None:
        seen.append(event)
        if event.incumbent is not None and event.level_number == 1:
            stop.stop()

    result = allocator.solve(
        EXAMPLES / "lead-rotation.yaml", backend=backend, threads=1, progress=progress, stop=stop
    )
    assert result.interrupted and result.has_plan and seen
    assert len(result.levels) < 4


def test_a_stop_during_model_building_keeps_the_first_plan(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """The first plan comes before the model; a stop asked while the model is built ends the
    building at its next check, and the first plan is the answer (every level at its value)."""
    stop = allocator.StopToken()
    real = levels.formulate
    checks = {"n": 0}

    def formulate(*args: Any, check: Any = None, **kwargs: Any) -> Any:
        def counting() -> None:
            checks["n"] += 1
            stop.stop()  # asked while the model is being built
            check()

        return real(*args, check=counting, **kwargs)

    monkeypatch.setattr(levels, "formulate", formulate)
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend=backend, threads=1, stop=stop)
    assert checks["n"] == 1  # the first check stopped it
    assert result.interrupted and result.status == Status.FEASIBLE and result.assignments
    assert [lv.status for lv in result.levels] == ["feasible"] * len(result.levels)
    assert result.levels[0].value == result.objectives["shortfall"] and result.levels[0].bound == 0
    assert result.first_plan_time is not None and result.first_plan_time <= result.wall_time


def test_model_building_ends_at_the_time_limit(caplog: pytest.LogCaptureFixture, backend: str) -> None:
    """A time limit shorter than the building: the first plan, within the limit's reserve (the
    building is checked every few hundred rows or offer-task pairs)."""
    instance = allocator.build_instance(generate(30, 12, 24, 1), "<generated>")
    with caplog.at_level(logging.INFO):
        result = allocator.solve(instance, backend=backend, threads=1, time_limit=0.01)
    assert "model building stopped" in caplog.text and "(time limit)" in caplog.text
    assert result.status == Status.FEASIBLE and result.assignments
    assert not result.interrupted
    assert result.build_time <= result.wall_time < 5  # (the building alone takes about a second)


def test_the_plan_in_hand_is_handed_over_as_it_improves(backend: str) -> None:
    """`plans` gets the first plan, then the plan after each level but the last (whose plan is
    the result): each a feasible result with a plan, none worse on its levels than the one before."""
    seen: list[allocator.SolveResult] = []
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend=backend, threads=1, plans=seen.append)
    levels = len(result.levels)
    assert len(seen) == levels  # the first plan, then levels 1 .. n-1
    assert all(r.status == Status.FEASIBLE and r.assignments and r.leads for r in seen)
    shortfalls = [r.objectives["shortfall"] for r in [*seen, result]]
    assert shortfalls == sorted(shortfalls, reverse=True)
    assert [len(r.levels) for r in seen] == list(range(levels))


def test_a_failing_plans_callback_does_not_stop_the_solve(caplog: pytest.LogCaptureFixture) -> None:
    def broken(result: allocator.SolveResult) -> None:
        raise RuntimeError("disk full")

    result = allocator.solve(EXAMPLES / "basic.yaml", threads=1, plans=broken)
    assert result.has_plan and "the callback of plans failed" in caplog.text


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown backend 'gurobi'"):
        allocator.SolveOptions(backend="gurobi")
    with pytest.raises(ValueError, match="unknown formulation"):
        allocator.SolveOptions(formulation="columns")
    with pytest.raises(ValueError, match="threads must be at least 1"):
        allocator.SolveOptions(threads=0)
    options = allocator.SolveOptions(time_limit=5)
    assert options.replace(seed=3) == allocator.SolveOptions(time_limit=5, seed=3)
    with pytest.raises(ValueError, match="unknown backend"):
        allocator.solve(EXAMPLES / "basic.yaml", backend="glpk")


def test_status_is_a_string() -> None:
    assert Status.OPTIMAL == "optimal" and f"{Status.INFEASIBLE}" == "infeasible"
    assert Status.FEASIBLE.has_plan and not Status.UNKNOWN.has_plan


def test_a_model_without_variables_is_solved(backend: str) -> None:
    """No demand, no offers: every level is 0 at once (an empty solution is still a solution)."""
    doc = {
        "name": "empty",
        "horizon": {"periods": 2},
        "nations": [{"id": "FR"}],
        "capabilities": [{"id": "fighter", "domain": "air"}],
        "tasks": [{"id": "air", "requirements": [{"capability": "fighter", "units": 0}]}],
    }
    result = allocator.solve(allocator.Instance.model_validate(doc), backend=backend, time_limit=10)
    assert result.status == "optimal" and set(result.objectives.values()) == {0.0}


@pytest.mark.parametrize(
    ("option", "value"),
    [("threads", 1.5), ("seed", "a"), ("time_limit", "ten"), ("threads", True), ("log_search", 1)],
)
def test_options_of_the_wrong_type_are_refused(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{option} must be"):
        allocator.SolveOptions(**{option: value})  # type: ignore[arg-type]


def test_a_level_keeps_the_plan_in_hand_unless_the_new_one_is_better() -> None:
    """A solution no better on the level than the plan in hand is dropped: an equal one may be
    worse on later levels (the trial that found it: one thread, 10 s, reassurance, 128 tours where
    the first plan had 127)."""
    instance = allocator.load_instance(EXAMPLES / "basic.yaml")
    index = Index.of(instance)
    f = formulate(instance)
    list(f.rows())
    greedy = first_plan(index, False)
    assert greedy is not None
    rough = plan_values(f, greedy.counts, greedy.leads)
    fine = plan_values(f, plan_tours(instance, allocator.solve(instance, threads=1)), {})
    fairness = (("fairness", 1.0),)
    run = _Levels(f, backend_for(SolveOptions()), SolveOptions(), 0.0, None, StopToken())
    run.values = rough
    assert run._keep_the_better(fine, fairness) == 0.0 and run.values is fine
    assert run._keep_the_better(rough, fairness) == 0.0 and run.values is fine
    same = list(fine)
    assert run._keep_the_better(same, fairness) == 0.0 and run.values is fine
    assert run._keep_the_better(None, fairness) == 0.0


def test_a_bound_that_reaches_the_value_proves_the_level(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """A solver's bound a hair below a level's value (HiGHS: 249.9999999 for 250) is rounded up
    to the level's units: it reaches the value, so the level is optimal and its bound is the value,
    whatever status the solver gave."""
    cls = _backend_class(backend)
    real = cls.solve_level

    def feasible_with_a_noisy_bound(self: Any, level: Level) -> LevelOutcome:
        outcome = real(self, level)
        if outcome.values is None:
            return outcome
        return LevelOutcome(Status.FEASIBLE, outcome.values, level.value(outcome.values) - 1e-7)

    monkeypatch.setattr(cls, "solve_level", feasible_with_a_noisy_bound)
    result = allocator.solve(EXAMPLES / "lead-rotation.yaml", backend=backend, threads=1)
    assert result.status == "optimal"
    assert all(lv.status == "optimal" and lv.bound == lv.value for lv in result.levels)
