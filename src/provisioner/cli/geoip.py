"""`provisioner geoip`: why a phone gets its zone (`explain`) and replacing the city
database (`update`). Also the GeoIP options that `provisioner serve` shares."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource
from rich.table import Table

from provisioner.cli.context import console, reports_errors, state
from provisioner.domain.errors import InvalidValue, NotFound
from provisioner.domain.estate import DeviceRecord, Estate
from provisioner.domain.mac import normalise_mac
from provisioner.geoip.addresses import IPAddress, not_looked_up, parse_address
from provisioner.geoip.countries import country_of
from provisioner.geoip.database import CityDatabase, CityRecord, GeoipDatabaseError
from provisioner.geoip.forwarding import (
    DEFAULT_FORWARDING_HEADER,
    FORWARDING_HEADERS,
    TrustedProxies,
)
from provisioner.geoip.locator import Decision, ZoneLocator
from provisioner.geoip.nearest import distances
from provisioner.geoip.stickiness import DEFAULT_MARGIN_KM
from provisioner.geoip.update import update_database
from provisioner.storage.locations import load_device_location
from provisioner.storage.snapshot import load_device, load_estate

F = TypeVar("F", bound=Callable[..., Any])

GEOIP_ENV = "PROVISIONER_GEOIP"


def geoip_option(function: F) -> F:
    return click.option(
        "--geoip",
        "geoip_path",
        envvar=GEOIP_ENV,
        show_envvar=True,
        type=click.Path(path_type=Path),
        help="City database: a MaxMind-format .mmdb (GeoLite2-City, DB-IP City Lite...). "
        "Without one, zones come from the country (iptocc) and the country → zone maps.",
    )(function)


def margin_option(function: F) -> F:
    return click.option(
        "--geoip-margin-km",
        "margin_km",
        envvar="PROVISIONER_GEOIP_MARGIN_KM",
        show_envvar=True,
        type=float,
        default=DEFAULT_MARGIN_KM,
        show_default=True,
        help="A located device moves to a new zone only if it is this much closer.",
    )(function)


def serve_options(function: F) -> F:
    """The GeoIP options of `provisioner serve`."""
    options = [
        geoip_option,
        click.option(
            "--geoip-optional",
            is_flag=True,
            envvar="PROVISIONER_GEOIP_OPTIONAL",
            show_envvar=True,
            help="Start even if the --geoip file is missing or corrupt (a warning, and the "
            "country fallback until a good file appears there).",
        ),
        margin_option,
        click.option(
            "--trusted-proxy",
            "trusted_proxies",
            multiple=True,
            metavar="CIDR",
            envvar="PROVISIONER_TRUSTED_PROXIES",
            show_envvar=True,
            help="A proxy whose forwarding header gives the client's address (repeatable; "
            "the variable takes several, comma- or space-separated). From anyone else the "
            "header is ignored.",
        ),
        click.option(
            "--forwarded-header",
            envvar="PROVISIONER_FORWARDED_HEADER",
            show_envvar=True,
            type=click.Choice(FORWARDING_HEADERS, case_sensitive=False),
            default=DEFAULT_FORWARDING_HEADER,
            show_default=True,
            help="The header the trusted proxies append the client's address to.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _option_name(parameter: str, flag: str, envvar: str) -> str:
    """How the operator gave a value: the flag, or the environment variable."""
    context = click.get_current_context(silent=True)
    if (
        context is not None
        and context.get_parameter_source(parameter) is ParameterSource.ENVIRONMENT
    ):
        return envvar
    return flag


def open_city_database(path: Path | None, optional: bool = False) -> CityDatabase | None:
    """The city database named by --geoip / PROVISIONER_GEOIP (None when not given), or an
    error naming the file and the option; with `optional`, a warning instead."""
    if path is None:
        return None
    option = _option_name("geoip_path", "--geoip", GEOIP_ENV)
    return CityDatabase(path, option=option, optional=optional)


def build_locator(
    geoip_path: Path | None,
    geoip_optional: bool,
    margin_km: float,
    trusted_proxies: Sequence[str],
    forwarded_header: str,
) -> ZoneLocator:
    """The `ZoneLocator` that `provisioner serve`'s options describe; errors name the option."""
    trusted = TrustedProxies.parse(
        trusted_proxies,
        _option_name("trusted_proxies", "--trusted-proxy", "PROVISIONER_TRUSTED_PROXIES"),
        forwarded_header,
    )
    try:
        database = open_city_database(geoip_path, geoip_optional)
    except GeoipDatabaseError as error:
        raise GeoipDatabaseError(
            f"{error}; give a good file, or --geoip-optional to start with the country "
            "fallback only"
        ) from None
    return ZoneLocator(database, trusted=trusted, margin_km=margin_km)


@click.group()
def geoip() -> None:
    """Which zone phones get from where they are, and the city database behind it."""


@geoip.command()
@click.argument("address")
@click.option("--device", "mac", metavar="MAC", help="Explain for this device (pins, stickiness).")
@click.option("--cluster", "cluster_name", metavar="NAME", help="Explain for this cluster only.")
@geoip_option
@margin_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@reports_errors
def explain(
    address: str,
    mac: str | None,
    cluster_name: str | None,
    geoip_path: Path | None,
    margin_km: float,
    as_json: bool,
) -> None:
    """Show where ADDRESS is, how far each zone is, the zone chosen and the step that
    decided (for every cluster, unless --device or --cluster narrows it)."""
    parsed = parse_address(address)
    if parsed is None:
        raise InvalidValue("ADDRESS", f"{address!r} is not an IPv4 or IPv6 address")
    database = open_city_database(geoip_path)
    locator = ZoneLocator(database, margin_km=margin_km)
    record: DeviceRecord | None = None
    previous_zone: str | None = None
    with state().database().read() as session:
        estate = load_estate(session)
        if mac is not None:
            try:
                mac = normalise_mac(mac)
            except ValueError as error:
                raise InvalidValue("--device", str(error)) from None
            record = load_device(session, mac)
            if record is None:
                raise NotFound("device", mac)
            location = load_device_location(session, mac)
            previous_zone = location.zone if location else None
    clusters = _clusters(estate, record, cluster_name)
    decisions = [
        locator.decide(estate, name, parsed, record=record, previous_zone=previous_zone)
        for name in clusters
    ]
    found, prefix = _lookup(database, parsed)
    document = _document(estate, parsed, database, found, prefix, decisions, record, previous_zone)
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        _print(document)


def _clusters(estate: Estate, record: DeviceRecord | None, name: str | None) -> list[str]:
    if record is not None:
        if name is not None and name != record.cluster:
            raise InvalidValue("--cluster", f"device {record.mac} is in cluster {record.cluster}")
        return [record.cluster]
    if name is not None:
        if name not in {cluster.name for cluster in estate.clusters}:
            raise NotFound("cluster", name)
        return [name]
    if not estate.clusters:
        raise NotFound("cluster", "(the estate is empty)")
    return [cluster.name for cluster in estate.clusters]


def _lookup(
    database: CityDatabase | None, address: IPAddress
) -> tuple[CityRecord | None, int | None]:
    """What the city database says of `address`, even when a pin or rule decided."""
    if database is None or not_looked_up(address) is not None:
        return None, None
    found = database.lookup(address)
    raw = database.raw(address)
    return found, raw[1] if raw else None


def _document(
    estate: Estate,
    address: IPAddress,
    database: CityDatabase | None,
    found: CityRecord | None,
    prefix: int | None,
    decisions: list[Decision],
    record: DeviceRecord | None,
    previous_zone: str | None,
) -> dict[str, Any]:
    partner = estate.partner(record.partner) if record and record.partner else None
    location = found.location if found else None
    why_not = not_looked_up(address)
    country = found.country if found and found.country else None
    return {
        "address": str(address),
        "not_looked_up": why_not,
        "database": database.describe() if database else None,
        "found": None
        if found is None
        else {
            "latitude": location.latitude if location else None,
            "longitude": location.longitude if location else None,
            "city": found.city,
            "country": found.country,
            "network_prefix": prefix,
        },
        "country": country or (None if why_not else country_of(address)),
        "country_source": "city database" if country else "iptocc",
        "device": record.mac if record else None,
        "previous_zone": previous_zone,
        "clusters": [
            {
                "cluster": decision.cluster,
                "zone": decision.choice.zone.name,
                "proxy_name": decision.choice.zone.proxy_name_under(partner.domain)
                if partner
                else decision.choice.zone.proxy_name,
                "step": str(decision.step),
                "reason": decision.choice.reason,
                "zones": [
                    {
                        "zone": zone.name,
                        "proxy_name": zone.proxy_name_under(partner.domain)
                        if partner
                        else zone.proxy_name,
                        "distance_km": round(km, 1) if location else None,
                    }
                    for zone, km in (
                        distances(location, estate.cluster(decision.cluster).zones)
                        if location
                        else [(z, 0.0) for z in estate.cluster(decision.cluster).zones]
                    )
                ],
            }
            for decision in decisions
        ],
    }


def _print(document: dict[str, Any]) -> None:
    print_line = console.print
    print_line(f"[bold]address[/]   {document['address']}", highlight=False)
    print_line(
        f"[bold]database[/]  {document['database'] or 'none (--geoip / PROVISIONER_GEOIP)'}",
        highlight=False,
    )
    found = document["found"]
    if document["not_looked_up"]:
        where = f"not looked up: {document['not_looked_up']}"
    elif found is None:
        where = "no entry in the city database" if document["database"] else "no city database"
    else:
        place = ", ".join(p for p in (found["city"], found["country"]) if p)
        at = (
            f"{found['latitude']:.4f},{found['longitude']:.4f}"
            if found["latitude"] is not None
            else "no location"
        )
        where = f"{at} {f'({place})' if place else ''} network /{found['network_prefix']}"
    print_line(f"[bold]found[/]     {where}", highlight=False)
    if document["country"]:
        print_line(
            f"[bold]country[/]   {document['country']} ({document['country_source']})",
            highlight=False,
        )
    if document["device"]:
        print_line(
            f"[bold]device[/]    {document['device']}, previous zone "
            f"{document['previous_zone'] or 'none'}",
            highlight=False,
        )
    for cluster in document["clusters"]:
        table = Table(title=f"cluster {cluster['cluster']}", title_justify="left")
        table.add_column("zone")
        table.add_column("proxy name")
        table.add_column("distance", justify="right")
        table.add_column("")
        for zone in cluster["zones"]:
            km = zone["distance_km"]
            chosen = zone["zone"] == cluster["zone"]
            table.add_row(
                zone["zone"],
                zone["proxy_name"],
                f"{km:,.0f} km" if km is not None else "—",
                "[bold green]← chosen[/]" if chosen else "",
                style="bold" if chosen else None,
            )
        console.print(table)
        print_line(
            f"  [bold]{cluster['zone']}[/] ({cluster['proxy_name']}) by step "
            f"[bold]{cluster['step']}[/]: {cluster['reason']}",
            highlight=False,
        )


@geoip.command()
@click.option("--url", required=True, help="Where to download the .mmdb (plain, gzip or tar.gz).")
@click.option(
    "--path",
    "path",
    envvar=GEOIP_ENV,
    show_envvar=True,
    type=click.Path(path_type=Path),
    help="The file to replace (default: the --geoip file of serve, PROVISIONER_GEOIP).",
)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds.")
@reports_errors
def update(url: str, path: Path | None, timeout: float) -> None:
    """Download a city database, check it, and swap it in atomically; a running server
    picks it up within a second."""
    if path is None:
        raise InvalidValue("--path", f"name the .mmdb file to replace (or set {GEOIP_ENV})")
    info = update_database(url, path, timeout=timeout)
    console.print(f"updated {info.describe()}, {info.node_count} nodes", highlight=False)
