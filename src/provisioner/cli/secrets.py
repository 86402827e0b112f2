"""`provisioner secrets`: the keys the stored passwords are encrypted with.

The current key comes from PROVISIONER_SECRET_KEY, or is the first of the keyring file
PROVISIONER_SECRET_KEY_FILE (`provisioner.storage.secrets`). Rotating, with a keyring file
(servers follow it without a restart):

    provisioner secrets new-key --add-to /etc/provisioner/keys   # new key first, old kept
    provisioner secrets rotate                                   # everything under it
    # then remove the old key's line from the file

With PROVISIONER_SECRET_KEY, give the old key with --old-key-file, and restart the servers
with the new key.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from provisioner.cli.context import console, reports_errors, state
from provisioner.storage import migrate
from provisioner.storage.database import Database
from provisioner.storage.secrets import (
    KEY_FILE_VARIABLE,
    Keyring,
    SecretKey,
    keyring_from_environment,
    new_key,
    read_key_file,
    reencrypt_stored,
    stored_key_ids,
)

old_key_file_option = click.option(
    "--old-key-file",
    "old_key_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="PROVISIONER_SECRET_OLD_KEY_FILE",
    show_envvar=True,
    help="A file of old keys (one a line) that values may still be under: they decrypt, "
    "never encrypt. Repeatable.",
)


def _database(old_key_files: tuple[Path, ...] = ()) -> Database:
    """The database with the environment's keyring, plus the old keys given."""
    keyring = keyring_from_environment()
    old: list[SecretKey] = []
    for path in old_key_files:
        old += read_key_file(path, f"--old-key-file {path}")
    if old:
        keyring = keyring.with_old_keys(old)
    database = Database(state().db_url, keyring=keyring)
    migrate.ensure_schema(database)
    return database


@click.group()
def secrets() -> None:
    """Encryption of the stored passwords: status, keys, rotation."""


@secrets.command()
@old_key_file_option
@reports_errors
def status(old_key_files: tuple[Path, ...]) -> None:
    """How the stored passwords are kept: the key in use, and how many are under each key."""
    database = _database(old_key_files)
    keyring = database.keyring
    console.print(keyring.describe(), highlight=False)
    counts = stored_key_ids(database)
    if not counts:
        console.print("no stored secret", highlight=False)
    for key_id, count in sorted(counts.items(), key=lambda item: item[0] or ""):
        if key_id is None:
            state_of = "in clear: `provisioner secrets encrypt` encrypts them"
        elif keyring.current is not None and key_id == keyring.current.id:
            state_of = "the current key"
        elif key_id in keyring.key_ids:
            state_of = "an old key: `provisioner secrets rotate` moves them to the current one"
        else:
            state_of = "a key not given here: they cannot be decrypted"
        console.print(f"  {count} under {key_id or 'no key'} ({state_of})", highlight=False)
    database.dispose()


@secrets.command("new-key")
@click.option(
    "--add-to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Put the new key first in this keyring file (created readable by its owner only), "
    "keeping the keys it holds as old keys; print nothing secret.",
)
@reports_errors
def new_key_command(add_to: Path | None) -> None:
    """Print a new random key (32 bytes, base64), or add it to a keyring file."""
    key = new_key()
    if add_to is None:
        click.echo(key)
        return
    old = add_to.read_text(encoding="utf-8") if add_to.exists() else ""
    key_id = SecretKey.parse(key, "the new key").id
    added = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = f"# key {key_id}, added {added}: the current key (the first one)\n{key}\n{old}"
    partial = add_to.with_name(add_to.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        partial.replace(add_to)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    console.print(
        f"key {key_id} is now the first key of {add_to}; run `provisioner secrets rotate` "
        f"with {KEY_FILE_VARIABLE}={add_to} to put every stored secret under it",
        highlight=False,
    )


def _reencrypt(old_key_files: tuple[Path, ...], plain_only: bool) -> None:
    database = _database(old_key_files)
    keyring: Keyring = database.keyring
    result = reencrypt_stored(database, plain_only=plain_only)
    console.print(
        f"{result.changed} secrets put under key {result.key_id}, "
        f"{result.unchanged} left as they were (one transaction)",
        highlight=False,
    )
    console.print(f"  {result.leftovers}", highlight=False)
    others = [key_id for key_id in keyring.key_ids if key_id != result.key_id]
    if not plain_only and others:
        console.print(
            f"  no stored secret needs key {', '.join(others)} any more: it can be removed "
            "(after every server has read the new key)",
            highlight=False,
        )
    database.dispose()


@secrets.command()
@old_key_file_option
@reports_errors
def rotate(old_key_files: tuple[Path, ...]) -> None:
    """Put every stored secret under the current key, in one transaction (servers keep
    serving). Values under old keys need those keys: in the keyring file after the current
    one, or with --old-key-file."""
    _reencrypt(old_key_files, plain_only=False)


@secrets.command()
@old_key_file_option
@reports_errors
def encrypt(old_key_files: tuple[Path, ...]) -> None:
    """Encrypt the secrets stored in clear (written while no key was set) with the current
    key, in one transaction; values under other keys are left as they are."""
    _reencrypt(old_key_files, plain_only=True)
