"""Connecting to the estate database: SQLite (the default) or PostgreSQL.

Every change to the estate goes through `Database.write`, one transaction that

* holds the writers' lock, so writers queue instead of failing: ``BEGIN IMMEDIATE`` with
  a busy timeout on SQLite, a transaction-level advisory lock on PostgreSQL;
* records a row in ``changes``, whose id only rises: DNS serials, caches and other
  provisioning nodes follow it.

SQLite runs in WAL mode with ``synchronous=FULL``: an acknowledged write survives a crash
and a power loss. Readers never wait for writers. A database file this code creates is
readable by its owner only (0600), and SQLite gives its -wal and -shm files the same mode.

A `Database` holds the keyring its secrets are encrypted with (`storage.secrets`): given,
or from the environment.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session

from provisioner.domain.errors import ProvisionerError
from provisioner.storage import history, secrets
from provisioner.storage.models import Change

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite:///provisioner.db"
SQLITE_BUSY_TIMEOUT_SECONDS = 60
_WRITE_OPTION = "provisioner_write"
_ADVISORY_LOCK_KEY = 0x50524F56  # "PROV": the estate writers' lock on PostgreSQL


class DatabaseError(ProvisionerError):
    pass


def create_database_engine(url: str) -> Engine:
    """An engine for `url` with the settings the estate relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            _create_private(Path(parsed.database).expanduser())
        engine = create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, future=True
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True, future=True)
    raise DatabaseError(
        f"PROVISIONER_DB: {parsed.get_backend_name()!r} is not supported; "
        "use sqlite:///FILE or postgresql+psycopg://USER@HOST/DATABASE"
    )


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only, before SQLite creates it with
    the umask's mode (0644 as a rule); SQLite gives the -wal and -shm files the database
    file's mode. An existing file is left as it is, with a warning when others can read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        try:
            mode = path.stat().st_mode
        except OSError:
            return
        if mode & 0o077:
            log.warning(
                "%s is readable by other users (mode %o): chmod 600 it and its -wal and -shm",
                path,
                mode & 0o777,
            )


def _sqlite_on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Take over transaction control from the sqlite3 module so that writers can
    # BEGIN IMMEDIATE (wait for the lock up front) instead of failing on upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get(_WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class Database:
    """The estate database at one URL."""

    def __init__(self, url: str = DEFAULT_URL, keyring: secrets.Keyring | None = None) -> None:
        self.url = url
        self.keyring = keyring if keyring is not None else secrets.keyring_from_environment()
        self.engine = create_database_engine(url)
        secrets.bind(self.engine, self.keyring)

    def describe(self) -> str:
        """The URL without its password, for logs and banners."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A connection inside a transaction that holds the writers' lock."""
        with self.engine.connect() as connection:
            connection.execution_options(**{_WRITE_OPTION: True})
            with connection.begin():
                if self.engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY}
                    )
                yield connection

    @contextmanager
    def write(self, summary: str, actor: str | None = None) -> Iterator[Session]:
        """One all-or-nothing change to the estate, recorded in ``changes`` with who made
        it (`actor`, else the operating-system user) and what it wrote (`storage.history`):
        `summary` must name no secret value.

        The session's ``info["change_id"]`` holds the new change's id after the block.
        """
        with self.write_connection() as connection:
            session = Session(bind=connection, expire_on_commit=False, autoflush=False)
            recorder = history.Recorder(session)
            try:
                yield session
                session.flush()
                change = history.finish(recorder, summary, actor)
                session.add(change)
                session.flush()
                session.info["change_id"] = change.id
            finally:
                recorder.close()
                session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def latest_change(self) -> int:
        """The id of the last committed change (0 for an empty estate)."""
        with self.engine.connect() as connection:
            return connection.execute(select(func.coalesce(func.max(Change.id), 0))).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()
