"""Shared fixtures: a fresh estate database on SQLite and (when configured) PostgreSQL,
the demo estate, and the rule for integration tools (skip locally, fail in CI)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage import migrate
from provisioner.storage.database import Database

DEMO = Path(__file__).parents[1] / "src" / "provisioner" / "examples" / "demo.yaml"
POSTGRES = os.environ.get("PROVISIONER_TEST_POSTGRES")
IN_CI = os.environ.get("CI") == "true"


def require_tool(name: str) -> str:
    """The path of an external tool; skipped when missing, but a failure in CI."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def postgres_url_for_schema(schema: str) -> str:
    assert POSTGRES
    url = make_url(POSTGRES)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def _postgres_schema() -> Iterator[str]:
    if not POSTGRES:
        message = "PROVISIONER_TEST_POSTGRES is not set"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(POSTGRES).set(drivername="postgresql+psycopg"))
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield postgres_url_for_schema(schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema, dropped after the test; its URL sets the search_path."""
    with _postgres_schema() as url:
        yield url


@pytest.fixture
def another_database(database_url: str, tmp_path: Path) -> Iterator[Callable[[], Database]]:
    """Makes more fresh, migrated databases of the same kind as `database`."""
    with ExitStack() as stack:

        def make() -> Database:
            if database_url.startswith("sqlite"):
                url = f"sqlite:///{tmp_path / f'another-{uuid.uuid4().hex[:8]}.db'}"
            else:
                url = stack.enter_context(_postgres_schema())
            db = Database(url)
            stack.callback(db.dispose)
            migrate.ensure_schema(db)
            return db

        yield make


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'estate.db'}"
    return request.getfixturevalue("postgres_schema")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty estate database."""
    db = Database(database_url)
    migrate.ensure_schema(db)
    yield db
    db.dispose()


@pytest.fixture
def demo_database(database: Database) -> Database:
    """The estate database with the demo estate loaded."""
    load_estate_file(database, read_estate_file(DEMO.read_text(), "demo.yaml"))
    return database
