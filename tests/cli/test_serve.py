"""`allocator serve` refuses what it cannot serve before it starts (the service's own tests,
with a real server, are in tests/service/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from allocator.cli import main


def test_an_unreachable_scheduler_is_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import allocator.cluster

    monkeypatch.setattr(allocator.cluster, "CONNECT_SECONDS", 1)
    result = CliRunner().invoke(
        main, ["serve", "--scheduler", "tcp://127.0.0.1:1", "--data", str(tmp_path / "d")]
    )
    assert result.exit_code == 2
    assert "--scheduler: tcp://127.0.0.1:1: no Dask scheduler answered" in result.output


def test_a_port_in_use_is_bad_input(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--data", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert f"--port: cannot listen on 127.0.0.1:{port}" in result.output
