"""Two runs of every shipped instance in the reproducible mode, at the same time (each loading the
other's core), and whether their solution files are the same but for their seconds; a Markdown
table for BENCHMARKS.md:

    python benchmarks/reproducible.py --work 5
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import allocator

ROOT = Path(__file__).resolve().parents[1]
#: What a solution file records in seconds: the only part that may differ between two runs.
SECONDS = ("wall_time", "build_time", "first_plan_time")


def shipped() -> list[Path]:
    instances = ROOT / "instances"
    return [
        *sorted((instances / "examples").glob("*.yaml")),
        instances / "reassurance.yaml",
        *sorted((instances / "synthetic").glob("*/*.yaml")),
    ]


def run(path: str, work: float) -> tuple[str, float, str]:
    """(the solution file's text without its seconds, the wall time, the status)."""
    started = time.perf_counter()
    result = allocator.solve(path, reproducible=True, time_limit=work)
    document = result.to_json()
    for key in SECONDS:
        document["solver"].pop(key, None)
    for level in document["solver"].get("levels", []):
        level.pop("wall_time", None)
    return json.dumps(document, sort_keys=True), time.perf_counter() - started, str(result.status)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=float, default=5.0, help="the limit in deterministic work units")
    args = parser.parse_args()
    print("| instance | status | same file | wall (s), run 1 / run 2 |")
    print("|---|---|---|---|")
    same_all = True
    with ProcessPoolExecutor(2) as pool:
        for path in shipped():
            first, second = pool.map(run, [str(path)] * 2, [args.work] * 2)
            same = first[0] == second[0]
            same_all &= same
            verdict = "yes" if same else "**no**"
            print(f"| {path.stem} | {first[2]} | {verdict} | {first[1]:.1f} / {second[1]:.1f} |")
    print(f"\nevery file the same but for its seconds: {'yes' if same_all else 'NO'}")


if __name__ == "__main__":
    main()
