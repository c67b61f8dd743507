"""Solve instances and print each lexicographic level as a Markdown table (for BENCHMARKS.md).

    python benchmarks/levels.py instances/examples/*.yaml instances/reassurance.yaml \
        --time-limit 60 --threads 2 [--backend cpsat]
"""

from __future__ import annotations

import argparse
import platform
import time

import allocator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", default="cpsat")
    args = parser.parse_args()
    print(
        f"<!-- {platform.node()} {platform.processor() or platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}, allocator {allocator.__version__} -->"
    )
    print(
        "| instance | status | level | level status | value | bound | level time (s) | "
        "build (s) | total (s) | checked |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for path in args.paths:
        instance = allocator.load_instance(path)
        result = allocator.solve(
            instance, backend=args.backend, time_limit=args.time_limit, threads=args.threads, seed=args.seed
        )
        checked = "yes" if not result.has_plan or allocator.check(instance, result).ok else "NO"
        for i, level in enumerate(result.levels):
            head = f"{instance.name} | {result.status}" if i == 0 else " | "
            tail = f"{result.build_time:.2f} | {result.wall_time:.2f} | {checked}" if i == 0 else " | | "
            value = "-" if level.value is None else f"{level.value:g}"
            bound = "-" if level.bound is None else f"{level.bound:g}"
            print(
                f"| {head} | {level.key} | {level.status} | {value} | {bound} | "
                f"{level.wall_time:.2f} | {tail} |"
            )


if __name__ == "__main__":
    main()
