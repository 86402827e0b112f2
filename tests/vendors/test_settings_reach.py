"""Every schema key reaches every vendor that has it, and each vendor module's map says so.

For each vendor and each schema key, the vendor module's `SETTINGS` map must say either
which vendor keys the setting is written to (`Writes`) or why the vendor cannot take it
(`Unavailable`). The map is then held to what the files do: the device's files rendered
with the key changed must differ from those without, and carry each vendor key the map
names; for a key declared unavailable they must be the same, comments aside.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import dns.rrset
import pytest

from provisioner.dns.records import ProxyRecords
from provisioner.domain.settings import SCHEMA
from provisioner.vendors import PROFILES, RenderContext, profile
from provisioner.vendors.base import Unavailable, Writes
from provisioner.vendors.coverage import markdown_table, undeclared
from tests.vendors.helpers import BASE_URL, MODELS, PROXY, config

MAC = "0c383e07e16c"
UDP = {"transport": "udp", "registrar.port": 5060, "outbound_proxy.port": 5060}
SECONDARY = {**UDP, "secondary_proxy.host": "backup.p.example.net"}

# Per schema key: (the settings before, the settings after the key changed).
SCENARIOS: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = {
    "transport": ({}, {"transport": "tcp"}),
    "outbound_proxy.host": ({}, {"outbound_proxy.host": "other.p.example.net"}),
    "outbound_proxy.port": (UDP, {**UDP, "outbound_proxy.port": 5070}),
    "secondary_proxy.host": (UDP, SECONDARY),
    "secondary_proxy.port": (SECONDARY, {**SECONDARY, "secondary_proxy.port": 5071}),
    "registrar.host": ({}, {"registrar.host": "other.sip.example.net"}),
    "registrar.port": (UDP, {**UDP, "registrar.port": 5070}),
    "registration.expiry": ({}, {"registration.expiry": 900}),
    "failover.tries_per_server": ({}, {"failover.tries_per_server": 3}),
    "failover.try_timeout": ({}, {"failover.try_timeout": 4}),
    "failover.register_on_failover": (
        {"failover.signal_only_registered": False},
        {"failover.signal_only_registered": False, "failover.register_on_failover": False},
    ),
    "failover.signal_only_registered": ({}, {"failover.signal_only_registered": False}),
    "failover.failback": ({}, {"failover.failback": "registration"}),
    "failover.failback_interval": ({}, {"failover.failback_interval": 1200}),
    "failover.subscriptions_follow": ({}, {"failover.subscriptions_follow": False}),
    "failover.static_dns_cache": ({}, {"failover.static_dns_cache": True}),
    "ntp.server": ({}, {"ntp.server": "ntp.example.net"}),
    "time_zone": ({}, {"time_zone": "America/New_York"}),
    "resync.interval": ({}, {"resync.interval": 7200}),
    "provisioning.url": ({}, {"provisioning.url": "https://other.example.net:8443"}),
    "provisioning.auth": ({}, {"provisioning.auth": "certificate"}),
    "provisioning.https_only": ({}, {"provisioning.https_only": True}),
    "language": ({}, {"language": "de"}),
    "codecs": ({}, {"codecs": ["pcma", "g729"]}),
    "dtmf": ({}, {"dtmf": "info"}),
    "srtp": ({}, {"srtp": "optional"}),
    "voicemail.number": ({}, {"voicemail.number": "*97"}),
    "admin.password": ({}, {"admin.password": "Adm1n-secret"}),
}


def _records() -> ProxyRecords:
    """What the zone's proxy name resolves to: one transport, two media servers."""
    proxy = f"{PROXY}."
    srv_name = f"_sip._udp.{PROXY}."

    def rrset(name: str, rdtype: str, *texts: str) -> dns.rrset.RRset:
        return dns.rrset.from_text(name, 60, "IN", rdtype, *texts)

    return ProxyRecords(
        PROXY,
        60,
        (
            rrset(proxy, "NAPTR", f'10 50 "s" "SIP+D2U" "" {srv_name}'),
            rrset(
                srv_name, "SRV", "10 100 5060 ms1.p.example.net.", "20 100 5060 ms2.p.example.net."
            ),
            rrset("ms1.p.example.net.", "A", "192.0.2.11"),
            rrset("ms2.p.example.net.", "A", "192.0.2.12"),
        ),
    )


def _render(vendor: str, settings: Mapping[str, Any]) -> str:
    """Every file the device fetches (its own file first), one after the other."""
    device = config(vendor, MODELS[vendor], MAC, settings)
    device.__dict__["proxy_records"] = _records()
    chosen = profile(vendor)
    context = RenderContext(BASE_URL, mac=MAC, model=MODELS[vendor])
    texts = []
    for name in chosen.device_files(MAC, MODELS[vendor]):
        request = chosen.match(f"/{name}")
        assert request is not None
        body = chosen.render(request.kind, device if request.secret else None, context)
        texts.append(body.decode("utf-8"))
    return "\n".join(texts)


_XML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def without_comments(text: str) -> str:
    text = _XML_COMMENT.sub("", text)
    return "\n".join(
        line for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def test_every_scenario_is_a_schema_key() -> None:
    assert set(SCENARIOS) == set(SCHEMA)


@pytest.mark.parametrize("vendor", [p.name for p in PROFILES])
def test_the_map_names_every_schema_key(vendor: str) -> None:
    assert undeclared(profile(vendor)) == []


CASES = [(p.name, key) for p in PROFILES for key in SCHEMA]


@pytest.mark.parametrize(("vendor", "key"), CASES, ids=[f"{v}-{k}" for v, k in CASES])
def test_the_map_says_what_the_file_does(vendor: str, key: str) -> None:
    reach = profile(vendor).settings_map.get(key)
    assert reach is not None, f"{vendor} does not say whether it takes {key}"
    before, after = SCENARIOS[key]
    old, new = _render(vendor, before), _render(vendor, after)
    if isinstance(reach, Unavailable):
        assert reach.why
        assert without_comments(old) == without_comments(new), (
            f"{vendor} declares {key} unavailable, but the file changes with it"
        )
        return
    assert isinstance(reach, Writes) and reach.keys
    assert without_comments(old) != without_comments(new), (
        f"{vendor} declares {key} written to {reach.keys}, but the file does not change"
    )
    for vendor_key in reach.keys:
        literal = vendor_key.replace("{n}", "1")
        assert literal in new, f"{vendor}: {key} names {vendor_key}, not in the file"


def test_the_readme_table_is_the_maps() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- settings-reach -->\n") + len("<!-- settings-reach -->\n")
    end = readme.index("<!-- /settings-reach -->")
    assert readme[start:end] == markdown_table(), (
        "README's settings-by-vendor table is stale: paste `provisioner vendors table`"
    )
