"""Named models: the YAML files of ``models/``, shipped inside the package.

In an installed wheel they live in ``allocator/models/``; in a source checkout they are read from
the repository's ``models/`` folder.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from allocator.errors import did_you_mean
from allocator.instance.spec import ModelSpec

DEFAULT_MODEL = "coverage-first"


def _models_dir() -> Path:
    packaged = resources.files("allocator") / "models"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "models"


@cache
def available_models() -> dict[str, ModelSpec]:
    """Every named model, by name, in name order."""
    specs: dict[str, ModelSpec] = {}
    for path in sorted(_models_dir().glob("*.yaml")):
        with path.open(encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
        spec = ModelSpec.model_validate(data)
        specs[spec.name or path.stem] = spec
    return specs


def known_model(name: str | None) -> ModelSpec:
    """The named model (the default model for None); ValueError naming the known ones otherwise."""
    models = available_models()
    key = name or DEFAULT_MODEL
    if key not in models:
        raise ValueError(f"unknown model '{key}'{did_you_mean(key, models)} (known: {', '.join(models)})")
    return models[key]
