"""Re-planning (SPEC v2 section 7): history kept, the two exceptions (a tour cut at from - 1, a
lead changed mid-term after a withdrawal) accepted by the checker only with the baseline,
persistence, `max_changes`, bad baselines, and every backend agreeing."""

from __future__ import annotations

import copy
import os
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import allocator
from allocator.errors import InputError
from allocator.options import Status
from allocator.replanning import replan, withdraw
from tests.helpers.bruteforce import Replan, TooMany, brute_force
from tests.helpers.instances import build
from tests.helpers.strategies import choice_instances

SECONDS = 20.0


def ships(**extra: Any) -> dict[str, Any]:
    """Six months, one ship wanted on `mcm` every month; BE's ship serves tours of 4 or more."""
    doc: dict[str, Any] = {
        "name": "ships",
        "horizon": {"periods": 6},
        "nations": [{"id": "BE"}, {"id": "NL"}, {"id": "FR"}],
        "capabilities": [{"id": "ship", "domain": "maritime"}],
        "offers": [
            {"id": "BE-1", "nation": "BE", "capability": "ship", "units": 1, "min_tour": 4, "cost": 1},
            {"id": "NL-1", "nation": "NL", "capability": "ship", "units": 1, "cost": 2},
            {"id": "FR-1", "nation": "FR", "capability": "ship", "units": 1, "cost": 3},
        ],
        "tasks": [{"id": "mcm", "requirements": [{"capability": "ship", "units": 1}]}],
        "model": {"objectives": ["shortfall", "cost"]},
    }
    doc.update(copy.deepcopy(extra))
    return doc


def baseline(
    tours: list[tuple[str, int, str, int, int]], leads: list[tuple[str, str, int, int]] = ()
) -> dict[str, Any]:  # type: ignore[assignment]
    """A baseline solution document written by hand (the objectives are not read)."""
    return {
        "instance": "ships",
        "status": "feasible",
        "objectives": {},
        "assignments": [{"offer": o, "unit": u, "task": t, "start": s, "end": e} for o, u, t, s, e in tours],
        "leads": [{"task": t, "nation": n, "start": s, "end": e} for t, n, s, e in leads],
        "shortfalls": [],
    }


def without_replan(result: allocator.SolveResult) -> dict[str, Any]:
    """The re-plan's document as if it were a plain solution (its `replan` record dropped)."""
    doc = result.to_json()
    doc.pop("replan")
    doc.pop("changes")
    doc["objectives"].pop("changes")
    return doc


def rules_broken(
    instance: allocator.Instance, doc: dict[str, Any], base: dict[str, Any] | None = None
) -> set[str]:
    return {v.rule for v in allocator.check(instance, doc, baseline=base).violations}


def test_a_tour_running_across_from_is_cut_short_and_only_the_baseline_excuses_it() -> None:
    base = baseline([("BE-1", 1, "mcm", 1, 6)])
    instance = withdraw(build(ships()), "BE", 3).instance
    result = replan(instance, base, 3, time_limit=SECONDS, threads=1)
    assert result.status == Status.OPTIMAL
    tours = {(a.offer, a.unit, a.start, a.end) for a in result.assignments}
    assert ("BE-1", 1, 1, 2) in tours  # history kept, the tour cut at from - 1 (shorter than min_tour 4)
    assert result.objectives["shortfall"] == 0
    assert result.objectives["changes"] == 8  # BE's 4 months gone, 4 months of another ship
    assert result.replan == {
        "baseline": "ships",
        "from": 3,
        "baseline_digest": result.replan["baseline_digest"],
    }
    assert {(c["offer"], tuple(c["periods"]), c["before"], c["after"]) for c in result.changes} >= {
        ("BE-1", (3, 6), 1, 0)
    }
    assert allocator.check(instance, result, baseline=base).ok
    assert "tour-length" in rules_broken(instance, without_replan(result))


def test_history_is_kept_even_where_the_new_data_would_not_allow_it() -> None:
    """NL's ship served months 1-2 in the baseline; the new data say it was never available then."""
    base = baseline([("NL-1", 1, "mcm", 1, 2), ("BE-1", 1, "mcm", 3, 6)])
    doc = ships()
    doc["offers"][1]["available"] = [4, 6]
    instance = build(doc)
    result = replan(instance, base, 3, time_limit=SECONDS, threads=1)
    assert result.objectives["changes"] == 0
    assert {(a.offer, a.start, a.end) for a in result.assignments} == {("NL-1", 1, 2), ("BE-1", 3, 6)}
    assert "placement" in rules_broken(instance, without_replan(result))


def test_a_lead_no_longer_eligible_changes_mid_term_and_only_the_baseline_excuses_it() -> None:
    doc = ships(model={"objectives": ["shortfall", "cost"]})
    doc["tasks"][0]["lead"] = {"nations": ["BE", "NL"], "term": 6}
    base = baseline([("BE-1", 1, "mcm", 1, 6)], [("mcm", "BE", 1, 6)])
    instance = withdraw(build(doc), "BE", 3).instance
    result = replan(instance, base, 3, time_limit=SECONDS, threads=1)
    assert result.status == Status.OPTIMAL
    assert [(r.nation, r.start, r.end) for r in result.leads] == [("BE", 1, 2), ("NL", 3, 6)]
    assert allocator.check(instance, result, baseline=base).ok
    assert "lead-one" in rules_broken(instance, without_replan(result))
    assert any("lead_before" in c and c["lead_after"] == "NL" for c in result.changes)


def test_a_lead_still_eligible_keeps_its_term() -> None:
    doc = ships()
    doc["tasks"][0]["lead"] = {"nations": ["BE", "NL"], "term": 4}
    base = baseline([("BE-1", 1, "mcm", 1, 6)], [("mcm", "BE", 1, 4), ("mcm", "NL", 5, 6)])
    instance = build(doc)
    result = replan(instance, base, 3, time_limit=SECONDS, threads=1)
    leads = [(r.nation, r.start, r.end) for r in result.leads]
    assert leads[0] == ("BE", 1, 4)  # the term that began in history keeps BE to its end


def test_the_checker_catches_a_history_that_differs_from_the_baseline() -> None:
    base = baseline([("BE-1", 1, "mcm", 1, 6)])
    instance = withdraw(build(ships()), "BE", 3).instance
    doc = replan(instance, base, 3, time_limit=SECONDS, threads=1).to_json()
    moved = copy.deepcopy(doc)
    for a in moved["assignments"]:
        if a["offer"] == "BE-1":
            a["start"] = 2
    assert "history" in rules_broken(instance, moved, base)
    other = copy.deepcopy(base)
    other["assignments"][0]["unit"] = 1
    other["assignments"].append({"offer": "FR-1", "unit": 1, "task": "mcm", "start": 1, "end": 1})
    with pytest.raises(InputError, match="not the baseline of this re-plan"):
        allocator.check(instance, doc, baseline=other)
    with pytest.raises(InputError, match="check it with its baseline"):
        allocator.check(instance, doc)


def test_persistence_nothing_changed_nothing_moves() -> None:
    instance = build(ships())
    base = allocator.solve(instance, time_limit=SECONDS, threads=1)
    result = replan(instance, base, 4, time_limit=SECONDS, threads=1)
    assert result.objectives["changes"] == 0 and not result.changes
    assert set(result.assignments) == set(base.assignments)


def test_max_changes_is_a_hard_rule() -> None:
    base = baseline([("BE-1", 1, "mcm", 1, 6)])
    instance = withdraw(build(ships()), "BE", 3).instance
    result = replan(
        instance, base, 3, time_limit=SECONDS, threads=1, objectives=["shortfall", "cost"], max_changes=5
    )
    assert result.objectives["changes"] <= 5
    assert result.objectives["shortfall"] == 3  # 4 changes are forced; one month can be covered


def test_the_free_replan_ignores_persistence_but_keeps_history() -> None:
    base = baseline([("NL-1", 1, "mcm", 1, 6)])  # NL costs 2; BE's ship costs 1
    instance = build(ships())
    kept = replan(instance, base, 3, time_limit=SECONDS, threads=1)
    free = replan(instance, base, 3, time_limit=SECONDS, threads=1, objectives=["shortfall", "cost"])
    assert kept.objectives["changes"] == 0
    assert free.objectives["changes"] > 0 and free.objectives["cost"] < kept.objectives["cost"]
    history = {(a.offer, a.start) for a in free.assignments if a.start < 3}
    assert history == {("NL-1", 1)}


def test_baseline_tours_of_offers_that_are_gone_are_changes() -> None:
    base = baseline([("NL-1", 1, "mcm", 1, 2), ("FR-1", 1, "mcm", 4, 6)])
    doc = ships()
    doc["offers"] = [o for o in doc["offers"] if o["id"] != "FR-1"]
    result = replan(build(doc), base, 3, time_limit=SECONDS, threads=1)
    assert {"offer": "FR-1", "task": "mcm", "periods": [4, 6], "before": 1, "after": 0} in result.changes


@pytest.mark.parametrize(
    ("tours", "leads", "words"),
    [
        ([("XX-1", 1, "mcm", 1, 2)], [], "assignments[0].offer: offer 'XX-1' of the history"),
        ([("BE-1", 1, "gone", 1, 2)], [], "assignments[0].task: task 'gone' of the history"),
        ([("BE-1", 2, "mcm", 1, 2)], [], "assignments[0].unit: unit 2 of the history"),
        ([], [("mcm", "DK", 1, 2)], "leads[0].nation: nation 'DK' of the history"),
    ],
)
def test_a_history_naming_what_is_gone_is_bad_input(tours: Any, leads: Any, words: str) -> None:
    with pytest.raises(InputError) as caught:
        replan(build(ships()), baseline(tours, leads), 3, time_limit=SECONDS, threads=1)
    assert words in str(caught.value)


@pytest.mark.parametrize("start", [1, 7])
def test_from_must_be_a_period_after_the_first(start: int) -> None:
    with pytest.raises(InputError, match=r"not a period of 2\.\.6"):
        replan(build(ships()), baseline([]), start, time_limit=SECONDS, threads=1)


def test_every_backend_agrees_on_a_small_replan(backend: str) -> None:
    doc = ships(model={"objectives": ["shortfall", "surplus", "fairness", "deployments", "cost"]})
    doc["tasks"][0]["lead"] = {"nations": ["BE", "NL", "FR"], "term": 2}
    base = baseline(
        [("BE-1", 1, "mcm", 1, 4), ("NL-1", 1, "mcm", 5, 6)],
        [("mcm", "BE", 1, 2), ("mcm", "NL", 3, 4), ("mcm", "NL", 5, 6)],
    )
    base["leads"][1]["nation"] = "BE"
    instance = withdraw(build(doc), "NL", 4).instance
    result = replan(instance, base, 4, backend=backend, time_limit=SECONDS, threads=1)
    assert result.status == Status.OPTIMAL
    reference = replan(instance, base, 4, backend="cpsat", time_limit=SECONDS, threads=1)
    assert result.objectives == reference.objectives


def test_changes_in_a_plain_solve_is_bad_input() -> None:
    with pytest.raises(InputError, match="needs a baseline plan"):
        allocator.solve(build(ships(model={"objectives": ["shortfall", "changes"]})), time_limit=SECONDS)


@settings(max_examples=int(os.environ.get("REPLAN_EXAMPLES", "25")), deadline=None)
@given(choice_instances(max_periods=4, max_offers=2), st.data())
def test_a_replan_is_the_brute_force_optimum_of_every_plan_that_keeps_history(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    """The baseline is a plan of the instance; then a nation withdraws (or nothing changes) from a
    period on, and the re-plan's levels are the best of every plan the checker accepts with the
    baseline."""
    instance = build(doc)
    base = allocator.solve(instance, backend="cpsat", time_limit=SECONDS, threads=1)
    assume(base.has_plan)
    start = data.draw(st.integers(2, instance.periods), label="from")
    nation = data.draw(
        st.sampled_from([None, *sorted({o.nation for o in instance.offers})]), label="withdrawn"
    )
    changed = instance if nation is None else withdraw(instance, nation, start).instance
    try:
        result = replan(changed, base, start, backend="cpsat", time_limit=SECONDS, threads=1)
    except InputError:
        assume(False)  # (a lead left with no offer to contribute, say)
        raise
    assert result.problem is not None
    try:
        optimum = brute_force(result.problem, 20_000, Replan(base.to_json(), start))
    except TooMany:
        assume(False)
        raise
    event(f"{optimum.valid} plans")
    if optimum.vector is None:
        assert result.status == Status.INFEASIBLE
        return
    assert result.status == Status.OPTIMAL
    assert tuple(lv.value for lv in result.levels) == pytest.approx(optimum.vector, rel=1e-6)


def test_a_replan_starts_from_its_baseline_with_a_new_lead_that_contributes() -> None:
    """BE led and served; withdrawn, NL takes the lead and a tour of NL's ship is added so that it
    contributes: the first plan, which the checker accepts."""
    from allocator.backends.levels import baseline_values
    from allocator.formulation.build import formulate
    from allocator.formulation.history import BaselineTour, PlanHistory
    from allocator.instance.index import Index
    from allocator.solution.plan import LeadTerm

    doc = ships()
    doc["tasks"][0]["lead"] = {"nations": ["BE", "NL"], "term": 6}
    base = baseline([("BE-1", 1, "mcm", 1, 6)], [("mcm", "BE", 1, 6)])
    instance = withdraw(build(doc), "BE", 3).instance
    history = PlanHistory.of(
        Index.of(instance),
        3,
        [BaselineTour(a["offer"], a["unit"], a["task"], a["start"], a["end"]) for a in base["assignments"]],
        [LeadTerm(r["task"], r["nation"], r["start"], r["end"]) for r in base["leads"]],
        document=base,
    )
    f = formulate(instance, history=history)
    for _ in f.rows():
        pass
    counts, leads = history.baseline_plan(f.index, set(f.structure.tours))
    assert [f.index.nations[n].id for n in leads.values()] == ["NL"]
    nl = [t for t in counts if f.index.offers[t.offer].id == "NL-1"]
    assert nl and all(t.start >= 3 for t in nl)
    assert baseline_values(f) is not None  # accepted by the checker


@pytest.mark.parametrize(
    ("levels", "first"),
    [(None, "the baseline"), (["shortfall", "cost"], "greedy from the history")],
)
def test_a_replan_starts_from_its_baseline_only_when_it_asks_for_persistence(
    levels: list[str] | None, first: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The persistent re-plan (default levels) starts from the baseline; a re-plan without
    `changes` from the greedy, which knows nothing of the baseline's plan from `from` on."""
    base = baseline([("BE-1", 1, "mcm", 1, 4), ("NL-1", 1, "mcm", 5, 6)])
    caplog.set_level("INFO", logger="allocator.backends.levels")
    result = replan(build(ships()), base, 5, objectives=levels, time_limit=SECONDS, threads=1)
    assert result.status == Status.OPTIMAL
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("the re-plan starts")]
    assert started == [f"the re-plan starts from {first}"], started


def test_a_baseline_the_new_data_refuse_leaves_the_greedy_as_first_plan(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """NL's ship served twice over from 4 in the baseline; NL now offers one ship: the baseline
    is no plan of the new data, and the re-plan starts from the greedy built on the history."""
    doc = ships()
    doc["tasks"][0]["requirements"][0]["units"] = 2
    base = baseline([("NL-1", 1, "mcm", 1, 2), ("NL-1", 1, "mcm", 4, 6), ("NL-1", 2, "mcm", 4, 6)])
    caplog.set_level("INFO", logger="allocator.backends.levels")
    result = replan(build(doc), base, 3, time_limit=SECONDS, threads=1)
    assert result.status == Status.OPTIMAL
    # (a persistent re-plan: it starts from the greedy only when the baseline is refused)
    assert "the re-plan starts from greedy from the history" in caplog.text
    assert result.first_plan_time is not None


def test_max_changes_holds_even_against_the_baselines_first_plan() -> None:
    """Withdrawing BE from 3 changes 4 unit-periods whatever the plan: at most 2 is infeasible
    (the baseline made a plan of the new data changes 4, and may not be kept)."""
    base = baseline([("BE-1", 1, "mcm", 1, 6)])
    instance = withdraw(build(ships()), "BE", 3).instance
    result = replan(instance, base, 3, time_limit=SECONDS, threads=1, max_changes=2)
    assert result.status == Status.INFEASIBLE


def test_a_bound_no_solver_proved_is_none_not_minus_infinity() -> None:
    from allocator.solution.result import LevelResult

    level = LevelResult("shortfall", Status.FEASIBLE, 3.0, float("-inf"), 1.0)
    assert level.bound is None and level.to_json()["bound"] is None
