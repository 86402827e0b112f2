from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from provisioner.domain.errors import InvalidValue
from provisioner.geoip.forwarding import TrustedProxies, client_address

TRUSTED = TrustedProxies.parse(["10.0.0.0/8", "2001:db8:ffff::/48"])
FORWARDED = TrustedProxies.parse(["10.0.0.0/8"], header="Forwarded")


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


def test_the_peer_when_no_proxy_is_trusted() -> None:
    headers = {"X-Forwarded-For": "24.20.1.2"}
    assert client_address("23.10.1.2", headers, TrustedProxies()) == ip("23.10.1.2")


def test_headers_from_an_untrusted_peer_are_ignored() -> None:
    headers = [("x-forwarded-for", "24.20.1.2"), ("forwarded", "for=24.20.1.2")]
    assert client_address("23.10.1.2", headers, TRUSTED) == ip("23.10.1.2")
    assert client_address("23.10.1.2", headers, FORWARDED) == ip("23.10.1.2")


def test_a_trusted_proxy_is_read_right_to_left_skipping_trusted_proxies() -> None:
    # the client forged 6.6.6.6; our two proxies appended the real client and the first proxy
    headers = {"X-Forwarded-For": "6.6.6.6, 24.20.1.2, 10.0.0.7"}
    assert client_address("10.0.0.8", headers, TRUSTED) == ip("24.20.1.2")


def test_every_header_line_counts_in_order() -> None:
    headers = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "24.20.1.2, 10.0.0.7")]
    assert client_address("10.0.0.8", headers, TRUSTED) == ip("24.20.1.2")


def test_all_trusted_gives_the_leftmost() -> None:
    headers = {"x-forwarded-for": "10.1.1.1, 10.0.0.7"}
    assert client_address("10.0.0.8", headers, TRUSTED) == ip("10.1.1.1")


def test_a_trusted_proxy_with_no_header_is_the_client() -> None:
    assert client_address("10.0.0.8", {}, TRUSTED) == ip("10.0.0.8")


def test_garbage_stops_the_walk_at_the_last_trusted_proxy() -> None:
    headers = {"x-forwarded-for": "24.20.1.2, unknown, 10.0.0.7"}
    assert client_address("10.0.0.8", headers, TRUSTED) == ip("10.0.0.7")


def test_ipv6_peer_and_entries_with_ports() -> None:
    headers = {"x-forwarded-for": "[2600:a000::1]:4711, 2001:db8:ffff::2"}
    assert client_address("2001:db8:ffff::1", headers, TRUSTED) == ip("2600:a000::1")
    # a dual-stack socket reports an IPv4 peer mapped into IPv6
    headers = {"x-forwarded-for": "24.20.1.2:5060"}
    assert client_address("::ffff:10.0.0.8", headers, TRUSTED) == ip("24.20.1.2")


def test_rfc7239_forwarded() -> None:
    headers = {
        "Forwarded": 'for=6.6.6.6, for="[2600:a000::1]:4711";proto=https, for=10.0.0.7;by=10.0.0.8'
    }
    assert client_address("10.0.0.8", headers, FORWARDED) == ip("2600:a000::1")


def test_only_the_configured_header_is_read() -> None:
    # nginx appends X-Forwarded-For and passes a client's forged Forwarded through
    headers = {"Forwarded": "for=6.6.6.6", "X-Forwarded-For": "24.20.1.2"}
    assert client_address("10.0.0.8", headers, TRUSTED) == ip("24.20.1.2")
    assert client_address("10.0.0.8", headers, FORWARDED) == ip("6.6.6.6")


def test_a_peer_that_is_not_an_address() -> None:
    assert client_address("testclient", {"x-forwarded-for": "24.20.1.2"}, TRUSTED) is None
    assert client_address(None, {}, TRUSTED) is None


def test_trusted_proxies_from_an_environment_variable() -> None:
    proxies = TrustedProxies.parse(["10.0.0.0/8, 192.168.1.1 2001:db8::/32"])
    assert [str(n) for n in proxies.networks] == ["10.0.0.0/8", "192.168.1.1/32", "2001:db8::/32"]


def test_a_bad_cidr_names_the_option() -> None:
    with pytest.raises(InvalidValue, match=r"--trusted-proxy: '10\.0\.0\.0/33'"):
        TrustedProxies.parse(["10.0.0.0/33"])
    with pytest.raises(InvalidValue, match="--forwarded-header"):
        TrustedProxies.parse([], header="x-real-ip")


def test_asgi_headers_as_bytes() -> None:
    headers = [(b"x-forwarded-for", b"6.6.6.6, 24.20.1.2"), (b"host", b"p.example.net")]
    assert client_address("10.0.0.8", headers, TRUSTED) == ip("24.20.1.2")
    assert client_address("10.0.0.8", {b"x-forwarded-for": "24.20.1.2"}, TRUSTED) == ip("24.20.1.2")


header_text = st.text(alphabet=st.sampled_from(list('0123456789abcdef.:[]"=;, for_xunknow')))


@given(
    peer=st.ip_addresses(),
    values=st.lists(st.tuples(st.sampled_from(["x-forwarded-for", "forwarded"]), header_text)),
)
def test_an_untrusted_peer_is_always_the_client(
    peer: ipaddress.IPv4Address | ipaddress.IPv6Address, values: list[tuple[str, str]]
) -> None:
    if peer in TRUSTED:
        return
    assert client_address(str(peer), values, TRUSTED) in (peer, peer_mapped(peer))


@given(
    hops=st.lists(st.ip_addresses(), max_size=6),
    junk=header_text,
)
def test_any_header_from_a_trusted_peer_gives_an_address_never_raises(
    hops: list[ipaddress.IPv4Address | ipaddress.IPv6Address], junk: str
) -> None:
    header = ", ".join([junk, *(str(hop) for hop in hops)])
    found = client_address("10.0.0.8", {"x-forwarded-for": header}, TRUSTED)
    assert found is not None
    untrusted = [peer_mapped(hop) for hop in hops if peer_mapped(hop) not in TRUSTED]
    if untrusted:
        assert found == untrusted[-1]  # the rightmost address that is not a trusted proxy


def peer_mapped(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
