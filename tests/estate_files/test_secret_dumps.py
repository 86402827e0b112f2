"""Dumps and secrets: a default dump's passwords are encrypted with the current key and
load back where it is set; in clear only when asked; a wrong or missing key is a clear
error that prints no secret."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.domain.errors import EstateErrors
from provisioner.estate_files.dump import dump_estate
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import migrate
from provisioner.storage.database import Database
from provisioner.storage.secrets import KEY_VARIABLE, PREFIX, Keyring, SecretError, new_key
from provisioner.storage.snapshot import load_device
from tests.conftest import DEMO
from tests.storage.test_secrets import demo_passwords, raw_secrets, ring

PASSWORDS = demo_passwords()


def dump_text(database: Database, *, plaintext_secrets: bool = False) -> str:
    out = io.StringIO()
    dump_estate(database, out, plaintext_secrets=plaintext_secrets)
    return out.getvalue()


def reopened(database: Database, keyring: Keyring) -> Database:
    other = Database(database.url, keyring=keyring)
    migrate.ensure_schema(other)
    return other


def test_a_default_dump_holds_no_password_in_clear_and_loads_back_with_the_key(
    demo_database: Database, another_database: Callable[[], Database]
) -> None:
    text = dump_text(demo_database)
    assert demo_database.keyring.current is not None
    assert f"encrypted with key {demo_database.keyring.current.id}" in text
    for password in PASSWORDS:
        assert password not in text
    assert text.count(PREFIX) == len(PASSWORDS)

    copy = another_database()  # the same key (from the environment)
    load_estate_file(copy, read_estate_file(text, "dump"))
    assert dump_text(copy) == text  # values under the current key are kept as they are
    with copy.read() as session:
        record = load_device(session, "00562ba00003")
    assert record is not None and record.provisioning_password == "demo-00562ba00003"
    assert [line.password for line in record.lines] == ["globex-3001-secret"]


def test_a_dump_in_clear_only_when_asked(demo_database: Database) -> None:
    text = dump_text(demo_database, plaintext_secrets=True)
    assert "IN CLEAR" in text
    for password in PASSWORDS:
        assert password in text
    assert PREFIX not in text


def test_a_dump_under_an_old_key_is_put_under_the_current_one(
    demo_database: Database, another_database: Callable[[], Database]
) -> None:
    text = dump_text(demo_database)
    copy = another_database()
    assert copy.keyring.current is not None
    rotated = reopened(copy, ring(new_key()).with_old_keys([copy.keyring.current]))
    try:
        load_estate_file(rotated, read_estate_file(text, "dump"))
        assert rotated.keyring.current is not None
        new_id = rotated.keyring.current.id
        assert all(value.startswith(f"{PREFIX}{new_id}:") for value in raw_secrets(rotated))
    finally:
        rotated.dispose()


def test_loading_a_dump_with_the_wrong_key_names_the_problem_and_changes_nothing(
    demo_database: Database, another_database: Callable[[], Database]
) -> None:
    text = dump_text(demo_database)
    copy = another_database()
    wrong = reopened(copy, ring(new_key()))
    try:
        with pytest.raises(EstateErrors) as raised:
            load_estate_file(wrong, read_estate_file(text, "dump"))
        message = str(raised.value)
        assert "nothing was changed" in message
        assert "accounts[0] acme-bakery › devices[0] 000b82a00004 › provisioning_password" in (
            message
        )
        assert "which is not among the keys given" in message
        for password in PASSWORDS:
            assert password not in message
        for line in text.splitlines():  # nor any encrypted value
            if PREFIX in line:
                assert line.split(": ", 1)[1].strip('"') not in message
        assert raw_secrets(wrong) == []
    finally:
        wrong.dispose()


def test_loading_a_dump_with_no_key_says_to_set_one(
    demo_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dump = tmp_path / "estate.yaml"
    dump.write_text(dump_text(demo_database))
    monkeypatch.delenv(KEY_VARIABLE)
    result = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{tmp_path / 'fresh.db'}", "load", str(dump)]
    )
    assert result.exit_code == 1
    assert "no secret key is set: set PROVISIONER_SECRET_KEY" in result.output
    for password in PASSWORDS:
        assert password not in result.output


def test_an_encrypted_password_that_breaks_the_rules_is_refused(
    demo_database: Database,
) -> None:
    stored = demo_database.keyring.encrypt("short")
    file = f"""
accounts:
  - name: example-dental
    devices:
      - mac: 001565a00001
        provisioning_password: "{stored}"
"""
    with pytest.raises(EstateErrors) as raised:
        load_estate_file(demo_database, read_estate_file(file, "file"))
    assert "provisioning_password: String should have at least 8 characters" in str(raised.value)
    assert "short" not in str(raised.value).replace("at least", "")


def test_without_a_key_a_dump_must_ask_for_clear_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_VARIABLE)
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", url, "dump"]).exit_code == 0  # nothing secret yet
    assert runner.invoke(cli, ["--db", url, "load", str(DEMO)]).exit_code == 0

    refused = runner.invoke(cli, ["--db", url, "dump", "-o", str(tmp_path / "d.yaml")])
    assert refused.exit_code == 1
    assert "no secret key is set" in refused.output and "--plaintext-secrets" in refused.output
    assert not (tmp_path / "d.yaml").exists() and not list(tmp_path.glob("*.partial"))

    plain = runner.invoke(cli, ["--db", url, "dump", "--plaintext-secrets"])
    assert plain.exit_code == 0
    assert all(password in plain.output for password in PASSWORDS)
    # and it loads back, with no key, as it is
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    (tmp_path / "plain.yaml").write_text(plain.output)
    assert runner.invoke(cli, ["--db", copy, "load", str(tmp_path / "plain.yaml")]).exit_code == 0


def test_no_key_and_a_key_both_set_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONER_SECRET_KEY_FILE", str(tmp_path / "keys"))
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path / 'x.db'}", "dump"])
    assert result.exit_code == 1
    assert "both PROVISIONER_SECRET_KEY and PROVISIONER_SECRET_KEY_FILE are set" in result.output


def test_an_unreadable_stored_secret_fails_the_dump_naming_the_device(
    demo_database: Database,
) -> None:
    wrong = reopened(demo_database, ring(new_key()))
    try:
        with pytest.raises(SecretError, match="device 000b82a00004: the stored secret"):
            dump_text(wrong)
    finally:
        wrong.dispose()


def test_a_line_password_under_an_unknown_key_names_the_line(demo_database: Database) -> None:
    stored = ring(new_key()).encrypt("dental-1001-secret")
    file = f"""
accounts:
  - name: example-dental
    devices:
      - mac: 001565a00001
        lines: [{{index: 1, sip_user: "1001", password: "{stored}"}}]
"""
    with pytest.raises(EstateErrors) as raised:
        load_estate_file(demo_database, read_estate_file(file, "file"))
    message = str(raised.value)
    assert "device 001565a00001 › lines[index 1] › password: the stored secret is encrypted" in (
        message
    )
    assert stored not in message and "dental-1001-secret" not in message
