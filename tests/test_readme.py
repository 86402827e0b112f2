"""The README stays true: its set-up commands, the test command CI runs, the settings keys."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from provisioner.domain.settings import SCHEMA

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_the_first_screen_has_exactly_two_set_up_commands() -> None:
    first_screen = README.split("\n## ", 2)
    setup = first_screen[1]
    commands = re.findall(r"```sh\n(.+?)\n```", setup, re.DOTALL)
    assert len(commands) == 2
    assert commands[0].endswith("provisioner serve --demo")
    assert "'.[test]'" in commands[1] and commands[1].endswith("-m pytest")


def test_ci_runs_the_readme_test_command() -> None:
    extracted = subprocess.run(
        ["awk", "/<!-- test-command -->/{getline; getline; print; exit}", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert extracted.endswith("-m pytest")
    assert "awk '/<!-- test-command -->/" in (ROOT / ".ci" / "run").read_text()


def test_every_settings_key_is_documented() -> None:
    for key in SCHEMA:
        assert f"| `{key}` |" in README, key
