"""`provisioner move`: moving things between owners on purpose (a load refuses to)."""

from __future__ import annotations

import click

from provisioner.cli.context import console, reports_errors, state
from provisioner.estate_files.move import move_device


@click.group()
def move() -> None:
    """Move a device to another account (a load never does it silently)."""


@move.command("device")
@click.argument("mac")
@click.option("--to-account", "to_account", required=True, help="The account to give it to.")
@click.option(
    "--unpin",
    is_flag=True,
    help="Drop the device's zone pin when the new account is on another cluster.",
)
@reports_errors
def device(mac: str, to_account: str, unpin: bool) -> None:
    """Give the device MAC (any common form) to the account --to-account, all or nothing."""
    moved = move_device(state().database(), mac, to_account, unpin=unpin)
    console.print(moved.summary(), highlight=False)
