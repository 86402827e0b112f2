"""Moves and renames are explicit: a load that would give a stored phone to another
account, or change a stored cluster's or partner's domain, is refused naming both sides
and the phones it reaches, and changes nothing; the load's flags allow it."""

from __future__ import annotations

import io

from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.estate_files.dump import dump_estate
from provisioner.storage import models
from provisioner.storage.database import Database

STEAL = """
accounts:
  - name: initech
    cluster: hosted
    sip_domain: sip.initech.example
    devices:
      - mac: 00:15:65:A0:00:01
"""


def dump_text(database: Database) -> str:
    out = io.StringIO()
    dump_estate(database, out)
    return out.getvalue()


def load(database: Database, tmp_path, text: str, *flags: str):
    path = tmp_path / "estate.yaml"
    path.write_text(text)
    return CliRunner().invoke(cli, ["--db", database.url, "load", *flags, str(path)])


def account_of(database: Database, mac: str) -> str:
    with database.read() as session:
        device = session.query(models.Device).filter_by(mac=mac).one()
        return device.account.name


def test_a_new_account_listing_a_stored_mac_is_refused(demo_database: Database, tmp_path):
    before, change = dump_text(demo_database), demo_database.latest_change()

    result = load(demo_database, tmp_path, STEAL)

    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert (
        "accounts[0] initech › devices: would move 1 phone from account example-dental "
        "to account initech (001565a00001)"
    ) in text
    assert "provisioner move device MAC --to-account initech" in text
    assert "--allow-moves" in text
    assert "nothing was changed" in text
    assert dump_text(demo_database) == before
    assert demo_database.latest_change() == change
    assert account_of(demo_database, "001565a00001") == "example-dental"


def test_the_count_covers_every_phone_between_the_same_accounts(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        """
accounts:
  - name: acme-bakery
    devices: [{mac: 001565a00001}, {mac: 0004f2a00002}, {mac: 00562ba00003}]
""",
    )
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "would move 2 phones from account example-dental to account acme-bakery" in text
    assert "would move 1 phone from account globex-hq to account acme-bakery" in text


def test_allow_moves_moves_and_says_so(demo_database: Database, tmp_path):
    result = load(demo_database, tmp_path, STEAL, "--allow-moves")
    assert result.exit_code == 0, result.output
    assert "created 1 account; updated 1 device; moved 1 device" in result.output
    assert account_of(demo_database, "001565a00001") == "initech"


def test_a_device_listed_under_its_own_account_is_not_a_move(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        "accounts:\n  - name: example-dental\n    devices: [{mac: 001565a00001, model: T46U}]\n",
    )
    assert result.exit_code == 0, result.output
    assert "moved" not in result.output


def test_a_cluster_domain_change_is_refused_naming_both_and_the_phones(
    demo_database: Database, tmp_path
):
    before, change = dump_text(demo_database), demo_database.latest_change()

    result = load(
        demo_database, tmp_path, "clusters:\n  - name: hosted\n    domain: p.exampel.net\n"
    )

    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert (
        "clusters[0] hosted › domain: would change the domain of cluster hosted from "
        "p.example.net to p.exampel.net, re-pointing 2 phones"
    ) in text
    assert "--allow-domain-change" in text
    assert dump_text(demo_database) == before
    assert demo_database.latest_change() == change


def test_a_partner_domain_change_is_refused_naming_both_and_the_phones(
    demo_database: Database, tmp_path
):
    before, change = dump_text(demo_database), demo_database.latest_change()

    result = load(
        demo_database,
        tmp_path,
        "clusters:\n  - name: hosted\n    partners: [{name: acme, domain: p.acme.example.org}]\n",
    )

    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert (
        "clusters[0] hosted › partners[0] acme › domain: would change the domain of partner "
        "acme from p.acme.example to p.acme.example.org, re-pointing 2 phones"
    ) in text
    assert dump_text(demo_database) == before
    assert demo_database.latest_change() == change


def test_allow_domain_change_changes_it(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        "clusters:\n  - name: hosted\n    domain: p.example.org\n",
        "--allow-domain-change",
    )
    assert result.exit_code == 0, result.output
    assert "domain: p.example.org" in dump_text(demo_database)


def test_the_same_domain_given_again_is_no_change(demo_database: Database, tmp_path):
    result = load(
        demo_database,
        tmp_path,
        "clusters:\n  - name: hosted\n    domain: p.example.net\n"
        "    partners: [{name: acme, domain: p.acme.example}]\n",
    )
    assert result.exit_code == 0, result.output
