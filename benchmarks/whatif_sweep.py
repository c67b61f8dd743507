"""What-if on reassurance (issue 15): every nation withdrawn from month 7, 20 s a case, on a local
Dask cluster, then the same sweep through a real `dask scheduler` and `dask worker` started here.
Prints the wall time, cases per minute and the ranking's head of each (for BENCHMARKS.md):

    python benchmarks/whatif_sweep.py --time-limit 20 --baseline-seconds 60
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

import allocator

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sweep(
    instance: allocator.Instance,
    baseline: allocator.SolveResult,
    args: argparse.Namespace,
    scheduler: str | None,
) -> None:
    started = time.perf_counter()
    options = {"time_limit": args.time_limit, "threads": 1, "scheduler": scheduler}
    result = allocator.whatif(instance, args.start, baseline=baseline, withdraw_each="nation", **options)
    seconds = time.perf_counter() - started
    frame = result.frame
    where = scheduler or "local cluster"
    print(
        f"\n{where}: {len(frame)} cases in {seconds:.0f} s ({len(frame) / seconds * 60:.1f} cases a minute)"
    )
    verified = int(frame["verified"].eq(True).sum())
    errors = int((frame["status"] == "error").sum())
    print(f"verified: {verified} of {len(frame)}; errors: {errors}")
    columns = [
        "case",
        "status",
        "shortfall_diff",
        "fairness_diff",
        "cost_diff",
        "changes",
        "tasks_losing_coverage",
    ]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for record in frame[columns].head(args.top).to_dict("records"):
        print(
            "| "
            + " | ".join(
                "" if v is None or v != v else f"{v:g}" if isinstance(v, float) else str(v)
                for v in record.values()
            )
            + " |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instance", default=str(ROOT / "instances" / "reassurance.yaml"))
    parser.add_argument("--start", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--baseline-seconds", type=float, default=60.0)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the real cluster")
    args = parser.parse_args()
    instance = allocator.load_instance(args.instance)
    baseline = allocator.solve(instance, time_limit=args.baseline_seconds, threads=2)
    print(f"baseline: {baseline.status}, {baseline.objectives}")
    sweep(instance, baseline, args, None)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [*dask, "worker", address, "--nworkers", str(args.workers), "--nthreads", "1", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from dask.distributed import Client

        time.sleep(2)
        with Client(address, timeout=30) as client:
            client.wait_for_workers(args.workers, timeout=60)
        sweep(instance, baseline, args, address)
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
