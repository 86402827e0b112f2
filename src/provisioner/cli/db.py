"""`provisioner db`: the database's schema."""

from __future__ import annotations

import click

from provisioner.cli.context import console, reports_errors, state
from provisioner.storage import migrate
from provisioner.storage.database import Database


@click.group()
def db() -> None:
    """The estate database."""


@db.command()
@reports_errors
def upgrade() -> None:
    """Apply pending migrations (safe to run while other nodes use the database)."""
    database = Database(state().db_url)
    before = migrate.current_revision(database)
    applied = migrate.upgrade(database)
    head = migrate.head_revision()
    if applied:
        console.print(f"{database.describe()}: schema {before or 'empty'} → {head}")
    else:
        console.print(f"{database.describe()}: schema {head}, up to date")


@db.command()
@reports_errors
def status() -> None:
    """Show the schema version of the database and of this code."""
    database = Database(state().db_url)
    current = migrate.current_revision(database) or "empty"
    console.print(f"database {database.describe()}: schema {current}")
    console.print(f"this version needs schema {migrate.head_revision()}")
