"""`load` then `dump` then `load` into a fresh database gives the same estate."""

from __future__ import annotations

import io
from collections.abc import Callable

from provisioner.estate_files.dump import dump_estate
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device, load_estate
from tests.conftest import DEMO

DEMO_MACS = [
    "001565a00001",
    "0004f2a00002",
    "00562ba00003",
    "000b82a00004",
    "000413a00005",
    "0c383ea00006",
]


def dump_text(database: Database, *, plaintext_secrets: bool = False) -> str:
    out = io.StringIO()
    dump_estate(database, out, plaintext_secrets=plaintext_secrets)
    return out.getvalue()


def test_load_dump_load_gives_the_same_estate(
    demo_database: Database, another_database: Callable[[], Database]
) -> None:
    first_dump = dump_text(demo_database)
    copy = another_database()
    load_estate_file(copy, read_estate_file(first_dump, "dump"))

    assert dump_text(copy) == first_dump
    with demo_database.read() as original_session, copy.read() as copy_session:
        assert load_estate(copy_session) == load_estate(original_session)
        for mac in DEMO_MACS:
            original = load_device(original_session, mac)
            assert original is not None
            assert load_device(copy_session, mac) == original


def test_the_demo_estate_holds_what_the_readme_promises(demo_database: Database) -> None:
    with demo_database.read() as session:
        estate = load_estate(session)
        hosted = estate.cluster("hosted")
        assert hosted.kind == "hosted" and hosted.domain == "p.example.net"
        assert hosted.default_zone == "us-east"
        order = {zone.name: [ms.name for ms in zone.media_servers] for zone in hosted.zones}
        assert order == {
            "us-east": ["ms1", "ms2", "ms3"],
            "us-central": ["ms2", "ms1", "ms3"],  # nearest first from Chicago
            "us-west": ["ms3", "ms2", "ms1"],
        }
        assert {ms.name: ms.addresses for ms in hosted.media_servers} == {
            "ms1": ("127.0.0.11",),
            "ms2": ("127.0.0.12",),
            "ms3": ("127.0.0.13",),
        }
        assert [p.domain for p in hosted.partners] == ["p.acme.example"]
        assert estate.cluster("globex").kind == "private-cloud"
        assert len(estate.cluster("globex").zones) == 2
        vendors = {}
        for mac in DEMO_MACS:
            record = load_device(session, mac)
            assert record is not None
            assert record.provisioning_user == mac
            assert record.provisioning_password == f"demo-{mac}"
            assert record.lines
            vendors[record.vendor] = (record.cluster, record.partner)
    assert vendors == {
        "yealink": ("hosted", None),
        "poly": ("hosted", None),
        "grandstream": ("hosted", "acme"),
        "fanvil": ("hosted", "acme"),
        "cisco": ("globex", None),
        "snom": ("globex", None),
    }


def test_loading_the_same_file_twice_updates_instead_of_duplicating(
    demo_database: Database,
) -> None:
    # in clear: the passwords given again are the same, encrypted afresh (a new nonce)
    before = dump_text(demo_database, plaintext_secrets=True)
    result = load_estate_file(demo_database, read_estate_file(DEMO.read_text(), "demo.yaml"))
    assert result.created.get("devices", 0) == 0
    assert result.updated["devices"] == 6
    assert dump_text(demo_database, plaintext_secrets=True) == before


def test_a_partial_file_changes_only_what_it_names(demo_database: Database) -> None:
    partial = """
accounts:
  - name: example-dental
    devices:
      - mac: 00:15:65:A0:00:01
        model: T54W
"""
    load_estate_file(demo_database, read_estate_file(partial, "partial.yaml"))
    with demo_database.read() as session:
        record = load_device(session, "001565a00001")
        assert record is not None
        assert record.model == "T54W"
        assert record.vendor == "yealink"
        assert len(record.lines) == 2  # lines not named: kept
        assert record.provisioning_password == "demo-001565a00001"


def test_text_that_looks_like_numbers_or_booleans_survives_the_round_trip(
    demo_database: Database, another_database: Callable[[], Database]
) -> None:
    tricky = """
accounts:
  - name: example-dental
    devices:
      - mac: 001565000001          # unquoted: YAML reads a number, leading zeros lost
        vendor: yealink
        model: "3310"
        lines:
          - {index: 1, sip_user: "0100", password: "0o17-secret", display_name: "0o17", label: "yes"}
          - {index: 2, sip_user: "1e3", password: "null-secret", display_name: "null", label: "~"}
"""
    load_estate_file(demo_database, read_estate_file(tricky, "tricky.yaml"))
    copy = another_database()
    load_estate_file(copy, read_estate_file(dump_text(demo_database), "dump"))
    with demo_database.read() as session, copy.read() as copy_session:
        original = load_device(session, "001565000001")
        assert original is not None
        assert original.model == "3310"
        assert [(line.sip_user, line.display_name, line.label) for line in original.lines] == [
            ("0100", "0o17", "yes"),
            ("1e3", "null", "~"),
        ]
        assert load_device(copy_session, "001565000001") == original
