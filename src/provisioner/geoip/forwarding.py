"""Which address a request came from: the TCP peer, unless that peer is a trusted proxy.

Only a configured proxy may tell us the client's address. From a trusted peer, the
forwarding header is read right to left (the rightmost entry was appended by the proxy
nearest to us), skipping entries that are themselves trusted proxies; the first other
address is the client. From anyone else the headers are ignored: otherwise anyone could
choose their own zone.

Which header a proxy appends is the operator's choice (`X-Forwarded-For` by default, as
nginx, HAProxy, Envoy and most load balancers do; or `Forwarded`, RFC 7239). Reading the
header the proxy does not write would take a client's forgery for the truth, so only the
configured one is read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from provisioner.domain.errors import InvalidValue
from provisioner.geoip.addresses import IPAddress, normalise, parse_address

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDING_HEADERS = ("x-forwarded-for", "forwarded")
DEFAULT_FORWARDING_HEADER = "x-forwarded-for"

# A mapping or (name, value) pairs such as ASGI's ``scope["headers"]``; str or bytes.
Headers = Mapping[str, str] | Mapping[bytes, str] | Iterable[tuple[str | bytes, str | bytes]]


@dataclass(frozen=True)
class TrustedProxies:
    """The networks of the proxies allowed to tell us a client's address, and the header
    they append it to."""

    networks: tuple[IPNetwork, ...] = ()
    header: str = DEFAULT_FORWARDING_HEADER

    @classmethod
    def parse(
        cls,
        entries: Iterable[str],
        option: str = "--trusted-proxy",
        header: str = DEFAULT_FORWARDING_HEADER,
    ) -> TrustedProxies:
        """CIDRs (or single addresses), also several in one entry separated by commas or
        spaces as in ``PROVISIONER_TRUSTED_PROXIES="10.0.0.0/8, 2001:db8::/32"``."""
        networks: list[IPNetwork] = []
        for entry in entries:
            for text in entry.replace(",", " ").split():
                try:
                    networks.append(ipaddress.ip_network(text, strict=False))
                except ValueError:
                    raise InvalidValue(
                        option, f"{text!r} is not a CIDR network such as 10.0.0.0/8"
                    ) from None
        header = header.lower()
        if header not in FORWARDING_HEADERS:
            raise InvalidValue(
                "--forwarded-header", f"{header!r} is not one of {', '.join(FORWARDING_HEADERS)}"
            )
        return cls(tuple(networks), header)

    def __contains__(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)

    def __str__(self) -> str:
        return ", ".join(str(network) for network in self.networks) or "none"


def client_address(peer: str | None, headers: Headers, trusted: TrustedProxies) -> IPAddress | None:
    """The client's address: the TCP `peer`, or, when the peer is a trusted proxy, the
    rightmost untrusted address of the forwarding header. None when the peer is not an IP
    address (a Unix socket, a test client). An entry that is not an address (``unknown``,
    an obfuscated identifier) ends the walk at the last trusted proxy: nothing to its left
    can be believed."""
    address = parse_address(peer) if peer else None
    if address is None or not trusted.networks or address not in trusted:
        return address
    for hop in reversed(_hops(headers, trusted.header)):
        forwarded = parse_address(hop)
        if forwarded is None:
            return address
        address = normalise(forwarded)
        if address not in trusted:
            return address
    return address


def _hops(headers: Headers, name: str) -> list[str]:
    """Every entry of every `name` header line, in order."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    hops: list[str] = []
    for raw_key, raw_value in pairs:
        key = raw_key.decode("latin-1") if isinstance(raw_key, bytes) else raw_key
        if key.lower() != name:
            continue
        value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
        if name == "forwarded":
            hops += [_forwarded_for(element) for element in _split(value, ",")]
        else:
            hops += [entry for entry in (part.strip() for part in value.split(",")) if entry]
    return hops


def _forwarded_for(element: str) -> str:
    """The ``for=`` parameter of one RFC 7239 element (empty when it has none)."""
    for pair in _split(element, ";"):
        key, _, value = pair.partition("=")
        if key.strip().lower() == "for":
            return value.strip()
    return ""


def _split(text: str, separator: str) -> list[str]:
    """`text` split on `separator` outside double-quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]
