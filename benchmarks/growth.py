"""How the model grows with the coalition: generate instances of 15, 30, 60 and 120 nations (6, 12,
24, 48 tasks; 12, 24, 52, 104 periods), write them to a folder and print each model's size and
build time as a Markdown table (for BENCHMARKS.md).  Solve them with ``allocator bench``:

    python benchmarks/growth.py --out /tmp/growth
    allocator bench /tmp/growth --time-limit 60 --threads 2 --out /tmp/growth.csv

With ``--leads`` the instances have rotating leads on every headquarters and a fifth of the other
tasks (``allocator generate --leads``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import allocator
from allocator.formulation.build import formulate
from allocator.sources.generator import generate

SIZES = ((15, 6, 12), (30, 12, 24), (60, 24, 52), (120, 48, 104))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for the generated instances")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--leads", action="store_true", help="rotating leads (allocator generate --leads)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print("| nations, tasks, periods | formulation | columns | variables | rows | build (s) |")
    print("|---|---|---|---|---|---|")
    for nations, tasks, periods in SIZES:
        doc = generate(nations, tasks, periods, args.seed, leads=args.leads)
        path = args.out / f"{doc['name']}.json"
        instance = allocator.build_instance(doc, str(path))
        allocator.write_instance(instance, path)
        started = time.perf_counter()
        formulation = formulate(instance)
        rows = sum(1 for _ in formulation.rows())
        built = time.perf_counter() - started
        model = formulation.model
        print(
            f"| {nations}, {tasks}, {periods} | {model.formulation} | {model.columns:,} | "
            f"{len(model.variables):,} | {rows:,} | {built:.2f} |"
        )


if __name__ == "__main__":
    main()
