"""The settings merge and its rules, over every combination of layers (hypothesis)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioner.domain.errors import InvalidValue
from provisioner.domain.settings import (
    RULE_KEYS,
    SCHEMA,
    Layer,
    LayerValues,
    Provenance,
    Transport,
    merge,
    parse_assignments,
    stack,
    validate_layer,
)

SETTABLE_LAYERS = [
    Layer.ESTATE,
    Layer.GLOBAL,
    Layer.CLUSTER,
    Layer.PARTNER,
    Layer.ACCOUNT,
    Layer.DEVICE,
]

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "transport": st.sampled_from(["dns-naptr", "udp", "tcp", "tls"]),
    "outbound_proxy.host": st.sampled_from(["us-east.p.example.net", "sbc.example.org"]),
    "outbound_proxy.port": st.integers(0, 65535),
    "secondary_proxy.host": st.sampled_from(["backup.example.net", "192.0.2.7"]),
    "secondary_proxy.port": st.integers(0, 65535),
    "registrar.host": st.sampled_from(["sip.example.net"]),
    "registrar.port": st.integers(0, 65535),
    "registration.expiry": st.integers(60, 86400),
    "time_zone": st.sampled_from(["UTC", "Europe/London", "America/Chicago"]),
}

layer_values = st.dictionaries(st.sampled_from(sorted(VALUES)), st.none()).flatmap(
    lambda keys: st.fixed_dictionaries({key: VALUES[key] for key in keys})
)
layers = st.lists(
    st.tuples(st.sampled_from(SETTABLE_LAYERS), layer_values), max_size=6, unique_by=lambda x: x[0]
).map(lambda items: [LayerValues(layer, values, f"owner-{layer.label}") for layer, values in items])


def expected_value(stack: list[LayerValues], key: str) -> tuple[Any, Layer]:
    """What the plain layering (without rules) gives: the lowest layer that sets the key."""
    value, layer = SCHEMA[key].default, Layer.DEFAULT
    for item in sorted(stack, key=lambda item: item.layer):
        if key in item.values:
            value, layer = item.values[key], item.layer
    return value, layer


@given(layers)
def test_dns_naptr_always_ends_with_ports_zero_and_no_secondary_proxy(
    stack: list[LayerValues],
) -> None:
    effective = merge(stack)
    if effective["transport"] != "dns-naptr":
        return
    assert effective["outbound_proxy.port"] == 0
    assert effective["registrar.port"] == 0
    assert effective["secondary_proxy.host"] is None
    assert effective["secondary_proxy.port"] is None
    for key in ("outbound_proxy.port", "registrar.port", "secondary_proxy.host"):
        assert effective.source(key).layer is Layer.RULE
        assert "dns-naptr" in str(effective.source(key))


@given(layers)
def test_lower_layers_win_key_by_key_and_provenance_names_the_layer(
    stack: list[LayerValues],
) -> None:
    effective = merge(stack)
    for key in SCHEMA:
        if effective.source(key).layer is Layer.RULE:
            continue
        value, layer = expected_value(stack, key)
        assert effective[key] == value, key
        assert effective.source(key).layer is layer, key
        if layer is not Layer.DEFAULT:
            assert effective.source(key).owner == f"owner-{layer.label}"


@given(layers)
def test_other_transports_keep_the_configured_ports_and_secondary_proxy(
    stack: list[LayerValues],
) -> None:
    effective = merge(stack)
    if effective["transport"] == "dns-naptr":
        return
    for key in ("outbound_proxy.port", "secondary_proxy.host", "secondary_proxy.port"):
        assert effective[key] == expected_value(stack, key)[0]


def test_the_global_default_transport_is_dns_naptr() -> None:
    assert merge([])["transport"] == "dns-naptr"


def test_the_transport_set_on_a_device_beats_the_account_and_cluster() -> None:
    effective = merge(
        [
            LayerValues(Layer.CLUSTER, {"transport": "udp"}, "hosted"),
            LayerValues(Layer.DEVICE, {"transport": "tls", "outbound_proxy.port": 5061}, "0015"),
            LayerValues(Layer.ACCOUNT, {"transport": "tcp"}, "dental"),
        ]
    )
    assert effective["transport"] == "tls"
    assert effective["outbound_proxy.port"] == 5061
    assert str(effective.source("transport")) == "device 0015"


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        ("outbound_proxy.port=70000", "cluster hosted: outbound_proxy.port: 70000 is out of range"),
        ("transport=sctp", "cluster hosted: transport: 'sctp' is not one of"),
        ("time_zone=Mars/Olympus", "cluster hosted: time_zone: 'Mars/Olympus' is not an IANA"),
        ("no.such.key=1", "cluster hosted: no.such.key: unknown setting"),
        ("registration.expiry=ten", "cluster hosted: registration.expiry: 'ten' is not a whole"),
        ("codecs=g722,speex", "cluster hosted: codecs: 'speex' is not one of"),
        ("transport", "cluster hosted: 'transport' is not KEY=VALUE"),
    ],
)
def test_invalid_values_are_refused_naming_layer_and_key(assignment: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_assignments([assignment], "cluster hosted")
    assert str(caught.value).startswith(message)


def test_a_bad_secret_is_refused_without_showing_it() -> None:
    with pytest.raises(InvalidValue) as caught:
        validate_layer({"admin.password": "abc"}, "device 001565a00001")
    assert "abc" not in str(caught.value)
    assert "admin.password" in str(caught.value)


def test_values_from_the_command_line_are_parsed_to_their_types() -> None:
    values = parse_assignments(
        ["outbound_proxy.port=5060", "codecs=opus,g722", "transport=UDP"], "global"
    )
    assert values == {"outbound_proxy.port": 5060, "codecs": ("opus", "g722"), "transport": "udp"}


@given(layers, st.integers(0, 6))
def test_merging_onto_a_prepared_base_equals_merging_everything_at_once(
    stack_of_layers: list[LayerValues], split: int
) -> None:
    shared, own = stack_of_layers[:split], stack_of_layers[split:]
    at_once = merge(stack_of_layers)
    in_two_steps = merge(own, stack(shared))
    assert dict(in_two_steps) == dict(at_once)
    assert {key: in_two_steps.source(key) for key in SCHEMA} == {
        key: at_once.source(key) for key in SCHEMA
    }


# Layers that leave what the rules read and write alone: `merge` starts from the base with
# the rules already applied.
quiet_layers = layers.map(
    lambda items: [
        LayerValues(
            item.layer,
            {key: value for key, value in item.values.items() if key not in RULE_KEYS},
            item.owner,
        )
        for item in items
    ]
)


@given(layers, quiet_layers)
def test_layers_that_leave_the_rules_alone_merge_onto_the_ruled_base_as_at_once(
    shared: list[LayerValues], own: list[LayerValues]
) -> None:
    at_once = merge(shared + own)
    base = stack(shared)
    before = (dict(base.values), dict(base.provenance))
    for _ in range(2):  # the base is reused, never changed
        onto_base = merge(own, base)
        assert dict(onto_base) == dict(at_once)
        assert list(onto_base) == list(at_once)
        assert {key: onto_base.source(key) for key in SCHEMA} == {
            key: at_once.source(key) for key in SCHEMA
        }
    assert (dict(base.values), dict(base.provenance)) == before


@given(layers, st.integers(0, 6), st.integers(0, 6))
def test_stacking_in_several_steps_equals_merging_everything_at_once(
    stack_of_layers: list[LayerValues], first: int, second: int
) -> None:
    first, second = sorted((first, second))
    base = stack(stack_of_layers[first:second], stack(stack_of_layers[:first]))
    in_steps = merge(stack_of_layers[second:], base)
    at_once = merge(stack_of_layers)
    assert dict(in_steps) == dict(at_once)
    assert {key: in_steps.source(key) for key in SCHEMA} == {
        key: at_once.source(key) for key in SCHEMA
    }


def test_a_merge_leaves_its_layers_and_base_as_they_were() -> None:
    base = stack([LayerValues(Layer.CLUSTER, {"transport": "udp", "registrar.port": 5060}, "c")])
    device = {"transport": "dns-naptr"}
    effective = merge([LayerValues(Layer.DEVICE, device, "0015")], base)
    assert effective["registrar.port"] == 0
    assert device == {"transport": "dns-naptr"}
    assert base.values["registrar.port"] == 5060
    assert merge([], base)["registrar.port"] == 5060
    assert merge([], base).source("registrar.port") == Provenance(Layer.CLUSTER, "c")


def test_provenance_keeps_the_layer_and_owner_it_was_given() -> None:
    for layer in SETTABLE_LAYERS:
        source = merge([LayerValues(layer, {"language": "fr"}, "x")]).source("language")
        assert source == Provenance(layer, "x")
        assert source.layer is layer
    unowned = merge([LayerValues(Layer.GLOBAL, {"language": "fr"})]).source("language")
    assert unowned == Provenance(Layer.GLOBAL) and str(unowned) == "global"


def test_the_transport_property_is_the_enum_member() -> None:
    for transport in Transport:
        effective = merge([LayerValues(Layer.DEVICE, {"transport": transport.value}, "x")])
        assert effective.transport is transport


def test_layer_values_is_the_frozen_dataclass_it_declares() -> None:
    layer = LayerValues(Layer.ACCOUNT, {"language": "fr"}, "dental")
    assert LayerValues(Layer.ACCOUNT, {"language": "fr"}) == dataclasses.replace(layer, owner=None)
    assert [f.name for f in dataclasses.fields(LayerValues)] == list(vars(layer))
    assert LayerValues(Layer.GLOBAL, {}).owner is None
    assert (
        repr(layer)
        == "LayerValues(layer=<Layer.ACCOUNT: 5>, values={'language': 'fr'}, owner='dental')"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.owner = "other"  # type: ignore[misc]
