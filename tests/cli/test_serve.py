"""`provisioner serve --demo` on a real process: it loads the demo estate into an empty
database, answers /healthz, and stops cleanly on SIGTERM and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provisioner",
            "serve",
            "--demo",
            "--http",
            f"127.0.0.1:{port}",
            *args,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "PROVISIONER_DB": f"sqlite:///{tmp_path / 'provisioner.db'}",
            "PROVISIONER_DNS": "127.0.0.1:0",  # a free port: tests may run side by side
        },
    )
    return process, port


def wait_until_healthy(port: int, process: subprocess.Popen[str]) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early: {process.stdout.read() if process.stdout else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                return json.load(reply)
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail("serve did not answer /healthz within 30 s")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_demo_loads_the_demo_answers_health_and_stops_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    process, port = start(tmp_path)
    health = wait_until_healthy(port, process)
    assert health["status"] == "ok"
    assert health["change"] == 1  # the demo estate, loaded into the empty database

    process.send_signal(stop_signal)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "demo estate loaded" in output
    assert f"http://127.0.0.1:{port}/" in output
    assert "never use them in production" in output
    assert "stopped." in output
    assert "Traceback" not in output


def test_a_second_start_keeps_the_estate_instead_of_loading_the_demo_again(tmp_path: Path) -> None:
    for expected_loads in (1, 0):
        process, port = start(tmp_path)
        assert wait_until_healthy(port, process)["change"] == 1
        process.terminate()
        output, _ = process.communicate(timeout=30)
        assert output.count("demo estate loaded") == expected_loads
        assert ("already holds an estate: kept as it is" in output) == (not expected_loads)


def test_an_address_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        process = subprocess.run(
            [sys.executable, "-m", "provisioner", "serve", "--demo", "--http", f"127.0.0.1:{port}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PROVISIONER_DB": f"sqlite:///{tmp_path / 'p.db'}"},
        )
    assert process.returncode == 1
    assert f"--http 127.0.0.1:{port}: Address already in use" in process.stderr
