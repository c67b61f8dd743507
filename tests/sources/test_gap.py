"""The GAP importer: both file formats, both senses, and published optima reached."""

from __future__ import annotations

from pathlib import Path

import pytest

import allocator
from allocator.errors import InputError
from allocator.sources.gap import default_sense, import_file, parse, read_manifest


def _tiny(sense_line: str = "") -> str:
    # 2 agents, 3 jobs: costs, sizes, capacities
    return sense_line + "2 3\n 1 2 3\n 4 5 6\n 1 1 1\n 1 1 1\n 2 2\n"


def test_yagiura_single_instance() -> None:
    (gap,) = parse(_tiny(), "t")
    assert (gap.m, gap.n, gap.capacity) == (2, 3, [2, 2])
    assert gap.cost == [[1, 2, 3], [4, 5, 6]] and gap.size == [[1, 1, 1], [1, 1, 1]]


def test_orlibrary_multi_instance() -> None:
    gaps = parse("2\n" + _tiny() + _tiny(), "t")
    assert len(gaps) == 2


@pytest.mark.parametrize("text", ["", "x y", "1\n2 3\n1 2", "2 3 1 2 3"])
def test_malformed_files(text: str) -> None:
    with pytest.raises(InputError):
        parse(text, "bad.txt")


def test_senses_and_manifest(tmp_path: Path, backend: str) -> None:
    source = tmp_path / "toy"
    source.write_text(_tiny())
    for sense, published in (("min", 1 + 2 + 6), ("max", 4 + 5 + 3)):
        # min: jobs 1, 2 on agent 1 (cost 1 + 2), job 3 on agent 2 (6); max: 4 + 5 on agent 2, 3 on agent 1
        folder = tmp_path / sense
        (path,) = import_file(source, folder, sense)
        result = allocator.solve(path, backend=backend, threads=1)
        row = next(read_manifest(folder))
        assert result.status == "optimal"
        assert float(row["offset"]) + float(row["sign"]) * result.objectives["cost"] == published


def test_default_sense() -> None:
    assert default_sense(Path("gap12.txt")) == "max" and default_sense(Path("gapd.txt")) == "min"
    assert default_sense(Path("d05100")) == "min"


def test_names_follow_orlibrary(tmp_path: Path, needs_gap_data: Path) -> None:
    assert [p.stem for p in import_file(needs_gap_data / "orlib" / "gap1.txt", tmp_path)] == [
        f"c515-{k}" for k in range(1, 6)
    ]
    assert [p.stem for p in import_file(needs_gap_data / "orlib" / "gapd.txt", tmp_path)][2] == "d10100"


@pytest.mark.parametrize(("sense", "published"), [("max", 336), ("min", 261)])
def test_gap1_first_instance_reaches_published_optimum(
    tmp_path: Path, backend: str, sense: str, published: int, needs_gap_data: Path
) -> None:
    paths = import_file(needs_gap_data / "orlib" / "gap1.txt", tmp_path, sense)
    result = allocator.solve(paths[0], backend=backend, threads=1, time_limit=20)
    row = next(r for r in read_manifest(tmp_path) if r["file"] == paths[0].name)
    assert result.status == "optimal"
    assert float(row["offset"]) + float(row["sign"]) * result.objectives["cost"] == published
