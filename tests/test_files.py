"""Files as untrusted input: only regular files, never more than the limit, whatever they claim."""

from __future__ import annotations

import io
import os
import socket
import threading
from pathlib import Path

import pytest

from allocator.errors import InputError
from allocator.files import MAX_FILE_BYTES, read_bytes, read_text, stdin_bytes
from allocator.instance.load import load_instance
from tests.helpers.bounded import run_bounded


def message(source: str | Path, **limit: int) -> str:
    with pytest.raises(InputError) as caught:
        read_bytes(source, **limit)
    assert caught.value.source == str(source)
    (problem,) = caught.value.problems
    return problem.message


def test_a_device_is_refused_without_being_read() -> None:
    assert message("/dev/zero") == "is a device, not a regular file"


def test_validate_dev_zero_exits_2_within_the_ceilings() -> None:
    """Before: `validate /dev/zero` read until the kernel killed it."""
    result = run_bounded("validate", "/dev/zero")
    assert result.returncode == 2, result.output
    assert "/dev/zero: is a device, not a regular file" in result.output


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    done = threading.Event()
    outcome: list[str] = []

    def read() -> None:
        outcome.append(message(fifo))
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(10), "reading a FIFO blocked"
    assert outcome == ["is a pipe (FIFO), not a regular file"]


def test_a_pipe_named_as_a_workbook_is_refused_too(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.xlsx"
    os.mkfifo(fifo)
    result = run_bounded("validate", str(fifo))
    assert result.returncode == 2, result.output
    assert "is a pipe (FIFO), not a regular file" in result.output


def test_a_socket_and_a_folder_are_refused(tmp_path: Path) -> None:
    assert message(tmp_path) == "is a directory, not a file"
    path = tmp_path / "s.yaml"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert message(path) in ("is a socket, not a regular file", "No such device or address")
    finally:
        server.close()


def test_no_more_than_the_limit_is_read_whatever_the_size_claimed() -> None:
    """/proc files claim a size of 0 but hold more: the limit counts the bytes read."""
    assert Path("/proc/self/maps").stat().st_size == 0
    assert message("/proc/self/maps", limit=10) == "file larger than 10 bytes"
    assert len(read_bytes("/proc/self/maps", limit=1 << 20)[0]) > 10


def test_a_file_beyond_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert message(path) == "file larger than 16 MiB"
    path.write_bytes(b"#" * MAX_FILE_BYTES)
    assert read_text(path)[0].startswith("#")


def test_standard_input_is_read_up_to_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(b"x" * 101)

    monkeypatch.setattr("sys.stdin", Stdin)
    with pytest.raises(InputError, match="input larger than 100 bytes"):
        stdin_bytes(100)
    Stdin.buffer = io.BytesIO(b"x" * 100)
    assert stdin_bytes(100) == b"x" * 100


def test_standard_input_beyond_the_limit_exits_2_within_the_ceilings() -> None:
    result = run_bounded("validate", "-", stdin=b"#" * (MAX_FILE_BYTES + 1024))
    assert result.returncode == 2, result.output
    assert "<stdin>: input larger than 16 MiB" in result.output


def test_a_missing_file_is_named() -> None:
    with pytest.raises(InputError, match="no such file"):
        load_instance("/nonexistent/plan.yaml")
