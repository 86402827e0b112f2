"""A device's effective settings: what the shared layers prepared once per estate snapshot
give equals merging every layer at once, and nothing prepared for one snapshot or one
device reaches another."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioner.domain.effective import ZoneChoice, device_config, pinned_or_default_zone
from provisioner.domain.estate import (
    Cluster,
    ClusterKind,
    DeviceConfig,
    DeviceRecord,
    Estate,
    LineConfig,
    Partner,
    Zone,
)
from provisioner.domain.geography import Location
from provisioner.domain.settings import SCHEMA, Layer, LayerValues, merge

LINE = LineConfig(1, "1001", "auth-1001", "secret-1001", "Reception", "Front")


def zone(name: str) -> Zone:
    return Zone(
        name=name,
        cluster="hosted",
        proxy_label=name,
        proxy_name=f"{name}.p.example.net",
        location=Location(40.7, -74.0),
        media_order="explicit",
        media_servers=(),
        srv_weight=10,
        ttl=60,
        transports=(),
    )


def estate(
    global_settings: Mapping[str, Any] | None = None,
    cluster_settings: Mapping[str, Any] | None = None,
    partner_settings: Mapping[str, Any] | None = None,
    change_id: int = 1,
) -> Estate:
    cluster = Cluster(
        name="hosted",
        kind=ClusterKind.HOSTED,
        domain="p.example.net",
        default_zone="us-east",
        zones=(zone("us-east"), zone("us-west")),
        media_servers=(),
        partners=(Partner("acme", "hosted", "p.acme.example", dict(partner_settings or {})),),
        settings=dict(cluster_settings or {}),
    )
    return Estate((cluster,), dict(global_settings or {}), change_id)


def record(
    mac: str = "001565a00001",
    account: str = "dental",
    partner: str | None = None,
    account_settings: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    pinned_zone: str | None = None,
) -> DeviceRecord:
    return DeviceRecord(
        mac=mac,
        vendor="yealink",
        model="T46U",
        account=account,
        cluster="hosted",
        partner=partner,
        sip_domain=f"{account}.sip.example.net",
        pinned_zone=pinned_zone,
        pinned_by="device" if pinned_zone else None,
        account_settings=dict(account_settings or {}),
        settings=dict(settings or {}),
        provisioning_user=mac,
        provisioning_password="secret",
        lines=(LINE,),
    )


def at_once(estate: Estate, record: DeviceRecord, choice: ZoneChoice) -> DeviceConfig:
    """The reference: every layer merged in one call, nothing prepared."""
    cluster = estate.cluster(record.cluster)
    proxy_name = choice.zone.proxy_name
    layers = [
        LayerValues(Layer.GLOBAL, estate.settings),
        LayerValues(Layer.CLUSTER, cluster.settings, cluster.name),
        LayerValues(
            Layer.ESTATE, {"registrar.host": record.sip_domain}, f"account {record.account}"
        ),
        LayerValues(Layer.ACCOUNT, record.account_settings, record.account),
        LayerValues(Layer.DEVICE, record.settings, record.mac),
    ]
    if record.partner is not None:
        partner = estate.partner(record.partner)
        proxy_name = choice.zone.proxy_name_under(partner.domain)
        layers.append(LayerValues(Layer.PARTNER, partner.settings, partner.name))
    layers.append(
        LayerValues(Layer.ESTATE, {"outbound_proxy.host": proxy_name}, f"zone {choice.zone.name}")
    )
    return DeviceConfig(
        mac=record.mac,
        vendor=record.vendor,
        model=record.model,
        account=record.account,
        cluster=record.cluster,
        partner=record.partner,
        zone=choice.zone.name,
        settings=merge(layers),
        lines=record.lines,
        provisioning_user=record.provisioning_user,
        provisioning_password=record.provisioning_password,
        revision=estate.change_id,
    )


def assert_same(config: DeviceConfig, expected: DeviceConfig) -> None:
    assert config == expected
    assert dict(config.settings) == dict(expected.settings)
    assert list(config.settings) == list(expected.settings)
    for key in SCHEMA:
        assert config.settings.source(key) == expected.settings.source(key), key
        assert type(config.settings[key]) is type(expected.settings[key]), key


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "transport": st.sampled_from(["dns-naptr", "udp", "tcp", "tls"]),
    "outbound_proxy.host": st.sampled_from(["sbc.example.org", "192.0.2.9"]),
    "outbound_proxy.port": st.integers(0, 65535),
    "secondary_proxy.host": st.sampled_from(["backup.example.net", "192.0.2.7"]),
    "secondary_proxy.port": st.integers(0, 65535),
    "registrar.host": st.sampled_from(["sip.example.net"]),
    "registrar.port": st.integers(0, 65535),
    "registration.expiry": st.integers(60, 86400),
    "codecs": st.sampled_from([["g722"], ["opus", "pcmu"], ("pcma",)]),
    "voicemail.number": st.sampled_from(["*97", "+15550100"]),
}
layer_values = st.dictionaries(st.sampled_from(sorted(VALUES)), st.none(), max_size=4).flatmap(
    lambda keys: st.fixed_dictionaries({key: VALUES[key] for key in keys})
)


@given(
    layer_values,
    layer_values,
    layer_values,
    st.lists(
        st.tuples(st.booleans(), layer_values, layer_values, st.sampled_from([None, "us-west"])),
        min_size=1,
        max_size=4,
    ),
)
def test_each_device_gets_what_merging_all_its_layers_at_once_gives(
    global_settings: dict[str, Any],
    cluster_settings: dict[str, Any],
    partner_settings: dict[str, Any],
    devices: list[tuple[bool, dict[str, Any], dict[str, Any], str | None]],
) -> None:
    snapshot = estate(global_settings, cluster_settings, partner_settings)
    records = [
        record(f"00156500000{i}", f"account{i % 2}", "acme" if partnered else None, acct, own, pin)
        for i, (partnered, acct, own, pin) in enumerate(devices)
    ]
    # twice over: the second pass reads what the first one prepared
    for _ in range(2):
        for device in records:
            choice = pinned_or_default_zone(snapshot, device)
            assert_same(device_config(snapshot, device), at_once(snapshot, device, choice))
            for other in snapshot.clusters[0].zones:  # a zone GeoIP chose
                given_zone = ZoneChoice(other, "geoip")
                assert_same(
                    device_config(snapshot, device, given_zone),
                    at_once(snapshot, device, given_zone),
                )


def test_what_is_prepared_for_one_snapshot_is_not_used_for_the_next() -> None:
    device = record()
    before = estate(cluster_settings={"transport": "udp", "outbound_proxy.port": 5060})
    assert device_config(before, device).settings["outbound_proxy.port"] == 5060
    after = estate(cluster_settings={"transport": "udp", "outbound_proxy.port": 5080}, change_id=2)
    assert device_config(after, device).settings["outbound_proxy.port"] == 5080
    # a copy of a snapshot starts with nothing prepared
    assert device_config(dataclasses.replace(after), device).settings["outbound_proxy.port"] == 5080
    assert device_config(before, device).settings["outbound_proxy.port"] == 5060


def test_devices_sharing_prepared_layers_keep_their_own_values() -> None:
    snapshot = estate({"transport": "udp", "registrar.port": 5060})
    plain = record("001565000001", "dental")
    other_account = record("001565000002", "bakery", account_settings={"transport": "tls"})
    own = record("001565000003", "dental", settings={"outbound_proxy.port": 5070})
    partnered = record("001565000004", "garage", partner="acme")
    first = device_config(snapshot, plain)
    configs = [device_config(snapshot, device) for device in (other_account, own, partnered)]
    assert device_config(snapshot, plain) == first
    assert first.settings["registrar.host"] == "dental.sip.example.net"
    assert str(first.settings.source("registrar.host")) == "account dental"
    assert first.settings["transport"] == "udp"
    assert first.settings["outbound_proxy.host"] == "us-east.p.example.net"
    assert configs[0].settings["transport"] == "tls"
    assert configs[0].settings["registrar.host"] == "bakery.sip.example.net"
    assert str(configs[0].settings.source("transport")) == "account bakery"
    assert configs[1].settings["outbound_proxy.port"] == 5070
    assert str(configs[1].settings.source("outbound_proxy.port")) == "device 001565000003"
    assert first.settings["outbound_proxy.port"] == 0
    assert configs[2].settings["outbound_proxy.host"] == "us-east.p.acme.example"
    # a device's own transport still gets the rules
    naptr = record("001565000005", "dental", settings={"transport": "dns-naptr"})
    settings = device_config(snapshot, naptr).settings
    assert settings["registrar.port"] == 0
    assert settings.source("registrar.port").layer is Layer.RULE


@pytest.mark.parametrize("pinned", [None, "us-west"])
def test_the_zone_is_prepared_per_snapshot(pinned: str | None) -> None:
    snapshot = estate()
    device = record(pinned_zone=pinned)
    choice = pinned_or_default_zone(snapshot, device)
    assert choice is pinned_or_default_zone(snapshot, device)
    assert choice.zone.name == (pinned or "us-east")
    assert choice.reason == ("pinned on the device" if pinned else "default zone of cluster hosted")
    assert pinned_or_default_zone(dataclasses.replace(snapshot), device) is not choice


def test_a_device_config_is_the_frozen_dataclass_it_declares() -> None:
    settings = merge([])
    config = DeviceConfig("001565a00001", "yealink", "T46U", "a", "hosted", None, "z", settings)
    assert config.lines == ()
    assert [f.name for f in dataclasses.fields(DeviceConfig)] == list(vars(config))
    assert config == dataclasses.replace(config)
    assert dataclasses.replace(config, lines=(LINE,)).lines == (LINE,)
    assert hash(config.mac) and "mac='001565a00001'" in repr(config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.zone = "other"  # type: ignore[misc]
