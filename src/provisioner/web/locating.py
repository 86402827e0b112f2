"""Step three of a fetch: where the phone is, and so which zone's proxy name it is given.
The one place the phones' routes choose a zone: swapping in the GeoIP chain is one line."""

from __future__ import annotations

from provisioner.domain.effective import ZoneChoice, pinned_or_default_zone
from provisioner.domain.estate import DeviceRecord, Estate


def client_address(scope_client: tuple[str, int] | list | None) -> str | None:
    """The TCP peer's address (forwarding headers are not trusted here)."""
    return str(scope_client[0]) if scope_client else None


def locate(estate: Estate, record: DeviceRecord, address: str | None) -> ZoneChoice:
    """The device's zone: pinned, else its cluster's default."""
    return pinned_or_default_zone(estate, record)
