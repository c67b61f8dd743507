"""What a Dask worker runs for one job: the solve, explanation or re-plan, then the checker; the web
process only stores what comes back.  A plan's report is drawn when first asked for, in the
service's report process (:func:`render_report`).

The job talks to the service through Dask: its progress as events of the service's topic
(``Worker.log_event``, pushed to the service's subscription), each improving plan as the value of
a ``Variable`` named after the job (the service keeps it, so that a crash loses no plan), and an
``Event`` named after the job that the service sets to stop the search (the best plan found is
kept, as with Ctrl-C).  The stop reaches the job whatever it is doing: reading its instance,
building its model, searching or checking.
"""

from __future__ import annotations

import inspect
import json
import logging
import signal
import threading
import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from allocator.options import Progress, SolveOptions, StopToken

if TYPE_CHECKING:
    from allocator.solution.result import SolveResult

log = logging.getLogger(__name__)

#: Seconds between two looks at the stop event and two progress updates.
SIGNAL_SECONDS = 0.5
#: Seconds at least between two plans sent to the service (a plan is written out whole).
PLAN_SECONDS = 2.0
#: The name of the keyword argument by which the engine's solve and re-plan hand each new plan in
#: hand (a SolveResult) to a callback; the service keeps them where the engine offers it.
PLANS_KEYWORD = "plans"


class IgnoreInterrupt(WorkerPlugin):
    """A Dask worker plugin for the service's local cluster: its worker processes share the
    service's process group, so a terminal's Ctrl-C would kill them mid-job; they ignore it, and
    the service, which gets it too, stops their jobs and keeps the best plans."""

    def setup(self, worker: Any) -> None:
        ignore_interrupt()


def ignore_interrupt() -> None:
    """Ignore SIGINT in this process (a worker or report process of the service)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the process's main thread: nothing to do from here
        log.warning("a worker could not ignore Ctrl-C: a terminal's Ctrl-C stops its job")


def stop_name(channel: str) -> str:
    """The name of the Dask ``Event`` that stops the job of `channel`."""
    return f"{channel}-stop"


def plan_name(channel: str) -> str:
    """The name of the Dask ``Variable`` that holds the latest plan of the job of `channel`."""
    return f"{channel}-plan"


def plan_keywords(function: Callable[..., Any], plans: Callable[[SolveResult], None]) -> dict[str, Any]:
    """``{"plans": plans}`` where the engine's `function` (solve, replan) takes a callback of the
    plans it finds, else nothing (the job's plan then reaches the service at its end only)."""
    return {PLANS_KEYWORD: plans} if PLANS_KEYWORD in inspect.signature(function).parameters else {}


class Signals:
    """A job's side of its channel: progress out (an event of the service's topic), the latest
    plan out (the job's ``Variable``, at most every :data:`PLAN_SECONDS`), stop in (the job's
    Dask ``Event``), every :data:`SIGNAL_SECONDS`."""

    def __init__(self, job_id: str, topic: str, channel: str):
        from distributed import Event, Variable, get_client, get_worker

        self.token = StopToken()
        self._job_id = job_id
        self._topic = topic
        self._worker = get_worker()
        self._stop = Event(stop_name(channel), client=get_client())
        self._plan = Variable(plan_name(channel), client=get_client())
        self._latest: dict[str, Any] = {}
        self._sent: dict[str, Any] | None = None
        self._result: SolveResult | None = None
        self._plans = 0
        self._plan_sent = 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="allocator-job-signals", daemon=True)
        self._thread.start()

    def plan(self, result: SolveResult) -> None:
        """The search's callback of a new plan in hand (kept here; sent by the signals' thread)."""
        if result.has_plan:
            self._result = result

    @property
    def latest(self) -> dict[str, Any]:
        """The last progress the search reported."""
        return self._latest

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
                if self._stop.is_set():
                    self.token.stop()
                self._send_plan()
                latest = self._latest
                if latest is not self._sent:  # the first round says the job runs
                    message = {"job": self._job_id, "progress": latest, "plan": self._plans}
                    self._worker.log_event(self._topic, message)
                    self._sent = latest
            except Exception:  # the service is gone or restarting: the job goes on
                log.debug("job signals unavailable", exc_info=True)
            if self._done.wait(SIGNAL_SECONDS):
                return

    def _send_plan(self) -> None:
        """The latest plan, as a solution's JSON text, into the job's Variable; the progress
        event that follows carries its number, at which the service fetches it."""
        result = self._result
        if result is None or time.monotonic() - self._plan_sent < PLAN_SECONDS:
            return
        self._result = None
        self._plan.set(json.dumps(result.to_json()))
        self._plans += 1
        self._plan_sent = time.monotonic()
        self._latest = dict(self._latest)  # a new progress message, with the plan's number

    def close(self) -> None:
        self._done.set()
        self._thread.join()


STOPPED_EARLY = "stopped on request before the search began; no plan was made"


def run_job(request: str, job_id: str, topic: str, channel: str) -> dict[str, Any]:
    """Run the job `job_id` (its `request`, JSON text as stored; `topic` and `channel` name its
    Dask signals) and return what it made: ``outcome`` (``done``, ``stopped`` or ``failed``),
    ``reason``, ``result_status``, ``verified``, the texts ``solution`` or ``explanation``, when
    it ``started`` and its last ``progress``."""
    started = time.time()
    signals = Signals(job_id, topic, channel)
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            out = _run(json.loads(request), signals)
    finally:
        signals.close()
    return {**out, "started": started, "progress": signals.latest or None}


def _run(spec: dict[str, Any], signals: Signals) -> dict[str, Any]:
    from allocator.errors import InputError
    from allocator.instance.formats import build_instance

    options = spec["options"]
    try:
        instance = build_instance(spec["instance"], "instance", model=options.get("model"))
        if signals.token.stopped and spec["kind"] != "explain":  # stopped while reading its instance
            return {"outcome": "stopped", "reason": STOPPED_EARLY}
        solve_options = SolveOptions(
            backend=options["backend"],
            time_limit=options["time_limit"],
            threads=options["threads"],
            seed=options["seed"],
        )
        if spec["kind"] == "explain":
            return _explain(instance, spec, solve_options, signals)
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
            **plan_keywords(replan, signals.plan),
        )
    else:
        plans = plan_keywords(solve, signals.plan)
        result = solve(instance, options, progress=signals.update, stop=signals.token, **plans)
    document = result.to_json()
    verdict = check(result.problem or instance, document, baseline=baseline)
    out: dict[str, Any] = {
        "outcome": "stopped" if signals.token.stopped else "done",
        "reason": _stopped_reason(result.has_plan) if signals.token.stopped else None,
        "result_status": str(result.status),
        "verified": verdict.ok if result.has_plan else None,
        "solution": json.dumps(document),
    }
    if result.has_plan and not verdict.ok:
        out["reason"] = "; ".join(str(v) for v in verdict.violations[:10])
    return out


def _stopped_reason(has_plan: bool) -> str:
    """Why a job stopped on request ended as it did: with its best plan, or before it had one."""
    if has_plan:
        return "stopped on request; the best plan found is kept"
    return "stopped on request before any plan was found; the solution holds no plan"


def render_report(request: str, solution: str) -> str:
    """The HTML report of a job's solution (made when first asked for: most of a small job's time
    would go into its charts); `request` is the job's, as stored."""
    from allocator.report.document import build_report
    from allocator.report.html import render_html

    spec = json.loads(request)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        instance = _instance_of(spec)
        return render_html(build_report(instance, json.loads(solution), baseline=spec.get("baseline")))


def _instance_of(spec: dict[str, Any]) -> Any:
    from allocator.instance.formats import build_instance

    return build_instance(spec["instance"], "instance", model=spec["options"].get("model"))


def check_kept_plan(request: str, solution: str) -> dict[str, Any]:
    """A plan the service kept while its job ran (its incumbent), checked as the job's end would
    have: ``result_status`` and ``verified`` (and the broken rules as ``reason``)."""
    from allocator.checker import check

    spec = json.loads(request)
    document = json.loads(solution)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        instance = _instance_of(spec)
        if spec["kind"] == "replan":  # checked as the re-plan's end is: with its levels
            from allocator.replanning.plan import checked_replan

            instance = checked_replan(
                instance, spec["baseline"], spec["from"], spec.get("objectives"), spec.get("max_changes")
            )[0]
        verdict = check(instance, document, baseline=spec.get("baseline"))
    broken = "; ".join(str(v) for v in verdict.violations[:10])
    return {"result_status": document.get("status"), "verified": verdict.ok, "reason": broken or None}


def _explain(instance: Any, spec: dict[str, Any], options: SolveOptions, signals: Signals) -> dict[str, Any]:
    """An explanation; the solve it starts with (when no plan is given) reports its progress.
    It is not stopped: half an explanation would mislead."""
    from allocator.explanations import explain

    explanation = explain(
        instance,
        spec.get("solution"),
        time_limit=options.time_limit,
        threads=options.threads,
        seed=options.seed,
        progress=signals.update,
    )
    return {
        "outcome": "done",
        "result_status": str(explanation.status),
        "explanation": explanation.dumps(),
    }
