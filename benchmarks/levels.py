"""Solve instances on one or more backends and print each lexicographic level as Markdown tables
(for BENCHMARKS.md).  Every plan is verified by the checker.

    python benchmarks/levels.py instances/examples/*.yaml instances/reassurance.yaml \
        --time-limit 60 --threads 2 --backend cpsat --backend cbc --backend highs
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import allocator


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", action="append", choices=allocator.BACKENDS)
    args = parser.parse_args()
    backends = args.backend or ["cpsat"]
    print(
        f"<!-- {platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, "
        f"allocator {allocator.__version__}, time limit {args.time_limit:g} s, threads {args.threads}, "
        f"seed {args.seed} -->"
    )
    header = (
        "| instance | level | " + " | ".join(f"{b}: status, value, bound, time (s)" for b in backends) + " |"
    )
    print(header)
    print("|---|---|" + "---|" * len(backends))
    totals = []
    for path in args.paths:
        instance = allocator.load_instance(path)
        results = {}
        for backend in backends:
            result = allocator.solve(
                instance, backend=backend, time_limit=args.time_limit, threads=args.threads, seed=args.seed
            )
            if result.has_plan:
                report = allocator.check(instance, result)
                if not report.ok:
                    raise SystemExit(f"{path} ({backend}): the checker rejects the plan:\n{report}")
            results[backend] = result
        keys = [key for key in dict.fromkeys(lv.key for r in results.values() for lv in r.levels)]
        for i, key in enumerate(keys):
            cells = []
            for backend in backends:
                level = next((lv for lv in results[backend].levels if lv.key == key), None)
                if level is None:
                    cells.append("not reached")
                else:
                    cells.append(
                        f"{level.status}, {_fmt(level.value)}, {_fmt(level.bound)}, {level.wall_time:.2f}"
                    )
            name = instance.name if i == 0 else ""
            print(f"| {name} | {key} | " + " | ".join(cells) + " |")
        totals.append((instance.name, results))
    print()
    print("| instance | " + " | ".join(f"{b}: status, build (s), total (s)" for b in backends) + " |")
    print("|---|" + "---|" * len(backends))
    for name, results in totals:
        cells = [f"{r.status}, {r.build_time:.2f}, {r.wall_time:.2f}" for r in results.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
