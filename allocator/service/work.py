"""What a Dask worker runs for one job: the solve, explanation or re-plan, then the checker and the
report, all on the worker; the web process only stores what comes back.

The job talks to the service through two of Dask's coordination primitives named after its
channel: a ``Variable`` holding its latest progress, and an ``Event`` the service sets to stop the
search (the best plan found is kept, as with Ctrl-C on the command line).
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from typing import Any

from allocator.options import Progress, SolveOptions, StopToken

log = logging.getLogger(__name__)

#: Seconds between two looks at the stop event and two progress updates.
SIGNAL_SECONDS = 0.5


def progress_name(channel: str) -> str:
    return f"{channel}-progress"


def stop_name(channel: str) -> str:
    return f"{channel}-stop"


class Signals:
    """A job's side of its channel: progress out, stop in, every :data:`SIGNAL_SECONDS`."""

    def __init__(self, channel: str):
        from distributed import Event, Variable, get_client

        client = get_client()
        self.token = StopToken()
        self._progress = Variable(progress_name(channel), client=client)
        self._stop = Event(stop_name(channel), client=client)
        self._latest: dict[str, Any] = {}
        self._sent: dict[str, Any] | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="allocator-job-signals", daemon=True)
        self._thread.start()

    def update(self, event: Progress) -> None:
        """The search's progress callback."""
        self._latest = {
            "level": event.level,
            "level_number": event.level_number,
            "levels": event.levels,
            "incumbent": event.incumbent,
            "bound": event.bound,
            "elapsed": round(event.elapsed, 3),
        }

    def _loop(self) -> None:
        while True:
            try:
                latest = self._latest
                if latest is not self._sent:
                    self._progress.set(latest)
                    self._sent = latest
                if self._stop.is_set():
                    self.token.stop()
            except Exception:  # the service is gone or restarting: the job goes on
                log.debug("job signals unavailable", exc_info=True)
            if self._done.wait(SIGNAL_SECONDS):
                return

    def close(self) -> None:
        self._done.set()
        self._thread.join()


def run_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the job `spec` (see :func:`allocator.service.jobs.job_spec`) and return what it made:
    ``outcome`` (``done``, ``stopped`` or ``failed``), ``reason``, ``result_status``,
    ``verified``, and the texts ``solution``, ``explanation`` and ``report``."""
    signals = Signals(spec["channel"])
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            return _run(spec, signals)
    finally:
        signals.close()


def _run(spec: dict[str, Any], signals: Signals) -> dict[str, Any]:
    from allocator.errors import InputError
    from allocator.instance.formats import build_instance

    options = spec["options"]
    try:
        instance = build_instance(spec["instance"], "instance", model=options.get("model"))
        solve_options = SolveOptions(
            backend=options["backend"],
            time_limit=options["time_limit"],
            threads=options["threads"],
            seed=options["seed"],
        )
        if spec["kind"] == "explain":
            return _explain(instance, spec, solve_options)
        return _plan(instance, spec, solve_options, signals)
    except InputError as exc:  # checked when submitted; the data can't have changed since
        return {"outcome": "failed", "reason": exc.render()}


def _plan(instance: Any, spec: dict[str, Any], options: SolveOptions, signals: Signals) -> dict[str, Any]:
    from allocator.api import solve
    from allocator.checker import check
    from allocator.replanning import replan

    baseline = spec.get("baseline")
    if spec["kind"] == "replan":
        result = replan(
            instance,
            baseline,
            spec["from"],
            options,
            objectives=spec.get("objectives"),
            max_changes=spec.get("max_changes"),
            progress=signals.update,
            stop=signals.token,
        )
    else:
        result = solve(instance, options, progress=signals.update, stop=signals.token)
    document = result.to_json()
    verdict = check(result.problem or instance, document, baseline=baseline)
    out: dict[str, Any] = {
        "outcome": "stopped" if signals.token.stopped else "done",
        "reason": "stopped on request; the best plan found is kept" if signals.token.stopped else None,
        "result_status": str(result.status),
        "verified": verdict.ok if result.has_plan else None,
        "solution": json.dumps(document),
    }
    if result.has_plan:
        if not verdict.ok:
            out["reason"] = "; ".join(str(v) for v in verdict.violations[:10])
        out["report"] = _report(result.problem or instance, document, baseline)
    return out


def _report(instance: Any, document: dict[str, Any], baseline: Any) -> str | None:
    from allocator.report.document import build_report
    from allocator.report.html import render_html

    try:
        return render_html(build_report(instance, document, baseline=baseline))
    except Exception:  # a plan without its report is still a plan
        log.exception("the report of a job could not be made")
        return None


def _explain(instance: Any, spec: dict[str, Any], options: SolveOptions) -> dict[str, Any]:
    from allocator.explanations import explain

    explanation = explain(
        instance,
        spec.get("solution"),
        time_limit=options.time_limit,
        threads=options.threads,
        seed=options.seed,
    )
    return {
        "outcome": "done",
        "result_status": str(explanation.status),
        "explanation": explanation.dumps(),
    }
