"""Generalised assignment problems (OR-Library and Yagiura files) as allocator instances.

The mapping of the domain brief: one period; a nation per agent with ``max_personnel`` = its
capacity; a capability and a task per job, the task needing one unit of it; per agent and job an
offer of one unit of that job's capability with ``personnel`` = the job's size on that agent and
``cost`` = its cost; demand hard; objective cost.  For maximisation, cost = K - profit with K the
largest profit, and the published optimum is n K - the engine's cost.

Every instance written records ``published = offset + sign x cost`` in ``manifest.tsv`` beside it
(the instance format has no place for it), which ``allocator bench`` reads.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from allocator.errors import InputError, Problem
from allocator.files import write_atomic

MANIFEST = "manifest.tsv"
MANIFEST_FIELDS = ["file", "instance", "sense", "offset", "sign", "source", "index_in_file"]


@dataclass(frozen=True)
class Gap:
    """One GAP instance: m agents, n jobs, cost[i][j], size[i][j], capacity[i]."""

    m: int
    n: int
    cost: list[list[int]]
    size: list[list[int]]
    capacity: list[int]


def _instance_at(ints: list[int], at: int, label: str) -> tuple[Gap, int]:
    if at + 2 > len(ints):
        raise InputError(label, [Problem("", "file ends before an instance's 'm n'")])
    m, n = ints[at], ints[at + 1]
    if m <= 0 or n <= 0:
        raise InputError(label, [Problem("", f"agents and jobs must be positive, got m={m}, n={n}")])
    end = at + 2 + 2 * m * n + m
    if end > len(ints):
        raise InputError(label, [Problem("", f"file ends inside an instance of {m} agents x {n} jobs")])
    body = ints[at + 2 : end]
    cost = [body[i * n : (i + 1) * n] for i in range(m)]
    size = [body[m * n + i * n : m * n + (i + 1) * n] for i in range(m)]
    return Gap(m, n, cost, size, body[2 * m * n :]), end


def parse(text: str, label: str) -> list[Gap]:
    """Every instance of an OR-Library multi-instance file (leading P) or a Yagiura file."""
    try:
        ints = [int(token) for token in text.split()]
    except ValueError as exc:
        raise InputError(label, [Problem("", f"not a file of integers ({exc})")]) from None
    if len(ints) >= 2:  # Yagiura: exactly one instance, no leading count
        m, n = ints[0], ints[1]
        if m > 0 and n > 0 and len(ints) == 2 + 2 * m * n + m:
            return [_instance_at(ints, 0, label)[0]]
    if not ints or ints[0] <= 0:
        raise InputError(label, [Problem("", "neither an OR-Library nor a Yagiura GAP file")])
    out, at = [], 1
    for _ in range(ints[0]):
        gap, at = _instance_at(ints, at, label)
        out.append(gap)
    if at != len(ints):
        raise InputError(label, [Problem("", f"{len(ints) - at} integers left after {ints[0]} instances")])
    return out


def default_sense(path: Path) -> str:
    """gap1..gap12 are published as maximisation problems; every other family as minimisation."""
    return "max" if re.fullmatch(r"gap([1-9]|1[0-2])", path.stem) else "min"


def instance_names(path: Path, gaps: list[Gap]) -> list[str]:
    """OR-Library's names: c515-1 for gap1..12, d10100 for gapa..d; Yagiura's file names."""
    stem = path.stem
    if re.fullmatch(r"gap\d+", stem):
        return [f"c{g.m}{g.n}-{k}" for k, g in enumerate(gaps, start=1)]
    family = re.fullmatch(r"gap([a-e])", stem)
    if family:
        return [f"{family.group(1)}{g.m:02d}{g.n}" for g in gaps]
    if len(gaps) == 1:
        return [stem]
    return [f"{stem}-{k}" for k in range(1, len(gaps) + 1)]


def to_document(gap: Gap, name: str, sense: str) -> tuple[dict[str, Any], int, int]:
    """The allocator instance of a GAP instance, with (offset, sign): published = offset + sign x cost."""
    if sense not in ("min", "max"):
        raise ValueError(f"sense must be min or max, got {sense!r}")
    top = max(max(row) for row in gap.cost)
    costs = gap.cost if sense == "min" else [[top - c for c in row] for row in gap.cost]
    offset, sign = (0, 1) if sense == "min" else (gap.n * top, -1)
    agents = [f"A{i + 1}" for i in range(gap.m)]
    jobs = [f"J{j + 1}" for j in range(gap.n)]
    doc = {
        "name": name,
        "horizon": {"periods": 1, "unit": "assignment"},
        "nations": [{"id": a, "max_personnel": gap.capacity[i]} for i, a in enumerate(agents)],
        "capabilities": [{"id": j, "domain": "job"} for j in jobs],
        "offers": [
            {
                "id": f"{a}-{jobs[j]}",
                "nation": a,
                "capability": jobs[j],
                "units": 1,
                "personnel": gap.size[i][j],
                "cost": costs[i][j],
            }
            for i, a in enumerate(agents)
            for j in range(gap.n)
        ],
        "tasks": [{"id": j, "requirements": [{"capability": j, "units": 1}]} for j in jobs],
        "model": "min-cost",
    }
    return doc, offset, sign


def import_file(path: str | Path, out_dir: str | Path, sense: str | None = None) -> list[Path]:
    """Write every instance of a GAP file as YAML into `out_dir` and record it in its manifest."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), [Problem("", exc.strerror or str(exc))]) from None
    gaps = parse(text, str(path))
    sense = sense or default_sense(source)
    folder = Path(out_dir)
    written, rows = [], []
    for k, (gap, name) in enumerate(zip(gaps, instance_names(source, gaps), strict=True), start=1):
        doc, offset, sign = to_document(gap, name, sense)
        target = folder / f"{name}.yaml"
        header = (
            f"# {source.name} instance {k} ({gap.m} agents x {gap.n} jobs), {sense}imisation;\n"
            f"# published objective = {offset} + ({sign}) x cost\n"
        )
        write_atomic(
            target, header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=120)
        )
        written.append(target)
        rows.append(
            {
                "file": target.name,
                "instance": name,
                "sense": sense,
                "offset": offset,
                "sign": sign,
                "source": source.name,
                "index_in_file": k,
            }
        )
    _update_manifest(folder / MANIFEST, rows)
    return written


def _update_manifest(path: Path, rows: list[dict[str, Any]]) -> None:
    existing = {row["file"]: row for row in read_manifest(path.parent)}
    existing.update({row["file"]: row for row in rows})
    lines = ["\t".join(MANIFEST_FIELDS)]
    lines += ["\t".join(str(row[f]) for f in MANIFEST_FIELDS) for _, row in sorted(existing.items())]
    write_atomic(path, "\n".join(lines) + "\n")


def read_manifest(folder: Path) -> Iterator[dict[str, Any]]:
    """Rows of a folder's manifest.tsv (none if there is no manifest)."""
    path = folder / MANIFEST
    if not path.exists():
        return iter(())
    with path.open(encoding="utf-8") as stream:
        return iter(list(csv.DictReader(stream, delimiter="\t")))
