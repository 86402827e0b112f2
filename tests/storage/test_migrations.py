"""The migrations build exactly the tables the models describe, on SQLite and PostgreSQL,
and a command upgrades a fresh database by itself but not an outdated one."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from provisioner.cli.main import cli
from provisioner.storage import migrate
from provisioner.storage.database import Database
from provisioner.storage.models import Base


def test_migrations_match_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_every_migration_downgrades_and_upgrades_again(database: Database) -> None:
    config = migrate._config()
    with database.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert migrate.current_revision(database) is None
    assert migrate.upgrade(database) is True
    assert migrate.current_revision(database) == migrate.head_revision()
    assert migrate.upgrade(database) is False


def test_a_command_upgrades_a_fresh_database_by_itself(database_url: str) -> None:
    result = CliRunner().invoke(cli, ["--db", database_url, "settings", "keys"])
    assert result.exit_code == 0
    result = CliRunner().invoke(cli, ["--db", database_url, "dump"])
    assert result.exit_code == 0, result.output
    database = Database(database_url)
    assert migrate.current_revision(database) == migrate.head_revision()
    database.dispose()


def test_an_outdated_database_asks_for_db_upgrade(database: Database) -> None:
    config = migrate._config()
    with database.write_connection() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    result = CliRunner().invoke(cli, ["--db", database.url, "dump"])
    assert result.exit_code == 1
    assert "run `provisioner db upgrade`" in result.output

    result = CliRunner().invoke(cli, ["--db", database.url, "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"0001 → {migrate.head_revision()}" in result.output
    assert CliRunner().invoke(cli, ["--db", database.url, "dump"]).exit_code == 0


def test_an_unsupported_database_url_is_a_clear_error() -> None:
    result = CliRunner().invoke(cli, ["--db", "mysql://root@127.0.0.1/test", "dump"])
    assert result.exit_code == 1
    assert "PROVISIONER_DB: 'mysql' is not supported" in result.output


def test_db_status_shows_both_schema_versions(database: Database) -> None:
    result = CliRunner().invoke(cli, ["--db", database.url, "db", "status"])
    assert result.exit_code == 0, result.output
    head = migrate.head_revision()
    assert f"schema {head}" in result.output
    assert f"this version needs schema {head}" in result.output
