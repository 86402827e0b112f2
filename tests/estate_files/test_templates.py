"""Operators' templates in estate files: under their owner (cluster, partner, account),
checked with errors naming the entry and field, tried on the devices they reach before the
load commits, replaced only when the owner's entry lists them, and carried by `dump`."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli.main import cli
from provisioner.domain.errors import EstateErrors
from provisioner.estate_files.dump import dump_estate
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage.database import Database
from provisioner.storage.template_overrides import list_overrides, set_override

SUPER = '{% extends "yealink/device.cfg.j2" %}{% block body %}{{ super() }}\nfeature.x = 1\n{% endblock %}'


def dump_text(database: Database) -> str:
    out = io.StringIO()
    dump_estate(database, out)
    return out.getvalue()


def load(database: Database, text: str, tmp_path: Path) -> Result:
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    return CliRunner().invoke(cli, ["--db", database.url, "load", str(path)])


def stored(database: Database) -> dict[tuple[str, str, str, str], str]:
    return {(o.layer, o.owner, o.vendor, o.kind): o.source for o in list_overrides(database)}


ACCOUNT = "accounts:\n  - name: example-dental\n    templates:\n"

BAD = {
    "unknown vendor": (
        ACCOUNT + "      - {vendor: nokia, kind: device, source: x}\n",
        "accounts[0] example-dental › templates[0] nokia device › vendor: Input should be",
    ),
    "kind of another vendor": (
        ACCOUNT + "      - {vendor: yealink, kind: master, source: x}\n",
        "accounts[0] example-dental › templates[0] yealink master › kind: yealink has no file "
        "kind 'master' (boot, common-boot, device, model)",
    ),
    "syntax error": (
        ACCOUNT + "      - vendor: yealink\n        kind: device\n        source: |\n"
        "          a\n          {% for x in lines %}\n",
        "accounts[0] example-dental › templates[0] yealink device › source: line 2: Unexpected "
        "end of template",
    ),
    "no source": (
        ACCOUNT + "      - {vendor: yealink, kind: device}\n",
        "accounts[0] example-dental › templates[0] yealink device › source: required",
    ),
    "unknown field": (
        ACCOUNT + "      - {vendor: yealink, kind: device, source: x, file: a.j2}\n",
        "accounts[0] example-dental › templates[0] yealink device › file: unknown field",
    ),
    "twice the same file": (
        ACCOUNT
        + "      - {vendor: yealink, kind: device, source: x}\n"
        + "      - {vendor: Yealink, kind: device, source: y}\n",
        "accounts[0] example-dental › templates: two templates for the same vendor and file kind",
    ),
    "a partner's, fails on its devices": (
        "clusters:\n  - name: hosted\n    partners:\n      - name: acme\n"
        "        domain: p.acme.example\n        templates:\n"
        "          - {vendor: grandstream, kind: device, source: '<x>{{ lines[0].nope }}</x>'}\n",
        "clusters[0] hosted › partners[0] acme › templates[0] grandstream device › source: "
        "device 000b82a00004: partner acme: grandstream device",
    ),
    "loses the lines": (
        ACCOUNT + "      - {vendor: yealink, kind: device, source: '#!version:1.0.0.1\n'}\n",
        "accounts[0] example-dental › templates[0] yealink device › source: device "
        "001565a00001: account example-dental: yealink device: the file loses line(s) 1 "
        "(SIP user 1001)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_template_names_entry_and_field_and_changes_nothing(
    case: str, demo_database: Database, tmp_path: Path
) -> None:
    text, message = BAD[case]
    set_override(demo_database, "account", "example-dental", "yealink", "device", SUPER)
    before, change = dump_text(demo_database), demo_database.latest_change()
    result = load(demo_database, text, tmp_path)
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "secret" not in result.output
    assert dump_text(demo_database) == before
    assert demo_database.latest_change() == change


def test_templates_are_replaced_only_where_the_file_lists_them(
    demo_database: Database, tmp_path: Path
) -> None:
    set_override(demo_database, "account", "example-dental", "yealink", "device", SUPER)
    set_override(demo_database, "account", "example-dental", "poly", "master", "<a/>")
    set_override(demo_database, "cluster", "hosted", "yealink", "boot", "#!version:1.0.0.1\n")

    # Left out: kept, as every field left out keeps its stored value.
    result = load(
        demo_database, "accounts:\n  - name: example-dental\n    settings: {}\n", tmp_path
    )
    assert result.exit_code == 0, result.output
    assert len(stored(demo_database)) == 3

    # Given: the owner's templates are exactly those listed; other owners' stay.
    result = load(
        demo_database,
        ACCOUNT + "      - {vendor: poly, kind: master, source: '<b/>'}\n",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert "updated 1 account, 1 template; removed 1 template" in result.output
    assert stored(demo_database) == {
        ("account", "example-dental", "poly", "master"): "<b/>",
        ("cluster", "hosted", "yealink", "boot"): "#!version:1.0.0.1\n",
    }

    result = load(
        demo_database, "accounts:\n  - name: example-dental\n    templates: []\n", tmp_path
    )
    assert result.exit_code == 0, result.output
    assert list(stored(demo_database)) == [("cluster", "hosted", "yealink", "boot")]


@pytest.mark.parametrize(
    "source",
    [
        '{% extends "yealink/boot.boot.j2" %}{% block about %}: ours{% endblock %}',
        "no final newline {{ 1 + 1 }}",
        "trailing spaces   \n\tand a tab\n\n\n",
        "  leading spaces\n{%- if true %} x {% endif -%}\n",
        "crlf\r\nline = 1\r\n",
        "# ünïcode: 电话 {{ '\"quoted\"' }} 'single' : # {}\n",
        "{% raw %}{{ not a value }}{% endraw %}\n",
    ],
)
def test_dump_and_load_carry_every_source_exactly(
    demo_database: Database, another_database: Callable[[], Database], source: str
) -> None:
    set_override(
        demo_database, "partner", "acme", "grandstream", "model", f"<a>{{# {source} #}}</a>"
    )
    set_override(demo_database, "account", "example-dental", "yealink", "boot", source)
    set_override(demo_database, "cluster", "hosted", "snom", "model-index", "<b/>")
    text = dump_text(demo_database)
    copy = another_database()
    try:
        load_estate_file(copy, read_estate_file(text, "dump"))
    except EstateErrors as problems:  # a boot file has no lines: every source loads
        pytest.fail(str(problems))
    assert stored(copy) == stored(demo_database)
    assert dump_text(copy) == text


def test_a_dump_writes_templates_under_their_owners_as_literal_blocks(
    demo_database: Database,
) -> None:
    set_override(demo_database, "account", "example-dental", "yealink", "device", SUPER)
    set_override(demo_database, "partner", "acme", "grandstream", "device", "<x/>")
    text = dump_text(demo_database)
    estate = read_estate_file(text)
    partner = next(p for c in estate.clusters for p in c.partners if p.name == "acme")
    assert [(t.vendor, t.kind, t.source) for t in partner.templates] == [
        ("grandstream", "device", "<x/>")
    ]
    account = next(a for a in estate.accounts if a.name == "example-dental")
    assert [(t.vendor, t.kind, t.source) for t in account.templates] == [
        ("yealink", "device", SUPER)
    ]
    assert (
        "  templates:\n  - vendor: yealink\n    kind: device\n    source: |-\n"
        '      {% extends "yealink/device.cfg.j2" %}' in text
    )
