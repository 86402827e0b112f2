"""`provisioner geoip explain` and `update`, and the GeoIP options of `serve`."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from provisioner.cli.context import State, reports_errors
from provisioner.cli.geoip import build_locator, geoip, serve_options
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import migrate
from provisioner.storage.database import Database
from provisioner.storage.locations import save_device_location
from tests.conftest import DEMO
from tests.geoip.conftest import DENVER, WEST_V4, WEST_V6


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'estate.db'}"
    database = Database(url)
    migrate.ensure_schema(database)
    load_estate_file(database, read_estate_file(DEMO.read_text(), "demo.yaml"))
    database.dispose()
    return url


def run(db_url: str, *args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(geoip, list(args), obj=State(db_url), env=env)


def test_explain_as_json(db_url: str, city_mmdb: Path) -> None:
    result = run(db_url, "explain", WEST_V4, "--geoip", str(city_mmdb), "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["found"]["city"] == "San Jose" and document["found"]["network_prefix"] == 16
    hosted = next(c for c in document["clusters"] if c["cluster"] == "hosted")
    assert (hosted["zone"], hosted["step"]) == ("us-west", "city")
    assert hosted["proxy_name"] == "us-west.p.example.net"
    assert [z["zone"] for z in hosted["zones"]] == ["us-west", "us-central", "us-east"]
    assert hosted["zones"][0]["distance_km"] < 5 < hosted["zones"][2]["distance_km"]
    assert {c["cluster"] for c in document["clusters"]} == {"hosted", "globex"}


def test_explain_as_a_table(db_url: str, city_mmdb: Path) -> None:
    result = run(db_url, "explain", WEST_V6, "--geoip", str(city_mmdb), "--cluster", "hosted")
    assert result.exit_code == 0, result.output
    assert "San Jose" in result.output and "us-west.p.example.net" in result.output
    assert "chosen" in result.output and "step city" in result.output
    assert "globex" not in result.output


def test_explain_for_a_partners_device_with_its_previous_zone(db_url: str, city_mmdb: Path) -> None:
    database = Database(db_url)
    save_device_location(database, "0c383ea00006", DENVER, "us-west")
    database.dispose()
    result = run(
        db_url, "explain", DENVER, "--geoip", str(city_mmdb), "--device", "0C:38:3E:A0:00:06"
    )
    assert result.exit_code == 0, result.output
    assert "us-west.p.acme.example" in result.output
    assert "kept us-west" in result.output


def test_explain_a_pinned_device_and_a_rule(db_url: str) -> None:
    result = run(db_url, "explain", WEST_V4, "--device", "000b82a00004", "--json")
    assert json.loads(result.output)["clusters"][0]["step"] == "pinned"
    result = run(db_url, "explain", "10.1.2.3", "--cluster", "hosted", "--json")
    document = json.loads(result.output)
    assert document["not_looked_up"].startswith("private")
    assert document["clusters"][0]["step"] == "rule"


def test_explain_with_the_database_from_the_environment(db_url: str, city_mmdb: Path) -> None:
    result = run(db_url, "explain", WEST_V4, "--json", env={"PROVISIONER_GEOIP": str(city_mmdb)})
    assert json.loads(result.output)["found"]["city"] == "San Jose"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "not-an-ip"], "ADDRESS: 'not-an-ip' is not an IPv4 or IPv6 address"),
        (["explain", WEST_V4, "--device", "zz"], "--device: 'zz' is not a MAC address"),
        (["explain", WEST_V4, "--device", "001565ffff00"], "no device named '001565ffff00'"),
        (["explain", WEST_V4, "--cluster", "nope"], "no cluster named 'nope'"),
        (["explain", WEST_V4, "--geoip", "/nonexistent.mmdb"], "--geoip /nonexistent.mmdb"),
        (["explain", WEST_V4, "--geoip-margin-km", "-1"], "--geoip-margin-km"),
        (["update", "--url", "file:///nonexistent"], "--path: name the .mmdb file"),
    ],
)
def test_bad_input_names_the_option(db_url: str, args: list[str], message: str) -> None:
    result = run(db_url, *args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())


@click.command()
@serve_options
@reports_errors
def fake_serve(**options: object) -> None:
    locator = build_locator(**options)  # type: ignore[arg-type]
    click.echo(locator.describe())


def test_serve_options_build_the_locator(city_mmdb: Path) -> None:
    result = CliRunner().invoke(
        fake_serve,
        ["--geoip", str(city_mmdb), "--trusted-proxy", "10.0.0.0/8", "--geoip-margin-km", "250"],
        env={"PROVISIONER_TRUSTED_PROXIES": ""},
    )
    assert result.exit_code == 0, result.output
    assert "Test-City" in result.output and "10.0.0.0/8" in result.output
    assert "250 km" in result.output


def test_serve_options_from_the_environment() -> None:
    env = {"PROVISIONER_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.0.0/16 ::1"}
    result = CliRunner().invoke(fake_serve, [], env=env)
    assert "10.0.0.0/8, 192.168.0.0/16, ::1/128" in result.output
    env = {"PROVISIONER_TRUSTED_PROXIES": "10.0.0.0/8 bogus"}
    result = CliRunner().invoke(fake_serve, [], env=env)
    assert result.exit_code == 1
    assert "PROVISIONER_TRUSTED_PROXIES: 'bogus' is not a CIDR" in result.output


def test_a_missing_or_corrupt_file_stops_the_start(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.mmdb"
    corrupt.write_bytes(b"not a database")
    result = CliRunner().invoke(fake_serve, [], env={"PROVISIONER_GEOIP": str(corrupt)})
    assert result.exit_code == 1
    output = " ".join(result.output.split())
    assert f"PROVISIONER_GEOIP {corrupt}: not a MaxMind-format database" in output
    assert "--geoip-optional" in output
    result = CliRunner().invoke(fake_serve, ["--geoip", str(tmp_path / "none.mmdb")])
    assert result.exit_code == 1 and "no such file" in result.output


def test_an_optional_file_only_warns(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        fake_serve, ["--geoip", str(tmp_path / "none.mmdb"), "--geoip-optional"]
    )
    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output
