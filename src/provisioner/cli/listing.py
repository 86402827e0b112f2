"""`provisioner devices`, `device MAC`, `accounts`, `partners`, `zones`, `media-servers`:
what the estate holds and what phones' fetches left, as rich tables on a terminal or
JSON for machines (`--json`).

The database records a device's last successful fetch only (its outcome is always
"served"); refused and failed requests are not stored there.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from provisioner.cli.context import console, reports_errors, state
from provisioner.cli.geoip import geoip_option, margin_option, open_city_database
from provisioner.domain.errors import InvalidValue, NotFound
from provisioner.domain.estate import DeviceRecord
from provisioner.domain.mac import normalise_mac
from provisioner.domain.settings import as_text, mask
from provisioner.geoip.locator import ZoneLocator
from provisioner.storage.listing import (
    DeviceDetail,
    DeviceFilter,
    DeviceRow,
    LastFetch,
    device_detail,
    list_accounts,
    list_devices,
    list_media_servers,
    list_partners,
    list_zones,
)
from provisioner.storage.snapshot import load_estate

MASK = "********"
_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def parse_since(text: str, option: str = "--seen-since", now: datetime | None = None) -> datetime:
    """An aware time from ISO 8601 (no offset: UTC) or a span back from now (``30m``,
    ``2h``, ``7d``, ``1w``, ``45s``); an `InvalidValue` naming `option` otherwise."""
    now = now or datetime.now(UTC)
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        try:
            return now - timedelta(**{_UNITS[unit]: amount})
        except OverflowError:
            raise InvalidValue(option, f"{text!r} reaches too far back") from None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(
            option,
            f"{text!r} is neither an ISO 8601 time (2024-05-01T12:00:00Z) "
            "nor a span back from now (30m, 2h, 7d)",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _mac(text: str, option: str = "MAC") -> str:
    try:
        return normalise_mac(text)
    except ValueError as error:
        raise InvalidValue(option, str(error)) from None


def _time(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _shown_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _fetch_document(fetch: LastFetch | None) -> dict[str, Any] | None:
    if fetch is None:
        return None
    return {
        "at": _time(fetch.at),
        "address": fetch.address,
        "user_agent": fetch.user_agent,
        "firmware": fetch.firmware,
        "outcome": fetch.outcome,
    }


def _device_document(row: DeviceRow) -> dict[str, Any]:
    return {
        "mac": row.mac,
        "vendor": row.vendor,
        "model": row.model,
        "account": row.account,
        "partner": row.partner,
        "cluster": row.cluster,
        "zone_given": row.zone_given,
        "pinned_zone": row.pinned_zone,
        "pinned_by": row.pinned_by,
        "last_fetch": _fetch_document(row.last_fetch),
    }


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return escape(str(value))


@click.command()
@click.option("--account", metavar="NAME", help="Only this account's devices.")
@click.option("--partner", metavar="NAME", help="Only the devices of this partner's accounts.")
@click.option(
    "--zone",
    metavar="NAME",
    help="Only devices given this zone at their last fetch (never seen: pinned to it).",
)
@click.option(
    "--seen-since",
    metavar="TIME",
    help="Only devices whose last fetch is this recent: ISO 8601 (UTC unless it has an "
    "offset) or a span back from now (30m, 2h, 7d).",
)
@click.option("--never-seen", is_flag=True, help="Only devices that never fetched their files.")
@json_option
@reports_errors
def devices(
    account: str | None,
    partner: str | None,
    zone: str | None,
    seen_since: str | None,
    never_seen: bool,
    as_json: bool,
) -> None:
    """List devices with the zone and the last fetch (time, address, User-Agent,
    firmware, outcome) the database recorded."""
    since = parse_since(seen_since) if seen_since is not None else None
    rows = list_devices(
        state().database(),
        DeviceFilter(account, partner, zone, since, never_seen),
    )
    if as_json:
        _echo_json([_device_document(row) for row in rows])
        return
    table = Table(title=f"{len(rows)} devices", title_justify="left")
    for name in ("MAC", "vendor", "model", "account", "zone given", "last fetch"):
        table.add_column(name, no_wrap=True)
    table.add_column("address", no_wrap=True)
    table.add_column("User-Agent", overflow="fold")
    table.add_column("firmware", no_wrap=True)
    table.add_column("outcome", no_wrap=True)
    for row in rows:
        fetch = row.last_fetch
        table.add_row(
            row.mac,
            _cell(row.vendor),
            _cell(row.model),
            _cell(row.account),
            _cell(row.zone_given),
            _shown_time(fetch.at) if fetch else "never",
            _cell(fetch.address if fetch else None),
            _cell(fetch.user_agent if fetch else None),
            _cell(fetch.firmware if fetch else None),
            fetch.outcome if fetch else "—",
        )
    console.print(table)


def _zone_now(detail: DeviceDetail, geoip_path: Path | None, margin_km: float) -> dict[str, Any]:
    """The zone the device gets now from its last address, and the step that decides
    (what `geoip explain --device` shows)."""
    row = detail.device
    locator = ZoneLocator(open_city_database(geoip_path), margin_km=margin_km)
    with state().database().read() as session:
        estate = load_estate(session)
    record = DeviceRecord(  # what the locator reads of a device: its cluster and pin
        mac=row.mac,
        vendor=row.vendor,
        model=row.model,
        account=row.account,
        cluster=row.cluster,
        partner=row.partner,
        sip_domain=detail.sip_domain,
        pinned_zone=row.pinned_zone,
        pinned_by=row.pinned_by,
        account_settings={},
        settings={},
        provisioning_user=detail.provisioning_user,
        provisioning_password="",
        located_zone=row.zone_given,
    )
    address = row.last_fetch.address if row.last_fetch else None
    decision = locator.decide(
        estate, record.cluster, address, record=record, previous_zone=row.zone_given
    )
    return {
        "name": decision.choice.zone.name,
        "step": str(decision.step),
        "reason": decision.choice.reason,
        "from_address": address,
        "notes": list(decision.notes),
    }


@click.command()
@click.argument("mac")
@click.option("--show-secrets", is_flag=True, help="Show passwords instead of ********.")
@geoip_option
@margin_option
@json_option
@reports_errors
def device(
    mac: str, show_secrets: bool, geoip_path: Path | None, margin_km: float, as_json: bool
) -> None:
    """Everything about one phone: its account, lines and credentials (masked unless
    --show-secrets), its last fetch, uploaded logs, and its zone and why."""
    mac = _mac(mac)
    detail = device_detail(state().database(), mac, with_secrets=show_secrets)
    if detail is None:
        raise NotFound("device", mac)
    zone_now = _zone_now(detail, geoip_path, margin_km)
    row = detail.device

    def secret(value: str | None) -> str:
        return value if show_secrets and value is not None else MASK

    settings = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in (
            (key, value if show_secrets else mask(key, value))
            for key, value in detail.settings.items()
        )
    }
    document = {
        **_device_document(row),
        "sip_domain": detail.sip_domain,
        "provisioning": {
            "user": detail.provisioning_user,
            "password": secret(detail.provisioning_password),
        },
        "lines": [
            {
                "index": line.index,
                "sip_user": line.sip_user,
                "auth_name": line.auth_name,
                "password": secret(line.password),
                "display_name": line.display_name,
                "label": line.label,
            }
            for line in detail.lines
        ],
        "settings": settings,
        "zone": {
            "given": row.zone_given,
            "given_at": _time(row.last_fetch.at) if row.last_fetch else None,
            "now": zone_now,
        },
        "fetches": [_fetch_document(row.last_fetch)] if row.last_fetch else [],
        "logs": [
            {"name": log.name, "received_at": _time(log.received_at), "bytes": log.size}
            for log in detail.logs
        ],
    }
    if as_json:
        _echo_json(document)
        return
    _print_device(document)


def _print_device(document: dict[str, Any]) -> None:
    out = console.print
    partner = f", partner {document['partner']}" if document["partner"] else ""
    out(
        f"[bold]{document['mac']}[/] {_cell(document['vendor'])} {_cell(document['model'])}, "
        f"account [bold]{_cell(document['account'])}[/]{_cell(partner) if partner else ''}, "
        f"cluster {_cell(document['cluster'])}, SIP domain {_cell(document['sip_domain'])}",
        highlight=False,
    )
    provisioning = document["provisioning"]
    out(
        f"provisioning user {_cell(provisioning['user'])}, "
        f"password {_cell(provisioning['password'])}",
        highlight=False,
    )
    zone = document["zone"]
    now = zone["now"]
    given = (
        f"given [bold]{_cell(zone['given'])}[/] at its last fetch ({zone['given_at']})"
        if zone["given"]
        else "given no zone yet (never fetched)"
        if not zone["given_at"]
        else "its last fetch recorded no zone"
    )
    out(f"zone: {given}", highlight=False)
    source = f"from {now['from_address']}" if now["from_address"] else "with no address"
    out(
        f"zone now {source}: [bold]{_cell(now['name'])}[/] by step {_cell(now['step'])}: "
        f"{_cell(now['reason'])}",
        highlight=False,
    )
    for note in now["notes"]:
        out(f"  note: {_cell(note)}", highlight=False)

    lines = Table(title="lines", title_justify="left")
    for name in ("#", "SIP user", "auth name", "password", "display name", "label"):
        lines.add_column(name)
    for line in document["lines"]:
        lines.add_row(
            str(line["index"]),
            _cell(line["sip_user"]),
            _cell(line["auth_name"]),
            _cell(line["password"]),
            _cell(line["display_name"]),
            _cell(line["label"]),
        )
    out(lines)

    fetches = Table(title="last fetch (the database keeps the last one)", title_justify="left")
    for name in ("time", "address", "User-Agent", "firmware", "outcome"):
        fetches.add_column(name, overflow="fold")
    for fetch in document["fetches"]:
        fetches.add_row(
            _cell(fetch["at"]),
            _cell(fetch["address"]),
            _cell(fetch["user_agent"]),
            _cell(fetch["firmware"]),
            _cell(fetch["outcome"]),
        )
    if not document["fetches"]:
        fetches.add_row("never", "—", "—", "—", "—")
    out(fetches)

    logs = Table(title="uploaded logs, newest first", title_justify="left")
    for name in ("name", "received", "bytes"):
        logs.add_column(name)
    for log in document["logs"]:
        logs.add_row(_cell(log["name"]), _cell(log["received_at"]), str(log["bytes"]))
    out(logs)

    if document["settings"]:
        settings = Table(title="device settings layer", title_justify="left")
        settings.add_column("key")
        settings.add_column("value", overflow="fold")
        for key, value in document["settings"].items():
            settings.add_row(_cell(key), _cell(as_text(value)))
        out(settings)


_cluster_option = click.option("--cluster", metavar="NAME", help="Only this cluster's.")


@click.command()
@_cluster_option
@click.option("--partner", metavar="NAME", help="Only this partner's accounts.")
@json_option
@reports_errors
def accounts(cluster: str | None, partner: str | None, as_json: bool) -> None:
    """List accounts with their cluster, partner, pinned zone and devices."""
    rows = list_accounts(state().database(), cluster, partner)
    if as_json:
        _echo_json([row.__dict__ for row in rows])
        return
    table = Table(title=f"{len(rows)} accounts", title_justify="left")
    for name in ("account", "cluster", "partner", "SIP domain", "pinned zone", "devices"):
        table.add_column(name)
    table.add_column("never seen")
    for row in rows:
        table.add_row(
            _cell(row.name),
            _cell(row.cluster),
            _cell(row.partner),
            _cell(row.sip_domain),
            _cell(row.zone),
            str(row.devices),
            str(row.never_seen),
        )
    console.print(table)


@click.command()
@_cluster_option
@json_option
@reports_errors
def partners(cluster: str | None, as_json: bool) -> None:
    """List hosted partners with their domain, accounts and devices."""
    rows = list_partners(state().database(), cluster)
    if as_json:
        _echo_json([row.__dict__ for row in rows])
        return
    table = Table(title=f"{len(rows)} partners", title_justify="left")
    for name in ("partner", "cluster", "domain", "accounts", "devices"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            _cell(row.name),
            _cell(row.cluster),
            _cell(row.domain),
            str(row.accounts),
            str(row.devices),
        )
    console.print(table)


@click.command()
@_cluster_option
@json_option
@reports_errors
def zones(cluster: str | None, as_json: bool) -> None:
    """List zones: proxy label, place, default, media servers, and devices given each."""
    rows = list_zones(state().database(), cluster)
    if as_json:
        _echo_json([row.__dict__ for row in rows])
        return
    table = Table(title=f"{len(rows)} zones", title_justify="left")
    for name in ("cluster", "zone", "proxy label", "lat, lon", "default", "media order"):
        table.add_column(name)
    table.add_column("media servers", overflow="fold")
    for name in ("transports", "weight", "TTL", "devices given"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            _cell(row.cluster),
            _cell(row.name),
            _cell(row.proxy_label),
            f"{row.latitude:.4f}, {row.longitude:.4f}",
            "yes" if row.default else "",
            _cell(row.media_order),
            _cell(", ".join(row.media_servers)),
            _cell(", ".join(row.transports)),
            str(row.srv_weight),
            str(row.ttl),
            str(row.devices_given),
        )
    console.print(table)


@click.command("media-servers")
@_cluster_option
@json_option
@reports_errors
def media_servers(cluster: str | None, as_json: bool) -> None:
    """List media servers: addresses, place, ports, and the zones that list them."""
    rows = list_media_servers(state().database(), cluster)
    if as_json:
        _echo_json([row.__dict__ for row in rows])
        return
    table = Table(title=f"{len(rows)} media servers", title_justify="left")
    table.add_column("cluster")
    table.add_column("media server")
    table.add_column("addresses", overflow="fold")
    for name in ("lat, lon", "UDP", "TCP", "TLS"):
        table.add_column(name)
    table.add_column("zones", overflow="fold")
    for row in rows:
        place = (
            f"{row.latitude:.4f}, {row.longitude:.4f}"
            if row.latitude is not None and row.longitude is not None
            else "—"
        )
        table.add_row(
            _cell(row.cluster),
            _cell(row.name),
            _cell(", ".join(row.addresses)),
            place,
            str(row.udp_port),
            str(row.tcp_port),
            str(row.tls_port),
            _cell(", ".join(row.zones)),
        )
    console.print(table)


COMMANDS = (devices, device, accounts, partners, zones, media_servers)
