"""The root of the `provisioner` command."""

from __future__ import annotations

import logging

import click

from provisioner import __version__
from provisioner.cli import (
    db,
    dns,
    estate,
    geoip,
    history,
    listing,
    move,
    render,
    secrets,
    serve,
    settings,
    templates,
    vendors,
)
from provisioner.cli.context import State, db_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@db_option
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.version_option(__version__, prog_name="provisioner")
@click.pass_context
def cli(context: click.Context, db_url: str, verbose: bool) -> None:
    """Provision SIP phones and give them failover through DNS."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    context.obj = State(db_url)


cli.add_command(db.db)
cli.add_command(estate.load)
cli.add_command(estate.dump)
cli.add_command(move.move)
cli.add_command(settings.settings)
cli.add_command(serve.serve)
cli.add_command(dns.dns)
cli.add_command(geoip.geoip)
cli.add_command(render.render)
cli.add_command(templates.templates)
cli.add_command(vendors.vendors)
cli.add_command(secrets.secrets)
cli.add_command(history.history)
for _listing_command in listing.COMMANDS:
    cli.add_command(_listing_command)


def main() -> None:
    cli(prog_name="provisioner")
