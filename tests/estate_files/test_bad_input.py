"""Bad estate files: the command exits non-zero, names the entry and field, changes nothing."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.estate_files.dump import dump_estate
from provisioner.storage.database import Database

GOOD_DEVICE = """
      - mac: 001565b00001
        vendor: yealink
        model: T46U
        lines: [{index: 1, sip_user: "1001", password: secret-1001}]
"""

CASES = {
    "malformed MAC": (
        """
accounts:
  - name: example-dental
    devices:
      - mac: 00:15:65:zz:00:01
        vendor: yealink
        model: T46U
""",
        "accounts[0] example-dental › devices[0] 00:15:65:zz:00:01 › mac: "
        "'00:15:65:zz:00:01' is not a MAC address",
    ),
    "duplicate MAC": (
        """
accounts:
  - name: example-dental
    devices:"""
        + GOOD_DEVICE
        + """
  - name: acme-bakery
    devices:
      - mac: 00-15-65-B0-00-01
        vendor: yealink
        model: T46U
""",
        "accounts[1] acme-bakery › devices[0] 001565b00001 › mac: duplicate MAC, "
        "first given at accounts[0] example-dental › devices[0] 001565b00001",
    ),
    "unknown zone": (
        """
accounts:
  - name: example-dental
    devices:
      - mac: 001565a00001
        zone: mars-north
""",
        "accounts[0] example-dental › devices[0] 001565a00001 › zone: "
        "no zone 'mars-north' in cluster hosted",
    ),
    "port out of range": (
        """
clusters:
  - name: hosted
    media_servers:
      - name: ms4
        addresses: [127.0.0.14]
        ports: {udp: 70000}
""",
        "clusters[0] hosted › media_servers[0] ms4 › ports › udp: "
        "Input should be less than or equal to 65535",
    ),
    "unknown transport": (
        """
accounts:
  - name: example-dental
    settings:
      transport: sctp
""",
        "accounts[0] example-dental › settings: transport: 'sctp' is not one of "
        "dns-naptr, udp, tcp, tls",
    ),
    "partner on a private cloud": (
        """
clusters:
  - name: globex
    partners:
      - name: initech
        domain: p.initech.example
""",
        "clusters[0] globex › partners: hosted partners live only on a hosted cluster, "
        "this one is private-cloud",
    ),
    "zone listing a media server the cluster lacks": (
        """
clusters:
  - name: hosted
    zones:
      - name: us-east
        latitude: 40.7
        longitude: -74.0
        media_servers: [ms1, ms9]
""",
        "clusters[0] hosted › zones[0] us-east › media_servers: no media server 'ms9' "
        "in cluster hosted",
    ),
    "new account on an unknown cluster": (
        """
accounts:
  - name: initech
    cluster: nowhere
    sip_domain: sip.initech.example
""",
        "accounts[0] initech › cluster: no cluster 'nowhere'",
    ),
    "unknown field": (
        """
clusters:
  - name: hosted
    domian: p.example.org
""",
        "clusters[0] hosted › domian: unknown field",
    ),
    "domain used twice": (
        """
clusters:
  - name: hosted
    partners:
      - name: initech
        domain: voice.globex.example
""",
        "clusters[0] hosted › partners[0] initech › domain: voice.globex.example is already "
        "the domain of cluster globex",
    ),
    "partner domain nested in a cluster's": (
        """
clusters:
  - name: hosted
    partners:
      - name: initech
        domain: initech.p.example.net
""",
        "DNS zone initech.p.example.net (partner initech): domain: overlaps p.example.net "
        "(cluster hosted); zones must not be nested",
    ),
    "not YAML": (
        "clusters: [name: hosted\n",
        "bad.yaml: not valid YAML: YAML parse error at line 1, column 11",
    ),
    "duplicate key": (
        "clusters:\n  - name: hosted\n    name: globex\n",
        "bad.yaml: not valid YAML: duplicate mapping key: 'name'",
    ),
}


def dump_text(database: Database) -> str:
    out = io.StringIO()
    dump_estate(database, out)
    return out.getvalue()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_entry_and_field_and_changes_nothing(
    case: str, demo_database: Database, tmp_path
) -> None:
    text, message = CASES[case]
    # A good device in the same file must not be loaded either: all or nothing.
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    before, change_before = dump_text(demo_database), demo_database.latest_change()

    result = CliRunner().invoke(cli, ["--db", demo_database.url, "load", str(path)])

    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "nothing was changed" in result.output or "not valid YAML" in result.output
    assert dump_text(demo_database) == before
    assert demo_database.latest_change() == change_before


def test_every_problem_in_a_file_is_reported_at_once(demo_database: Database, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """
accounts:
  - name: example-dental
    devices:
      - {mac: nonsense, vendor: yealink, model: T46U}
      - {mac: 001565a00009, vendor: nokia, model: "3310"}
"""
    )
    result = CliRunner().invoke(cli, ["--db", demo_database.url, "load", str(path)])
    assert result.exit_code == 1
    assert "2 problems" in result.output
    assert "devices[0] nonsense › mac" in result.output
    assert "devices[1] 001565a00009 › vendor" in result.output


def test_secrets_in_a_bad_file_are_not_echoed(demo_database: Database, tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        """
accounts:
  - name: example-dental
    settings: {admin.password: "pw1"}
    devices:
      - mac: 001565a00001
        provisioning_password: tiny7
"""
    )
    result = CliRunner().invoke(cli, ["--db", demo_database.url, "load", str(path)])
    assert result.exit_code == 1
    assert "admin.password" in result.output and "provisioning_password" in result.output
    assert "pw1" not in result.output and "tiny7" not in result.output
    assert "is shorter than 6 characters" in result.output  # the reason, never the value
