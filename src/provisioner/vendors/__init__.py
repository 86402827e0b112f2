"""The vendor profiles, and finding the one a phone's request is for.

Adding a vendor is adding one module (with its `PROFILE`) and its templates, and listing it
in `PROFILES`. Several vendors share file names (``<mac>.cfg``: Yealink, Poly's master
file, Fanvil; ``<mac>.xml``: Cisco, and Snom when the MAC has no letter): the User-Agent
decides, else the vendor stored for the device (`match_request(..., vendor=...)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from provisioner.vendors import cisco, fanvil, grandstream, poly, snom, yealink
from provisioner.vendors.base import (
    Delivery,
    FileRequest,
    PhoneIdentity,
    RenderContext,
    RenderError,
    VendorProfile,
    context_for,
)

__all__ = [
    "PROFILES",
    "Delivery",
    "FileRequest",
    "Match",
    "PhoneIdentity",
    "RenderContext",
    "RenderError",
    "VendorProfile",
    "context_for",
    "identify",
    "match_path",
    "match_request",
    "profile",
]

PROFILES: tuple[VendorProfile, ...] = (
    yealink.PROFILE,
    poly.PROFILE,
    cisco.PROFILE,
    grandstream.PROFILE,
    snom.PROFILE,
    fanvil.PROFILE,
)

BY_NAME: Mapping[str, VendorProfile] = MappingProxyType({p.name: p for p in PROFILES})


@dataclass(frozen=True, slots=True)
class Match:
    """A request recognised: the profile that serves it, the file, and who asks (if known)."""

    profile: VendorProfile
    request: FileRequest
    identity: PhoneIdentity | None


def profile(vendor: str) -> VendorProfile:
    """The profile of `vendor` (``yealink``); KeyError names the known vendors."""
    try:
        return BY_NAME[vendor]
    except KeyError:
        raise KeyError(f"no vendor {vendor!r} (known: {', '.join(BY_NAME)})") from None


def match_path(path: str) -> tuple[tuple[VendorProfile, FileRequest], ...]:
    """Every profile that serves `path`, in `PROFILES` order."""
    found = []
    for candidate in PROFILES:
        request = candidate.match(path)
        if request is not None:
            found.append((candidate, request))
    return tuple(found)


def identify(user_agent: str | None) -> PhoneIdentity | None:
    """Vendor, model, firmware and MAC from a User-Agent, whichever profile knows it."""
    for candidate in PROFILES:
        identity = candidate.identify(user_agent)
        if identity is not None:
            return identity
    return None


def match_request(path: str, user_agent: str | None, vendor: str | None = None) -> Match | None:
    """The profile and file for a phone's request, or None when none (or no single one) fits.

    `vendor` (the device's stored vendor) restricts the choice. Otherwise a path served by
    one vendor is that vendor's; a path several serve goes to the vendor the User-Agent
    names; with neither the answer is None: look the device up by the MAC that every
    candidate of `match_path` shares and call again with its vendor.
    """
    candidates = match_path(path)
    if not candidates:
        return None
    identified = [(p, r, p.identify(user_agent)) for p, r in candidates]
    if vendor is not None:
        chosen = [found for found in identified if found[0].name == vendor]
    else:
        chosen = [found for found in identified if found[2] is not None] or identified
    if len(chosen) != 1:
        return None
    return Match(*chosen[0])
