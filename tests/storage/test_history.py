"""The estate's history: who changed what, when, and which devices."""

from __future__ import annotations

from provisioner.domain.settings import Layer
from provisioner.storage.database import Database
from provisioner.storage.history import history, operating_system_user
from provisioner.storage.layers import change_layer

MAC = "001565a00001"


def test_every_change_records_who_and_what(demo_database: Database) -> None:
    change = change_layer(demo_database, Layer.DEVICE, "00:15:65:A0:00:01", {"transport": "udp"})
    latest, load = history(demo_database, limit=2)
    assert latest.id == change and latest.actor == operating_system_user()
    assert latest.summary.startswith(f"settings set --device {MAC} transport=udp")
    assert "updated 1 device" in latest.summary
    assert load.summary.startswith("load estate file: created ")
    assert "3 accounts" in load.summary and "6 devices" in load.summary
    assert latest.at is not None


def test_an_actor_given_is_recorded(demo_database: Database) -> None:
    with demo_database.write("api: nothing", actor="token ops-bot"):
        pass
    assert history(demo_database, limit=1)[0].actor == "token ops-bot"


def test_device_history_lists_the_changes_that_wrote_it(demo_database: Database) -> None:
    mine = change_layer(demo_database, Layer.DEVICE, MAC, {"transport": "udp"})
    change_layer(demo_database, Layer.DEVICE, "0004f2a00002", {"transport": "tcp"})
    change_layer(demo_database, Layer.GLOBAL, None, {"time_zone": "Europe/Paris"})
    ids = [entry.id for entry in history(demo_database, device="00:15:65:a0:00:01")]
    assert ids == [mine, 1]  # its own change, and the load that created it
    assert history(demo_database, device="001565ffffff") == []


def test_secret_values_never_reach_the_summary(demo_database: Database) -> None:
    change_layer(demo_database, Layer.DEVICE, MAC, {"admin.password": "hunter2-secret"})
    summary = history(demo_database, limit=1)[0].summary
    assert "hunter2-secret" not in summary and "admin.password=********" in summary
    for entry in history(demo_database, limit=None):
        assert "demo-" not in entry.summary  # no provisioning or line password
