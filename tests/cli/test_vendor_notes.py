"""What a device's vendor cannot take, said by `settings MAC` and `render MAC`; the maps and
models behind it, printed by `provisioner vendors`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.domain.settings import SCHEMA
from provisioner.storage.database import Database
from provisioner.vendors.coverage import markdown_table

SNOM = "000413a00005"
POLY = "0004f2a00002"


def run(database: Database | None, *args: str) -> tuple[int, str, str]:
    prefix = ["--db", database.url] if database is not None else []
    result = CliRunner().invoke(cli, [*prefix, *args])
    return result.exit_code, result.stdout, result.stderr


def test_settings_says_which_keys_the_vendor_cannot_take(demo_database: Database) -> None:
    code, _, _ = run(
        demo_database, "settings", "set", "--device", SNOM, "failover.tries_per_server=3"
    )
    assert code == 0
    code, output, _ = run(demo_database, "settings", SNOM)
    assert code == 0, output
    assert "failover.tries_per_server: not taken by snom: Snom has no known key for it" in output
    code, output, _ = run(demo_database, "settings", SNOM, "--json")
    document = json.loads(output)
    entry = document["settings"]["failover.tries_per_server"]
    assert entry["not_taken"] == "Snom has no known key for it"
    assert "not_taken" not in document["settings"]["registrar.host"]
    # every key the vendor cannot take is marked, defaults too; the notes name only what
    # was asked for beyond the defaults
    assert document["settings"]["failover.failback"]["not_taken"] == "Snom has no known key for it"
    noted = {note["key"] for note in document["notes"]}
    assert "failover.tries_per_server" in noted and "failover.failback" not in noted


def test_render_says_it_on_stderr_and_keeps_stdout_the_file(demo_database: Database) -> None:
    run(demo_database, "settings", "set", "--device", POLY, "resync.interval=1800")
    code, stdout, stderr = run(demo_database, "render", POLY, "--show-secrets")
    assert code == 0, stderr
    assert "# resync.interval: Poly polls no more often than every 3601 s" in stderr
    assert "resync.interval" not in stdout.split("-->")[-1] or "3601" in stdout
    assert stdout.startswith("<?xml")


def test_vendors_settings_lists_every_key_for_every_vendor() -> None:
    code, output, _ = run(None, "vendors", "settings", "--json")
    assert code == 0
    rows = json.loads(output)
    assert {(r["vendor"], r["setting"]) for r in rows} == {
        (v, k)
        for v in ("yealink", "poly", "cisco", "grandstream", "snom", "fanvil")
        for k in SCHEMA
    }
    assert all(r["keys"] if r["written"] else r["how"].startswith("not available") for r in rows)
    code, output, _ = run(None, "vendors", "settings", "Nokia")
    assert code != 0 and "no vendor 'nokia'" in output + _


def test_vendors_table_is_the_readme_table() -> None:
    code, output, _ = run(None, "vendors", "table")
    assert code == 0 and output == markdown_table()


def test_vendors_models_lists_known_models_and_the_fallback() -> None:
    code, output, _ = run(None, "vendors", "models", "grandstream", "--json")
    assert code == 0
    rows = json.loads(output)
    assert any(r["model"] == "GRP2616" and r["lines"] == 6 and r["known"] for r in rows)
    assert rows[-1]["known"] is False
