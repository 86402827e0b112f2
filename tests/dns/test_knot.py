"""Knot DNS as a secondary of the embedded server: it transfers every demo zone by AXFR,
answers every name and type exactly as we do (compared with kdig), and follows a change
through NOTIFY."""

from __future__ import annotations

from pathlib import Path

import dns.name
import pytest

from provisioner.dns.publish import current_records
from provisioner.dns.service import DnsSettings
from provisioner.dns.transfer import Secondary, TransferPolicy
from provisioner.storage.database import Database
from tests.conftest import require_tool
from tests.dns.conftest import start_dns, stop_dns
from tests.dns.helpers import move_media_server
from tests.dns.knot import free_port, kdig, knot_config, running_knot, serial_at, wait_for

pytestmark = pytest.mark.integration

DOMAINS = ("p.example.net", "p.acme.example", "voice.globex.example")
TYPES = ("SOA", "NS", "NAPTR", "SRV", "A", "AAAA", "TXT")


def every_question(database: Database) -> list[tuple[str, str]]:
    questions = []
    for zone in current_records(database).zones:
        names = set(zone.names())
        for name in list(names):  # empty non-terminals too
            while name != zone.origin:
                name = name.parent()
                names.add(name)
        for name in sorted(names):
            questions += [(name.to_text(), rdtype) for rdtype in TYPES]
        missing = dns.name.from_text("no-such-name", zone.origin).to_text()
        questions.append((missing, "A"))
    return questions


def test_knot_as_secondary_answers_exactly_as_we_do_and_follows_notify(
    demo_database: Database, tmp_path: Path
) -> None:
    knotd = require_tool("knotd")
    kdig_path = require_tool("kdig")
    knot_port = free_port()
    policy = TransferPolicy(notify=(Secondary("127.0.0.1", knot_port),))
    ours = start_dns(demo_database, DnsSettings(port=0, transfer=policy, poll_seconds=0.05))
    try:
        config = knot_config(tmp_path / "knot", knot_port, DOMAINS, primary_port=ours.port)
        with running_knot(knotd, tmp_path / "knot", config):
            for domain in DOMAINS:
                expected = ours.query(domain, "SOA").answer[0][0].serial
                assert wait_for(lambda d=domain, s=expected: serial_at(knot_port, d) == s), (
                    tmp_path / "knot" / "knot.log"
                ).read_text()
            for name, rdtype in every_question(demo_database):
                assert kdig(kdig_path, knot_port, name, rdtype) == kdig(
                    kdig_path, ours.port, name, rdtype
                ), (name, rdtype)

            before = serial_at(knot_port, "p.example.net")
            move_media_server(demo_database, "192.0.2.123")
            assert wait_for(
                lambda: (
                    kdig(kdig_path, knot_port, "ms1.p.example.net", "A")[1]
                    == kdig(kdig_path, ours.port, "ms1.p.example.net", "A")[1]
                    and "192.0.2.123"
                    in " ".join(kdig(kdig_path, knot_port, "ms1.p.example.net", "A")[1])
                )
            ), (tmp_path / "knot" / "knot.log").read_text()
            assert serial_at(knot_port, "p.example.net") > before
            log = (tmp_path / "knot" / "knot.log").read_text()
            assert "notify, incoming" in log  # the change came by NOTIFY, not by polling
    finally:
        stop_dns(ours)


def test_knot_serves_the_exported_files_with_the_exported_snippet(
    demo_database: Database, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from provisioner.cli.main import cli

    knotd = require_tool("knotd")
    kdig_path = require_tool("kdig")
    out = tmp_path / "export"
    result = CliRunner().invoke(cli, ["--db", demo_database.url, "dns", "export", str(out)])
    assert result.exit_code == 0, result.output
    knot_port = free_port()
    config = (
        f"server:\n    rundir: {out}\n    listen: 127.0.0.1@{knot_port}\n"
        f"database:\n    storage: {out}\n"
        f"log:\n  - target: {out / 'knot.log'}\n    any: info\n"
        f"include: {out / 'knot.conf'}\n"
    )
    ours = start_dns(demo_database)
    try:
        with running_knot(knotd, tmp_path / "knot-files", config):
            assert wait_for(lambda: serial_at(knot_port, "p.acme.example") is not None)
            for name, rdtype in every_question(demo_database):
                assert kdig(kdig_path, knot_port, name, rdtype) == kdig(
                    kdig_path, ours.port, name, rdtype
                ), (name, rdtype)
    finally:
        stop_dns(ours)
