"""Finding the profile for a request: shared file names, User-Agents, the device's vendor."""

from __future__ import annotations

import pytest

from provisioner.domain.estate import VENDORS
from provisioner.vendors import PROFILES, identify, match_path, match_request, profile

USER_AGENTS = {
    "yealink": "Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37",
    "poly": "FileTransport PolycomVVX-VVX_400-UA/4.1.4.7430 Type/Application",
    "cisco": "Cisco-CP-7832-3PCC/11.0.1 (00562b043615)",
    "grandstream": "Grandstream Model HW GXP2140 V2.3A SW 1.0.9.69 DevId 000b82a00004",
    "snom": "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004 000413922D24 SXM:0 UXM:0)",
    "fanvil": "Fanvil X4 2.10.2.6887 0c383e07e16c",
}


def test_every_vendor_of_the_estate_has_a_profile() -> None:
    assert sorted(p.name for p in PROFILES) == sorted(VENDORS)
    assert profile("snom").name == "snom"
    with pytest.raises(KeyError, match="known"):
        profile("acme")


@pytest.mark.parametrize("vendor", sorted(USER_AGENTS))
def test_each_user_agent_is_identified_by_exactly_its_vendor(vendor: str) -> None:
    user_agent = USER_AGENTS[vendor]
    assert [p.name for p in PROFILES if p.identify(user_agent)] == [vendor]
    identity = identify(user_agent)
    assert identity is not None and identity.vendor == vendor


@pytest.mark.parametrize(
    ("path", "user_agent", "vendor", "kind"),
    [
        ("/001565a00001.cfg", "yealink", "yealink", "device"),
        ("/001565a00001.cfg", "poly", "poly", "master"),
        ("/001565a00001.cfg", "fanvil", "fanvil", "device"),
        ("/000413a00005.xml", "cisco", "cisco", "device"),
        ("/000413000005.xml", "snom", "snom", "device"),
        ("/000413A00005.xml", None, "snom", "device"),  # only Snom asks in upper case
        ("/y000000000000.boot", None, "yealink", "common-boot"),
        ("/000000000000.cfg", None, "poly", "default-master"),
        ("/spa504G.cfg", None, "cisco", "spa-bootstrap"),
        ("/cfg000b82a00004.xml", None, "grandstream", "device"),
        ("/snomD785-000413A00005.htm", None, "snom", "device-index"),
    ],
)
def test_match_request(path: str, user_agent: str | None, vendor: str, kind: str) -> None:
    found = match_request(path, USER_AGENTS.get(user_agent or ""))
    assert found is not None
    assert (found.profile.name, found.request.kind) == (vendor, kind)
    if user_agent:
        assert found.identity is not None and found.identity.vendor == vendor


def test_a_shared_name_without_a_user_agent_waits_for_the_device_vendor() -> None:
    path = "/001565a00001.cfg"
    assert match_request(path, None) is None
    assert match_request(path, "curl/8.0") is None
    assert {p.name for p, _ in match_path(path)} == {"yealink", "poly", "fanvil"}
    assert {r.mac for _, r in match_path(path)} == {"001565a00001"}
    found = match_request(path, None, vendor="fanvil")
    assert found is not None and found.profile.name == "fanvil" and found.identity is None


def test_a_user_agent_of_another_vendor_does_not_steal_a_path() -> None:
    found = match_request("/cfg000b82a00004.xml", USER_AGENTS["yealink"])
    assert found is not None and found.profile.name == "grandstream" and found.identity is None


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "/etc/passwd",
        "/../../etc/passwd",
        "/001565a00001.cfg/../../etc/passwd",
        "/..%2f001565a00001.cfg",
        "/%2e%2e/001565a00001.cfg",
        "//001565a00001.cfg",
        "/001565a00001.cfg\x00.png",
        "/001565a00001.cfg\n",
        "/001565a00001.cfg;.xml",
        "/001565a00001.cfg?x=1",
        "/api/v1/devices",
        "/\u0660\u0660\u0661565a00001.cfg",  # Arabic-Indic digits
        "/" + "a" * 5000,
    ],
)
def test_nothing_serves_lookalikes(path: str) -> None:
    assert match_path(path) == ()
    assert match_request(path, USER_AGENTS["yealink"]) is None


def test_answers_are_remembered_but_long_input_is_not() -> None:
    yealink = profile("yealink")
    first = yealink.match("/001565a00001.cfg")
    assert first is yealink.match("/001565a00001.cfg")
    assert yealink.match("/" + "0" * 200 + ".cfg") is None
    padded = "x" * 1000 + " " + USER_AGENTS["yealink"]
    identity = yealink.identify(padded)
    assert identity is not None and identity.model == "T46G"
    assert identify(padded) == identity
