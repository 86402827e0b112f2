"""`provisioner serve`: run the service."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path
from typing import Any

import click

from provisioner.cli.context import console, reports_errors, state
from provisioner.cli.dns import DEFAULT_DNS, dns_settings, transfer_options, zone_options
from provisioner.cli.geoip import build_locator, serve_options
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.service import Endpoint, new_event_loop, run_service
from provisioner.storage.snapshot import load_estate


def demo_estate_text() -> str:
    return resources.files("provisioner").joinpath("examples/demo.yaml").read_text("utf-8")


@click.command()
@click.option(
    "--demo",
    is_flag=True,
    help="Load the demo estate (examples/demo.yaml) into an empty database first.",
)
@click.option(
    "--http",
    "http_address",
    envvar="PROVISIONER_HTTP",
    default="127.0.0.1:8080",
    show_default=True,
    show_envvar=True,
    help="HOST:PORT the phones and the API are served on.",
)
@click.option(
    "--dns",
    "dns_address",
    envvar="PROVISIONER_DNS",
    default=DEFAULT_DNS,
    show_default=True,
    show_envvar=True,
    help="HOST:PORT the embedded authoritative DNS answers on (UDP and TCP); see `dns serve`.",
)
@zone_options
@transfer_options
@serve_options
@reports_errors
def serve(
    demo: bool,
    http_address: str,
    dns_address: str,
    geoip_path: Path | None,
    geoip_optional: bool,
    margin_km: float,
    trusted_proxies: tuple[str, ...],
    forwarded_header: str,
    **dns_flags: Any,
) -> None:
    """Run the provisioning service until Ctrl-C or SIGTERM."""
    http = Endpoint.parse(http_address, "--http")
    locator = build_locator(
        geoip_path, geoip_optional, margin_km, trusted_proxies, forwarded_header
    )
    dns = dns_settings(dns_address, **dns_flags)
    database = state().database(upgrade_existing=demo)
    if demo:
        with database.read() as session:
            empty = not load_estate(session).clusters
        if empty:
            estate = read_estate_file(demo_estate_text(), "examples/demo.yaml")
            result = load_estate_file(database, estate, source="examples/demo.yaml")
            console.print(f"demo estate loaded: {result.summary()}", highlight=False)
            console.print(
                "[yellow]demo devices use the password demo-<MAC>: never use them in production"
            )

    def ready(lines: list[str]) -> None:
        console.print(f"provisioner serving from {database.describe()}", highlight=False)
        for line in lines:
            console.print(f"  {line}", highlight=False)
        console.print(f"  {locator.describe()}", highlight=False)
        console.print("  Ctrl-C stops it.")

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(run_service(database, http, on_ready=ready, dns=dns, locator=locator))
    console.print("stopped.")
