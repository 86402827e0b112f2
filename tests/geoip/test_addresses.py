from __future__ import annotations

import ipaddress

import pytest

from provisioner.geoip.addresses import not_looked_up, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1:5060 ", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("[2001:db8::1]:4711", "2001:db8::1"),
        ('"[2001:db8::1]"', "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_parses_addresses_as_peers_and_headers_write_them(text: str, expected: str) -> None:
    assert parse_address(text) == ipaddress.ip_address(expected)


@pytest.mark.parametrize("text", ["", "unknown", "_hidden", "[2001:db8::1", "1.2.3", "a.b.c.d"])
def test_what_is_not_an_address_is_none(text: str) -> None:
    assert parse_address(text) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.255", "CGNAT"),
        ("169.254.1.1", "link-local"),
        ("0.0.0.0", "this network"),
        ("224.0.0.1", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "unique local"),
        ("fc00::1", "unique local"),
        ("::ffff:10.0.0.1", "private"),
    ],
)
def test_local_addresses_are_never_looked_up(text: str, why: str) -> None:
    address = parse_address(text)
    assert address is not None
    reason = not_looked_up(address)
    assert reason is not None and why in reason


@pytest.mark.parametrize(
    "text", ["8.8.8.8", "100.128.0.1", "100.63.255.255", "172.32.0.1", "11.0.0.1", "2600::1"]
)
def test_public_addresses_are_looked_up(text: str) -> None:
    address = parse_address(text)
    assert address is not None and not_looked_up(address) is None
