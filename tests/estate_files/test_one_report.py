"""Validation that keeps its promises: every problem of a file in one report, a field left
out keeps its stored value for every kind of entry, and a value of the wrong YAML type is
refused naming the field and the value as written, never converted."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.estate_files.dump import dump_estate
from provisioner.estate_files.load import parse_estate_file
from provisioner.storage import models
from provisioner.storage.database import Database

ONE_OF_EACH = """
clusters:
  - name: hosted
    partners:
      - {name: initech, domain: initech.p.example.net}    # DNS: nested in p.example.net
  - name: globex
    zones:
      - {name: eu-central, transports: [udp]}             # rule, below: tcp is not offered
accounts:
  - name: globex-hq
    settings: {transport: tcp}
  - name: example-dental
    devices:
      - mac: 001565a00001
        lines: [{index: 1, sip_user: 0100, password: secret-0100}]   # YAML type
      - {mac: 00:15:65:zz:00:09, vendor: yealink, model: T46U}       # bad MAC
      - {mac: 0004f2a00002, zone: mars-north}                        # unknown reference
  - name: acme-bakery
    devices:
      - {mac: 000b82a00004}
      - {mac: 00-0B-82-A0-00-04}                                     # duplicate
"""


def dump_text(database: Database) -> str:
    out = io.StringIO()
    dump_estate(database, out)
    return out.getvalue()


def load(database: Database, tmp_path, text: str):
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    return CliRunner().invoke(cli, ["--db", database.url, "load", str(path)])


def test_one_mistake_of_each_kind_all_in_one_report(demo_database: Database, tmp_path):
    before, change = dump_text(demo_database), demo_database.latest_change()

    result = load(demo_database, tmp_path, ONE_OF_EACH)

    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    expected = [
        # YAML type
        "accounts[1] example-dental › devices[0] 001565a00001 › lines[0] 1 › sip_user: "
        'a number; write it quoted ("0100") if it is text',
        # bad MAC
        "devices[1] 00:15:65:zz:00:09 › mac: '00:15:65:zz:00:09' is not a MAC address",
        # unknown reference
        "accounts[1] example-dental › devices[2] 0004f2a00002 › zone: "
        "no zone 'mars-north' in cluster hosted",
        # duplicate
        "accounts[2] acme-bakery › devices[1] 000b82a00004 › mac: duplicate MAC, "
        "first given at accounts[2] acme-bakery › devices[0] 000b82a00004",
        # rule (settings no phone can honour)
        "tcp is not offered by zone eu-central (udp)",
        # DNS
        "DNS zone initech.p.example.net (partner initech): domain: overlaps p.example.net",
    ]
    missing = [message for message in expected if message not in text]
    assert not missing, text
    # the rule is broken by both devices of globex-hq (one problem each): 7 in all
    assert "7 problems, nothing was changed" in text
    assert dump_text(demo_database) == before
    assert demo_database.latest_change() == change


def test_a_zone_given_without_its_location_keeps_the_stored_one(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        "clusters:\n  - name: hosted\n    zones: [{name: us-east, ttl: 120}]\n",
    )
    assert result.exit_code == 0, result.output
    with demo_database.read() as session:
        zone = session.query(models.Zone).filter_by(name="us-east").one()
        assert (zone.latitude, zone.longitude, zone.ttl) == (40.7128, -74.006, 120)
        assert [link.media_server.name for link in zone.media_server_links] == ["ms1", "ms2", "ms3"]


def test_a_media_server_given_without_addresses_keeps_them(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        "clusters:\n  - name: hosted\n    media_servers: [{name: ms1, latitude: 40.0, longitude: -74.0}]\n",
    )
    assert result.exit_code == 0, result.output
    assert "addresses: [127.0.0.11]" in dump_text(demo_database) or "127.0.0.11" in dump_text(
        demo_database
    )


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        (
            "zones: [{name: us-north, ttl: 60}]",
            "zones[0] us-north › latitude: required for a new zone",
        ),
        (
            "media_servers: [{name: ms9}]",
            "media_servers[0] ms9 › addresses: required for a new media server",
        ),
        ("partners: [{name: initech}]", "partners[0] initech › domain: required for a new partner"),
    ],
)
def test_a_new_entry_still_needs_what_it_cannot_do_without(
    demo_database: Database, tmp_path, entry: str, where: str
):
    result = load(demo_database, tmp_path, f"clusters:\n  - name: hosted\n    {entry}\n")
    assert result.exit_code == 1
    assert where in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0100", 'sip_user: a number; write it quoted ("0100") if it is text'),
        ("0o17", 'sip_user: a number; write it quoted ("0o17") if it is text'),
        ("1e3", 'sip_user: a number; write it quoted ("1e3") if it is text'),
        ("12.50", 'sip_user: a number; write it quoted ("12.50") if it is text'),
        ("true", 'sip_user: true or false; write it quoted ("true") if it is text'),
    ],
)
def test_a_number_where_text_is_meant_is_refused_as_written(value: str, message: str):
    text = (
        "accounts:\n  - name: a\n    devices:\n      - mac: 001565a00001\n"
        f"        lines: [{{index: 1, sip_user: {value}, password: secret-1}}]\n"
    )
    _estate, problems = parse_estate_file(text, "f.yaml")
    assert [str(problem) for problem in problems] == [
        f"accounts[0] a › devices[0] 001565a00001 › lines[0] 1 › {message}"
    ]


def test_text_where_a_number_is_meant_is_refused():
    _estate, problems = parse_estate_file(
        'clusters:\n  - name: hosted\n    zones: [{name: z, ttl: "300"}]\n', "f.yaml"
    )
    assert [str(problem) for problem in problems] == [
        "clusters[0] hosted › zones[0] z › ttl: text where a whole number is meant; "
        "write it without quotes if it is one"
    ]


def test_quoted_text_and_unquoted_digit_macs_still_load(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        "accounts:\n  - name: example-dental\n    devices:\n      - mac: 001565000001\n"
        "        vendor: yealink\n        model: T46U\n"
        '        lines: [{index: 1, sip_user: "0100", password: secret-0100}]\n',
    )
    assert result.exit_code == 0, result.output
    with demo_database.read() as session:
        line = (
            session.query(models.Line)
            .join(models.Device)
            .filter(models.Device.mac == "001565000001")
            .one()
        )
        assert line.sip_user == "0100"


def test_a_line_given_without_its_password_keeps_the_stored_line(demo_database: Database, tmp_path):
    with demo_database.read() as session:
        stored = {
            line.index: (line.sip_user, line.password, line.display_name)
            for line in session.query(models.Device).filter_by(mac="001565a00001").one().lines
        }
    result = load(
        demo_database,
        tmp_path,
        "accounts:\n  - name: example-dental\n    devices:\n      - mac: 001565a00001\n"
        "        lines: [{index: 1, label: Front}, {index: 2}]\n",
    )
    assert result.exit_code == 0, result.output
    with demo_database.read() as session:
        lines = session.query(models.Device).filter_by(mac="001565a00001").one().lines
        assert {
            line.index: (line.sip_user, line.password, line.display_name) for line in lines
        } == (stored)
        assert {line.index: line.label for line in lines}[1] == "Front"


def test_a_new_line_still_needs_its_sip_user_and_password(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        "accounts:\n  - name: example-dental\n    devices:\n      - mac: 001565a00001\n"
        "        lines: [{index: 3, sip_user: '1009'}]\n",
    )
    assert result.exit_code == 1
    assert "device 001565a00001 › lines[index 3] › password: required for a new line" in (
        " ".join(result.output.split())
    )
