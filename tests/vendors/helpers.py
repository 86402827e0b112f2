"""Building device configs for the vendor tests and reading rendered files back."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Layer, LayerValues, merge, validate_layer
from provisioner.vendors import RenderContext, profile

BASE_URL = "https://prov.example.net:8443"
PROXY = "us-east.p.example.net"
MODELS = {  # a model of each vendor, for the tests that render every vendor
    "yealink": "T46U",
    "poly": "VVX450",
    "cisco": "CP-8841-3PCC",
    "grandstream": "GRP2614",
    "snom": "D785",
    "fanvil": "X4U",
}
REGISTRAR = "dental.sip.example.net"

LINES = (
    LineConfig(1, "1001", "auth-1001", "secret-1001", "Reception", "Front"),
    LineConfig(2, "1002", "auth-1002", "secret-1002", "Dr Lee", "Lee"),
)

# The variants every vendor is rendered with besides its demo device.
PLAIN_TRANSPORTS: Mapping[str, Mapping[str, Any]] = {
    "udp": {
        "transport": "udp",
        "registrar.port": 5060,
        "outbound_proxy.port": 5060,
        "secondary_proxy.host": "backup.p.example.net",
        "secondary_proxy.port": 5070,
    },
    "tcp": {
        "transport": "tcp",
        "registrar.port": 5060,
        "outbound_proxy.port": 5080,
        "secondary_proxy.host": "backup.p.example.net",
        "secondary_proxy.port": 5070,
    },
    "tls": {
        "transport": "tls",
        "registrar.port": 5061,
        "outbound_proxy.port": 5061,
        "secondary_proxy.host": "backup.p.example.net",
        "secondary_proxy.port": 5071,
    },
}


def config(
    vendor: str,
    model: str,
    mac: str,
    settings: Mapping[str, Any] | None = None,
    lines: tuple[LineConfig, ...] = LINES,
) -> DeviceConfig:
    """A device config as `device_config` would build it, with `settings` on the device."""
    effective = merge(
        [
            LayerValues(Layer.ESTATE, {"outbound_proxy.host": PROXY}, "zone us-east"),
            LayerValues(Layer.ESTATE, {"registrar.host": REGISTRAR}, "account example"),
            LayerValues(Layer.DEVICE, validate_layer(settings or {}, "test"), mac),
        ]
    )
    return DeviceConfig(
        mac=mac,
        vendor=vendor,
        model=model,
        account="example",
        cluster="hosted",
        partner=None,
        zone="us-east",
        settings=effective,
        lines=lines,
    )


def render(config: DeviceConfig, file_name: str, context_mac: str | None = None) -> str:
    """The text of `file_name` as the device's vendor renders it (through `match`)."""
    vendor = profile(config.vendor)
    request = vendor.match(f"/{file_name}")
    assert request is not None, f"{config.vendor} does not serve {file_name}"
    context = RenderContext(BASE_URL, mac=request.mac or context_mac, model=config.model)
    body = vendor.render(request.kind, config if request.secret else None, context)
    return body.decode("utf-8")


def parse_key_values(text: str) -> dict[str, str]:
    """A Yealink file: ``key = value`` lines after the mandatory version line."""
    lines = text.splitlines()
    assert lines[0] == "#!version:1.0.0.1"
    values: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip() or line.startswith("#") or line.startswith("include:"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not key = value: {line!r}"
        key = key.strip()
        assert key not in values, f"{key} twice"
        values[key] = value.strip()
    return values


def parse_xml(text: str) -> ElementTree.Element:
    """The root element; fails the test when the file is not well-formed."""
    return ElementTree.fromstring(text.encode("utf-8"))
