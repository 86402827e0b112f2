"""What every vendor derives the same way (servers, lines), and what vendors work out once
per distinct setting: the same values as computing them afresh, never shared between
devices' variables."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Layer, LayerValues, Transport, merge
from provisioner.vendors import RenderContext, common, profile
from tests.vendors.helpers import BASE_URL, config

SETTINGS = st.fixed_dictionaries(
    {},
    optional={
        "transport": st.sampled_from([t.value for t in Transport]),
        "registrar.port": st.integers(0, 65535),
        "outbound_proxy.port": st.integers(0, 65535),
        "secondary_proxy.host": st.sampled_from(["backup.example.net", "2001:db8::7"]),
        "secondary_proxy.port": st.integers(0, 65535),
        "registration.expiry": st.integers(60, 86400),
    },
)


def reference_servers(device: DeviceConfig) -> dict[str, Any]:
    """What `servers` gave before it was made cheaper, field by field."""
    settings = device.settings
    transport = Transport(settings["transport"])
    naptr = transport is Transport.DNS_NAPTR
    secondary = None if naptr else settings["secondary_proxy.host"]
    return {
        "transport": transport,
        "registrar_host": settings["registrar.host"],
        "registrar_port": 0 if naptr else settings["registrar.port"] or 0,
        "proxy_host": settings["outbound_proxy.host"],
        "proxy_port": 0 if naptr else settings["outbound_proxy.port"] or 0,
        "secondary_host": secondary,
        "secondary_port": (settings["secondary_proxy.port"] or 0) if secondary else 0,
        "expiry": settings["registration.expiry"],
        "naptr": naptr,
        # no port on the name requests go to (the proxy when there is one): SRV or NAPTR
        "srv": naptr
        or not (
            settings["outbound_proxy.port"]
            if settings["outbound_proxy.host"]
            else settings["registrar.port"]
        ),
    }


@given(SETTINGS)
def test_servers_are_what_the_settings_say(settings: dict[str, Any]) -> None:
    device = config("yealink", "T46U", "001565a00001", settings)
    found = common.servers(device)
    assert found._asdict() == reference_servers(device)
    assert found.transport is device.settings.transport


@given(st.lists(st.integers(1, 6), max_size=5))
def test_lines_come_in_index_order(indexes: list[int]) -> None:
    lines = tuple(
        LineConfig(i, f"u{n}", f"a{n}", "secret", f"n{n}", "") for n, i in enumerate(indexes)
    )
    device = config("yealink", "T46U", "001565a00001", lines=lines)
    found = common.lines(device)
    assert type(found) is tuple
    assert found == tuple(sorted(lines, key=lambda line: line.index))
    # not a tuple (a caller's list): sorted all the same
    as_list = dataclasses.replace(device, lines=list(lines))  # type: ignore[arg-type]
    assert common.lines(as_list) == found


CODECS = st.lists(
    st.sampled_from(["opus", "g722", "pcmu", "pcma", "g729"]), min_size=1, max_size=5, unique=True
)


@pytest.mark.parametrize(
    ("vendor", "model"), [("yealink", "T46U"), ("poly", "VVX450"), ("cisco", "CP-8841-3PCC")]
)
@given(codecs=CODECS)
def test_codec_settings_give_the_same_variables_as_a_list_or_a_tuple(
    vendor: str, model: str, codecs: list[str]
) -> None:
    context = RenderContext(BASE_URL, "001565a00001", model)
    variables = profile(vendor).variables
    device = config(vendor, model, "001565a00001")
    found = []
    # validated values hold a tuple; a layer read back from the database a list
    for value in (tuple(codecs), list(codecs)):
        settings = merge([LayerValues(Layer.DEVICE, {"codecs": value}, device.mac)])
        found.append(variables("device", dataclasses.replace(device, settings=settings), context))
    assert found[0] == found[1]


def test_yealink_codecs_follow_the_setting() -> None:
    context = RenderContext(BASE_URL, "001565a00001", "T46U")
    device = config("yealink", "T46U", "001565a00001", {"codecs": "pcma,opus"})
    codecs = profile("yealink").variables("device", device, context)["lines"][0]["codecs"]
    assert codecs == [
        {"name": "opus", "enable": 1, "priority": 2},
        {"name": "g722", "enable": 0, "priority": 0},
        {"name": "pcmu", "enable": 0, "priority": 0},
        {"name": "pcma", "enable": 1, "priority": 1},
        {"name": "g729", "enable": 0, "priority": 0},
    ]


@pytest.mark.parametrize(
    ("vendor", "model", "path"),
    [
        ("yealink", "T46U", ("lines", 0, "codecs", 1)),
        ("poly", "VVX450", ("codecs",)),
    ],
)
def test_devices_with_the_same_codecs_share_no_variables(
    vendor: str, model: str, path: tuple[Any, ...]
) -> None:
    """What is worked out once per codecs setting is copied into each device's variables:
    changing one device's variables changes no other's."""
    variables = profile(vendor).variables
    first, second = (
        variables(
            "device",
            config(vendor, model, mac, {"codecs": "g722,pcmu"}),
            RenderContext(BASE_URL, mac, model),
        )
        for mac in ("001565a00001", "001565a00002")
    )
    expected = variables(
        "device",
        config(vendor, model, "001565a00003", {"codecs": "g722,pcmu"}),
        RenderContext(BASE_URL, "001565a00003", model),
    )
    found: Any = first
    for step in path:
        found = found[step]
    if isinstance(found, dict):
        found["enable"] = "changed"
    else:
        found.clear()
    again = variables(
        "device",
        config(vendor, model, "001565a00003", {"codecs": "g722,pcmu"}),
        RenderContext(BASE_URL, "001565a00003", model),
    )
    assert again == expected
    assert second != first
