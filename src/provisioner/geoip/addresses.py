"""IP addresses as the GeoIP chain sees them: parsed leniently (ports, brackets, IPv4
mapped into IPv6), and sorted into those worth looking up and those that never are
(loopback, private, CGNAT, link-local, ...: their location says nothing about the phone).
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv6Address
from socket import AF_INET, AF_INET6, inet_pton

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Networks whose addresses never reach the city database or the country lookup, with the
# word an explanation uses for them.
_NOT_LOOKED_UP: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "a 'this network' address"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "CGNAT (shared address space)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved for protocol assignments"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved for benchmarking"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("fc00::/7", "unique local (ULA)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)


def _table(version: int) -> tuple[tuple[int, int, str], ...]:
    """(network as an integer, netmask as an integer, explanation) for one IP version."""
    networks = (ipaddress.ip_network(net) for net, _why in _NOT_LOOKED_UP)
    whys = (f"{why} ({net})" for net, why in _NOT_LOOKED_UP)
    return tuple(
        (int(network.network_address), int(network.netmask), why)
        for network, why in zip(networks, whys, strict=True)
        if network.version == version
    )


_V4 = _table(4)
_V6 = _table(6)
LOCAL_NETWORKS = tuple(ipaddress.ip_network(net) for net, _why in _NOT_LOOKED_UP)
# The first octets an IPv4 address that is not looked up can start with: the rest are
# public, and most phones' addresses skip the table.
_V4_FIRST_OCTETS = frozenset(
    octet
    for octet in range(256)
    for net, mask, _ in _V4
    if (octet << 24) & mask == net & mask & 0xFF000000
)


def normalise(address: IPAddress) -> IPAddress:
    """An IPv4 address mapped into IPv6 (``::ffff:192.0.2.1``, as a dual-stack socket
    reports it) becomes the IPv4 address; the scope of a scoped IPv6 address is dropped."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id is not None:
            return ipaddress.IPv6Address(int(address))
    return address


def plain_address(text: str) -> IPAddress | None:
    """`text` as an address when it is exactly a plain IPv4 or IPv6 address that needs no
    normalising (no port, brackets, scope or IPv4 mapping), else None. The fast path:
    ``inet_pton`` parses in C several times faster than `ipaddress` does."""
    try:
        return IPv4Address(inet_pton(AF_INET, text))
    except OSError:
        pass
    try:
        address = IPv6Address(inet_pton(AF_INET6, text))
    except OSError:
        return None
    return address if address.ipv4_mapped is None else None


def parse_address(text: str) -> IPAddress | None:
    """An address from a peer or a forwarding header: ``192.0.2.1``, ``192.0.2.1:5060``,
    ``2001:db8::1``, ``[2001:db8::1]:5060``, optionally quoted; None when it is not one
    (``unknown``, an obfuscated ``_hidden`` identifier, garbage)."""
    address = plain_address(text)
    if address is not None:
        return address
    text = text.strip().strip('"').strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        return normalise(ipaddress.ip_address(text))
    except ValueError:
        return None


def not_looked_up(address: IPAddress) -> str | None:
    """Why `address` is never looked up ("private (10.0.0.0/8)"), or None for an address
    worth looking up."""
    return not_looked_up_value(int(address), address.version)


def not_looked_up_value(value: int, version: int) -> str | None:
    """`not_looked_up` for an address given as its integer value and IP version."""
    if version == 4:
        if value >> 24 not in _V4_FIRST_OCTETS:
            return None
        table = _V4
    else:
        table = _V6
    for network, mask, why in table:
        if value & mask == network:
            return why
    return None


def plain_value(text: str) -> tuple[int, int] | None:
    """(integer value, IP version) of `text` when `plain_address` would take it, without
    building an address object: the cheapest parse, for the hot path."""
    try:
        return int.from_bytes(inet_pton(AF_INET, text)), 4
    except OSError:
        pass
    try:
        value = int.from_bytes(inet_pton(AF_INET6, text))
    except OSError:
        return None
    return None if value >> 32 == 0xFFFF else (value, 6)  # not IPv4-mapped
