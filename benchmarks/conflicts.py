"""Conflicts of generated infeasible instances: hard demand on medium (30 nations, 12 tasks, 24
months) and large (60 nations, 40 tasks, 52 weeks) coalitions, demand scaled by --tightness so
that no plan meets it.  Prints, per instance, whether it is infeasible, the conflict's size,
whether it is proven minimal, the seconds it took, and the first relaxation's size; then the
median size and time (for BENCHMARKS.md):

    python benchmarks/conflicts.py --size medium --seeds 201-210 --time-limit 60 --threads 2
    python benchmarks/conflicts.py --size large --seeds 201-203 --time-limit 300 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time

import allocator
from allocator.explanations import explain_infeasible
from allocator.sources.generator import generate

SIZES = {"medium": (30, 12, 24), "large": (60, 40, 52)}


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="medium")
    parser.add_argument("--seeds", type=seeds, default=seeds("201-210"))
    parser.add_argument("--tightness", type=float, default=1.2)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    nations, tasks, periods = SIZES[args.size]
    sizes, times = [], []
    print("| instance | status | conflict | minimal | conflict (s) | all (s) | relaxation | smallest |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        doc = generate(nations, tasks, periods, seed, tightness=args.tightness)
        doc["model"] = {"shortfall": "hard", "objectives": ["shortfall", "cost"]}
        instance = allocator.build_instance(doc, doc["name"])
        solved = allocator.solve(instance, time_limit=args.time_limit / 2, threads=args.threads)
        if solved.has_plan:  # not an infeasible instance: left out of the medians
            print(
                f"| {instance.name} | {solved.status} (a plan exists) | - | - | - | - | - | - |", flush=True
            )
            continue
        started = time.perf_counter()
        why = explain_infeasible(instance, args.time_limit, threads=args.threads)
        seconds = time.perf_counter() - started
        relaxed = len(why.relaxations[0]) if why.relaxations else "-"
        smallest = why.smallest[0] if why.smallest else "-"
        print(
            f"| {instance.name} | {why.status} | {len(why.conflict)} | {why.minimal} "
            f"| {why.conflict_time or 0:.1f} | {seconds:.1f} | {relaxed} | {smallest} |",
            flush=True,
        )
        if why.conflict:
            sizes.append(len(why.conflict))
            times.append(why.conflict_time or seconds)
    if sizes:
        print(
            f"\nmedian conflict size {statistics.median(sizes)}, "
            f"median seconds to the conflict {statistics.median(times):.1f}"
        )


if __name__ == "__main__":
    main()
