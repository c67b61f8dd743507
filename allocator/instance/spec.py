"""The model of an instance: what is hard, what is soft and what is optimised, level by level
(``docs/objectives.md``)."""

from __future__ import annotations

from typing import Literal

from allocator.instance.fields import Frozen, OptionalText

#: Every objective a model may name, in the default order.
OBJECTIVE_NAMES = ("shortfall", "surplus", "fairness", "deployments", "cost")
#: The objective of a re-plan alone (SPEC section 7): changes against the baseline plan.
REPLAN_OBJECTIVE = "changes"

Level = str | dict[str, float]


class ModelSpec(Frozen):
    """What is hard, what is soft, what is optimised (``docs/objectives.md``)."""

    name: OptionalText = None
    description: OptionalText = None
    shortfall: Literal["soft", "hard"] = "soft"
    fairness: Literal["units", "personnel", "cost"] = "units"
    objectives: tuple[Level, ...] = OBJECTIVE_NAMES

    @property
    def levels(self) -> tuple[tuple[tuple[str, float], ...], ...]:
        """Each level as ((objective, weight), ...), in lexicographic order."""
        out: list[tuple[tuple[str, float], ...]] = []
        for level in self.objectives:
            if isinstance(level, str):
                out.append(((level, 1.0),))
            else:
                out.append(tuple(level.items()))
        return tuple(out)

    @property
    def objective_names(self) -> tuple[str, ...]:
        """Every objective the model names, in level order."""
        return tuple(name for level in self.levels for name, _ in level)

    @staticmethod
    def level_key(level: tuple[tuple[str, float], ...]) -> str:
        """The key of a level in `solver.bounds`: its objective names joined with '+'."""
        return "+".join(name for name, _ in level)
