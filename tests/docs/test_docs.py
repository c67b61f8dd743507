"""The documentation builds with `mkdocs build --strict` and lists every page it must have."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers.markdown import Block, run_block, scratch_copy, usage_blocks

ROOT = Path(__file__).resolve().parents[2]

#: The pages the code and the README cite by name.
PAGES = (
    "index.md",
    "instance-format.md",
    "rules.md",
    "objectives.md",
    "solution-format.md",
    "exit-codes.md",
    "cli.md",
    "api.md",
    "spreadsheets.md",
    "adding-a-rule.md",
    "explanations.md",
    "replanning.md",
)


def _nav_files(nav: Any) -> list[str]:
    """Every file named in a MkDocs nav, however deeply nested."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [f for item in nav for f in _nav_files(item)]
    if isinstance(nav, dict):
        return [f for value in nav.values() for f in _nav_files(value)]
    return []


def test_the_documentation_builds_without_a_warning(tmp_path: Path) -> None:
    site = tmp_path / "site"
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, f"mkdocs build --strict failed ({run.returncode}):\n{output}"
    assert (site / "index.html").is_file(), output
    for page in PAGES[1:]:
        assert (site / page.removesuffix(".md") / "index.html").is_file(), f"{page} not built\n{output}"


def test_every_page_exists_and_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config.get("strict") is True
    docs = ROOT / config.get("docs_dir", "docs")
    listed = _nav_files(config["nav"])
    for page in PAGES:
        assert (docs / page).is_file(), f"docs/{page} is missing"
        assert page in listed, f"docs/{page} is not in mkdocs.yml's nav"
    for page in listed:
        assert (docs / page).is_file(), f"mkdocs.yml's nav names docs/{page}, which does not exist"


@pytest.mark.slow
def test_the_api_page_runs_as_written(tmp_path: Path) -> None:
    """The Python API page's examples, in order, as one script (later blocks use earlier names)."""
    blocks = [b for b in usage_blocks(ROOT / "docs" / "api.md") if b.language == "python"]
    assert len(blocks) >= 4
    script = Block("python", blocks[0].first_line, "\n".join(b.text for b in blocks))
    run_block(script, scratch_copy(tmp_path), page="docs/api.md")
