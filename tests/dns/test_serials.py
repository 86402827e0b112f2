"""SOA serials: rise with every change (RFC 1982), stored, never back across restarts."""

from __future__ import annotations

import pytest

from provisioner.dns.publish import current_records
from provisioner.dns.serials import (
    StaleChange,
    next_serial,
    publish_serials,
    serial_gt,
    stored_serials,
)
from provisioner.storage.database import Database
from tests.dns.helpers import move_media_server


def test_serial_arithmetic_wraps_as_rfc_1982_says() -> None:
    assert serial_gt(2, 1)
    assert not serial_gt(1, 2)
    assert serial_gt(0, 2**32 - 1)  # wrapped
    assert not serial_gt(5, 5)
    assert next_serial(None, 1_700_000_000) == 1_700_000_000
    assert next_serial(1_700_000_000, 1_600_000_000) == 1_700_000_001  # clock behind
    assert next_serial(5, 1_700_000_000) == 1_700_000_000  # clock ahead
    assert next_serial(2**32 - 1, 0) == 0  # wraps, still "later"
    assert serial_gt(next_serial(2**32 - 1, 0), 2**32 - 1)


def soa_serials(database: Database) -> dict[str, int]:
    return {zone.domain: zone.soa[0].serial for zone in current_records(database).zones}


def test_serial_rises_with_every_change_and_survives_a_restart(
    demo_database: Database,
) -> None:
    first = soa_serials(demo_database)
    assert soa_serials(demo_database) == first  # same change, same serial
    move_media_server(demo_database, "127.0.0.99")
    second = soa_serials(demo_database)
    assert all(serial_gt(second[d], first[d]) for d in first)
    stored = stored_serials(demo_database)
    assert {d: s for d, (s, _) in stored.items()} == second

    restarted = Database(demo_database.url)  # another process, after a restart
    try:
        assert soa_serials(restarted) == second
        move_media_server(restarted, "127.0.0.98")
        third = soa_serials(restarted)
    finally:
        restarted.dispose()
    assert all(serial_gt(third[d], second[d]) for d in first)


def test_serials_keep_rising_when_the_clock_goes_back(database: Database) -> None:
    assert publish_serials(database, ["a.example"], 1, clock=lambda: 2_000_000_000) == {
        "a.example": 2_000_000_000
    }
    assert publish_serials(database, ["a.example"], 2, clock=lambda: 1_000) == {
        "a.example": 2_000_000_001
    }
    # an estate read before a change whose serials are out is read again, never served
    # under the newer serial
    with pytest.raises(StaleChange):
        publish_serials(database, ["a.example"], 1, clock=lambda: 5)
    assert stored_serials(database)["a.example"] == (2_000_000_001, 2)


def test_records_of_a_change_never_share_a_serial_with_another(demo_database: Database) -> None:
    first = current_records(demo_database)
    change = move_media_server(demo_database, "192.0.2.9")
    later = Database(demo_database.url)  # another node publishes the newer change first
    try:
        newer = current_records(later)
    finally:
        later.dispose()
    assert newer.change_id == change
    again = current_records(demo_database)  # this node reads the newer change, too
    assert again.zone("p.example.net").serial == newer.zone("p.example.net").serial
    assert again.zone("p.example.net").serial != first.zone("p.example.net").serial
