"""A large load shows a progress bar on a terminal, and stays quiet in a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from bench.synthetic_estate import estate_yaml


def test_loading_thousands_of_devices_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    estate = tmp_path / "estate.yaml"
    estate.write_text(estate_yaml(3000))
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provisioner",
            "--db",
            f"sqlite:///{tmp_path / 'p.db'}",
            "load",
            str(estate),
        ],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal is gone: the process has exited
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 0
    text = output.decode(errors="replace")
    assert "loading devices" in text
    assert "/3000" in text
    assert "3000 devices" in text


def test_a_load_in_a_pipe_prints_only_the_summary(tmp_path: Path) -> None:
    estate = tmp_path / "estate.yaml"
    estate.write_text(estate_yaml(1500))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "provisioner",
            "--db",
            f"sqlite:///{tmp_path / 'p.db'}",
            "load",
            str(estate),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "created 1 cluster, " in result.stdout
    assert "1500 devices, 1500 lines" in result.stdout
