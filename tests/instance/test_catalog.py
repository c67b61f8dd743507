"""Named models: shipped, valid, and as documented."""

from __future__ import annotations

import pytest

from allocator.instance.catalog import available_models, known_model
from allocator.instance.validation import check_model_spec


def test_required_models_exist() -> None:
    assert {"coverage-first", "min-cost", "fair-share"} <= set(available_models())


@pytest.mark.parametrize("name", sorted(available_models()))
def test_models_are_valid(name: str) -> None:
    assert check_model_spec(available_models()[name], name) == []


def test_default_is_coverage_first() -> None:
    spec = known_model(None)
    assert spec.objectives == ("shortfall", "surplus", "fairness", "deployments", "cost")
    assert spec.shortfall == "soft" and spec.fairness == "units"


def test_min_cost_is_hard() -> None:
    spec = known_model("min-cost")
    assert spec.shortfall == "hard" and spec.objectives == ("cost", "surplus")


def test_an_unknown_model_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        known_model("min-cots")
    assert str(caught.value) == (
        "unknown model 'min-cots'; did you mean 'min-cost'? (known: coverage-first, fair-share, min-cost)"
    )
