"""`provisioner render MAC`: the exact bytes, secrets masked unless asked, zone by --ip."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from provisioner.cli.main import cli
from provisioner.domain.effective import device_config
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device, load_estate
from provisioner.vendors import RenderContext, profile
from tests.vendors.conftest import DEMO_MACS

URL = "https://prov.example.net"


def run(database: Database, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", database.url, "render", *args])


@pytest.mark.parametrize("vendor", sorted(DEMO_MACS))
def test_show_secrets_prints_exactly_what_the_profile_renders(
    demo_database: Database, vendor: str
) -> None:
    mac = DEMO_MACS[vendor]
    result = run(demo_database, mac, "--show-secrets", "--url", URL)
    assert result.exit_code == 0, result.output
    with demo_database.read() as session:
        config = device_config(load_estate(session), load_device(session, mac))  # type: ignore[arg-type]
    vendor_profile = profile(vendor)
    context = RenderContext(URL, mac=mac, model=config.model)
    assert result.stdout_bytes == vendor_profile.render("device", config, context)
    assert "-secret" in result.stdout
    assert f"zone {config.zone}" in result.stderr


@pytest.mark.parametrize("vendor", sorted(DEMO_MACS))
def test_secrets_are_masked_by_default(demo_database: Database, vendor: str) -> None:
    result = run(demo_database, DEMO_MACS[vendor])
    assert result.exit_code == 0, result.output
    assert "-secret" not in result.stdout
    assert "********" in result.stdout
    assert "secrets masked" in result.stderr


def test_file_names_a_boot_file(demo_database: Database) -> None:
    result = run(demo_database, "00:15:65:A0:00:01", "--file", "001565a00001.boot", "--url", URL)
    assert result.exit_code == 0, result.output
    assert f'include:config "{URL}/001565a00001.cfg"' in result.stdout
    cisco = run(demo_database, "00562ba00003", "--file", "spa504G.cfg", "--url", URL)
    assert cisco.exit_code == 0, cisco.output
    assert f"{URL}/$MA.xml" in cisco.stdout


def test_ip_chooses_the_zone_as_for_a_fetch(demo_database: Database) -> None:
    result = run(demo_database, "001565a00001", "--ip", "198.51.100.7")  # rule → us-west
    assert result.exit_code == 0, result.output
    assert "outbound_proxy.1.address = us-west.p.example.net" in result.stdout
    assert "zone us-west" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nonsense"], "not a MAC address"),
        (["0004f2a00099"], "no device named"),
        (["0004f2a00002", "--ip", "999.1.1.1"], "not an IPv4 or IPv6 address"),
        (["0004f2a00002", "--file", "001565a00001.cfg"], "file of device 001565a00001"),
        (["0004f2a00002", "--file", "../etc/passwd"], "do not ask for"),
        (["0004f2a00002", "--file", "0004f2a00002-app.log"], "not served"),
    ],
)
def test_errors_name_what_is_wrong(demo_database: Database, args: list[str], message: str) -> None:
    result = run(demo_database, *args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert result.stdout == ""


def test_public_files_name_the_shared_url_as_served(demo_database: Database) -> None:
    """A boot file is public: the server names the URL every MAC shares in it, never a
    device's own (which would tell which MACs exist); render prints the same."""
    invoke = CliRunner().invoke
    db = ["--db", demo_database.url]
    mac = DEMO_MACS["yealink"]
    assert (
        invoke(
            cli, [*db, "settings", "set", "--global", "provisioning.url=https://shared.example.net"]
        ).exit_code
        == 0
    )
    assert (
        invoke(
            cli,
            [*db, "settings", "set", "--device", mac, "provisioning.url=https://own.example.net"],
        ).exit_code
        == 0
    )
    boot = run(demo_database, mac, "--file", f"{mac}.boot")
    assert boot.exit_code == 0, boot.output
    assert f'include:config "https://shared.example.net/{mac}.cfg"' in boot.stdout
    device = run(demo_database, mac)
    assert "static.auto_provision.server.url = https://own.example.net" in device.stdout
