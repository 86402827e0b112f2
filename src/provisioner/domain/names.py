"""DNS names and addresses as the estate accepts them (RFC 1035 host names, IP literals)."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


def dns_label(text: str) -> str:
    """A single host-name label (``us-east``, ``ms1``), lower-cased."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a DNS label")
    label = text.strip().lower()
    if not _LABEL.fullmatch(label):
        raise ValueError(
            f"{text!r} is not a DNS label (letters, digits and inner hyphens, at most 63)"
        )
    return label


def host_name(text: str) -> str:
    """A fully qualified host name without the trailing dot (``p.example.net``), lower-cased.

    IP literals are refused: a host name is what DNS failover needs.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a host name")
    name = text.strip().lower().removesuffix(".")
    if is_ip_address(name):
        raise ValueError(f"{text!r} is an IP address; a host name is needed here")
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(x) for x in labels):
        raise ValueError(f"{text!r} is not a fully qualified host name such as p.example.net")
    if labels[-1].isdigit():
        raise ValueError(f"{text!r} is not a host name: its last label is numeric")
    return name


def host_or_address(text: str) -> str:
    """A host name or an IP literal (some settings, such as an NTP server, accept both)."""
    if isinstance(text, str) and is_ip_address(text.strip()):
        return str(ipaddress.ip_address(text.strip()))
    return host_name(text)


def ip_address(text: str) -> str:
    """An IPv4 or IPv6 address in its canonical text form."""
    try:
        return str(ipaddress.ip_address(str(text).strip()))
    except ValueError:
        raise ValueError(f"{text!r} is not an IPv4 or IPv6 address") from None


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
