"""The service under a burst of jobs (issue 16): N small generated instances submitted at once
to a real `allocator serve` on a local cluster; every job's end verified with the checker here;
status polls timed while the workers are busy; the web process's memory sampled.

    python benchmarks/service_load.py --jobs 50 --time-limit 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import allocator
from allocator.sources.generator import generate
from tests.helpers.service import Server, burst


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--size", default="6,3,8", help="nations,tasks,periods of each instance")
    parser.add_argument("--job-threads", default="1", help="the service's --job-threads")
    args = parser.parse_args()
    nations, tasks, periods = (int(v) for v in args.size.split(","))
    instances = [generate(nations, tasks, periods, seed=k, name=f"load-{k}") for k in range(args.jobs)]
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder) / "data", "--job-threads", args.job_threads).start()
        try:
            load = burst(server, instances, {"time_limit": args.time_limit, "seed": 0})
            with server.client() as client:
                solutions = [client.get(f"/v1/solves/{j}/solution").json() for j in load.jobs]
                started = time.perf_counter()
                client.get("/v1/solves")
                listed = time.perf_counter() - started
        finally:
            server.stop()
    by_name = {doc["name"]: allocator.build_instance(doc, doc["name"]) for doc in instances}
    verified = sum(allocator.check(by_name[s["instance"]], s).ok for s in solutions)
    ends = [j["status"] for j in load.jobs.values()]
    polls = sorted(load.polls)
    print(f"jobs {args.jobs} ({args.size} nations,tasks,periods; time limit {args.time_limit:g} s)")
    print(f"ended {len(ends)}: done {ends.count('done')}, verified by the checker {verified}")
    print(f"submitting all took {load.submit_seconds:.2f} s; all ended after {load.wall:.1f} s")
    print(f"jobs per minute {60 * len(ends) / load.wall:.1f}")
    print(
        f"status polls {len(polls)}: median {1000 * statistics.median(polls):.1f} ms, "
        f"p99 {1000 * polls[int(0.99 * (len(polls) - 1))]:.1f} ms, max {1000 * polls[-1]:.1f} ms"
    )
    print(f"job list (100 jobs) {1000 * listed:.1f} ms")
    memory = load.memory
    print(f"web process RSS MiB: start {memory[0]:.0f}, peak {max(memory):.0f}, end {memory[-1]:.0f}")


if __name__ == "__main__":
    main()
