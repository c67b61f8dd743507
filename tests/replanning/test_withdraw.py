"""A withdrawal said in the data: offers end at from - 1, offers left with no period go, a nation
leaves every lead (and `first`), a lead with no nation left goes; everything else stays."""

from __future__ import annotations

from typing import Any

import pytest

import allocator
from allocator.errors import InputError
from allocator.replanning import withdraw
from tests.helpers.instances import build


def coalition() -> dict[str, Any]:
    return {
        "name": "coalition",
        "horizon": {"periods": 12},
        "nations": [{"id": "FR"}, {"id": "GB"}, {"id": "DE"}],
        "capabilities": [{"id": "staff", "domain": "command"}, {"id": "ship", "domain": "maritime"}],
        "offers": [
            {"id": "FR-staff", "nation": "FR", "capability": "staff", "units": 1},
            {"id": "GB-staff", "nation": "GB", "capability": "staff", "units": 1, "available": [2, 12]},
            {"id": "GB-late", "nation": "GB", "capability": "ship", "units": 1, "available": [8, 12]},
            {"id": "DE-ship", "nation": "DE", "capability": "ship", "units": 2, "available": [1, 5]},
        ],
        "tasks": [
            {
                "id": "hq",
                "requirements": [{"capability": "staff", "units": 1}],
                "lead": {"nations": ["FR", "GB"], "term": 6, "first": "GB"},
            },
            {
                "id": "cell",
                "requirements": [{"capability": "staff", "units": 1}],
                "lead": {"nations": ["GB"], "term": 6},
            },
            {"id": "mcm", "requirements": [{"capability": "ship", "units": 1}]},
        ],
    }


def test_a_nation_withdrawn_ends_its_offers_and_leaves_the_leads() -> None:
    instance = build(coalition())
    done = withdraw(instance, "GB", 7)
    assert done.kind == "nation"
    offers = {o.id: o for o in done.instance.offers}
    assert offers["GB-staff"].available == (2, 6)
    assert "GB-late" not in offers  # available from 8: no period left
    assert offers["FR-staff"] == {o.id: o for o in instance.offers}["FR-staff"]
    tasks = {t.id: t for t in done.instance.tasks}
    hq_lead = tasks["hq"].lead
    assert hq_lead is not None and hq_lead.nations == ("FR",) and hq_lead.first is None
    assert tasks["cell"].lead is None
    assert tasks["mcm"] == {t.id: t for t in instance.tasks}["mcm"]
    notes = " | ".join(done.notes)
    assert (
        "GB-late dropped" in notes and "cell has no lead from 7" in notes and "no longer leads first" in notes
    )
    assert [n.id for n in done.instance.nations] == ["FR", "GB", "DE"]  # the nation stays (its history)


def test_an_offer_withdrawn_ends_that_offer_alone() -> None:
    instance = build(coalition())
    done = withdraw(instance, "DE-ship", 3)
    assert done.kind == "offer"
    offers = {o.id: o for o in done.instance.offers}
    assert offers["DE-ship"].available == (1, 2)
    assert done.instance.tasks == instance.tasks
    assert [o for o in done.instance.offers if o.id != "DE-ship"] == [
        o for o in instance.offers if o.id != "DE-ship"
    ]


def test_withdrawn_from_the_first_period_every_offer_goes() -> None:
    done = withdraw(build(coalition()), "GB", 1)
    assert not [o for o in done.instance.offers if o.nation == "GB"]


@pytest.mark.parametrize(
    ("who", "start", "kind", "words"),
    [
        ("XX", 3, None, "neither a nation nor an offer"),
        ("GB", 13, None, "not a period of 1..12"),
        ("GB", 0, None, "not a period of 1..12"),
        ("GB", 3, "offer", "no offer 'GB'"),
    ],
)
def test_bad_withdrawals_are_bad_input(who: str, start: int, kind: str | None, words: str) -> None:
    with pytest.raises(InputError, match=words):
        withdraw(build(coalition()), who, start, kind=kind)


def test_the_result_is_a_valid_instance_that_round_trips(tmp_path: Any) -> None:
    done = withdraw(build(coalition()), "GB", 7)
    path = tmp_path / "new.yaml"
    allocator.write_instance(done.instance, path)
    assert allocator.load_instance(path) == done.instance
