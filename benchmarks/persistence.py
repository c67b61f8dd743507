"""Persistence of re-plans (issue 15): on generated medium coalitions (30 nations, 12-14 tasks, 24
months), solve a baseline, withdraw from period 9 the nation with the largest burden, then re-plan
twice: with the default levels (shortfall, changes, ...) and without `changes` (history kept,
persistence ignored: the "free" re-plan).  Both re-plans' changes are counted against the
baseline (by the checker).  Prints a row per instance and the two target counts:

    python benchmarks/persistence.py --seeds 301-310 --time-limit 60 --threads 2
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import allocator
from allocator.sources.generator import generate

START = 9


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def heaviest_nation(instance: allocator.Instance, result: allocator.SolveResult) -> str:
    """The nation with the largest burden (unit-periods) in the plan."""
    nation_of = {o.id: o.nation for o in instance.offers}
    burden = Counter({n.id: 0 for n in instance.nations})
    for a in result.assignments:
        burden[nation_of[a.offer]] += a.end - a.start + 1
    return max(sorted(burden), key=lambda n: burden[n])


def changes_level(result: allocator.SolveResult) -> str:
    """The `changes` level's status and bound in a re-plan: 'optimal', or 'feasible (>= B)'."""
    level = next(lv for lv in result.levels if lv.key == "changes")
    return str(level.status) if level.status == "optimal" else f"{level.status} (>= {level.bound:g})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=seeds, default=seeds("301-310"))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    options = {"time_limit": args.time_limit, "threads": args.threads}
    print(
        "| instance | withdrawn | baseline shortfall | shortfall: persistent / free "
        "| changes: persistent / free | ratio | persistent changes level | verified | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    no_worse = smaller = counted = counted_shortfall = 0
    total_kept = total_free = 0.0
    for seed in args.seeds:
        tasks = 12 + seed % 3
        doc = generate(30, tasks, 24, seed)
        instance = allocator.build_instance(doc, doc["name"])
        started = time.perf_counter()
        base = allocator.solve(instance, **options)
        nation = heaviest_nation(instance, base)
        changed = allocator.withdraw(instance, nation, START).instance
        kept = allocator.replan(changed, base, START, **options)
        free = allocator.replan(changed, base, START, objectives=list(instance.spec.objectives), **options)
        verified = all(allocator.check(changed, r, baseline=base).ok for r in (kept, free) if r.has_plan)
        seconds = time.perf_counter() - started
        shortfall = base.objectives["shortfall"]
        if not (kept.has_plan and free.has_plan):
            # the data after the withdrawal admit no plan at all (a lead left to one nation that
            # cannot contribute every period, say): the same for both, no changes to compare
            counted_shortfall += 1
            no_worse += kept.has_plan or not free.has_plan
            print(
                f"| {instance.name} | {nation} | {shortfall:g} | {kept.status} / {free.status} "
                f"| - | - | - | {verified} | {seconds:.0f} |",
                flush=True,
            )
            continue
        (short_kept, changes_kept), (short_free, changes_free) = [
            (r.objectives["shortfall"], r.objectives["changes"]) for r in (kept, free)
        ]
        ratio = changes_kept / changes_free if changes_free else float("nan")
        counted += 1
        counted_shortfall += 1
        no_worse += short_kept <= short_free + 1e-9
        smaller += changes_kept <= changes_free / 3
        total_kept += changes_kept
        total_free += changes_free
        print(
            f"| {instance.name} | {nation} | {shortfall:g} | {short_kept:g} / {short_free:g} "
            f"| {changes_kept:g} / {changes_free:g} | {ratio:.2f} | {changes_level(kept)} | {verified} "
            f"| {seconds:.0f} |",
            flush=True,
        )
    print(
        f"\npersistent shortfall no worse than free: {no_worse} of {counted_shortfall}; "
        f"persistent changes at most a third of free's: {smaller} of {counted}; "
        f"all changes: {total_kept:g} persistent, {total_free:g} free "
        f"({total_kept / max(total_free, 1):.2f})"
    )


if __name__ == "__main__":
    main()
