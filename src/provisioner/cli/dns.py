"""`provisioner dns ...`: serve, print, export and push the DNS zones built from the estate."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from provisioner.cli.context import console, reports_errors, state
from provisioner.dns.records import DnsOptions, NameServer
from provisioner.dns.service import DnsService, DnsSettings
from provisioner.dns.transfer import LOOPBACK, Secondary, TransferPolicy, TsigKey
from provisioner.domain import names
from provisioner.domain.errors import InvalidValue

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DNS = "127.0.0.1:1053"


def parse_nameserver(text: str) -> NameServer:
    """``NAME`` or ``NAME=ADDRESS,ADDRESS``."""
    name, _, addresses = text.partition("=")
    try:
        parsed = tuple(names.ip_address(a) for a in addresses.split(",") if a.strip())
    except ValueError as error:
        raise InvalidValue("--ns", str(error)) from None
    if not name.strip():
        raise InvalidValue("--ns", f"{text!r} is not NAME[=ADDRESS,...]")
    return NameServer(name.strip().lower(), parsed)


def dns_options(nameservers: tuple[str, ...], hostmaster: str | None) -> DnsOptions:
    options = DnsOptions()
    if nameservers:
        options = DnsOptions(
            nameservers=tuple(parse_nameserver(text) for text in nameservers),
            hostmaster=options.hostmaster,
        )
    if hostmaster:
        options = DnsOptions(nameservers=options.nameservers, hostmaster=hostmaster)
    return options


def transfer_policy(
    allow: tuple[str, ...], tsig: str | None, notify: tuple[str, ...]
) -> TransferPolicy:
    for network in allow:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise InvalidValue("--allow-transfer", f"{network!r} is not a network") from None
    return TransferPolicy(
        allow=allow or LOOPBACK,
        tsig=TsigKey.parse(tsig) if tsig else None,
        notify=tuple(Secondary.parse(text) for text in notify),
    )


def zone_options(function: F) -> F:
    """What the estate does not say about the zones: their name servers."""
    function = click.option(
        "--hostmaster",
        envvar="PROVISIONER_DNS_HOSTMASTER",
        show_envvar=True,
        help="SOA contact (a name; relative names go under each zone). [default: hostmaster]",
    )(function)
    return click.option(
        "--ns",
        "nameservers",
        multiple=True,
        envvar="PROVISIONER_DNS_NS",
        show_envvar=True,
        help="A name server of every zone, NAME[=ADDRESS,...]; repeatable. Relative names go "
        "under each zone, with the addresses as A/AAAA. [default: ns1=127.0.0.1]",
    )(function)


def transfer_options(function: F) -> F:
    """Zone transfers, NOTIFY, and the UDP response rate limit."""
    function = click.option(
        "--rate-limit-exempt",
        multiple=True,
        envvar="PROVISIONER_DNS_RATE_LIMIT_EXEMPT",
        show_envvar=True,
        help="A network whose clients are never rate limited; repeatable. 'none': limit "
        "every client. [default: loopback, which no packet from outside can claim]",
    )(function)
    function = click.option(
        "--rate-limit",
        type=click.IntRange(min=0),
        default=DnsSettings.rate_limit,
        show_default=True,
        envvar="PROVISIONER_DNS_RATE_LIMIT",
        show_envvar=True,
        help="UDP responses a second to one client /24 (/56) with the same answer (all its "
        "NXDOMAINs count as one answer, so do its errors), against reflection; beyond it "
        "every second response goes out truncated (so real clients retry over TCP), the "
        "rest are dropped. 0: no limit.",
    )(function)
    function = click.option(
        "--notify",
        multiple=True,
        envvar="PROVISIONER_DNS_NOTIFY",
        show_envvar=True,
        help="A secondary ADDRESS[:PORT] to NOTIFY on every change; repeatable.",
    )(function)
    function = click.option(
        "--tsig",
        envvar="PROVISIONER_DNS_TSIG",
        show_envvar=True,
        help="Require this TSIG key for transfers and sign NOTIFY: ALGORITHM:NAME:BASE64 "
        "(prefer the environment variable: flags show in process lists).",
    )(function)
    return click.option(
        "--allow-transfer",
        multiple=True,
        envvar="PROVISIONER_DNS_ALLOW_TRANSFER",
        show_envvar=True,
        help="A network allowed to AXFR; repeatable. [default: loopback only]",
    )(function)


def dns_settings(
    address: str,
    nameservers: tuple[str, ...],
    hostmaster: str | None,
    allow_transfer: tuple[str, ...],
    tsig: str | None,
    notify: tuple[str, ...],
    rate_limit: int = DnsSettings.rate_limit,
    rate_limit_exempt: tuple[str, ...] = (),
    strict: bool = False,
) -> DnsSettings:
    """What the DNS options say; `strict` as in `DnsSettings` (``serve`` is not)."""
    from provisioner.service import Endpoint

    endpoint = Endpoint.parse(address, "--dns")
    exempt = rate_limit_exempt or DnsSettings.rate_limit_exempt
    if any(text.strip().lower() == "none" for text in exempt):
        exempt = ()
    for network in exempt:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise InvalidValue("--rate-limit-exempt", f"{network!r} is not a network") from None
    return DnsSettings(
        host=endpoint.host,
        port=endpoint.port,
        options=dns_options(nameservers, hostmaster),
        transfer=transfer_policy(allow_transfer, tsig, notify),
        rate_limit=rate_limit,
        rate_limit_exempt=tuple(exempt),
        strict=strict,
    )


@click.group()
def dns() -> None:
    """The DNS zones built from the estate: serve, print, export, push."""


@dns.command()
@click.option(
    "--dns",
    "address",
    envvar="PROVISIONER_DNS",
    default=DEFAULT_DNS,
    show_default=True,
    show_envvar=True,
    help="HOST:PORT to answer DNS on, UDP and TCP (port 53 in production).",
)
@zone_options
@transfer_options
@reports_errors
def serve(
    address: str,
    nameservers: tuple[str, ...],
    hostmaster: str | None,
    allow_transfer: tuple[str, ...],
    tsig: str | None,
    notify: tuple[str, ...],
    rate_limit: int,
    rate_limit_exempt: tuple[str, ...],
) -> None:
    """Run the authoritative DNS server alone until Ctrl-C or SIGTERM."""
    settings = dns_settings(
        address,
        nameservers,
        hostmaster,
        allow_transfer,
        tsig,
        notify,
        rate_limit,
        rate_limit_exempt,
        strict=True,
    )
    database = state().database()
    run_fast(_serve(database, settings))
    console.print("stopped.")


def run_fast(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop when it is installed (about twice the queries per second), else asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


async def _serve(database: Any, settings: DnsSettings) -> None:
    service = DnsService(database, settings)
    await service.start()
    console.print(f"provisioner DNS from {database.describe()}", highlight=False)
    console.print(f"  {service.describe()}", highlight=False)
    console.print("  Ctrl-C stops it.")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await service.stop()


@dns.command()
@click.argument("domain")
@zone_options
@reports_errors
def zone(domain: str, nameservers: tuple[str, ...], hostmaster: str | None) -> None:
    """Print the zone DOMAIN in BIND format (as published now, with its serial)."""
    from provisioner.dns.publish import current_records

    records = current_records(state().database(), dns_options(nameservers, hostmaster))
    try:
        found = records.zone(domain)
    except KeyError:
        known = ", ".join(records.domains) or "none"
        raise InvalidValue("DOMAIN", f"{domain!r} is not one of our zones ({known})") from None
    click.echo(found.to_text(), nl=False)


@dns.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@zone_options
@click.option(
    "--primary",
    default="127.0.0.1@1053",
    show_default=True,
    help="ADDRESS@PORT of this server, for the secondaries' snippets.",
)
@reports_errors
def export(
    directory: Path, nameservers: tuple[str, ...], hostmaster: str | None, primary: str
) -> None:
    """Write one zone file per domain to DIRECTORY, plus Knot, NSD and BIND snippets."""
    from provisioner.dns.export import export_zones
    from provisioner.dns.publish import current_records

    address, _, port = primary.partition("@")
    try:
        names.ip_address(address)
    except ValueError:
        raise InvalidValue("--primary", f"{primary!r} is not ADDRESS@PORT") from None
    if port and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise InvalidValue("--primary", f"{primary!r}: port must be 1..65535")
    records = current_records(state().database(), dns_options(nameservers, hostmaster))
    written = export_zones(records, directory, primary)
    for path in written:
        console.print(str(path), highlight=False)


@dns.group()
def push() -> None:
    """Push the zones to another DNS server."""


@push.command()
@click.option(
    "--api",
    "url",
    envvar="PROVISIONER_POWERDNS_API",
    show_envvar=True,
    required=True,
    help="The PowerDNS HTTP API, e.g. http://127.0.0.1:8081 (…/api/v1 is added).",
)
@click.option(
    "--key",
    envvar="PROVISIONER_POWERDNS_KEY",
    show_envvar=True,
    required=True,
    help="The API key (prefer the environment variable: flags show in process lists).",
)
@click.option("--server-id", default="localhost", show_default=True, help="PowerDNS server id.")
@zone_options
@reports_errors
def powerdns(
    url: str, key: str, server_id: str, nameservers: tuple[str, ...], hostmaster: str | None
) -> None:
    """Make PowerDNS hold exactly our record sets (idempotent; removes ones we owned that
    are gone, leaves records added by hand)."""
    from provisioner.dns.powerdns import push_to_powerdns
    from provisioner.dns.publish import current_records

    records = current_records(state().database(), dns_options(nameservers, hostmaster))
    result = push_to_powerdns(records, url, key, server_id)
    console.print(f"PowerDNS: {result.summary()}", highlight=False)
