"""Operators' templates reach the phones they are meant for; a broken one never serves a
half-rendered file (the phone keeps its previous good file), and `provisioner templates`
refuses to save one that fails, without printing secrets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.storage.database import Database
from provisioner.storage.template_overrides import list_overrides, set_override
from tests.web.support import YEALINK, phone_client

pytestmark = pytest.mark.anyio

FILE = f"/{YEALINK}.cfg"
EXTENDS = '{% extends "yealink/device.cfg.j2" %}{% block about %}: Acme Dental custom{% endblock %}'
BROKEN = (
    "#!version:1.0.0.1\naccount.1.password = {{ lines[0].password }}\n{{ no_such_thing.at_all }}\n"
)


async def test_an_account_template_reaches_its_devices(demo_database: Database) -> None:
    async with phone_client(demo_database) as phones:
        before = await phones.fetch_own(YEALINK, FILE)
        set_override(demo_database, "account", "example-dental", "yealink", "device", EXTENDS)
        await phones.phones.changes.refresh()
        after = await phones.fetch_own(YEALINK, FILE)
    assert b"Acme Dental custom" in after.content
    assert b"Acme Dental custom" not in before.content
    assert b"account.1.password = dental-1001-secret" in after.content
    assert after.headers["etag"] != before.headers["etag"]


async def test_a_broken_template_keeps_the_previous_good_file(
    demo_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    async with phone_client(demo_database) as phones:
        good = await phones.fetch_own(YEALINK, FILE)
        set_override(demo_database, "account", "example-dental", "yealink", "device", BROKEN)
        await phones.phones.changes.refresh()
        with caplog.at_level(logging.ERROR):
            after = await phones.fetch_own(YEALINK, FILE)
    assert after.status_code == 200
    assert after.content == good.content
    assert "account example-dental: yealink device" in caplog.text
    assert "dental-1001-secret" not in caplog.text


async def test_a_broken_template_with_no_previous_file_is_an_error_not_a_part(
    demo_database: Database,
) -> None:
    set_override(demo_database, "cluster", "hosted", "yealink", "device", BROKEN)
    async with phone_client(demo_database) as phones:
        response = await phones.fetch_own(YEALINK, FILE)
    assert response.status_code == 500
    assert b"secret" not in response.content
    assert b"version" not in response.content


def test_the_command_refuses_a_failing_template_and_saves_a_good_one(
    demo_database: Database, tmp_path: Path
) -> None:
    runner = CliRunner()
    broken, good = tmp_path / "broken.j2", tmp_path / "good.j2"
    broken.write_text(BROKEN)
    good.write_text(EXTENDS)
    base = ["--db", demo_database.url, "templates"]
    args = ["account", "example-dental", "yealink", "device"]

    refused = runner.invoke(cli, [*base, "set", *args, str(broken)])
    assert refused.exit_code == 1
    assert "nothing saved" in refused.output
    assert "dental-1001-secret" not in refused.output
    assert list_overrides(demo_database) == []

    saved = runner.invoke(cli, [*base, "set", *args, str(good)])
    assert saved.exit_code == 0, saved.output
    listed = runner.invoke(cli, [*base, "list", "--check"])
    assert listed.exit_code == 0, listed.output
    assert "example-dental" in listed.output
    assert "ok" in listed.output

    bad_kind = runner.invoke(
        cli, [*base, "set", "account", "example-dental", "yealink", "nope", str(good)]
    )
    assert bad_kind.exit_code != 0
    assert "no file kind" in bad_kind.output

    removed = runner.invoke(cli, [*base, "unset", *args])
    assert removed.exit_code == 0, removed.output
    assert list_overrides(demo_database) == []
