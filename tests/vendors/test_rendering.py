"""What every vendor's rendering guarantees: well-formed, escaped, pure, secret files need a
config."""

from __future__ import annotations

import pytest

from provisioner.domain.estate import LineConfig
from provisioner.vendors import PROFILES, RenderContext, RenderError, profile
from tests.vendors.helpers import BASE_URL, MODELS, config, parse_xml

MAC = "00aabbccddee"
HOSTILE = LineConfig(1, "1001", "a&b", "p<w>\"&'x", 'Ann & "Bob" <x/>]]>', "L\r\n<evil/>")


@pytest.mark.parametrize("vendor", sorted(MODELS))
def test_every_file_of_a_device_renders_and_xml_is_well_formed(vendor: str) -> None:
    vendor_profile = profile(vendor)
    device = config(vendor, MODELS[vendor], MAC, lines=(HOSTILE,))
    for name in vendor_profile.device_files(MAC, MODELS[vendor]):
        request = vendor_profile.match(f"/{name}")
        assert request is not None, name
        context = RenderContext(BASE_URL, mac=request.mac, model=MODELS[vendor])
        body = vendor_profile.render(request.kind, device if request.secret else None, context)
        assert body == vendor_profile.render(
            request.kind, device if request.secret else None, context
        )
        if request.media_type == "application/xml":
            root = parse_xml(body.decode())
            texts = [
                *(e.text or "" for e in root.iter()),
                *(v for e in root.iter() for v in e.attrib.values()),
            ]
            if request.secret:
                assert "p<w>\"&'x" in texts  # escaped on the way out, intact on the way in
            assert not root.findall(".//evil")


@pytest.mark.parametrize("vendor", sorted(MODELS))
def test_the_device_file_comes_first_and_needs_a_config(vendor: str) -> None:
    vendor_profile = profile(vendor)
    main = vendor_profile.device_files(MAC, MODELS[vendor])[0]
    request = vendor_profile.match(f"/{main}")
    assert request is not None and request.kind == "device" and request.secret
    with pytest.raises(RenderError, match="needs its config"):
        vendor_profile.render("device", None, RenderContext(BASE_URL, mac=MAC))


def test_an_unknown_kind_is_a_clear_error() -> None:
    for vendor_profile in PROFILES:
        with pytest.raises(RenderError, match="no file kind"):
            vendor_profile.render("nonsense", None, RenderContext(BASE_URL))


def test_the_provisioning_url_setting_wins_over_the_url_the_phone_used() -> None:
    device = config("cisco", "CP-8841-3PCC", MAC, {"provisioning.url": "https://other.example/p/"})
    body = profile("cisco").render("device", device, RenderContext(BASE_URL, mac=MAC)).decode()
    assert "https://other.example/p/$MA.xml" in body


@pytest.mark.parametrize("vendor", sorted(MODELS))
def test_dns_naptr_drops_ports_and_the_secondary_whatever_a_layer_says(vendor: str) -> None:
    settings = {
        "transport": "dns-naptr",
        "registrar.port": 5062,
        "outbound_proxy.port": 5063,
        "secondary_proxy.host": "backup.p.example.net",
        "secondary_proxy.port": 5070,
    }
    device = config(vendor, MODELS[vendor], MAC, settings)
    body = profile(vendor).render("device", device, RenderContext(BASE_URL, mac=MAC)).decode()
    assert "us-east.p.example.net" in body
    for leaked in ("backup.p.example.net", "5062", "5063", "5070"):
        assert leaked not in body, leaked
