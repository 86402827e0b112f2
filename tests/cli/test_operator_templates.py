"""Operators' templates end to end: what `provisioner render --show-secrets` prints is what
the phone is served (a template using ``super()`` keeps the vendor's lines); `templates
set` and `list --check` do not call a template ok when its file loses the lines; `dump`
carries the templates and `load` restores them into a fresh database, same bytes served."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from provisioner.cli.context import console
from provisioner.cli.main import cli
from provisioner.storage.database import Database
from provisioner.storage.template_overrides import Override, list_overrides, set_override
from tests.web.support import phone_client

pytestmark = pytest.mark.anyio

BASE_URL = "http://prov.test"  # what phone_client's phones fetch from

YEALINK_SUPER = (
    '{% extends "yealink/device.cfg.j2" %}{% block body %}{{ super() }}\nfeature.x = 1\n'
    "{% endblock %}"
)
POLY_SUPER = (
    '{% extends "poly/device.xml.j2" %}{% block about %}: Acme{% endblock %}'
    "{% block body %}{{ super() }}<!-- acme -->\n{% endblock %}"
)
CISCO_SUPER = (
    '{% extends "cisco/device.xml.j2" %}{% block body %}{{ super() }}'
    '  <Extra_Setting ua="na">1</Extra_Setting>\n{% endblock %}'
)
# (layer, owner, vendor, MAC, the device's own file, template)
CASES = {
    "yealink": ("account", "example-dental", "001565a00001", "001565a00001.cfg", YEALINK_SUPER),
    "poly": ("cluster", "hosted", "0004f2a00002", "0004f2a00002-sip.cfg", POLY_SUPER),
    "cisco": ("account", "globex-hq", "00562ba00003", "00562ba00003.xml", CISCO_SUPER),
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def run(database: Database, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", database.url, *args], env={"COLUMNS": "400"})


async def served(database: Database, mac: str, file: str) -> bytes:
    async with phone_client(database) as phones:
        response = await phones.fetch_own(mac, f"/{file}")
    assert response.status_code == 200, response.text
    return response.content


def fields(override: Override) -> tuple[str, str, str, str, str, bool]:
    """An override without the time it was saved."""
    return (*dataclasses.astuple(override)[:-1],)  # type: ignore[return-value]


def set_all(database: Database) -> None:
    for vendor, (layer, owner, _mac, _file, source) in CASES.items():
        set_override(database, layer, owner, vendor, "device", source)


@pytest.mark.parametrize("vendor", sorted(CASES))
async def test_render_prints_the_served_bytes_of_a_super_template(
    demo_database: Database, vendor: str
) -> None:
    layer, owner, mac, file, _source = CASES[vendor]
    vendors_own = await served(demo_database, mac, file)
    set_all(demo_database)
    body = await served(demo_database, mac, file)
    result = run(demo_database, "render", mac, "--show-secrets", "--url", BASE_URL)
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == body
    assert f"# operator template: {layer} {owner} ({vendor} device)" in result.stderr
    text = body.decode()
    rows = text.splitlines()
    if vendor == "yealink":
        assert "account.1.enable = 1" in rows
        assert "account.1.password = dental-1001-secret" in rows
        assert body == vendors_own + b"\nfeature.x = 1\n"
    else:
        root = ElementTree.fromstring(body)
        if vendor == "cisco":
            assert '  <Line_Enable_1_ ua="na">Yes</Line_Enable_1_>' in rows
            assert root.findtext("Extra_Setting") == "1"
            assert body.replace(b'  <Extra_Setting ua="na">1</Extra_Setting>\n', b"") == vendors_own
        else:
            assert root.tag == "polycomConfig"
            assert len(rows) == len(vendors_own.splitlines()) + 1
    masked = run(demo_database, "render", mac, "--url", BASE_URL)
    assert masked.exit_code == 0, masked.output
    assert "-secret" not in masked.stdout
    assert "# operator template:" in masked.stderr


def test_render_without_a_template_says_nothing_of_one(demo_database: Database) -> None:
    result = run(demo_database, "render", "001565a00001", "--url", BASE_URL)
    assert result.exit_code == 0, result.output
    assert "operator template" not in result.stderr


def test_render_reports_a_failing_template_and_prints_nothing(demo_database: Database) -> None:
    set_override(demo_database, "account", "example-dental", "yealink", "device", "{{ nope }}")
    result = run(demo_database, "render", "001565a00001", "--show-secrets")
    assert result.exit_code == 1
    assert "account example-dental: yealink device" in result.stderr
    assert "'nope' is undefined" in result.stderr
    assert result.stdout == ""


def test_set_and_check_do_not_call_a_template_that_loses_the_lines_ok(
    demo_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 200)  # a cell of the table on one line
    good, flat = tmp_path / "good.j2", tmp_path / "flat.j2"
    good.write_text(YEALINK_SUPER)
    # what super() gave before: the vendor's block on one line
    flat.write_text(
        '{% extends "yealink/device.cfg.j2" %}{% block body %}'
        '{{ super() | replace("\\n", " ") }}{% endblock %}'
    )
    args = ["templates", "set", "account", "example-dental", "yealink", "device"]
    refused = run(demo_database, *args, str(flat))
    assert refused.exit_code == 1
    assert "loses line(s) 1 (SIP user 1001)" in refused.output
    assert "nothing saved" in refused.output
    assert list_overrides(demo_database) == []

    saved = run(demo_database, *args, str(good))
    assert saved.exit_code == 0, saved.output
    assert "saved" in saved.output
    checked = run(demo_database, "templates", "list", "--check")
    assert checked.exit_code == 0, checked.output
    assert "ok (1 device(s))" in checked.output

    set_override(demo_database, "account", "example-dental", "yealink", "device", flat.read_text())
    checked = run(demo_database, "templates", "list", "--check")
    assert checked.exit_code == 1
    assert "loses line(s)" in checked.output
    assert "ok (" not in checked.output


async def test_dump_then_load_into_a_fresh_database_serves_the_same_bytes(
    demo_database: Database, another_database: Callable[[], Database], tmp_path: Path
) -> None:
    set_all(demo_database)
    before = {mac: await served(demo_database, mac, file) for _, _, mac, file, _ in CASES.values()}
    dump = tmp_path / "estate.yaml"
    dumped = run(demo_database, "dump", "--plaintext-secrets", "-o", str(dump))
    assert dumped.exit_code == 0, dumped.output
    text = dump.read_text()
    assert "templates:" in text
    assert "{{ super() }}" in text

    copy = another_database()
    loaded = run(copy, "load", str(dump))
    assert loaded.exit_code == 0, loaded.output
    assert "3 templates" in loaded.output
    assert [fields(o) for o in list_overrides(copy)] == [
        fields(o) for o in list_overrides(demo_database)
    ]
    after = {mac: await served(copy, mac, file) for _, _, mac, file, _ in CASES.values()}
    assert after == before
    for vendor, (_layer, _owner, mac, _file, _source) in CASES.items():
        rendered = run(copy, "render", mac, "--show-secrets", "--url", BASE_URL)
        assert rendered.stdout_bytes == after[mac], vendor
