"""Read-only listings of the estate for the command line: devices with what their last
fetch left (`provisioner.storage.fetches`), one device in full, and the accounts,
partners, zones and media servers.

Secrets never leave this module in their stored form: a device's provisioning password
and its lines' SIP passwords come back decrypted only when asked (`with_secrets`), else
as None.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from provisioner.domain.errors import InvalidValue
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.fetches import DeviceLog, device_logs
from provisioner.storage.secrets import keyring_of

# The only outcome the database records: a fetch is written when it was answered.
SERVED = "served"


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives them back naive, in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class LastFetch:
    at: datetime
    address: str | None
    user_agent: str | None
    firmware: str | None
    outcome: str = SERVED


@dataclass(frozen=True)
class DeviceRow:
    mac: str
    vendor: str
    model: str
    account: str
    partner: str | None
    cluster: str
    zone_given: str | None  # the zone its last fetch was given
    pinned_zone: str | None  # the device's own pin, else its account's
    pinned_by: str | None
    last_fetch: LastFetch | None


@dataclass(frozen=True)
class LineRow:
    index: int
    sip_user: str
    auth_name: str
    display_name: str
    label: str
    password: str | None  # None unless asked for secrets


@dataclass(frozen=True)
class DeviceDetail:
    device: DeviceRow
    sip_domain: str
    provisioning_user: str
    provisioning_password: str | None  # None unless asked for secrets
    settings: dict[str, Any]
    lines: list[LineRow] = field(default_factory=list)
    logs: list[DeviceLog] = field(default_factory=list)


@dataclass(frozen=True)
class DeviceFilter:
    account: str | None = None
    partner: str | None = None
    zone: str | None = None
    seen_since: datetime | None = None
    never_seen: bool = False


_DEVICE_ZONE = aliased(models.Zone, name="device_zone")
_ACCOUNT_ZONE = aliased(models.Zone, name="account_zone")
_LOCATED_ZONE = aliased(models.Zone, name="located_zone")


_AnySelect = Select[*tuple[Any, ...]]
_Q = TypeVar("_Q", bound=_AnySelect)


def _device_query() -> _AnySelect:
    return (
        select(
            models.Device,
            models.Account.name,
            models.Account.sip_domain,
            models.Partner.name,
            models.Cluster.name,
            _LOCATED_ZONE.name,
            _DEVICE_ZONE.name,
            _ACCOUNT_ZONE.name,
        )
        .join(models.Account, models.Device.account_id == models.Account.id)
        .join(models.Cluster, models.Account.cluster_id == models.Cluster.id)
        .outerjoin(models.Partner, models.Account.partner_id == models.Partner.id)
        .outerjoin(_LOCATED_ZONE, models.Device.located_zone_id == _LOCATED_ZONE.id)
        .outerjoin(_DEVICE_ZONE, models.Device.zone_id == _DEVICE_ZONE.id)
        .outerjoin(_ACCOUNT_ZONE, models.Account.zone_id == _ACCOUNT_ZONE.id)
        .order_by(models.Device.mac)
    )


def _device_row(row: Any) -> DeviceRow:
    device, account, _sip_domain, partner, cluster, located, device_zone, account_zone = row
    last = None
    if device.last_seen_at is not None:
        at = as_utc(device.last_seen_at)
        assert at is not None
        last = LastFetch(at, device.last_address, device.last_user_agent, device.last_firmware)
    pinned_by = "device" if device_zone else "account" if account_zone else None
    return DeviceRow(
        mac=device.mac,
        vendor=device.vendor,
        model=device.model,
        account=account,
        partner=partner,
        cluster=cluster,
        zone_given=located,
        pinned_zone=device_zone or account_zone,
        pinned_by=pinned_by,
        last_fetch=last,
    )


def _require(session: Session, model: Any, name: str, option: str) -> None:
    if session.scalar(select(model.id).where(model.name == name)) is None:
        kind = option.removeprefix("--")
        raise InvalidValue(option, f"no {kind} named {name!r}")


def _stored_time(database: Database, value: datetime) -> datetime:
    """`value` as the column compares: UTC, naive on SQLite (which stores no offset)."""
    value = value.astimezone(UTC)
    return value.replace(tzinfo=None) if database.engine.dialect.name == "sqlite" else value


def list_devices(database: Database, where: DeviceFilter | None = None) -> list[DeviceRow]:
    """Every device the filter keeps, by MAC; a named account, partner or zone that does
    not exist is an `InvalidValue` naming its option."""
    where = where or DeviceFilter()
    if where.never_seen and where.seen_since is not None:
        raise InvalidValue("--never-seen", "cannot be combined with --seen-since")
    query = _device_query()
    with database.read() as session:
        if where.account is not None:
            _require(session, models.Account, where.account, "--account")
            query = query.where(models.Account.name == where.account)
        if where.partner is not None:
            _require(session, models.Partner, where.partner, "--partner")
            query = query.where(models.Partner.name == where.partner)
        if where.zone is not None:
            _require(session, models.Zone, where.zone, "--zone")
            # given it at its last fetch, or (never located) pinned to it
            query = query.where(
                or_(
                    _LOCATED_ZONE.name == where.zone,
                    and_(
                        models.Device.located_zone_id.is_(None),
                        func.coalesce(_DEVICE_ZONE.name, _ACCOUNT_ZONE.name) == where.zone,
                    ),
                )
            )
        if where.never_seen:
            query = query.where(models.Device.last_seen_at.is_(None))
        if where.seen_since is not None:
            query = query.where(
                models.Device.last_seen_at >= _stored_time(database, where.seen_since)
            )
        rows = session.execute(query).all()
    return [_device_row(row) for row in rows]


def device_detail(database: Database, mac: str, with_secrets: bool = False) -> DeviceDetail | None:
    """Everything stored about the device with this (normalised) MAC, or None."""
    keyring = keyring_of(database.engine)
    with database.read() as session:
        row = session.execute(_device_query().where(models.Device.mac == mac)).one_or_none()
        if row is None:
            return None
        device: models.Device = row[0]
        lines = [
            LineRow(
                index=line.index,
                sip_user=line.sip_user,
                auth_name=line.auth_name,
                display_name=line.display_name,
                label=line.label,
                password=(
                    keyring.decrypt(line.password, f"device {mac}: line {line.index}: password")
                    if with_secrets
                    else None
                ),
            )
            for line in device.lines
        ]
        password = (
            keyring.decrypt(device.provisioning_password, f"device {mac}: provisioning_password")
            if with_secrets
            else None
        )
        detail = DeviceDetail(
            device=_device_row(row),
            sip_domain=row[2],
            provisioning_user=device.provisioning_user,
            provisioning_password=password,
            settings=dict(device.settings),
            lines=lines,
        )
    return replace(detail, logs=device_logs(database, mac))


# --- the rest of the estate ---


@dataclass(frozen=True)
class AccountRow:
    name: str
    cluster: str
    partner: str | None
    sip_domain: str
    zone: str | None  # pinned on the account
    devices: int
    never_seen: int


@dataclass(frozen=True)
class PartnerRow:
    name: str
    cluster: str
    domain: str
    accounts: int
    devices: int


@dataclass(frozen=True)
class ZoneRow:
    cluster: str
    name: str
    proxy_label: str
    latitude: float
    longitude: float
    default: bool
    media_order: str
    media_servers: list[str]
    transports: list[str]
    srv_weight: int
    ttl: int
    devices_given: int


@dataclass(frozen=True)
class MediaServerRow:
    cluster: str
    name: str
    addresses: list[str]
    latitude: float | None
    longitude: float | None
    udp_port: int
    tcp_port: int
    tls_port: int
    zones: list[str]


def _cluster_filter(session: Session, query: _Q, cluster: str | None) -> _Q:
    if cluster is None:
        return query
    _require(session, models.Cluster, cluster, "--cluster")
    return query.where(models.Cluster.name == cluster)


def list_accounts(
    database: Database, cluster: str | None = None, partner: str | None = None
) -> list[AccountRow]:
    devices = (
        select(
            models.Device.account_id,
            func.count().label("devices"),
            func.count().filter(models.Device.last_seen_at.is_(None)).label("never"),
        )
        .group_by(models.Device.account_id)
        .subquery()
    )
    query = (
        select(
            models.Account.name,
            models.Cluster.name,
            models.Partner.name,
            models.Account.sip_domain,
            models.Zone.name,
            func.coalesce(devices.c.devices, 0),
            func.coalesce(devices.c.never, 0),
        )
        .join(models.Cluster, models.Account.cluster_id == models.Cluster.id)
        .outerjoin(models.Partner, models.Account.partner_id == models.Partner.id)
        .outerjoin(models.Zone, models.Account.zone_id == models.Zone.id)
        .outerjoin(devices, devices.c.account_id == models.Account.id)
        .order_by(models.Account.name)
    )
    with database.read() as session:
        query = _cluster_filter(session, query, cluster)
        if partner is not None:
            _require(session, models.Partner, partner, "--partner")
            query = query.where(models.Partner.name == partner)
        return [AccountRow(*row) for row in session.execute(query).all()]


def list_partners(database: Database, cluster: str | None = None) -> list[PartnerRow]:
    accounts = (
        select(
            models.Account.partner_id,
            func.count(func.distinct(models.Account.id)).label("accounts"),
            func.count(models.Device.id).label("devices"),
        )
        .outerjoin(models.Device, models.Device.account_id == models.Account.id)
        .group_by(models.Account.partner_id)
        .subquery()
    )
    query = (
        select(
            models.Partner.name,
            models.Cluster.name,
            models.Partner.domain,
            func.coalesce(accounts.c.accounts, 0),
            func.coalesce(accounts.c.devices, 0),
        )
        .join(models.Cluster, models.Partner.cluster_id == models.Cluster.id)
        .outerjoin(accounts, accounts.c.partner_id == models.Partner.id)
        .order_by(models.Partner.name)
    )
    with database.read() as session:
        query = _cluster_filter(session, query, cluster)
        return [PartnerRow(*row) for row in session.execute(query).all()]


def list_zones(database: Database, cluster: str | None = None) -> list[ZoneRow]:
    given = (
        select(models.Device.located_zone_id, func.count().label("given"))
        .group_by(models.Device.located_zone_id)
        .subquery()
    )
    query = (
        select(models.Zone, models.Cluster, func.coalesce(given.c.given, 0))
        .join(models.Cluster, models.Zone.cluster_id == models.Cluster.id)
        .outerjoin(given, given.c.located_zone_id == models.Zone.id)
        .order_by(models.Cluster.name, models.Zone.name)
    )
    with database.read() as session:
        query = _cluster_filter(session, query, cluster)
        rows = []
        zone: models.Zone
        cluster_row: models.Cluster
        for zone, cluster_row, count in session.execute(query).all():
            rows.append(
                ZoneRow(
                    cluster=cluster_row.name,
                    name=zone.name,
                    proxy_label=zone.proxy_label,
                    latitude=zone.latitude,
                    longitude=zone.longitude,
                    default=cluster_row.default_zone_id == zone.id,
                    media_order=zone.media_order,
                    media_servers=[link.media_server.name for link in zone.media_server_links],
                    transports=list(zone.transports),
                    srv_weight=zone.srv_weight,
                    ttl=zone.ttl,
                    devices_given=count,
                )
            )
        return rows


def list_media_servers(database: Database, cluster: str | None = None) -> list[MediaServerRow]:
    query = (
        select(models.MediaServer, models.Cluster.name)
        .join(models.Cluster, models.MediaServer.cluster_id == models.Cluster.id)
        .order_by(models.Cluster.name, models.MediaServer.name)
    )
    with database.read() as session:
        query = _cluster_filter(session, query, cluster)
        rows = session.execute(query).all()
        links: dict[int, list[str]] = {}
        for zone_name, server_id in session.execute(
            select(models.Zone.name, models.ZoneMediaServer.media_server_id)
            .join(models.Zone, models.Zone.id == models.ZoneMediaServer.zone_id)
            .order_by(models.Zone.name)
        ).all():
            links.setdefault(server_id, []).append(zone_name)
        return [
            MediaServerRow(
                cluster=cluster_name,
                name=server.name,
                addresses=list(server.addresses),
                latitude=server.latitude,
                longitude=server.longitude,
                udp_port=server.udp_port,
                tcp_port=server.tcp_port,
                tls_port=server.tls_port,
                zones=links.get(server.id, []),
            )
            for server, cluster_name in rows
        ]
