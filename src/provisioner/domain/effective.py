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
            lambda: ZoneChoice(
                estate.cluster(record.cluster).zone(record.pinned_zone),  # type: ignore[arg-type]
                f"pinned on the {record.pinned_by}",
            ),
        )
    return estate.prepared(
        ("default zone", record.cluster), lambda: _default_zone(estate, record.cluster)
    )


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


def effective_settings(
    estate: Estate, record: DeviceRecord, choice: ZoneChoice
) -> EffectiveSettings:
    base = estate.prepared(
        ("shared layers", record.cluster, record.partner, choice.zone.name),
        lambda: _shared_layers(estate, record.cluster, record.partner, choice.zone),
    )
    own = [
        LayerValues(
            Layer.ESTATE, {"registrar.host": record.sip_domain}, f"account {record.account}"
        )
    ]
    if record.account_settings:
        own.append(LayerValues(Layer.ACCOUNT, record.account_settings, record.account))
    if record.settings:
        own.append(LayerValues(Layer.DEVICE, record.settings, record.mac))
    return merge(own, base)


def device_config(
    estate: Estate, record: DeviceRecord, choice: ZoneChoice | None = None
) -> DeviceConfig:
    """What a vendor profile renders from; the zone defaults to pinned-or-default."""
    choice = choice or pinned_or_default_zone(estate, record)
    return DeviceConfig(
        mac=record.mac,
        vendor=record.vendor,
        model=record.model,
        account=record.account,
        cluster=record.cluster,
        partner=record.partner,
        zone=choice.zone.name,
        settings=effective_settings(estate, record, choice),
        lines=record.lines,
    )
