"""Step one of a fetch: which vendor's file a request asks for.

Several vendors ask for the same name (``<mac>.cfg`` is Yealink's, Poly's and Fanvil's),
so the path gives candidates and the User-Agent picks among them. When the User-Agent
does not say, and any candidate carries a secret, the phone must authenticate first; its
device record then says which vendor it is (`Identified.for_vendor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from provisioner.vendors.base import Delivery, FileRequest, PhoneIdentity, VendorProfile

_GET_DELIVERIES = (Delivery.RENDER, Delivery.ABSENT)


@dataclass(frozen=True, slots=True)
class Candidate:
    profile: VendorProfile
    request: FileRequest


@dataclass(frozen=True, slots=True)
class Identified:
    candidates: tuple[Candidate, ...]  # never empty
    identity: PhoneIdentity | None  # what the User-Agent said, if it is one of the candidates'
    # True when the answer depends on the device: authenticate first (read on every fetch)
    needs_device: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        needs = any(
            c.request.secret or c.request.delivery is Delivery.UPLOAD for c in self.candidates
        )
        object.__setattr__(self, "needs_device", needs)

    @property
    def mac(self) -> str | None:
        """The MAC named by the path (all candidates of one path name the same one)."""
        return self.candidates[0].request.mac

    @property
    def public(self) -> Candidate:
        return self.candidates[0]

    def for_vendor(self, vendor: str) -> Candidate | None:
        for candidate in self.candidates:
            if candidate.profile.name == vendor:
                return candidate
        return None


def identify(
    profiles: Sequence[VendorProfile], path: str, method: str, user_agent: str | None
) -> Identified | None:
    """The candidates for `path` under `method`, narrowed by the User-Agent; None if no
    vendor serves that path."""
    upload = method == "PUT"
    # The usual case first: the first profile that reads the User-Agent and serves the
    # path is the answer, found without matching the path against every vendor. (The
    # full scan below would pick the same one: the first candidate whose profile reads
    # the User-Agent.) Both lookups are remembered by the profiles.
    if user_agent:
        for profile in profiles:
            identity = profile.identify(user_agent)
            if identity is None:
                continue
            request = profile.match(path)
            if request is not None and (request.delivery is Delivery.UPLOAD) == upload:
                return Identified((Candidate(profile, request),), identity)
    candidates = []
    for profile in profiles:
        request = profile.match(path)
        if request is None:
            continue
        if (request.delivery is Delivery.UPLOAD) != upload:
            continue
        candidates.append(Candidate(profile, request))
    if not candidates:
        return None
    # No candidate's profile reads this User-Agent (else the loop above had returned):
    # the device record will say which vendor it is.
    return Identified(tuple(candidates), None)


def firmware_of(
    profiles: Sequence[VendorProfile], vendor: str, user_agent: str | None
) -> str | None:
    """The firmware version a User-Agent reports, read by the device's own vendor profile."""
    for profile in profiles:
        if profile.name == vendor:
            identity = profile.identify(user_agent)
            return identity.firmware if identity else None
    return None
