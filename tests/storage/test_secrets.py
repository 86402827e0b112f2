"""Secrets at rest (`provisioner.storage.secrets`): the format and its errors, key sources,
the database's files readable by their owner only, stored values encrypted and read back
decrypted on SQLite and PostgreSQL, and re-encrypting them all in one transaction."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import migrate, models
from provisioner.storage.database import Database
from provisioner.storage.device_lookup import read_devices
from provisioner.storage.secrets import (
    KEY_FILE_VARIABLE,
    KEY_VARIABLE,
    PREFIX,
    Keyring,
    SecretError,
    SecretKey,
    is_encrypted,
    key_id_of,
    keyring_from_environment,
    keyring_from_file,
    new_key,
    reencrypt_stored,
    stored_key_ids,
)
from provisioner.storage.snapshot import load_device
from tests.conftest import DEMO

KEY = new_key()
OTHER = new_key()


def ring(*keys: str) -> Keyring:
    return Keyring([SecretKey.parse(key, "test") for key in keys], source="test")


def demo_passwords() -> list[str]:
    estate = read_estate_file(DEMO.read_text(), "demo.yaml")
    found = []
    for account in estate.accounts:
        for device in account.devices:
            assert device.provisioning_password
            found.append(device.provisioning_password)
            found += [line.password for line in device.lines]
    return found


# --- the format ---


def test_a_value_encrypts_with_a_random_nonce_and_decrypts() -> None:
    keyring = ring(KEY)
    first, second = keyring.encrypt("dental-1001-secret"), keyring.encrypt("dental-1001-secret")
    assert first != second  # a fresh nonce each time
    for stored in (first, second):
        assert stored.startswith(PREFIX) and is_encrypted(stored)
        assert key_id_of(stored) == keyring.current.id  # type: ignore[union-attr]
        assert "dental" not in stored
        assert keyring.decrypt(stored) == "dental-1001-secret"


def test_unicode_and_the_longest_password_fit_the_stored_form() -> None:
    from provisioner.storage.secrets import MAX_STORED_LENGTH

    keyring = ring(KEY)
    longest = "€" * 128
    stored = keyring.encrypt(longest)
    assert len(stored) <= MAX_STORED_LENGTH
    assert keyring.decrypt(stored) == longest


def test_a_plain_value_reads_as_it_is_with_or_without_a_key() -> None:
    assert ring(KEY).decrypt("written-before-a-key") == "written-before-a-key"
    assert Keyring().decrypt("written-before-a-key") == "written-before-a-key"
    assert Keyring().encrypt("no-key-no-encryption") == "no-key-no-encryption"


def test_the_key_id_names_the_key_and_tells_nothing_of_it() -> None:
    key = SecretKey.parse(KEY, "test")
    assert key.id == SecretKey.parse(KEY, "again").id
    assert key.id != SecretKey.parse(OTHER, "test").id
    assert len(key.id) == 8 and key.id not in KEY
    assert KEY not in repr(key)


def test_a_changed_value_or_header_is_refused_without_quoting_it() -> None:
    keyring = ring(KEY)
    stored = keyring.encrypt("dental-1001-secret")
    body = stored[len(PREFIX) + 9 :]
    middle = len(stored) - 12  # a character of the ciphertext, never a padding bit
    flipped = stored[:middle] + ("A" if stored[middle] != "A" else "B") + stored[middle + 1 :]
    for damaged in (flipped, stored[: len(PREFIX) + 9] + body[4:], stored[:-8]):
        with pytest.raises(SecretError) as raised:
            keyring.decrypt(damaged, "device 001565a00001")
        message = str(raised.value)
        assert message.startswith("device 001565a00001: ")
        assert damaged not in message and "dental" not in message
    # the header is authenticated: the same ciphertext under another id does not open
    other = ring(OTHER, KEY)
    relabelled = f"{PREFIX}{other.current.id}:{body}"  # type: ignore[union-attr]
    with pytest.raises(SecretError, match="does not decrypt with key"):
        other.decrypt(relabelled)


def test_a_wrong_key_is_a_clear_error_naming_both_keys_and_no_secret() -> None:
    stored = ring(KEY).encrypt("dental-1001-secret")
    wrong = ring(OTHER)
    with pytest.raises(SecretError) as raised:
        wrong.decrypt(stored, "device 001565a00001")
    message = str(raised.value)
    assert key_id_of(stored) in message  # type: ignore[operator]
    assert wrong.current.id in message  # type: ignore[union-attr]
    assert "wrong key, or the old key is missing" in message
    assert KEY not in message and OTHER not in message and stored not in message


def test_no_key_for_an_encrypted_value_says_to_set_one() -> None:
    stored = ring(KEY).encrypt("dental-1001-secret")
    with pytest.raises(SecretError, match=f"no secret key is set: set {KEY_VARIABLE}"):
        Keyring().decrypt(stored)


# --- key sources ---


def test_the_environment_gives_one_key_or_a_keyring_file_not_both(tmp_path: Path) -> None:
    assert not keyring_from_environment({}).encrypts
    assert "NOT encrypted" in keyring_from_environment({}).describe()
    one = keyring_from_environment({KEY_VARIABLE: KEY})
    assert one.current == SecretKey.parse(KEY, "x")
    assert one.describe().endswith(f"key {one.current.id} ({KEY_VARIABLE})")  # type: ignore[union-attr]
    keys = tmp_path / "keys"
    keys.write_text(f"# the current key\n{OTHER}\n\n# an old one\n{KEY}\n")
    keys.chmod(0o600)
    from_file = keyring_from_environment({KEY_FILE_VARIABLE: str(keys)})
    assert from_file.current == SecretKey.parse(OTHER, "x")
    assert len(from_file.key_ids) == 2
    with pytest.raises(SecretError, match="set one"):
        keyring_from_environment({KEY_VARIABLE: KEY, KEY_FILE_VARIABLE: str(keys)})


@pytest.mark.parametrize("bad", ["hunter2", KEY[:-4], KEY + KEY, "!" * 44])
def test_a_bad_key_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(SecretError) as raised:
        keyring_from_environment({KEY_VARIABLE: bad})
    assert str(raised.value).startswith(f"{KEY_VARIABLE}: not a key")
    assert bad not in str(raised.value)


def test_a_bad_key_file_names_its_line_and_not_its_text(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY}\nnot-a-key-at-all\n")
    with pytest.raises(SecretError) as raised:
        keyring_from_file(keys)
    assert f"{keys}, line 2: not a key" in str(raised.value)
    assert "not-a-key-at-all" not in str(raised.value)
    with pytest.raises(SecretError, match="cannot read the key file"):
        keyring_from_file(tmp_path / "missing")
    (tmp_path / "empty").write_text("# nothing\n")
    with pytest.raises(SecretError, match="holds no key"):
        keyring_from_file(tmp_path / "empty")


def test_a_key_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY}\n")
    keys.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        keyring_from_file(keys)
    assert "readable by other users" in caplog.text
    assert KEY not in caplog.text


def test_a_keyring_file_is_read_again_when_a_value_needs_a_key_it_gained(
    tmp_path: Path,
) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{KEY}\n")
    running = keyring_from_file(keys)  # a server started before the rotation
    stored = ring(OTHER).encrypt("dental-1001-secret")
    with pytest.raises(SecretError):
        running.decrypt(stored)
    keys.write_text(f"{OTHER}\n{KEY}\n")  # the new key added first
    assert running.decrypt(stored) == "dental-1001-secret"
    assert running.current == SecretKey.parse(OTHER, "x")


def test_old_keys_decrypt_but_never_encrypt() -> None:
    old = ring(KEY)
    stored = old.encrypt("dental-1001-secret")
    both = ring(OTHER).with_old_keys([SecretKey.parse(KEY, "old")])
    assert both.decrypt(stored) == "dental-1001-secret"
    assert key_id_of(both.encrypt("x")) == SecretKey.parse(OTHER, "x").id
    assert key_id_of(both.reencrypt(stored)) == SecretKey.parse(OTHER, "x").id


# --- the database's files ---


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual umask: files 0644 unless created otherwise
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_sqlite_database_and_its_wal_and_shm_are_readable_by_the_owner_only(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "new" / "estate.db"
    database = Database(f"sqlite:///{path}")
    try:
        migrate.ensure_schema(database)
        with database.write("a change"):
            pass
        files = [path, path.with_name("estate.db-wal"), path.with_name("estate.db-shm")]
        for file in files:
            assert file.exists(), file
            assert file.stat().st_mode & 0o777 == 0o600, file
    finally:
        database.dispose()


def test_an_existing_database_others_can_read_is_warned_about(
    tmp_path: Path, umask_022: None, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()  # created by something else, 0644
    with caplog.at_level(logging.WARNING):
        Database(f"sqlite:///{path}").dispose()
    assert "readable by other users" in caplog.text


# --- stored values, on SQLite and PostgreSQL ---


@pytest.fixture
def keyed(database: Database) -> Iterator[Database]:
    """The (migrated) test database, opened with a key."""
    keyed = Database(database.url, keyring=ring(KEY))
    yield keyed
    keyed.dispose()


def load_demo(database: Database) -> None:
    load_estate_file(database, read_estate_file(DEMO.read_text(), "demo.yaml"))


def raw_secrets(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        values = list(connection.scalars(select(models.Device.provisioning_password)))
        values += list(connection.scalars(select(models.Line.password)))
    return values


def test_passwords_are_stored_encrypted_and_read_back_decrypted(keyed: Database) -> None:
    load_demo(keyed)
    stored = raw_secrets(keyed)
    assert len(stored) == len(demo_passwords())
    assert all(is_encrypted(value) for value in stored)
    assert not set(stored) & set(demo_passwords())
    with keyed.read() as session:
        record = load_device(session, "001565a00001")
    assert record is not None
    assert record.provisioning_password == "demo-001565a00001"
    assert [line.password for line in record.lines] == ["dental-1001-secret", "dental-1002-secret"]
    # the phones' lookup decrypts the same (once per lookup: the record holds plain text)
    assert read_devices(keyed.engine, ["001565a00001"])["001565a00001"] == record
    assert stored_key_ids(keyed) == {keyed.keyring.current.id: len(stored)}  # type: ignore[union-attr]


def test_without_a_key_passwords_are_stored_as_given_and_stay_readable_with_one(
    database: Database,
) -> None:
    load_demo(database)
    assert sorted(raw_secrets(database)) == sorted(demo_passwords())
    keyed = Database(database.url, keyring=ring(KEY))
    try:
        with keyed.read() as session:
            record = load_device(session, "001565a00001")
        assert record is not None and record.provisioning_password == "demo-001565a00001"
    finally:
        keyed.dispose()


def test_a_wrong_key_fails_the_lookup_naming_the_device_and_key(keyed: Database) -> None:
    load_demo(keyed)
    wrong = Database(keyed.url, keyring=ring(OTHER))
    try:
        with wrong.read() as session, pytest.raises(SecretError) as raised:
            load_device(session, "001565a00001")  # an operator's lookup: the error itself
        message = str(raised.value)
        assert message.startswith("001565a00001: ")
        assert keyed.keyring.current.id in message  # type: ignore[union-attr]
        assert not any(password in message for password in demo_passwords())
    finally:
        wrong.dispose()


def test_a_value_that_cannot_be_decrypted_refuses_only_its_own_device(
    keyed: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """On the phones' path one damaged value must not fail the batch it was read in: its
    device gets a password no phone knows (refused like a wrong one), the others are
    served, and the log names the device, never a secret."""
    load_demo(keyed)
    with keyed.engine.begin() as connection:
        stored = connection.scalar(
            select(models.Device.provisioning_password).where(models.Device.mac == "001565a00001")
        )
        damaged = stored[:-4] + ("AAAA" if not stored.endswith("AAAA") else "BBBB")
        connection.execute(
            models.Device.__table__.update()
            .where(models.Device.mac == "001565a00001")
            .values(provisioning_password=damaged)
        )
    found = read_devices(keyed.engine, ["001565a00001", "0004f2a00002"])
    assert found["0004f2a00002"].provisioning_password == "demo-0004f2a00002"
    assert found["001565a00001"].provisioning_password not in ("", "demo-001565a00001")
    assert [line.password for line in found["001565a00001"].lines] == [
        "dental-1001-secret",
        "dental-1002-secret",
    ]
    assert "device 001565a00001 is refused until its secret is fixed" in caplog.text
    assert not any(password in caplog.text for password in demo_passwords())


# --- re-encrypting what is stored ---


def test_encrypting_plain_values_puts_them_under_the_key(database: Database) -> None:
    load_demo(database)
    keyed = Database(database.url, keyring=ring(KEY))
    try:
        result = reencrypt_stored(keyed, plain_only=True)
        assert result.changed == len(demo_passwords()) and result.unchanged == 0
        assert all(is_encrypted(value) for value in raw_secrets(keyed))
        with keyed.read() as session:
            record = load_device(session, "000b82a00004")
        assert record is not None and record.provisioning_password == "demo-000b82a00004"
        again = reencrypt_stored(keyed, plain_only=True)
        assert again.changed == 0 and again.unchanged == len(demo_passwords())
    finally:
        keyed.dispose()


def test_rotation_moves_every_value_to_the_new_key_in_one_go(keyed: Database) -> None:
    load_demo(keyed)
    with keyed.engine.connect() as connection:
        before_change = connection.scalar(
            select(models.Change.id).order_by(models.Change.id.desc())
        )
    new = ring(OTHER).with_old_keys([SecretKey.parse(KEY, "old")])
    rotated = Database(keyed.url, keyring=new)
    try:
        result = reencrypt_stored(rotated)
        assert result.key_id == new.current.id  # type: ignore[union-attr]
        assert result.changed == len(demo_passwords())
        assert stored_key_ids(rotated) == {new.current.id: len(demo_passwords())}  # type: ignore[union-attr]
        # the old key alone no longer opens them; the new one alone does
        with keyed.read() as session, pytest.raises(SecretError):
            load_device(session, "001565a00001")
        only_new = Database(keyed.url, keyring=ring(OTHER))
        try:
            record = read_devices(only_new.engine, ["001565a00001"])["001565a00001"]
            assert record.provisioning_password == "demo-001565a00001"
        finally:
            only_new.dispose()
        # the estate did not change: no change recorded, no cache dropped
        assert rotated.latest_change() == before_change
    finally:
        rotated.dispose()


def test_a_rotation_that_cannot_decrypt_a_value_changes_nothing(keyed: Database) -> None:
    load_demo(keyed)
    before = raw_secrets(keyed)
    with keyed.write("one value under a key the rotation is not given") as session:
        line = session.scalars(select(models.Line).order_by(models.Line.id.desc())).first()
        assert line is not None
        line.password = ring(new_key()).encrypt("globex-3002-secret")
    before = raw_secrets(keyed)
    rotated = Database(keyed.url, keyring=ring(OTHER).with_old_keys([SecretKey.parse(KEY, "o")]))
    try:
        with pytest.raises(SecretError) as raised:
            reencrypt_stored(rotated)
        assert "device 000413a00005 line 1" in str(raised.value)
        assert raw_secrets(keyed) == before
    finally:
        rotated.dispose()


def test_rotating_needs_a_key(database: Database) -> None:
    with pytest.raises(SecretError, match="no key to encrypt with"):
        reencrypt_stored(database)
