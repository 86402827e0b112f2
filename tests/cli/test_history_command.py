"""`provisioner history`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.storage.database import Database


def run(database: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", database.url, *args])
    return result.exit_code, result.output


def test_history_shows_who_and_what(demo_database: Database) -> None:
    code, output = run(
        demo_database, "settings", "set", "--device", "001565a00001", "transport=udp"
    )
    assert code == 0, output
    run(demo_database, "settings", "set", "--device", "0004f2a00002", "admin.password=s3cr3t-pw")
    code, output = run(demo_database, "history", "--json")
    assert code == 0, output
    entries = json.loads(output)
    assert [entry["id"] for entry in entries] == [3, 2, 1]
    assert entries[1]["summary"].startswith("settings set --device 001565a00001 transport=udp")
    assert all(entry["who"] for entry in entries)
    assert "s3cr3t-pw" not in output
    code, output = run(demo_database, "history", "--device", "00:15:65:A0:00:01", "--json")
    assert [entry["id"] for entry in json.loads(output)] == [2, 1]
    code, output = run(demo_database, "history", "--limit", "1")
    assert code == 0 and "settings set" in output and "load estate file" not in output
    code, output = run(demo_database, "history", "--device", "nonsense")
    assert code == 1
