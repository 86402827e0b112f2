"""`provisioner move device MAC --to-account A`: the explicit move a load refuses."""

from __future__ import annotations

import io

from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.estate_files.dump import dump_estate
from provisioner.storage import models
from provisioner.storage.database import Database


def run(database: Database, *args: str):
    return CliRunner().invoke(cli, ["--db", database.url, *args])


def dump_text(database: Database) -> str:
    out = io.StringIO()
    dump_estate(database, out, plaintext_secrets=True)
    return out.getvalue()


def device(database: Database, mac: str) -> tuple[str, str | None, int]:
    with database.read() as session:
        row = session.query(models.Device).filter_by(mac=mac).one()
        return row.account.name, row.zone.name if row.zone else None, len(row.lines)


def test_move_device_moves_it_with_its_lines_and_records_the_change(demo_database: Database):
    before = demo_database.latest_change()
    result = run(
        demo_database, "move", "device", "00:15:65:A0:00:01", "--to-account", "acme-bakery"
    )
    assert result.exit_code == 0, result.output
    assert "moved device 001565a00001 from account example-dental to account acme-bakery" in (
        result.output
    )
    assert demo_database.latest_change() == before + 1
    assert device(demo_database, "001565a00001")[::2] == ("acme-bakery", 2)
    with demo_database.read() as session:
        change = session.get(models.Change, before + 1)
        assert change is not None
        assert change.summary.startswith(
            "move device 001565a00001 from account example-dental to account acme-bakery"
        )


def refused(database: Database, *args: str) -> str:
    before, change = dump_text(database), database.latest_change()
    result = run(database, "move", "device", *args)
    assert result.exit_code == 1, result.output
    assert dump_text(database) == before
    assert database.latest_change() == change
    return " ".join(result.output.split())


def test_unknown_device_or_account_or_same_account_is_refused(demo_database: Database):
    assert "no device named '001565a0ffff'" in refused(
        demo_database, "001565a0ffff", "--to-account", "acme-bakery"
    )
    assert "no account named 'nobody'" in refused(
        demo_database, "001565a00001", "--to-account", "nobody"
    )
    assert "is already on account example-dental" in refused(
        demo_database, "001565a00001", "--to-account", "example-dental"
    )
    assert "is not a MAC address" in refused(demo_database, "nonsense", "--to-account", "x")


def test_a_pinned_device_moving_to_another_cluster_needs_unpin(demo_database: Database):
    with demo_database.write("pin") as session:
        row = session.query(models.Device).filter_by(mac="001565a00001").one()
        row.zone = session.query(models.Zone).filter_by(name="us-west").one()
    message = refused(demo_database, "001565a00001", "--to-account", "globex-hq")
    assert "pinned to zone us-west of cluster hosted" in message
    assert "--unpin" in message

    result = run(
        demo_database, "move", "device", "001565a00001", "--to-account", "globex-hq", "--unpin"
    )
    assert result.exit_code == 0, result.output
    assert "unpinned from zone us-west" in result.output
    assert device(demo_database, "001565a00001")[:2] == ("globex-hq", None)
