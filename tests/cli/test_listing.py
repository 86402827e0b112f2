"""`provisioner devices`, `device MAC` and the estate's lists, after real fetches through
the phones' server (last seen written by its batch, flushed on stop)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from provisioner.cli.context import console
from provisioner.cli.listing import parse_since
from provisioner.cli.main import cli
from provisioner.domain.errors import InvalidValue
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.secrets import KEY_FILE_VARIABLE, KEY_VARIABLE, PREFIX, new_key
from tests.web.support import YEALINK, YEALINK_AGENT, phone_client, served_devices

POLY = "0004f2a00002"


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a wide terminal shows them, not squeezed into the runner's 80 columns."""
    monkeypatch.setattr(console, "width", 250)


def run(database: Database, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--db", database.url, *args])
    return result.exit_code, result.output


def as_json(database: Database, *args: str) -> Any:
    code, output = run(database, *args, "--json")
    assert code == 0, output
    return json.loads(output)


async def _fetch_yealink_and_poly(database: Database) -> None:
    paths = served_devices()
    async with phone_client(database) as phones:
        response = await phones.fetch_own(
            YEALINK, paths[YEALINK], headers={"user-agent": YEALINK_AGENT}
        )
        assert response.status_code == 200
        response = await phones.fetch_own(POLY, paths[POLY])
        assert response.status_code == 200
        upload = await phones.fetch_own(POLY, f"/{POLY}-app.log", method="PUT", content=b"boot ok")
        assert upload.status_code < 300
        await phones.phones.seen.flush()


@pytest.mark.anyio
async def test_devices_after_real_fetches(demo_database: Database) -> None:
    all_devices = as_json(demo_database, "devices")
    assert all(device["last_fetch"] is None for device in all_devices)
    await _fetch_yealink_and_poly(demo_database)

    seen = {
        device["mac"]: device for device in as_json(demo_database, "devices", "--seen-since", "1h")
    }
    assert set(seen) == {YEALINK, POLY}
    fetch = seen[YEALINK]["last_fetch"]
    assert fetch["address"] == "192.0.2.10"
    assert fetch["user_agent"] == YEALINK_AGENT
    assert fetch["firmware"] == "108.86.0.20"
    assert fetch["outcome"] == "served"
    assert seen[YEALINK]["zone_given"] == "us-east"
    at = datetime.fromisoformat(fetch["at"])
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)

    never = {device["mac"] for device in as_json(demo_database, "devices", "--never-seen")}
    assert never == {device["mac"] for device in all_devices} - {YEALINK, POLY}
    # an ISO time in the future keeps none; one in the past keeps both
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert as_json(demo_database, "devices", "--seen-since", future) == []
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert len(as_json(demo_database, "devices", "--seen-since", past)) == 2

    accounts = as_json(demo_database, "devices", "--account", "example-dental")
    assert {device["mac"] for device in accounts} == {YEALINK, POLY}
    assert {d["mac"] for d in as_json(demo_database, "devices", "--zone", "us-east")} >= {YEALINK}

    code, table = run(demo_database, "devices", "--seen-since", "2h")
    assert code == 0, table
    assert YEALINK in table and "served" in table and "192.0.2.10" in table


@pytest.mark.anyio
async def test_device_shows_everything_and_masks_secrets(demo_database: Database) -> None:
    await _fetch_yealink_and_poly(demo_database)
    document = as_json(demo_database, "device", "00:04:F2:A0:00:02")
    assert document["mac"] == POLY and document["account"] == "example-dental"
    assert document["provisioning"] == {"user": POLY, "password": "********"}
    assert [line["password"] for line in document["lines"]] == ["********"]
    assert document["lines"][0]["sip_user"] == "1003"
    assert document["fetches"][0]["outcome"] == "served"
    assert document["fetches"][0]["address"] == "192.0.2.10"
    assert document["logs"][0]["name"] == f"{POLY}-app.log"
    assert document["logs"][0]["bytes"] == len(b"boot ok")
    assert document["zone"]["given"] == "us-east"
    assert document["zone"]["now"]["name"] == "us-east"
    assert document["zone"]["now"]["reason"]

    code, output = run(demo_database, "device", POLY)
    assert code == 0, output
    assert "dental-1003-secret" not in output and "demo-" + POLY not in output
    assert "********" in output and f"{POLY}-app.log" in output and "served" in output
    assert "us-east" in output

    # neither the stored form (plain or encrypted) nor the plain text leaks masked
    with demo_database.read() as session:
        stored = session.scalars(select(models.Line.password)).all()
    code, output = run(demo_database, "device", POLY, "--json")
    assert not any(value in output for value in stored)

    shown = as_json(demo_database, "device", POLY, "--show-secrets")
    assert shown["provisioning"]["password"] == f"demo-{POLY}"
    assert shown["lines"][0]["password"] == "dental-1003-secret"


def test_a_never_seen_device_says_so(demo_database: Database) -> None:
    document = as_json(demo_database, "device", YEALINK)
    assert document["last_fetch"] is None and document["fetches"] == []
    assert document["zone"]["given"] is None
    assert document["zone"]["now"]["step"] == "default"
    code, output = run(demo_database, "device", YEALINK)
    assert code == 0 and "never" in output


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["devices", "--seen-since", "yesterday"], "--seen-since"),
        (["devices", "--seen-since", "5 parsecs"], "--seen-since"),
        (["devices", "--account", "no-such"], "--account"),
        (["devices", "--partner", "no-such"], "--partner"),
        (["devices", "--zone", "no-such"], "--zone"),
        (["devices", "--never-seen", "--seen-since", "1h"], "--never-seen"),
        (["device", "not-a-mac"], "MAC"),
        (["device", "00:11:22:33:44:55"], "device"),
        (["accounts", "--cluster", "no-such"], "--cluster"),
        (["zones", "--cluster", "no-such"], "--cluster"),
    ],
)
def test_bad_input_is_a_clear_error(demo_database: Database, args: list[str], named: str) -> None:
    result = CliRunner().invoke(cli, ["--db", demo_database.url, *args])
    assert result.exit_code == 1
    assert "error:" in result.stderr and named in result.stderr
    assert "Traceback" not in result.output


def test_parse_since() -> None:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_since("2h", now=now) == now - timedelta(hours=2)
    assert parse_since("30m", now=now) == now - timedelta(minutes=30)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("2024-04-30T10:00:00Z") == datetime(2024, 4, 30, 10, tzinfo=UTC)
    assert parse_since("2024-04-30T12:00:00+02:00") == datetime(2024, 4, 30, 10, tzinfo=UTC)
    assert parse_since("2024-04-30") == datetime(2024, 4, 30, tzinfo=UTC)
    with pytest.raises(InvalidValue, match="--seen-since"):
        parse_since("-3h")


def test_the_estate_lists(demo_database: Database) -> None:
    accounts = {row["name"]: row for row in as_json(demo_database, "accounts")}
    assert {"example-dental", "globex-hq", "acme-bakery"} <= set(accounts)
    assert accounts["example-dental"]["devices"] == 2
    assert accounts["example-dental"]["never_seen"] == 2
    partners = {row["name"]: row for row in as_json(demo_database, "partners")}
    assert "acme" in partners and partners["acme"]["accounts"] >= 1
    zones = as_json(demo_database, "zones")
    assert any(zone["name"] == "us-east" and zone["default"] for zone in zones)
    servers = as_json(demo_database, "media-servers")
    assert servers and all(server["addresses"] for server in servers)
    for command in ("accounts", "partners", "zones", "media-servers"):
        code, output = run(demo_database, command)
        assert code == 0, output
    code, output = run(demo_database, "zones")
    assert "us-east" in output


def test_encrypted_secrets_are_masked_and_decrypted_only_when_asked(
    demo_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (KEY_VARIABLE, KEY_FILE_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    key = new_key()
    runner = CliRunner()
    url = demo_database.url
    done = runner.invoke(cli, ["--db", url, "secrets", "encrypt"], env={KEY_VARIABLE: key})
    assert done.exit_code == 0, done.output
    with demo_database.read() as session:
        stored = session.scalars(select(models.Line.password)).all()
    assert all(value.startswith(PREFIX) for value in stored)

    masked = runner.invoke(cli, ["--db", url, "device", POLY, "--json"], env={KEY_VARIABLE: key})
    assert masked.exit_code == 0, masked.output
    assert PREFIX not in masked.output and "dental-1003-secret" not in masked.output
    shown = runner.invoke(
        cli, ["--db", url, "device", POLY, "--json", "--show-secrets"], env={KEY_VARIABLE: key}
    )
    assert shown.exit_code == 0, shown.output
    assert PREFIX not in shown.output
    assert json.loads(shown.output)["lines"][0]["password"] == "dental-1003-secret"
    # without the key: still masked fine; asking for secrets is a clear error, no ciphertext
    masked = runner.invoke(cli, ["--db", url, "device", POLY])
    assert masked.exit_code == 0, masked.output
    refused = runner.invoke(cli, ["--db", url, "device", POLY, "--show-secrets"])
    assert refused.exit_code == 1
    assert "error:" in refused.stderr and PREFIX not in refused.output
