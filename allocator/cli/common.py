"""What every command shares: consoles, exit codes, bad input as messages, common options."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from allocator.errors import InputError, InputWarning, Problem
from allocator.instance.load import load_instance
from allocator.instance.model import Instance
from allocator.options import FORMULATIONS, StopToken

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_UNKNOWN = 0, 1, 2, 3, 4
#: The reader of standard output closed it early (``allocator solve ... | head``): the code of a
#: command-line tool killed by SIGPIPE (128 + 13), with no message.
EXIT_PIPE_CLOSED = 141


def _drop_stdout() -> None:
    """Send what is left of standard output to the null device: the reader is gone, and Python's
    flush at exit would fail again on the closed pipe."""
    try:
        fileno = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's captured output)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fileno)
    os.close(devnull)


class _Console(Console):
    """Rich's console, leaving with :data:`EXIT_PIPE_CLOSED` (rich's own choice is 1, our code of
    an internal error) when the reader of standard output has gone."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _drop_stdout()
        raise SystemExit(EXIT_PIPE_CLOSED)


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)
for _console in (out, err):
    if not _console.is_terminal:  # into a file or a pipe: tables as wide as they need
        _console.width = max(_console.width, 160)


def fail_input(exc: InputError) -> None:
    for problem in exc.problems:
        err.print(f"[red]error:[/red] {escape(problem.render(exc.source))}")
    sys.exit(EXIT_INPUT)


#: The options every command shares, before or after its name (:func:`log_options`).
LOG_OPTIONS = ("verbose", "quiet", "debug")


def _log_params() -> list[click.Parameter]:
    return [
        click.Option(["-v", "--verbose"], count=True, help="More log output (-vv for debug)."),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            help="Only errors: no warnings, no log unless -v, and no summary (solve, replan).",
        ),
        click.Option(["--debug"], is_flag=True, help="Show tracebacks of internal errors."),
    ]


C = TypeVar("C", bound=click.Command)


def log_options(command: C) -> C:
    """Give `command` (the group, and every command) `-v/-vv`, `-q` and `--debug`, so that each
    goes before or after the command's name with one meaning: the values given in both places
    add up (:func:`settings`). A callback that takes `quiet` receives it. A group's commands
    get them too."""
    for sub in getattr(command, "commands", {}).values():
        log_options(sub)
    original = command.callback or (lambda: None)
    takes_quiet = "quiet" in inspect.signature(original).parameters
    command.params = [p for p in command.params if p.name not in LOG_OPTIONS] + _log_params()

    @functools.wraps(original)
    def callback(*args: Any, verbose: int, quiet: bool, debug: bool, **kwargs: Any) -> Any:
        merged = settings(verbose, quiet, debug)
        if takes_quiet:
            kwargs["quiet"] = merged["quiet"]
        return original(*args, **kwargs)

    command.callback = callback
    return command


def settings(verbose: int = 0, quiet: bool = False, debug: bool = False) -> dict[str, Any]:
    """The context's settings (``ctx.obj``) with these values added to those given before the
    command's name; the log level set from them (``-v`` info, ``-vv`` debug, ``-q`` without
    ``-v`` errors only) when the command line configured logging (not when a host such as pytest
    did)."""
    obj = click.get_current_context().ensure_object(dict)
    obj["verbose"] = obj.get("verbose", 0) + verbose
    obj["quiet"] = obj.get("quiet", False) or quiet
    obj["debug"] = obj.get("debug", False) or debug
    level = logging.WARNING - 10 * min(obj["verbose"], 2)
    if obj["quiet"] and not obj["verbose"]:  # -v -q: the log asked for, without the summary
        level = logging.ERROR
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
        obj["logging"] = True
    if obj.get("logging"):
        root.setLevel(level)
    return obj


def stop_on_sigterm(ctx: click.Context) -> StopToken:
    """The command's :class:`StopToken` (``ctx.obj["stop"]``), stopped by SIGTERM as Ctrl-C stops
    a search: the search ends and the best plan found is written, with the exit code of the
    status reached. A second SIGTERM ends the process at once (the handler found before is put
    back). The handler is removed when the command ends; none is installed outside the main
    thread."""
    obj = ctx.ensure_object(dict)
    token: StopToken = obj.setdefault("stop", StopToken())
    if threading.current_thread() is not threading.main_thread():
        return token
    previous = signal.getsignal(signal.SIGTERM)
    if previous is None:  # a handler not set from Python: the default is the closest
        previous = signal.SIG_DFL

    def stop() -> None:
        logging.getLogger("allocator.cli").warning(
            "SIGTERM: stopping the search and keeping the best plan found (a second SIGTERM ends at once)"
        )
        token.stop()

    def on_sigterm(_signum: int, _frame: Any) -> None:
        signal.signal(signal.SIGTERM, previous)
        # in a thread: the token's lock may be held by this (main) thread, interrupted here
        threading.Thread(target=stop, name="allocator-sigterm", daemon=True).start()

    signal.signal(signal.SIGTERM, on_sigterm)
    ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))
    return token


def stop_token() -> StopToken:
    """The running command's :class:`StopToken` (:func:`stop_on_sigterm`)."""
    obj = click.get_current_context().ensure_object(dict)
    token: StopToken = obj.setdefault("stop", StopToken())
    return token


@contextmanager
def guarded(debug: bool, quiet: bool | None = None) -> Iterator[None]:
    """Bad input: exit 2 with the message; anything unexpected: exit 1 without a traceback.
    Warnings raised inside (an ignored sheet, a plan made for other data) are printed as
    ``warning: ...`` lines, whether the command succeeds or not; none when `quiet` (by default
    the command line's ``-q``)."""
    if quiet is None:
        context = click.get_current_context(silent=True)
        quiet = bool(context and isinstance(context.obj, dict) and context.obj.get("quiet"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            yield
        except InputError as exc:
            print_warnings(caught, quiet)
            fail_input(exc)
        except (SystemExit, click.exceptions.Exit, click.ClickException):
            print_warnings(caught, quiet)
            raise
        except BrokenPipeError:
            _drop_stdout()
            sys.exit(EXIT_PIPE_CLOSED)
        except Exception as exc:  # the last line of defence of the command line
            print_warnings(caught, quiet)
            if debug:
                raise
            what = escape(f"{type(exc).__name__}: {exc}")
            err.print(f"[red]internal error:[/red] {what} (run with --debug for details)")
            sys.exit(EXIT_FAIL)
        print_warnings(caught, quiet)


def print_warnings(caught: list[warnings.WarningMessage], quiet: bool) -> None:
    seen = set()
    for warning in caught:
        text = str(warning.message)
        ours = issubclass(warning.category, InputWarning) or "allocator" in Path(warning.filename).parts
        if quiet or text in seen or not ours:
            continue
        seen.add(text)
        warn(text)
    caught.clear()


def load(path: str, model: str | None = None) -> Instance:
    return load_instance(path, model=model)


def warn(text: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {escape(text)}")


def refuse_existing(path: str, force: bool) -> None:
    """Refuse to replace an existing file unless --force: it may be a planner's filled-in workbook."""
    if Path(path).exists() and not force:
        raise InputError(path, [Problem("", "exists; add --force to replace it")])


force_option = click.option(
    "--force", is_flag=True, help="Replace the file written if it exists (refused otherwise)."
)


F = TypeVar("F", bound=Callable[..., Any])


def formulation_flag(help: str) -> Callable[[F], F]:
    """The `--formulation tours|flow|auto` option, with what each means where it is used."""
    return click.option(
        "--formulation", type=click.Choice(FORMULATIONS), default="auto", show_default=True, help=help
    )


formulation_option = formulation_flag(
    "tours: a variable per feasible tour; flow: units per offer, task and period (long horizons); "
    "auto: flow above 50,000 tours."
)


def first_plan_flag(help: str) -> Callable[[F], F]:
    """The `--first-plan/--no-first-plan` flag, with what the first plan is."""
    return click.option("--first-plan/--no-first-plan", default=True, show_default=True, help=help)


first_plan_option = first_plan_flag(
    "Start the search from the greedy first plan (kept if the search finds nothing better); "
    "--no-first-plan starts from nothing, for comparisons."
)


def time_limit_option(help: str) -> Callable[[F], F]:
    """The `--time-limit S` option (seconds, default 60)."""
    return click.option(
        "--time-limit",
        type=click.FloatRange(min=0, min_open=True),
        default=60.0,
        show_default=True,
        help=help,
    )


def output_folder_option(help: str) -> Callable[[F], F]:
    """The required `-o/--output DIR` option of commands that write a folder."""
    return click.option(
        "-o", "--output", "out_dir", type=click.Path(file_okay=False), required=True, help=help
    )


def count(n: int, noun: str) -> str:
    """'1 nation', '3 nations'."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def signed(value: float) -> str:
    """A difference with its sign, one decimal, never '-0.0'."""
    rounded = round(value, 1) + 0.0
    return "0" if rounded == 0 else f"{rounded:+.1f}"


scheduler_option = click.option(
    "--scheduler",
    type=str,
    default=None,
    help="Use this Dask scheduler (tcp://HOST:PORT) instead of a local cluster.",
)


def progress_bar() -> Progress:
    """The progress of many solves on Dask, on the terminal only (runs done of all)."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )


def figure(value: float) -> str:
    """A value as the terminal shows it: six significant digits (``24065.3``), but a large value
    in full rather than in powers of ten (``7999999999996``, not ``8e+12``)."""
    if abs(value) < 1e6:
        return f"{value:g}"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
