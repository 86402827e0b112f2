"""What every command shares: the database it works on, and how errors are shown."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import OperationalError

from provisioner.domain.errors import ProvisionerError
from provisioner.storage import migrate
from provisioner.storage.database import DEFAULT_URL, Database

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """Per-invocation state: the database URL from `--db` / `PROVISIONER_DB`."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._database: Database | None = None

    def database(self, *, upgrade_existing: bool = False) -> Database:
        """The database, migrated if it is fresh."""
        if self._database is None:
            self._database = Database(self.db_url)
            migrate.ensure_schema(self._database, upgrade_existing=upgrade_existing)
        return self._database


db_option = click.option(
    "--db",
    "db_url",
    envvar="PROVISIONER_DB",
    default=DEFAULT_URL,
    show_default=True,
    show_envvar=True,
    help="SQLAlchemy URL of the estate database (sqlite:///FILE or postgresql+psycopg://...).",
)


def reports_errors(function: F) -> F:
    """Turn the product's errors into a message on stderr and exit status 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ProvisionerError as error:
            errors.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
            sys.exit(1)
        except OperationalError as error:
            message = escape(str(error.orig).strip())
            errors.print(f"[bold red]error:[/] database: {message}", highlight=False)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def state() -> State:
    return click.get_current_context().find_object(State)  # type: ignore[return-value]
