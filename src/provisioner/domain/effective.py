"""A device's effective settings: its zone, the layers that apply to it, merged.

The order of layers and the rules live in `provisioner.domain.settings`; this module only
gathers, for one device, what each layer says: the defaults the estate implies (the zone's
proxy name, white-labelled for a partner's device; the account's SIP domain as registrar),
then global, cluster, partner, account and device.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.domain.estate import DeviceConfig, DeviceRecord, Estate, Zone
from provisioner.domain.settings import EffectiveSettings, Layer, LayerValues, Stacked, merge, stack


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


def device_config(
    estate: Estate, record: DeviceRecord, choice: ZoneChoice | None = None
) -> DeviceConfig:
    """What a vendor profile renders from; the zone defaults to pinned-or-default."""
    choice = choice or pinned_or_default_zone(estate, record)
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
    )
