"""Bringing a database's schema to the version this code needs (Alembic, run in-process).

Migrations run inside the writers' lock, so several processes starting on one fresh
database (two `provisioner load` at once, several provisioning nodes) migrate it once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from provisioner.storage.database import Database, DatabaseError

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database) -> bool:
    """Apply every pending migration; True when something was applied."""
    head = head_revision()
    with database.write_connection() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        if current == head:
            return False
        log.info("migrating %s from %s to %s", database.describe(), current or "empty", head)
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return True


def ensure_schema(database: Database, *, upgrade_existing: bool = False) -> None:
    """Migrate a fresh database by itself; an outdated one only when asked to.

    An outdated database shared by several provisioning nodes is upgraded on purpose,
    with `provisioner db upgrade`, not by whichever node starts first.
    """
    current = current_revision(database)
    if current == head_revision():
        return
    if current is None or upgrade_existing:
        upgrade(database)
        return
    raise DatabaseError(
        f"the database {database.describe()} is at schema {current}, this version needs "
        f"{head_revision()}: run `provisioner db upgrade`"
    )
