"""Characters a phone's XML file cannot carry (U+FFFE, U+FFFF, surrogates, controls) are
refused where they enter the estate, naming the field; any that reach a renderer another
way are written as spaces, so every vendor's file stays well-formed."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ElementTree

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.domain.estate import LineConfig
from provisioner.estate_files.dump import dump_estate
from provisioner.storage.database import Database
from provisioner.vendors import PROFILES
from tests.vendors.helpers import MODELS, config, render

BAD = ("\ufffe", "\uffff", "\x01")


def dump_text(database: Database) -> str:
    out = io.StringIO()
    dump_estate(database, out)
    return out.getvalue()


@pytest.mark.parametrize("char", BAD, ids=["U+FFFE", "U+FFFF", "U+0001"])
@pytest.mark.parametrize("field", ["display_name", "label", "sip_user", "password"])
def test_a_line_field_is_refused_with_its_name(
    demo_database: Database, tmp_path, field: str, char: str
) -> None:
    line = {"index": 1, "sip_user": "1001", "password": "secret-1001", field: f"a{char}b"}
    document = {
        "accounts": [
            {
                "name": "example-dental",
                "devices": [
                    {"mac": "001565b00009", "vendor": "yealink", "model": "T46U", "lines": [line]}
                ],
            }
        ]
    }
    path = tmp_path / "bad.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML: the character goes in as written
    before = dump_text(demo_database)
    result = CliRunner().invoke(cli, ["--db", demo_database.url, "load", str(path)])
    assert result.exit_code == 1, result.output
    assert f"lines[0] 1 › {field}: holds U+{ord(char):04X}" in result.output
    assert dump_text(demo_database) == before


@pytest.mark.parametrize("char", BAD, ids=["U+FFFE", "U+FFFF", "U+0001"])
def test_an_admin_password_is_refused_with_its_key(demo_database: Database, char: str) -> None:
    result = CliRunner().invoke(
        cli,
        ["--db", demo_database.url, "settings", "set", "--global", f"admin.password=Adm1n{char}x"],
    )
    assert result.exit_code == 1
    assert "admin.password" in result.output and f"U+{ord(char):04X}" in result.output


@pytest.mark.parametrize("vendor", [p.name for p in PROFILES])
def test_a_value_that_got_in_anyway_leaves_every_file_well_formed(vendor: str) -> None:
    hostile = "x\ufffey\uffffz\ud800w"
    lines = (LineConfig(1, f"10{hostile}", hostile, hostile, hostile, hostile),)
    device = config(vendor, MODELS[vendor], "0c383e07e16c", None, lines)
    text = render(
        device, next(iter(PROFILES_BY[vendor].device_files("0c383e07e16c", MODELS[vendor])))
    )
    for char in ("\ufffe", "\uffff", "\ud800"):
        assert char not in text
    if text.lstrip().startswith("<?xml"):
        ElementTree.fromstring(text.encode("utf-8"))


PROFILES_BY = {p.name: p for p in PROFILES}
