"""Hand-written direct GAP models (the reference of issue 4), measured beside the engine.

    python benchmarks/gap_direct.py ../shared/data/gap/orlib/gapd.txt --instances d05100 d10100 d20200 \
        --time-limit 60 --threads 2 --seeds 0 1 2

For each instance and seed: the direct CP-SAT model (x_ij boolean, one agent per job, capacity per
agent, minimise cost) and the direct HiGHS model (the same MILP through highspy), each with the
whole time limit, and the engine (`allocator.solve`, CP-SAT and HiGHS backends) with the same
limit on the imported instance.  Prints one line per run and a table of the best values.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import highspy
import numpy as np
from ortools.sat.python import cp_model

import allocator
from allocator.sources.gap import Gap, instance_names, parse, to_document


def direct_cpsat(gap: Gap, time_limit: float, threads: int, seed: int) -> float:
    model = cp_model.CpModel()
    x = [[model.new_bool_var("") for _ in range(gap.n)] for _ in range(gap.m)]
    for j in range(gap.n):
        model.add_exactly_one(x[i][j] for i in range(gap.m))
    for i in range(gap.m):
        model.add(sum(gap.size[i][j] * x[i][j] for j in range(gap.n)) <= gap.capacity[i])
    model.minimize(sum(gap.cost[i][j] * x[i][j] for i in range(gap.m) for j in range(gap.n)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = threads
    solver.parameters.random_seed = seed
    solver.solve(model)
    return solver.objective_value


def direct_highs(gap: Gap, time_limit: float, threads: int, seed: int) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", time_limit)
    h.setOptionValue("threads", threads)
    h.setOptionValue("random_seed", seed)
    h.setOptionValue("mip_rel_gap", 0.0)
    m, n = gap.m, gap.n
    inf = highspy.kHighsInf
    costs = np.array([gap.cost[i][j] for i in range(m) for j in range(n)], dtype=float)
    h.addVars(m * n, np.zeros(m * n), np.ones(m * n))
    h.changeColsCost(m * n, np.arange(m * n, dtype=np.int32), costs)
    h.changeColsIntegrality(m * n, np.arange(m * n, dtype=np.int32), np.ones(m * n, dtype=np.uint8))
    for j in range(n):
        idx = np.array([i * n + j for i in range(m)], dtype=np.int32)
        h.addRow(1.0, 1.0, m, idx, np.ones(m))
    for i in range(m):
        idx = np.array([i * n + j for j in range(n)], dtype=np.int32)
        h.addRow(-inf, float(gap.capacity[i]), n, idx, np.array(gap.size[i], dtype=float))
    h.run()
    return h.getInfo().objective_function_value


def engine(gap: Gap, name: str, backend: str, time_limit: float, threads: int, seed: int) -> float:
    doc, _offset, _sign = to_document(gap, name, "min")
    instance = allocator.build_instance(doc, name)
    result = allocator.solve(instance, backend=backend, time_limit=time_limit, threads=threads, seed=seed)
    assert allocator.check(instance, result).ok
    return result.objectives["cost"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--instances", nargs="+", required=True)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--runs", nargs="+", default=["direct-cpsat", "direct-highs", "engine-cpsat", "engine-highs"]
    )
    args = parser.parse_args()
    gaps = parse(args.file.read_text(), str(args.file))
    names = instance_names(args.file, gaps)
    best: dict[tuple[str, str], float] = {}
    for gap, name in zip(gaps, names, strict=True):
        if name not in args.instances:
            continue
        for seed in args.seeds:
            for run in args.runs:
                started = time.perf_counter()
                if run == "direct-cpsat":
                    value = direct_cpsat(gap, args.time_limit, args.threads, seed)
                elif run == "direct-highs":
                    value = direct_highs(gap, args.time_limit, args.threads, seed)
                else:
                    value = engine(gap, name, run.split("-")[1], args.time_limit, args.threads, seed)
                print(
                    f"{name}\t{run}\tseed {seed}\t{value:g}\t{time.perf_counter() - started:.1f}s", flush=True
                )
                best[name, run] = min(best.get((name, run), float("inf")), value)
    print("instance\t" + "\t".join(args.runs))
    for name in args.instances:
        print(name + "\t" + "\t".join(f"{best.get((name, r), float('nan')):g}" for r in args.runs))


if __name__ == "__main__":
    main()
