"""A device's effective settings: its zone, the layers that apply to it, merged.

The order of layers and the rules live in `provisioner.domain.settings`; this module only
gathers, for one device, what each layer says: the defaults the estate implies (the zone's
proxy name, white-labelled for a partner's device; the account's SIP domain as registrar),
then global, cluster, partner, account and device.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.domain.estate import DeviceConfig, DeviceRecord, Estate, Zone
from provisioner.domain.settings import EffectiveSettings, Layer, LayerValues, merge


@dataclass(frozen=True)
class ZoneChoice:
    zone: Zone
    reason: str  # which step decided, for `settings` and `geoip explain`


def pinned_or_default_zone(estate: Estate, record: DeviceRecord) -> ZoneChoice:
    """The zone pinned on the device (or its account), else its cluster's default zone."""
    cluster = estate.cluster(record.cluster)
    if record.pinned_zone is not None:
        return ZoneChoice(cluster.zone(record.pinned_zone), f"pinned on the {record.pinned_by}")
    if cluster.default_zone is None:
        raise LookupError(f"cluster {cluster.name} has no default zone")
    return ZoneChoice(cluster.zone(cluster.default_zone), f"default zone of cluster {cluster.name}")


def effective_settings(
    estate: Estate, record: DeviceRecord, choice: ZoneChoice
) -> EffectiveSettings:
    cluster = estate.cluster(record.cluster)
    proxy_name = choice.zone.proxy_name
    layers = [
        LayerValues(Layer.GLOBAL, estate.settings),
        LayerValues(Layer.CLUSTER, cluster.settings, cluster.name),
    ]
    if record.partner is not None:
        partner = estate.partner(record.partner)
        proxy_name = choice.zone.proxy_name_under(partner.domain)
        layers.append(LayerValues(Layer.PARTNER, partner.settings, partner.name))
    layers += [
        LayerValues(
            Layer.ESTATE,
            {"outbound_proxy.host": proxy_name},
            f"zone {choice.zone.name}",
        ),
        LayerValues(
            Layer.ESTATE, {"registrar.host": record.sip_domain}, f"account {record.account}"
        ),
        LayerValues(Layer.ACCOUNT, record.account_settings, record.account),
        LayerValues(Layer.DEVICE, record.settings, record.mac),
    ]
    return merge(layers)


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
