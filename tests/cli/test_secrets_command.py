"""`provisioner secrets`: new keys, status, encrypting what was stored in clear, and
rotating to a new key in one transaction while a server keeps serving the same phones."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from provisioner.cli.main import cli
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import migrate
from provisioner.storage.database import Database
from provisioner.storage.secrets import (
    KEY_FILE_VARIABLE,
    KEY_VARIABLE,
    PREFIX,
    SecretKey,
    is_encrypted,
    key_id_of,
    new_key,
)
from tests.cli.test_serve import start, wait_until_healthy
from tests.conftest import DEMO
from tests.storage.test_secrets import demo_passwords, raw_secrets
from tests.web.support import DEMO_DEVICES, YEALINK, phone_client, served_devices

PASSWORDS = demo_passwords()


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (KEY_VARIABLE, KEY_FILE_VARIABLE, "PROVISIONER_SECRET_OLD_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def run(url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, ["--db", url, *args], env={"COLUMNS": "400", **env})


def key_id(key: str) -> str:
    return SecretKey.parse(key, "test").id


def demo_in(url: str) -> Database:
    """The demo estate loaded into `url`, by a Database with the environment's keyring."""
    database = Database(url)
    migrate.ensure_schema(database)
    load_estate_file(database, read_estate_file(DEMO.read_text(), "demo.yaml"))
    return database


def test_new_key_prints_a_key_and_adds_one_first_to_a_keyring_file(tmp_path: Path) -> None:
    printed = CliRunner().invoke(cli, ["secrets", "new-key"])
    assert printed.exit_code == 0
    SecretKey.parse(printed.output.strip(), "printed")  # a valid key

    keys = tmp_path / "keys"
    first = CliRunner().invoke(cli, ["secrets", "new-key", "--add-to", str(keys)])
    assert first.exit_code == 0, first.output
    assert keys.stat().st_mode & 0o777 == 0o600
    old = [line for line in keys.read_text().splitlines() if not line.startswith("#")]
    second = CliRunner().invoke(cli, ["secrets", "new-key", "--add-to", str(keys)])
    new = [line for line in keys.read_text().splitlines() if not line.startswith("#")]
    assert len(new) == 2 and new[1:] == old
    assert f"key {key_id(new[0])} is now the first key" in second.output
    assert new[0] not in second.output and old[0] not in first.output  # nothing secret shown


def test_encrypt_puts_what_was_stored_in_clear_under_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'estate.db'}"
    demo_in(url).dispose()  # no key: stored as given
    status = run(url, "secrets", "status")
    assert "NOT encrypted" in status.output
    assert f"{len(PASSWORDS)} under no key (in clear" in status.output

    key = new_key()
    done = run(url, "secrets", "encrypt", **{KEY_VARIABLE: key})
    assert done.exit_code == 0, done.output
    assert f"{len(PASSWORDS)} secrets put under key {key_id(key)}" in done.output
    assert "WAL was checkpointed" in done.output
    database = Database(url)
    assert all(key_id_of(value) == key_id(key) for value in raw_secrets(database))
    database.dispose()
    status = run(url, "secrets", "status", **{KEY_VARIABLE: key})
    assert f"encrypted at rest with key {key_id(key)}" in status.output
    assert f"{len(PASSWORDS)} under {key_id(key)} (the current key)" in status.output
    for file in tmp_path.iterdir():  # the clear values are gone from every file
        content = file.read_bytes()
        for password in PASSWORDS:
            assert password.encode() not in content, (file.name, password)


def test_rotating_without_the_old_key_names_it_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'estate.db'}"
    old = new_key()
    monkeypatch.setenv(KEY_VARIABLE, old)
    database = demo_in(url)
    before = raw_secrets(database)
    monkeypatch.delenv(KEY_VARIABLE)
    new = new_key()
    refused = run(url, "secrets", "rotate", **{KEY_VARIABLE: new})
    assert refused.exit_code == 1
    assert f"encrypted with key {key_id(old)}, which is not among the keys given" in (
        refused.output
    )
    assert key_id(new) in refused.output
    for secret in (*PASSWORDS, old, new, *before):
        assert secret not in refused.output
    assert raw_secrets(database) == before

    # the old key given as an old key: everything moves to the new one
    (tmp_path / "old.key").write_text(old + "\n")
    (tmp_path / "old.key").chmod(0o600)
    rotated = run(
        url, "secrets", "rotate", "--old-key-file", str(tmp_path / "old.key"), **{KEY_VARIABLE: new}
    )
    assert rotated.exit_code == 0, rotated.output
    assert f"{len(PASSWORDS)} secrets put under key {key_id(new)}" in rotated.output
    assert f"no stored secret needs key {key_id(old)} any more" in rotated.output
    assert {key_id_of(value) for value in raw_secrets(database)} == {key_id(new)}
    database.dispose()


def test_rotating_with_no_key_says_there_is_none(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'e.db'}", "secrets", "rotate")
    assert result.exit_code == 1
    assert "no secret key is set" in result.output


@pytest.mark.anyio
async def test_a_rotation_with_a_keyring_file_while_the_server_serves_the_same_phones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    assert run("sqlite://", "secrets", "new-key", "--add-to", str(keys)).exit_code == 0
    monkeypatch.setenv(KEY_FILE_VARIABLE, str(keys))
    url = f"sqlite:///{tmp_path / 'estate.db'}"
    served = demo_in(url)  # the server's database: the keyring file as it was at its start
    old_id = served.keyring.current.id  # type: ignore[union-attr]
    paths = served_devices()
    async with phone_client(served) as phones:
        before = await phones.fetch_own(YEALINK, paths[YEALINK])
        assert before.status_code == 200

        added = run(url, "secrets", "new-key", "--add-to", str(keys))
        assert added.exit_code == 0, added.output
        rotated = run(url, "secrets", "rotate")  # the same file, in the environment
        assert rotated.exit_code == 0, rotated.output
        new_id = SecretKey.parse(
            next(line for line in keys.read_text().splitlines() if not line.startswith("#")),
            "x",
        ).id
        assert new_id != old_id
        assert {key_id_of(value) for value in raw_secrets(served)} == {new_id}

        # the same client and app: a device it had cached, and every other one, looked up
        # after the rotation (values under a key the server did not start with)
        again = await phones.fetch_own(YEALINK, paths[YEALINK])
        assert again.status_code == 200 and again.content == before.content
        for mac, path in paths.items():
            response = await phones.fetch_own(mac, path)
            assert response.status_code == 200, mac
    assert served.keyring.current.id == new_id  # type: ignore[union-attr]
    assert set(DEMO_DEVICES) >= set(paths)
    served.dispose()


def test_serve_demo_without_a_key_works_and_says_secrets_are_not_encrypted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    process, port = start(tmp_path)
    try:
        assert wait_until_healthy(port, process)["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "secrets are NOT encrypted at rest: set PROVISIONER_SECRET_KEY" in output
    database = Database(f"sqlite:///{tmp_path / 'provisioner.db'}")
    assert not any(is_encrypted(value) for value in raw_secrets(database))
    assert PREFIX not in "".join(raw_secrets(database))
    database.dispose()
