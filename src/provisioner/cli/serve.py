"""`provisioner serve`: run the service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import click

from provisioner.cli.context import console, reports_errors, state
from provisioner.cli.dns import DEFAULT_DNS, dns_settings, transfer_options, zone_options
from provisioner.cli.geoip import build_locator, serve_options
from provisioner.domain.errors import InvalidValue
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.service import Endpoint, new_event_loop, run_service
from provisioner.storage.snapshot import load_estate
from provisioner.web import access_log
from provisioner.web.front_door import Limits
from provisioner.web.phone_request import normalise_public_url
from provisioner.web.tls import TlsFiles

_DEFAULT_LIMITS = Limits()


def demo_estate_text() -> str:
    return resources.files("provisioner").joinpath("examples/demo.yaml").read_text("utf-8")


def http_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Where files point phones, who may see the version, and the HTTP limits."""
    options = [
        click.option(
            "--public-url",
            "public_urls",
            multiple=True,
            envvar="PROVISIONER_PUBLIC_URL",
            show_envvar=True,
            metavar="URL",
            help="A URL phones reach this server at (repeat for several; the variable takes "
            "them separated by spaces). Boot and index files point phones there when no "
            "provisioning.url is set: at the one whose host the request's Host names, else "
            "at the first. Default: the address the phone reached; a Host header is never "
            "copied into a file unless it names one of these.",
        ),
        click.option(
            "--health-token",
            envvar="PROVISIONER_HEALTH_TOKEN",
            show_envvar=True,
            metavar="TOKEN",
            help="/healthz tells the version only to requests with 'Authorization: Bearer "
            "TOKEN'. Default: to no one. (Prefer the variable: arguments show in ps.)",
        ),
        click.option(
            "--head-timeout",
            type=click.FloatRange(min=0.1),
            default=_DEFAULT_LIMITS.head_timeout,
            show_default=True,
            envvar="PROVISIONER_HEAD_TIMEOUT",
            show_envvar=True,
            help="Seconds a request head may take from its first byte (then 408).",
        ),
        click.option(
            "--body-timeout",
            type=click.FloatRange(min=0.1),
            default=_DEFAULT_LIMITS.body_timeout,
            show_default=True,
            envvar="PROVISIONER_BODY_TIMEOUT",
            show_envvar=True,
            help="Seconds a request body may take from the end of its head (then 408).",
        ),
        click.option(
            "--max-body",
            type=click.IntRange(min=0),
            default=_DEFAULT_LIMITS.max_body,
            show_default=True,
            envvar="PROVISIONER_MAX_BODY",
            show_envvar=True,
            help="Bytes a request body may have (then 413).",
        ),
        click.option(
            "--max-connections",
            type=click.IntRange(min=1),
            default=_DEFAULT_LIMITS.max_connections,
            show_default=True,
            envvar="PROVISIONER_MAX_CONNECTIONS",
            show_envvar=True,
            help="HTTP connections open at once; past it a new one gets 503 and Retry-After. "
            "Kept below the file descriptor limit.",
        ),
        click.option(
            "--max-connections-per-address",
            type=click.IntRange(min=0),
            default=_DEFAULT_LIMITS.max_connections_per_address,
            show_default=True,
            envvar="PROVISIONER_MAX_CONNECTIONS_PER_ADDRESS",
            show_envvar=True,
            help="HTTP connections open at once from one client address (0: no limit). "
            "Thousands of phones behind one NAT address boot together: set it high.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_OFF = frozenset(("", "off", "none", "no"))


def https_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """HTTPS beside (or instead of) HTTP, and the phones' client certificates."""
    options = [
        click.option(
            "--https",
            "https_address",
            envvar="PROVISIONER_HTTPS",
            show_envvar=True,
            metavar="HOST:PORT",
            help="Also serve phones and the API over HTTPS here (needs --cert and --key). "
            "Use --http off to serve HTTPS only.",
        ),
        click.option(
            "--cert",
            "cert_path",
            type=_FILE,
            envvar="PROVISIONER_TLS_CERT",
            show_envvar=True,
            help="The server's certificate chain (PEM), leaf first. Loaded again for new "
            "connections when the file (or --key) changes.",
        ),
        click.option(
            "--key",
            "key_path",
            type=_FILE,
            envvar="PROVISIONER_TLS_KEY",
            show_envvar=True,
            help="The private key of --cert (PEM, unencrypted).",
        ),
        click.option(
            "--client-ca",
            "client_cas",
            type=_FILE,
            multiple=True,
            metavar="FILE",
            help="CA certificates (PEM) whose client certificates identify phones: the "
            "vendors' device CAs (repeat for several). Phones are asked for a certificate "
            "optionally; one naming the MAC of the file asked for authenticates it where "
            "provisioning.auth allows. List only CAs whose certificates name the device "
            "they were issued to.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _tls_files(
    https_address: str | None,
    cert_path: Path | None,
    key_path: Path | None,
    client_cas: tuple[Path, ...],
) -> tuple[Endpoint | None, TlsFiles | None]:
    if not https_address:
        for given, option in (
            (cert_path, "--cert"),
            (key_path, "--key"),
            (client_cas, "--client-ca"),
        ):
            if given:
                raise InvalidValue(option, "is used only with --https")
        return None, None
    https = Endpoint.parse(https_address, "--https")
    if cert_path is None or key_path is None:
        raise InvalidValue("--https", "needs --cert and --key")
    return https, TlsFiles(cert_path, key_path, tuple(client_cas))


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
    help="HOST:PORT the phones and the API are served on over plain HTTP; off: none "
    "(with --https).",
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
@http_options
@https_options
@reports_errors
def serve(
    demo: bool,
    http_address: str,
    https_address: str | None,
    cert_path: Path | None,
    key_path: Path | None,
    client_cas: tuple[Path, ...],
    dns_address: str,
    geoip_path: Path | None,
    geoip_optional: bool,
    margin_km: float,
    trusted_proxies: tuple[str, ...],
    forwarded_header: str,
    public_urls: tuple[str, ...],
    health_token: str | None,
    head_timeout: float,
    body_timeout: float,
    max_body: int,
    max_connections: int,
    max_connections_per_address: int,
    **dns_flags: Any,
) -> None:
    """Run the provisioning service until Ctrl-C or SIGTERM."""
    if access_log.logger.level == logging.NOTSET:
        access_log.logger.setLevel(logging.INFO)  # the phones' access log: on by default
    http = None if http_address.strip().lower() in _OFF else Endpoint.parse(http_address, "--http")
    https, tls = _tls_files(https_address, cert_path, key_path, client_cas)
    if http is None and https is None:
        raise InvalidValue("--http", "is off and no --https is given: nothing to serve on")
    try:
        urls = tuple(normalise_public_url(url) for url in public_urls)
    except ValueError as error:
        raise InvalidValue("--public-url", str(error)) from None
    limits = Limits(
        head_timeout=head_timeout,
        body_timeout=body_timeout,
        max_body=max_body,
        max_connections=max_connections,
        max_connections_per_address=max_connections_per_address,
    )
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
        else:
            console.print(
                f"--demo: {database.describe()} already holds an estate: kept as it is, "
                "the demo estate was not loaded",
                highlight=False,
            )

    def ready(lines: list[str]) -> None:
        console.print(f"provisioner serving from {database.describe()}", highlight=False)
        for line in lines:
            console.print(f"  {line}", highlight=False)
        console.print(f"  {locator.describe()}", highlight=False)
        console.print(f"  {database.keyring.describe()}", highlight=False)
        console.print("  Ctrl-C stops it.")

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(
            run_service(
                database,
                http,
                on_ready=ready,
                dns=dns,
                locator=locator,
                limits=limits,
                public_urls=urls,
                health_token=health_token or None,
                https=https,
                tls=tls,
            )
        )
    console.print("stopped.")
