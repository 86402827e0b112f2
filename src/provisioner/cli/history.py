"""`provisioner history`: who changed the estate, when, and what they did."""

from __future__ import annotations

import json

import click
from rich.table import Table
from rich.text import Text

from provisioner.cli.context import console, reports_errors, state
from provisioner.domain.errors import InvalidValue
from provisioner.domain.mac import normalise_mac
from provisioner.storage.history import history as read_history


@click.command()
@click.option("--device", "mac", metavar="MAC", help="Only the changes that wrote this device.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Latest N changes."
)
@click.option("--json", "as_json", is_flag=True, help="JSON, one object per change.")
@reports_errors
def history(mac: str | None, limit: int, as_json: bool) -> None:
    """The changes to the estate, latest first: when, who and what."""
    if mac is not None:
        try:
            mac = normalise_mac(mac)
        except ValueError as error:
            raise InvalidValue("--device", str(error)) from None
    entries = read_history(state().database(), device=mac, limit=limit)
    if as_json:
        click.echo(json.dumps([entry.as_json() for entry in entries], indent=2))
        return
    table = Table("change", "when (UTC)", "who", "what")
    for entry in entries:
        when = entry.at.strftime("%Y-%m-%d %H:%M:%S") if entry.at else ""
        table.add_row(str(entry.id), when, Text(entry.actor or ""), Text(entry.summary))
    console.print(table)
