"""Two processes loading estate files into one database at the same time both succeed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.synthetic_estate import estate_yaml

from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device


def test_two_processes_load_into_one_fresh_database_at_once(
    database_url: str, tmp_path: Path
) -> None:
    files = []
    for number, (prefix, base) in enumerate([("left", 0x02AA00000000), ("right", 0x02BB00000000)]):
        path = tmp_path / f"estate-{number}.yaml"
        path.write_text(estate_yaml(2000, prefix=prefix, mac_base=base))
        files.append(path)

    # Both start on a database that has no tables yet: the migration is raced too.
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "provisioner", "--db", database_url, "load", "-q", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    outcomes = [process.communicate(timeout=300) for process in processes]
    for process, (_out, err) in zip(processes, outcomes, strict=True):
        assert process.returncode == 0, err

    database = Database(database_url)
    with database.read() as session:
        for mac in ("02aa00000000", "02aa000007cf", "02bb00000000", "02bb000007cf"):
            record = load_device(session, mac)
            assert record is not None, mac
            assert len(record.lines) == 1
    # Two loads, two changes, nothing lost or merged.
    assert database.latest_change() == 2
    database.dispose()
