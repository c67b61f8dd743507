"""The command line run under a ceiling, to prove that hostile input is refused within bounds.

:func:`run_bounded` runs ``python -m allocator ...`` in a subprocess limited to
:data:`CEILING_BYTES` of address space (``RLIMIT_AS``: an allocation beyond it fails, so a
run that would need more cannot end with exit code 2) and killed after :data:`CEILING_SECONDS`
(the test then fails with ``TimeoutExpired`` rather than hanging CI).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from dataclasses import dataclass

#: The ceilings of an attack: every hostile input is refused within them.
CEILING_BYTES = 1 << 30
CEILING_SECONDS = 10.0


@dataclass(frozen=True)
class Bounded:
    """How a bounded run ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _ceiling() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (CEILING_BYTES, CEILING_BYTES))


def run_bounded(*args: str, stdin: bytes | None = None) -> Bounded:
    """``allocator ARGS...`` under the ceilings; raises subprocess.TimeoutExpired beyond the time."""
    started = time.monotonic()
    feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    result = subprocess.run(
        [sys.executable, "-m", "allocator", *args],
        **feed,  # type: ignore[arg-type]
        capture_output=True,
        timeout=CEILING_SECONDS,
        preexec_fn=_ceiling,
        check=False,
    )
    return Bounded(
        result.returncode,
        result.stdout.decode("utf-8", "replace"),
        result.stderr.decode("utf-8", "replace"),
        time.monotonic() - started,
    )
