"""A device's effective settings: its zone, the layers that apply to it, merged.

The order of layers and the rules live in `provisioner.domain.settings`; this module only
gathers, for one device, what each layer says: the defaults the estate implies (the zone's
proxy name, white-labelled for a partner's device; the account's SIP domain as registrar),
then global, cluster, partner, account and device.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.dns.records import DnsRecords, ProxyRecords, build_records, proxy_records
from provisioner.domain.errors import EstateErrors, InvalidValue
from provisioner.domain.estate import DeviceConfig, DeviceRecord, Estate, SipTransport, Zone
from provisioner.domain.settings import (
    EffectiveSettings,
    Layer,
    LayerValues,
    Stacked,
    Transport,
    conflicts,
    merge,
    stack,
)


@dataclass(frozen=True)
class ZoneChoice:
    zone: Zone
    reason: str  # which step decided, for `settings` and `geoip explain`


def pinned_or_default_zone(estate: Estate, record: DeviceRecord) -> ZoneChoice:
    """The zone pinned on the device (or its account), else its cluster's default zone."""
    if record.pinned_zone is not None:
        return estate.prepared(
            ("pinned zone", record.cluster, record.pinned_zone, record.pinned_by),
            _pinned_zone,
            estate,
            record.cluster,
            record.pinned_zone,
            record.pinned_by,
        )
    return estate.prepared(("default zone", record.cluster), _default_zone, estate, record.cluster)


def _pinned_zone(estate: Estate, cluster: str, zone: str, pinned_by: str | None) -> ZoneChoice:
    return ZoneChoice(estate.cluster(cluster).zone(zone), f"pinned on the {pinned_by}")


def _default_zone(estate: Estate, cluster_name: str) -> ZoneChoice:
    cluster = estate.cluster(cluster_name)
    if cluster.default_zone is None:
        raise LookupError(f"cluster {cluster.name} has no default zone")
    return ZoneChoice(cluster.zone(cluster.default_zone), f"default zone of cluster {cluster.name}")


def _shared_layers(
    estate: Estate, cluster_name: str, partner_name: str | None, zone: Zone
) -> Stacked:
    """Global, cluster and partner layers and the zone's proxy name: what every device of
    one cluster, partner and zone shares, merged once per estate snapshot."""
    cluster = estate.cluster(cluster_name)
    proxy_name = zone.proxy_name
    layers = [
        LayerValues(Layer.GLOBAL, estate.settings),
        LayerValues(Layer.CLUSTER, cluster.settings, cluster.name),
    ]
    if partner_name is not None:
        partner = estate.partner(partner_name)
        proxy_name = zone.proxy_name_under(partner.domain)
        layers.append(LayerValues(Layer.PARTNER, partner.settings, partner.name))
    layers.append(
        LayerValues(Layer.ESTATE, {"outbound_proxy.host": proxy_name}, f"zone {zone.name}")
    )
    return stack(layers)


_ESTATE, _ACCOUNT, _DEVICE = Layer.ESTATE, Layer.ACCOUNT, Layer.DEVICE


def effective_settings(
    estate: Estate, record: DeviceRecord, choice: ZoneChoice
) -> EffectiveSettings:
    zone, cluster, partner = choice.zone, record.cluster, record.partner
    base = estate.prepared(
        ("shared layers", cluster, partner, zone.name),
        _shared_layers,
        estate,
        cluster,
        partner,
        zone,
    )
    own = [LayerValues(_ESTATE, {"registrar.host": record.sip_domain}, f"account {record.account}")]
    if record.account_settings:
        own.append(LayerValues(_ACCOUNT, record.account_settings, record.account))
    if record.settings:
        own.append(LayerValues(_DEVICE, record.settings, record.mac))
    return merge(own, base)


def _proxy_records(
    estate: Estate, cluster_name: str, partner_name: str | None, zone: Zone
) -> ProxyRecords | None:
    """What the zone's proxy name (white-labelled for a partner) resolves to, from the
    same records the DNS server publishes; None when the estate cannot be published."""
    records = estate.prepared(("dns records",), _records, estate)
    if records is None:
        return None
    cluster = estate.cluster(cluster_name)
    domain = cluster.domain if partner_name is None else estate.partner(partner_name).domain
    try:
        return proxy_records(records, domain, zone.proxy_name_under(domain))
    except KeyError:
        return None


def _records(estate: Estate) -> DnsRecords | None:
    try:
        return build_records(estate)
    except EstateErrors:  # stored estates are checked before they are written
        return None


def device_config(
    estate: Estate, record: DeviceRecord, choice: ZoneChoice | None = None
) -> DeviceConfig:
    """What a vendor profile renders from; the zone defaults to pinned-or-default."""
    choice = choice or pinned_or_default_zone(estate, record)
    zone, cluster, partner = choice.zone, record.cluster, record.partner
    dns = estate.prepared(
        ("proxy records", cluster, partner, zone.name),
        _proxy_records,
        estate,
        cluster,
        partner,
        zone,
    )
    return DeviceConfig(  # by position: keywords cost a fifth of this function
        record.mac,
        record.vendor,
        record.model,
        record.account,
        record.cluster,
        record.partner,
        choice.zone.name,
        effective_settings(estate, record, choice),
        record.lines,
        dns,
        record.provisioning_user,
        record.provisioning_password,
        estate.change_id,
    )


def settings_problems(estate: Estate, record: DeviceRecord) -> list[InvalidValue]:
    """What no phone could honour in this device's effective settings, each naming the key
    and the layer that set it: the failover policy's forbidden combinations, and a
    transport (udp, tcp, tls) that a zone the device can be given does not offer, so
    the SRV records the phone looks up would not exist. A device pinned to a zone can be
    given that zone only; any other can be given any zone of its cluster (GeoIP)."""
    cluster = estate.cluster(record.cluster)
    zones = (cluster.zone(record.pinned_zone),) if record.pinned_zone else cluster.zones
    if not zones:
        return []
    effective = effective_settings(estate, record, ZoneChoice(zones[0], "checked"))
    found = conflicts(effective)
    transport = effective.transport
    if transport is not Transport.DNS_NAPTR:
        wanted = SipTransport(transport.value)
        for zone in zones:
            if wanted not in zone.transports:
                offered = ", ".join(t.value for t in zone.transports)
                found.append(
                    InvalidValue(
                        f"{effective.source('transport')}: transport",
                        f"{transport.value} is not offered by zone {zone.name} ({offered}): "
                        "phones given that zone would find no SRV records for it",
                    )
                )
    return found


def public_provisioning_url(estate: Estate) -> str | None:
    """The ``provisioning.url`` that public files (boot, index, bootstrap) point phones at.

    Public files are rendered without a device, and must not differ between MACs (a
    difference would tell which MACs exist, or which cluster or account one is in). So
    only a layer every MAC shares counts: the estate's only cluster when there is one
    (it then covers every device), else the global layer. A value set on a partner,
    account or device reaches that device's own files, which are served after
    authentication; its boot file points at the shared URL."""
    layers = [estate.settings]
    if len(estate.clusters) == 1:
        layers.insert(0, estate.clusters[0].settings)
    for settings in layers:
        value = settings.get("provisioning.url")
        if value:
            return str(value).rstrip("/")
    return None
