"""`provisioner settings`: show with provenance, set and unset one layer."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.storage.database import Database


def run(database: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", database.url, *args])
    return result.exit_code, result.output


def settings_json(database: Database, mac: str) -> dict:
    code, output = run(database, "settings", mac, "--json")
    assert code == 0, output
    return json.loads(output)


def test_show_prints_every_key_with_the_layer_that_set_it(demo_database: Database) -> None:
    code, output = run(demo_database, "settings", "00:15:65:A0:00:01")
    assert code == 0, output
    assert "us-east.p.example.net" in output and "zone us-east" in output
    assert "rule dns-naptr" in output
    document = settings_json(demo_database, "001565a00001")
    assert document["zone"] == {"name": "us-east", "reason": "default zone of cluster hosted"}
    assert document["settings"]["time_zone"] == {"value": "America/New_York", "source": "global"}


def test_a_partner_device_gets_the_white_label_proxy_name(demo_database: Database) -> None:
    document = settings_json(demo_database, "0c383ea00006")
    assert document["settings"]["outbound_proxy.host"]["value"] == "us-east.p.acme.example"
    assert document["settings"]["time_zone"] == {
        "value": "America/Chicago",
        "source": "partner acme",
    }


def test_set_then_unset_moves_the_value_between_layers(demo_database: Database) -> None:
    code, output = run(
        demo_database,
        "settings",
        "set",
        "--account",
        "example-dental",
        "transport=udp",
        "outbound_proxy.port=5070",
        "secondary_proxy.host=backup.example.net",
    )
    assert code == 0, output
    settings = settings_json(demo_database, "001565a00001")["settings"]
    assert settings["transport"] == {"value": "udp", "source": "account example-dental"}
    assert settings["outbound_proxy.port"]["value"] == 5070
    assert settings["secondary_proxy.host"]["value"] == "backup.example.net"
    # The other account's devices are untouched.
    assert settings_json(demo_database, "0c383ea00006")["settings"]["transport"]["value"] == (
        "dns-naptr"
    )

    code, output = run(
        demo_database, "settings", "unset", "--account", "example-dental", "transport"
    )
    assert code == 0, output
    settings = settings_json(demo_database, "001565a00001")["settings"]
    assert settings["transport"] == {"value": "dns-naptr", "source": "global"}
    # Back on dns-naptr, the rule wins over the port and secondary still set on the account.
    assert settings["outbound_proxy.port"]["value"] == 0
    assert settings["outbound_proxy.port"]["source"].startswith("rule dns-naptr")
    assert settings["secondary_proxy.host"]["value"] is None


def test_a_device_layer_beats_global_and_provenance_follows(demo_database: Database) -> None:
    run(demo_database, "settings", "set", "--global", "ntp.server=ntp.example.net")
    run(demo_database, "settings", "set", "--device", "0004F2A00002", "ntp.server=192.0.2.123")
    assert settings_json(demo_database, "0004f2a00002")["settings"]["ntp.server"] == {
        "value": "192.0.2.123",
        "source": "device 0004f2a00002",
    }
    assert settings_json(demo_database, "001565a00001")["settings"]["ntp.server"] == {
        "value": "ntp.example.net",
        "source": "global",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--cluster", "hosted", "outbound_proxy.port=70000"],
            "cluster hosted: outbound_proxy.port: 70000 is out of range 0..65535",
        ),
        (
            ["--partner", "acme", "transport=carrier-pigeon"],
            "partner acme: transport: 'carrier-pigeon' is not one of",
        ),
        (["--cluster", "nowhere", "transport=udp"], "no cluster named 'nowhere'"),
        (["--device", "zz", "transport=udp"], "'zz' is not a MAC address"),
        (["--device", "001565ffffff", "transport=udp"], "no device named '001565ffffff'"),
    ],
)
def test_bad_values_and_owners_are_refused_and_change_nothing(
    demo_database: Database, args: list[str], message: str
) -> None:
    before = demo_database.latest_change()
    code, output = run(demo_database, "settings", "set", *args)
    assert code == 1
    assert message in output
    assert demo_database.latest_change() == before


def test_exactly_one_layer_must_be_named(demo_database: Database) -> None:
    code, output = run(
        demo_database, "settings", "set", "--global", "--cluster", "hosted", "transport=udp"
    )
    assert code == 2
    assert "exactly one layer" in output


def test_secrets_are_masked_unless_asked_for(demo_database: Database) -> None:
    code, output = run(
        demo_database,
        "settings",
        "set",
        "--device",
        "001565a00001",
        "admin.password=hunter2-hunter2",
    )
    assert code == 0
    assert "hunter2" not in output
    assert "hunter2" not in run(demo_database, "settings", "001565a00001")[1]
    code, output = run(demo_database, "settings", "001565a00001", "--json", "--show-secrets")
    assert json.loads(output)["settings"]["admin.password"]["value"] == "hunter2-hunter2"


def test_unknown_device_is_a_clear_error(demo_database: Database) -> None:
    code, output = run(demo_database, "settings", "001565ffffff")
    assert code == 1
    assert "no device named '001565ffffff'" in output


def test_keys_lists_the_schema(demo_database: Database) -> None:
    code, output = run(demo_database, "settings", "keys")
    assert code == 0
    for key in ("transport", "outbound_proxy.port", "secondary_proxy.host", "registration.expiry"):
        assert key in output


def test_dump_to_a_file_is_readable_by_its_owner_only(demo_database: Database, tmp_path) -> None:
    target = tmp_path / "backup.yaml"
    code, output = run(demo_database, "dump", "--plaintext-secrets", "-o", str(target))
    assert code == 0, output
    assert target.stat().st_mode & 0o777 == 0o600
    assert "demo-001565a00001" in target.read_text()
    assert not list(tmp_path.glob("*.partial"))
