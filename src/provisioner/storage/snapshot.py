"""Reading the estate out of the database as value objects (`provisioner.domain.estate`).

`load_estate` reads the small part of the estate (clusters, zones, media servers, partners,
the global layer) in a handful of queries, to be prepared once and reused until the next
change. `load_device` reads one device and its account by MAC with one indexed query
(plus its lines).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, selectinload

from provisioner.domain.estate import (
    Cluster,
    ClusterKind,
    DeviceRecord,
    Estate,
    LineConfig,
    MediaServer,
    Partner,
    SipTransport,
    Zone,
    ZoneRule,
    nearest_first,
)
from provisioner.domain.geography import Location
from provisioner.storage import models


def _media_server(row: models.MediaServer, domain: str) -> MediaServer:
    location = (
        Location(row.latitude, row.longitude)
        if row.latitude is not None and row.longitude is not None
        else None
    )
    return MediaServer(
        name=row.name,
        host_name=f"{row.name}.{domain}",
        addresses=tuple(row.addresses),
        location=location,
        ports={
            SipTransport.UDP: row.udp_port,
            SipTransport.TCP: row.tcp_port,
            SipTransport.TLS: row.tls_port,
        },
    )


def load_estate(session: Session) -> Estate:
    change_id = session.scalar(select(func.coalesce(func.max(models.Change.id), 0))) or 0
    global_row = session.get(models.GlobalSettings, 1)
    rows = session.scalars(
        select(models.Cluster)
        .order_by(models.Cluster.name)
        .options(
            selectinload(models.Cluster.media_servers),
            selectinload(models.Cluster.partners),
            selectinload(models.Cluster.zones).selectinload(models.Zone.media_server_links),
            selectinload(models.Cluster.zone_rules).selectinload(models.ZoneRule.zone),
            selectinload(models.Cluster.country_zones).selectinload(models.CountryZone.zone),
        )
    ).all()
    clusters = []
    for row in rows:
        servers = {ms.id: _media_server(ms, row.domain) for ms in row.media_servers}
        zones = []
        for zone in row.zones:
            location = Location(zone.latitude, zone.longitude)
            if zone.media_order == "nearest":
                ordered = nearest_first(location, servers.values())
            else:
                ordered = tuple(servers[link.media_server_id] for link in zone.media_server_links)
            zones.append(
                Zone(
                    name=zone.name,
                    cluster=row.name,
                    proxy_label=zone.proxy_label,
                    proxy_name=f"{zone.proxy_label}.{row.domain}",
                    location=location,
                    media_order=zone.media_order,
                    media_servers=ordered,
                    srv_weight=zone.srv_weight,
                    ttl=zone.ttl,
                    transports=tuple(SipTransport(t) for t in zone.transports),
                )
            )
        default_zone = next((z.name for z in row.zones if z.id == row.default_zone_id), None)
        clusters.append(
            Cluster(
                name=row.name,
                kind=ClusterKind(row.kind),
                domain=row.domain,
                default_zone=default_zone,
                zones=tuple(zones),
                media_servers=tuple(servers.values()),
                partners=tuple(
                    Partner(p.name, row.name, p.domain, dict(p.settings)) for p in row.partners
                ),
                settings=dict(row.settings),
                zone_rules=tuple(ZoneRule(rule.network, rule.zone.name) for rule in row.zone_rules),
                country_zones={entry.country: entry.zone.name for entry in row.country_zones},
            )
        )
    return Estate(
        clusters=tuple(clusters),
        settings=dict(global_row.settings) if global_row else {},
        change_id=change_id,
    )


_DeviceZone = aliased(models.Zone)
_AccountZone = aliased(models.Zone)

_DEVICE_QUERY = (
    select(
        models.Device,
        models.Account,
        models.Cluster.name,
        models.Partner.name,
        _DeviceZone.name,
        _AccountZone.name,
    )
    .join(models.Account, models.Device.account_id == models.Account.id)
    .join(models.Cluster, models.Account.cluster_id == models.Cluster.id)
    .outerjoin(models.Partner, models.Account.partner_id == models.Partner.id)
    .outerjoin(_DeviceZone, models.Device.zone_id == _DeviceZone.id)
    .outerjoin(_AccountZone, models.Account.zone_id == _AccountZone.id)
    .options(selectinload(models.Device.lines))
)


def load_device(session: Session, mac: str) -> DeviceRecord | None:
    """The device with this (normalised) MAC, or None."""
    row = session.execute(_DEVICE_QUERY.where(models.Device.mac == mac)).one_or_none()
    if row is None:
        return None
    device, account, cluster, partner, device_zone, account_zone = row
    pinned_by = "device" if device_zone else "account" if account_zone else None
    return DeviceRecord(
        mac=device.mac,
        vendor=device.vendor,
        model=device.model,
        account=account.name,
        cluster=cluster,
        partner=partner,
        sip_domain=account.sip_domain,
        pinned_zone=device_zone or account_zone,
        pinned_by=pinned_by,
        account_settings=dict(account.settings),
        settings=dict(device.settings),
        provisioning_user=device.provisioning_user,
        provisioning_password=device.provisioning_password,
        lines=tuple(
            LineConfig(
                index=line.index,
                sip_user=line.sip_user,
                auth_name=line.auth_name,
                password=line.password,
                display_name=line.display_name,
                label=line.label,
            )
            for line in device.lines
        ),
    )
