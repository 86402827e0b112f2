"""`provisioner dns zone` and `provisioner dns export`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.zone
import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.storage.database import Database
from tests.dns.knot import free_port


def run(database: Database, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["--db", database.url, "dns", *args], catch_exceptions=False)


def test_zone_prints_bind_format(demo_database: Database) -> None:
    result = run(demo_database, "zone", "p.acme.example")
    assert result.exit_code == 0, result.output
    zone = dns.zone.from_text(result.output, origin="p.acme.example.", relativize=False)
    srv = zone.find_rdataset("_sip._udp.us-east.p.acme.example.", "SRV")
    assert sorted(r.priority for r in srv) == [10, 20, 30]


def test_zone_names_the_known_domains_when_asked_for_another(demo_database: Database) -> None:
    result = run(demo_database, "zone", "example.org")
    assert result.exit_code == 1
    assert "DOMAIN: 'example.org' is not one of our zones" in result.output
    assert "p.example.net" in result.output


def test_zone_with_name_servers(demo_database: Database) -> None:
    result = run(
        demo_database, "zone", "p.example.net", "--ns", "ns1=192.0.2.53", "--ns", "ns2.example.org"
    )
    assert "ns1.p.example.net. 300 IN A 192.0.2.53" in result.output
    assert "NS ns2.example.org." in result.output
    bad = run(demo_database, "zone", "p.example.net", "--ns", "ns1=not-an-address")
    assert bad.exit_code == 1 and "--ns" in bad.output


def test_export_writes_zone_files_and_snippets(demo_database: Database, tmp_path: Path) -> None:
    result = run(demo_database, "export", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "knot.conf",
        "named.conf",
        "nsd.conf",
        "p.acme.example.zone",
        "p.example.net.zone",
        "voice.globex.example.zone",
    ]
    text = (tmp_path / "out" / "p.example.net.zone").read_text()
    dns.zone.from_text(text, origin="p.example.net.", relativize=False).check_origin()
    assert "domain: voice.globex.example" in (tmp_path / "out" / "knot.conf").read_text()


def test_a_bad_hostmaster_is_named(demo_database: Database) -> None:
    result = run(demo_database, "zone", "p.example.net", "--hostmaster", "not a name!")
    assert result.exit_code == 1
    assert "DNS zone p.example.net: SOA hostmaster:" in result.output
    ok = run(demo_database, "zone", "p.example.net", "--hostmaster", "dns@example.org")
    assert "dns.example.org." in ok.output


def wait_for_answer(port: int, name: str, process: subprocess.Popen[str]) -> dns.message.Message:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read() if process.stdout else "exited")
        try:
            return dns.query.udp(
                dns.message.make_query(name, "SRV"), "127.0.0.1", port=port, timeout=0.5
            )
        except dns.exception.Timeout:
            continue
    raise AssertionError("no answer within 30 s")


@pytest.mark.parametrize(
    "command",
    [["dns", "serve"], ["serve", "--demo", "--http", "127.0.0.1:0"]],
    ids=["dns serve", "serve"],
)
def test_the_commands_serve_dns_and_stop_on_sigterm(
    demo_database: Database, tmp_path: Path, command: list[str]
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "provisioner",
            "--db",
            demo_database.url,
            *command,
            "--dns",
            f"127.0.0.1:{port}",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        response = wait_for_answer(port, "_sip._udp.us-west.p.example.net", process)
        assert len(response.answer[0]) == 3
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert f"DNS   udp+tcp 127.0.0.1:{port}" in output
    assert "stopped." in output and "Traceback" not in output


def test_dns_serve_refuses_an_address_in_use(demo_database: Database) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        result = run(demo_database, "serve", "--dns", f"127.0.0.1:{port}")
    assert result.exit_code == 1
    assert f"--dns 127.0.0.1:{port}: Address already in use" in result.output


def test_export_names_a_bad_primary(demo_database: Database, tmp_path: Path) -> None:
    for bad in ("ns1.example.net@53", "127.0.0.1@99999"):
        result = run(demo_database, "export", str(tmp_path / "out"), "--primary", bad)
        assert result.exit_code == 1 and "--primary" in result.output
    assert not (tmp_path / "out").exists()  # nothing written
