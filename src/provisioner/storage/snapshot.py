"""Reading the estate out of the database as value objects (`provisioner.domain.estate`).

`load_estate` reads the small part of the estate (clusters, zones, media servers, partners,
the global layer) in a handful of queries, to be prepared once and reused until the next
change. `load_device` reads one device with its account and lines by MAC, with one
indexed query.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from provisioner.domain.estate import (
    Cluster,
    ClusterKind,
    DeviceRecord,
    Estate,
    MediaServer,
    Partner,
    SipTransport,
    Zone,
    ZoneRule,
    nearest_first,
)
from provisioner.domain.geography import Location
from provisioner.storage import models
from provisioner.storage.device_lookup import fetch_device


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


def load_device(session: Session, mac: str) -> DeviceRecord | None:
    """The device with this (normalised) MAC, or None: one indexed query
    (`provisioner.storage.device_lookup`, shared with the phones' hot path)."""
    return fetch_device(session.connection(), mac)
