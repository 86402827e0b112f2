"""Every vendor's every file kind, byte for byte: the rendered output must not change.

The golden files under ``tests/vendors/golden/`` (one per case) were written by the code as
it was before rendering was made faster; any change to the bytes a phone gets fails here.
A deliberate change to a file's content regenerates them::

    PROVISIONER_WRITE_GOLDEN=1 .venv/bin/pytest tests/vendors/test_render_stability.py

(and the diff of ``tests/vendors/golden/`` is then reviewed like any other change).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from markupsafe import Markup, escape

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Layer, LayerValues, Transport, merge
from provisioner.vendors import RenderContext, profile, rendering
from tests.vendors.helpers import BASE_URL, LINES, PLAIN_TRANSPORTS, config

GOLDEN = Path(__file__).parent / "golden"
WRITE = bool(os.environ.get("PROVISIONER_WRITE_GOLDEN"))
MAC = "00aabbccddee"

# vendor → (model, kinds rendered with a device config, kinds rendered from the context)
MODELS: Mapping[str, tuple[str, ...]] = {
    "yealink": ("T46U",),
    "poly": ("VVX450",),
    "cisco": ("CP-8841-3PCC", "SPA504G"),
    "grandstream": ("GRP2614",),
    "snom": ("D785",),
    "fanvil": ("X4U",),
}
KINDS: Mapping[str, tuple[str, ...]] = {
    "yealink": ("device", "boot", "common-boot", "model"),
    "poly": ("device", "master", "default-master"),
    "cisco": ("device", "spa-bootstrap", "mpp-bootstrap"),
    "grandstream": ("device", "model", "common"),
    "snom": ("device", "device-index", "model-index"),
    "fanvil": ("device",),
}

CONTROL = "".join(chr(c) for c in range(32)) + "\x7f"
HOSTILE_LINES = (
    LineConfig(1, "1001", "a&b<c>", "p<w>\"&'x", 'Ann & "Bob" <x/>]]>', "L\r\n<evil/>"),
    LineConfig(2, "10\t02", "auth\x00", "pa ss\nword = 1", f"ctl{CONTROL}end", "tab\there"),
    LineConfig(
        3, "1003", "auth-1003", "s\u2028e\x85c", "Zoë «Ünïcödé» 📞 \u00a0nbsp", "{{ x }} {% y %}"
    ),
)
THREE_LINES = (
    *LINES,
    LineConfig(3, "1003", "auth-1003", "secret-1003", "Dr Kim", "Kim"),
    LineConfig(4, "1004", "auth-1004", "secret-1004", "Store", "Store"),
)
UNSORTED_LINES = (LINES[1], LINES[0])
EMPTY_NAMES = (LineConfig(1, "1001", "auth-1001", "secret-1001", "", ""),)
NONE_NAMES = (LineConfig(1, "1001", "auth-1001", "secret-1001", None, None),)  # type: ignore[arg-type]

# name → (device settings, lines); settings are validated as an estate file's would be.
VARIANTS: Mapping[str, tuple[Mapping[str, Any], tuple[LineConfig, ...]]] = {
    "naptr": ({}, LINES),
    **{name: (settings, LINES) for name, settings in PLAIN_TRANSPORTS.items()},
    "udp-no-secondary": ({"transport": "udp", "registrar.port": 5070}, LINES),
    "udp-no-ports": ({"transport": "udp"}, LINES),
    "tls-ipv6": (
        {
            "transport": "tls",
            "registrar.host": "2001:db8::1",
            "registrar.port": 5061,
            "outbound_proxy.host": "2001:db8::2",
            "outbound_proxy.port": 5062,
            "secondary_proxy.host": "2001:db8::3",
            "secondary_proxy.port": 5063,
        },
        LINES,
    ),
    "naptr-with-secondary-given": (
        {"secondary_proxy.host": "backup.p.example.net", "secondary_proxy.port": 5070},
        LINES,
    ),
    "voicemail": ({"voicemail.number": "*97"}, LINES),
    "voicemail-tcp": ({"voicemail.number": "+1555#", **PLAIN_TRANSPORTS["tcp"]}, LINES),
    "language-fr": ({"language": "fr"}, LINES),
    "language-de": ({"language": "de"}, LINES),
    "language-unknown": ({"language": "xx"}, LINES),
    "admin-password": ({"admin.password": "s3cr&t<p>\"'w"}, LINES),
    "everything": (
        {
            "voicemail.number": "*98",
            "language": "es",
            "admin.password": "Adm1n-Pa55",
            "provisioning.url": "https://other.example/p/",
            "codecs": ["opus", "g729", "pcmu"],
            "dtmf": "info",
            "srtp": "required",
            "registration.expiry": 61,
            "resync.interval": 300,
            "ntp.server": "time.example.net",
            "time_zone": "Europe/Paris",
        },
        LINES,
    ),
    "resync-never": ({"resync.interval": 0}, LINES),
    "resync-odd": ({"resync.interval": 301, "registration.expiry": 86400}, LINES),
    "codecs-one": ({"codecs": "pcma", "dtmf": "inband", "srtp": "optional"}, LINES),
    "codecs-none-known-to-cisco": ({"codecs": ["opus"]}, LINES),
    "no-lines": ({}, ()),
    "one-line": ({}, LINES[:1]),
    "four-lines": ({"voicemail.number": "100"}, THREE_LINES),
    "four-lines-udp": (PLAIN_TRANSPORTS["udp"], THREE_LINES),
    "unsorted-lines": ({}, UNSORTED_LINES),
    "hostile-lines": ({"voicemail.number": "*97"}, HOSTILE_LINES),
    "hostile-lines-tls": ({**PLAIN_TRANSPORTS["tls"], "admin.password": 'x<&>y"z'}, HOSTILE_LINES),
    "empty-names": ({}, EMPTY_NAMES),
    "none-names": ({}, NONE_NAMES),
}

# Values no validator would let through, merged as they are: the templates alone keep the
# file intact (escaped, one line per value).
RAW_SETTINGS: Mapping[str, Any] = {
    "transport": "udp",
    "registrar.host": "reg<&>\"'.example\nnext = 1",
    "registrar.port": 5060,
    "outbound_proxy.host": "proxy\r\n.example&",
    "outbound_proxy.port": 0,
    "secondary_proxy.host": "sec\x00ond<ary>",
    "secondary_proxy.port": 5070,
    "ntp.server": 'ntp<&>"\x7f\x1b[0m',
    "voicemail.number": "*97\n<vm/>",
    "admin.password": "pa\nss<&>",
    "provisioning.url": "https://p.example/x?a=1&b=<2>\n",
    "language": "ru",
    "resync.interval": 86400,
}


def _raw_config(vendor: str, model: str) -> DeviceConfig:
    effective = merge([LayerValues(Layer.DEVICE, dict(RAW_SETTINGS), MAC)])
    return DeviceConfig(
        mac=MAC,
        vendor=vendor,
        model=model,
        account="example",
        cluster="hosted",
        partner=None,
        zone="us-east",
        settings=effective,
        lines=HOSTILE_LINES,
    )


CONTEXTS: Mapping[str, RenderContext] = {
    "ctx": RenderContext(BASE_URL, mac=MAC),
    "ctx-nomac": RenderContext(BASE_URL + "/"),
    "ctx-odd": RenderContext("http://[2001:db8::9]:8080/base/", mac="0004f2abcdef", model="x"),
}


def _cases() -> Iterator[tuple[str, str, str, DeviceConfig | None, RenderContext]]:
    """(case name, vendor, kind, config or None, context)."""
    for vendor, models in MODELS.items():
        for model in models:
            stem = f"{vendor}-{model}"
            for variant, (settings, lines) in VARIANTS.items():
                device = config(vendor, model, MAC, settings, lines)
                context = RenderContext(BASE_URL, mac=MAC, model=model)
                yield f"{stem}-device-{variant}", vendor, "device", device, context
            raw = _raw_config(vendor, model)
            yield f"{stem}-device-raw", vendor, "device", raw, RenderContext(BASE_URL, mac=MAC)
            for kind in KINDS[vendor][1:]:
                for name, context in CONTEXTS.items():
                    context = RenderContext(context.base_url, context.mac, context.model or model)
                    yield f"{stem}-{kind}-{name}", vendor, kind, None, context
                with_url = config(vendor, model, MAC, VARIANTS["everything"][0])
                yield f"{stem}-{kind}-url", vendor, kind, with_url, CONTEXTS["ctx"]
                yield f"{stem}-{kind}-raw", vendor, kind, raw, CONTEXTS["ctx"]


CASES = {name: rest for name, *rest in _cases()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rendering_is_byte_for_byte_what_it_was(case: str) -> None:
    vendor, kind, device, context = CASES[case]
    body = profile(vendor).render(kind, device, context)
    golden = GOLDEN / f"{case}.txt"
    if WRITE:
        GOLDEN.mkdir(exist_ok=True)
        golden.write_bytes(body)
    assert body == golden.read_bytes()


def test_every_golden_file_is_a_case() -> None:
    stale = sorted(p.stem for p in GOLDEN.glob("*.txt") if p.stem not in CASES)
    assert not stale


class _Text(str):
    pass


VALUES = (
    "plain",
    "",
    "a&b<c>\"d'e",
    f"ctl{CONTROL}end",
    "s\u2028e\x85c\u00a0",
    "Zoë 📞",
    0,
    -5,
    12345678901234567890,
    True,
    False,
    1.5,
    None,
    _Text("sub\nclass <x>"),
    Markup("<b>\n</b>"),
    Transport.TLS,
    ("a", "<b>"),
)


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_one_call_per_value_prints_what_jinja_would(value: object) -> None:
    assert rendering.text_output(value) == str(rendering.one_line(value))
    assert rendering.xml_output(value) == str(escape(rendering.one_line(value)))
