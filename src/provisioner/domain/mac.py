"""MAC addresses: whatever form they arrive in, the estate stores 12 lower-case hex digits."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[:\-. ]")
_TWELVE_HEX = re.compile(r"[0-9a-f]{12}")


def normalise_mac(text: str) -> str:
    """Return ``001565a00001`` for ``00:15:65:A0:00:01``, ``0015.65a0.0001``, ``00-15-...``.

    Raises ValueError naming the bad input when it is not six octets of hex digits.
    """
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a MAC address (expected 12 hex digits)")
    candidate = _SEPARATORS.sub("", text.strip()).lower()
    if not _TWELVE_HEX.fullmatch(candidate):
        raise ValueError(f"{text!r} is not a MAC address (expected 12 hex digits)")
    if int(candidate[:2], 16) & 1:
        raise ValueError(f"{text!r} is a multicast address, not a phone's MAC")
    return candidate
