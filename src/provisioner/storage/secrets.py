"""Secrets at rest: the devices' provisioning passwords and the lines' SIP passwords, kept
encrypted in the database with a key the operator holds outside it. Nothing else in the
product encrypts, decrypts or tells a stored secret from a plain one.

Keys (32 random bytes, written in base64; `provisioner secrets new-key` makes one) come
from the environment, never from the database:

* ``PROVISIONER_SECRET_KEY``: one key;
* ``PROVISIONER_SECRET_KEY_FILE``: a keyring file, one key a line (``#`` comments and
  blank lines ignored). The first key encrypts; every key decrypts. A process that meets
  a value under a key it does not hold reads the file again if it changed, so a running
  server follows a rotation (a new key added at the top, then `provisioner secrets
  rotate`) without a restart.

Setting both is an error. Setting neither is allowed: values are then stored as they are
given, and the product says so (`Keyring.describe`).

`reencrypt_stored` (`provisioner secrets rotate` and `encrypt`) puts every stored secret
under the current key in one transaction, while servers keep serving: they read the old
values or the new ones, and a value under a key they do not hold yet makes them read the
keyring file again. It records no change to the estate (the estate is the same, only its
stored form is not), so no cache is dropped and no DNS serial rises.

A stored value is either plain text (written while no key was set; still read as it is)
or ``enc:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>``: AES-256-GCM from
`cryptography`, a random 96-bit nonce per value, and the header ``enc:v1:<key id>:`` as
associated data, so the header cannot be changed without the tag failing. The key id is
the first 8 hex digits of a SHA-256 of the key: it names a key and tells nothing of it.

Guarantee: no error message and no log line of this module holds a secret or a key, only
key ids and where the value is (a device's MAC).
"""

from __future__ import annotations

import binascii
import hashlib
import logging
import os
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from provisioner.domain.errors import ProvisionerError
from provisioner.storage import models

if TYPE_CHECKING:
    from provisioner.storage.database import Database

log = logging.getLogger(__name__)

KEY_VARIABLE = "PROVISIONER_SECRET_KEY"
KEY_FILE_VARIABLE = "PROVISIONER_SECRET_KEY_FILE"
PREFIX = "enc:v1:"  # the format: AES-256-GCM, 12-byte nonce, 16-byte tag
_ID_LENGTH = 8
_HEADER_LENGTH = len(PREFIX) + _ID_LENGTH + 1  # "enc:v1:1a2b3c4d:"
_NONCE_LENGTH = 12
_TAG_LENGTH = 16
KEY_BYTES = 32
# The longest stored form of a 128-character password (up to 512 bytes of UTF-8).
MAX_STORED_LENGTH = _HEADER_LENGTH + 4 * ((_NONCE_LENGTH + 512 + _TAG_LENGTH + 2) // 3)


class SecretError(ProvisionerError):
    """A key that cannot be read, or a stored secret that cannot be decrypted."""


def is_encrypted(value: str) -> bool:
    """Whether `value` is in the stored, encrypted form (whether or not any key opens it)."""
    return value.startswith(PREFIX)


def key_id_of(value: str) -> str | None:
    """The id of the key `value` is encrypted with; None for a plain value."""
    return value[len(PREFIX) : len(PREFIX) + _ID_LENGTH] if value.startswith(PREFIX) else None


def new_key() -> str:
    """A fresh random key, in the form the environment and keyring files take."""
    return binascii.b2a_base64(AESGCM.generate_key(bit_length=256), newline=False).decode()


@dataclass(frozen=True)
class SecretKey:
    """One key: its id and its cipher (the key's bytes are never shown)."""

    id: str
    aead: AESGCM = field(repr=False, compare=False)
    header: bytes = field(default=b"", repr=False, compare=False)  # "enc:v1:<id>:", the AAD

    @classmethod
    def parse(cls, text: str, where: str) -> SecretKey:
        """The key written as `text` (base64, standard or URL-safe alphabet); an error
        naming `where`, not the text."""
        cleaned = text.strip().replace("-", "+").replace("_", "/")
        try:
            raw = binascii.a2b_base64(cleaned, strict_mode=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise SecretError(
                f"{where}: not a key: a key is {KEY_BYTES} random bytes in base64 "
                "(make one with `provisioner secrets new-key`)"
            )
        key_id = hashlib.sha256(b"provisioner secret key id\0" + raw).hexdigest()[:_ID_LENGTH]
        return cls(key_id, AESGCM(raw), f"{PREFIX}{key_id}:".encode())


def read_key_file(path: Path, where: str | None = None) -> list[SecretKey]:
    """The keys of a keyring file, in order; an error naming the file and line."""
    where = where or str(path)
    try:
        stat = path.stat()
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise SecretError(f"{where}: cannot read the key file: {reason}") from None
    if stat.st_mode & 0o077:
        log.warning("%s: the key file is readable by other users: chmod 600 it", where)
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            keys.append(SecretKey.parse(line, f"{where}, line {number}"))
    if not keys:
        raise SecretError(f"{where}: the key file holds no key")
    return keys


def _file_state(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class Keyring:
    """The keys a process holds: the first encrypts, every one decrypts.

    `decrypt` is on the phones' hot path (once per device looked up, not per request): a
    plain value costs a prefix test, an encrypted one a dictionary lookup and one AES-GCM
    open. It is safe to call from several threads.
    """

    def __init__(
        self,
        keys: Sequence[SecretKey] = (),
        *,
        source: str = "",
        path: Path | None = None,
        old_keys: Sequence[SecretKey] = (),
    ) -> None:
        self.source = source  # where the keys came from, for messages
        self._path = path  # a keyring file read again when it changes
        self._file_state = _file_state(path) if path is not None else None
        self._old_keys = tuple(old_keys)  # given besides the source (`--old-key-file`)
        self._lock = threading.Lock()
        self._set_keys(keys)

    def _set_keys(self, keys: Sequence[SecretKey]) -> None:
        ring: dict[str, SecretKey] = {}
        for key in (*keys, *self._old_keys):
            ring.setdefault(key.id, key)
        self.current: SecretKey | None = keys[0] if keys else None
        self._keys: Mapping[str, SecretKey] = ring  # replaced whole, never changed in place

    @property
    def encrypts(self) -> bool:
        """Whether values written now are encrypted."""
        return self.current is not None

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def with_old_keys(self, keys: Iterable[SecretKey]) -> Keyring:
        """This keyring, also decrypting with `keys` (never encrypting with them)."""
        current = [self.current] if self.current else []
        others = [key for key in self._keys.values() if key is not self.current]
        ring = Keyring(current + others, source=self.source, old_keys=[*self._old_keys, *keys])
        ring._path, ring._file_state = self._path, self._file_state
        return ring

    def describe(self) -> str:
        """One line on how secrets are kept, naming the key id (never the key)."""
        if self.current is None:
            return (
                "secrets are NOT encrypted at rest: set PROVISIONER_SECRET_KEY or "
                "PROVISIONER_SECRET_KEY_FILE (`provisioner secrets new-key` makes a key)"
            )
        return f"secrets are encrypted at rest with key {self.current.id} ({self.source})"

    # --- the values ---

    def encrypt(self, plain: str) -> str:
        """The stored form of `plain`: encrypted with the current key, or `plain` itself
        when there is no key."""
        key = self.current
        if key is None:
            return plain
        nonce = os.urandom(_NONCE_LENGTH)
        sealed = key.aead.encrypt(nonce, plain.encode(), key.header)
        return (key.header + binascii.b2a_base64(nonce + sealed, newline=False)).decode()

    def decrypt(self, stored: str, where: str = "") -> str:
        """The plain text of a stored value (a plain value is returned as it is); a
        `SecretError` naming `where` and the key id when it cannot be decrypted."""
        if not stored.startswith(PREFIX):
            return stored
        key_id = stored[7:15]  # after PREFIX, _ID_LENGTH characters
        key = self._keys.get(key_id) or self._reloaded(key_id)
        if key is None:
            raise self._unknown(key_id, where)
        try:
            if stored[15] != ":":  # the header, the AAD, is then exactly key.header
                raise ValueError
            sealed = _from_base64(stored[16:])  # the tag checks every byte it gives
            return key.aead.decrypt(sealed[:12], sealed[12:], key.header).decode()
        except (binascii.Error, ValueError, IndexError):
            raise SecretError(_at(where, "the stored secret is damaged (not its format)")) from None
        except InvalidTag:
            raise SecretError(
                _at(
                    where,
                    f"the stored secret does not decrypt with key {key_id}: "
                    "the value was changed or damaged",
                )
            ) from None

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is encrypted with the current key (or, with no key, plain)."""
        if self.current is None:
            return not stored.startswith(PREFIX)
        return key_id_of(stored) == self.current.id

    def reencrypt(self, stored: str, where: str = "") -> str:
        """`stored` under the current key: as it is when it already is (after checking
        that it decrypts), else decrypted and encrypted again."""
        plain = self.decrypt(stored, where)
        if self.current is not None and self.is_current(stored):
            return stored
        return self.encrypt(plain)

    # --- keys met that this process does not hold ---

    def _reloaded(self, key_id: str) -> SecretKey | None:
        """The key `key_id` from the keyring file, read again if it changed since."""
        if self._path is None:
            return None
        with self._lock:
            key = self._keys.get(key_id)
            if key is not None:
                return key
            state = _file_state(self._path)
            if state is None or state == self._file_state:
                return None
            try:
                keys = read_key_file(self._path, f"{KEY_FILE_VARIABLE}={self._path}")
            except SecretError as error:
                log.error("%s", error)
                return None
            self._file_state = state
            self._set_keys(keys)
            log.info("read the keyring file again: keys %s", ", ".join(self._keys))
            return self._keys.get(key_id)

    def _unknown(self, key_id: str, where: str) -> SecretError:
        if not self._keys:
            return SecretError(
                _at(
                    where,
                    f"the stored secret is encrypted (key {key_id}) but no secret key is set: "
                    f"set {KEY_VARIABLE} or {KEY_FILE_VARIABLE}",
                )
            )
        held = ", ".join(self._keys)
        return SecretError(
            _at(
                where,
                f"the stored secret is encrypted with key {key_id}, which is not among the "
                f"keys given ({held}, from {self.source or 'the caller'}): wrong key, or "
                "the old key is missing (keep it in the keyring file, or pass --old-key-file)",
            )
        )


_from_base64 = binascii.a2b_base64
assert len(PREFIX) == 7 and _HEADER_LENGTH == 16 and _NONCE_LENGTH == 12  # decrypt's slices


def _at(where: str, message: str) -> str:
    return f"{where}: {message}" if where else message


def keyring_from_environment(environ: Mapping[str, str] | None = None) -> Keyring:
    """The keyring that ``PROVISIONER_SECRET_KEY`` or ``PROVISIONER_SECRET_KEY_FILE``
    gives (an empty one when neither is set)."""
    environ = os.environ if environ is None else environ
    key_text = environ.get(KEY_VARIABLE, "")
    file_name = environ.get(KEY_FILE_VARIABLE, "")
    if key_text.strip() and file_name.strip():
        raise SecretError(
            f"both {KEY_VARIABLE} and {KEY_FILE_VARIABLE} are set: set one "
            "(a keyring file holds the current key first, then the old ones)"
        )
    if key_text.strip():
        return Keyring([SecretKey.parse(key_text, KEY_VARIABLE)], source=KEY_VARIABLE)
    if file_name.strip():
        return keyring_from_file(Path(file_name).expanduser())
    return Keyring()


def keyring_from_file(path: Path) -> Keyring:
    """The keyring in a keyring file, followed when the file changes."""
    source = f"{KEY_FILE_VARIABLE}={path}"
    return Keyring(read_key_file(path, source), source=source, path=path)


# --- which keyring an engine's reads use (the phones' lookups know only the engine) ---

_BY_ENGINE: weakref.WeakKeyDictionary[Engine, Keyring] = weakref.WeakKeyDictionary()


def bind(engine: Engine, keyring: Keyring) -> None:
    """Make `keyring` the one that reads through `engine` decrypt with."""
    _BY_ENGINE[engine] = keyring


def keyring_of(engine: Engine) -> Keyring:
    """The keyring bound to `engine` (`Database` binds its own), else the environment's."""
    try:
        return _BY_ENGINE[engine]
    except KeyError:
        keyring = _BY_ENGINE[engine] = keyring_from_environment()
        return keyring


# --- the stored secrets as a whole: what keys they are under, and re-encrypting them ---

_DEVICES = models.Device.__table__
_LINES = models.Line.__table__
_CHUNK = 1000


def _stored_secrets(connection: Connection) -> Iterable[tuple[Any, str, str, str]]:
    """(table, row id, where, stored value) of every stored secret."""
    for row_id, mac, value in connection.execute(
        select(_DEVICES.c.id, _DEVICES.c.mac, _DEVICES.c.provisioning_password)
    ):
        yield _DEVICES.c.provisioning_password, row_id, f"device {mac}", value
    for row_id, mac, index, value in connection.execute(
        select(_LINES.c.id, _DEVICES.c.mac, _LINES.c.index, _LINES.c.password).join(
            _DEVICES, _DEVICES.c.id == _LINES.c.device_id
        )
    ):
        yield _LINES.c.password, row_id, f"device {mac} line {index}", value


def stored_key_ids(database: Database) -> dict[str | None, int]:
    """How many stored secrets each key id holds (None: stored in clear)."""
    counts: dict[str | None, int] = {}
    with database.engine.connect() as connection:
        for _column, _row_id, _where, value in _stored_secrets(connection):
            key_id = key_id_of(value)
            counts[key_id] = counts.get(key_id, 0) + 1
    return counts


@dataclass(frozen=True)
class Reencrypted:
    """What `reencrypt_stored` did."""

    key_id: str
    changed: int
    unchanged: int
    leftovers: str  # where old forms of the values may remain, and what clears them


def reencrypt_stored(
    database: Database, keyring: Keyring | None = None, *, plain_only: bool = False
) -> Reencrypted:
    """Put every stored secret under `keyring`'s current key (the database's keyring by
    default), in one transaction: all of them or, on any error, none. With `plain_only`,
    only those stored in clear (values under other keys are left, still checked to decrypt).
    """
    keyring = keyring or database.keyring
    current = keyring.current
    if current is None:
        raise SecretError(
            f"no secret key is set ({KEY_VARIABLE} or {KEY_FILE_VARIABLE}): "
            "there is no key to encrypt with"
        )
    sqlite = database.engine.dialect.name == "sqlite"
    changed = unchanged = 0
    with database.write_connection() as connection:
        if sqlite:
            # freed cells (the old, longer or plain values) are overwritten with zeros
            secure_delete = connection.exec_driver_sql("PRAGMA secure_delete").scalar()
            connection.exec_driver_sql("PRAGMA secure_delete=ON")
        updates: dict[Any, list[dict[str, Any]]] = {}
        for column, row_id, where, value in list(_stored_secrets(connection)):
            plain = keyring.decrypt(value, where)  # every value must decrypt, or nothing
            if keyring.is_current(value) or (plain_only and is_encrypted(value)):
                unchanged += 1
                continue
            updates.setdefault(column, []).append(
                {"row_id": row_id, "value": keyring.encrypt(plain)}
            )
            changed += 1
        for column, rows in updates.items():
            statement = (
                update(column.table)
                .where(column.table.c.id == bindparam("row_id"))
                .values({column.name: bindparam("value")})
            )
            for start in range(0, len(rows), _CHUNK):
                connection.execute(statement, rows[start : start + _CHUNK])
        if sqlite:
            connection.exec_driver_sql(f"PRAGMA secure_delete={int(secure_delete or 0)}")
    log.info("secrets: %d put under key %s, %d already were", changed, current.id, unchanged)
    return Reencrypted(current.id, changed, unchanged, _clear_leftovers(database, sqlite))


def _clear_leftovers(database: Database, sqlite: bool) -> str:
    """Remove what the database keeps of the values' old forms, as far as it can; say
    what is left."""
    if not sqlite:
        return (
            "PostgreSQL keeps the old row versions until they are vacuumed: "
            "run VACUUM on devices and lines (VACUUM FULL rewrites them, with a lock)"
        )
    pooled = database.engine.raw_connection()
    try:  # on the driver's connection: outside any transaction, as a checkpoint must be
        busy, _log, _done = pooled.driver_connection.execute(  # type: ignore[union-attr]
            "PRAGMA wal_checkpoint(TRUNCATE)"
        ).fetchone()
    finally:
        pooled.close()
    if busy:
        return (
            "the SQLite WAL is in use by a reader: the old values leave it at its next checkpoint"
        )
    return "the SQLite WAL was checkpointed and emptied"
