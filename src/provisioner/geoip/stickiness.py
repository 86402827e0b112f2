"""Stickiness: a device keeps the zone it was last given unless the new nearest zone is
closer to it by more than a margin, so a noisy database (or an address that wanders
between neighbouring networks) does not move phones back and forth."""

from __future__ import annotations

from provisioner.domain.estate import Cluster, Zone
from provisioner.domain.geography import Location

DEFAULT_MARGIN_KM = 500.0


def sticky_zone(
    cluster: Cluster,
    location: Location,
    nearest: Zone,
    previous_zone: str | None,
    margin_km: float = DEFAULT_MARGIN_KM,
) -> tuple[Zone, str | None]:
    """The zone to give a device at `location` whose nearest zone is `nearest` and which
    was last given `previous_zone` (a zone name; None for a device never located), with
    the sentence explaining a kept or changed zone (None when there was nothing to weigh).

    Pure: the caller reads the previous zone and stores the result."""
    if previous_zone is None or previous_zone == nearest.name:
        return nearest, None
    previous = next((zone for zone in cluster.zones if zone.name == previous_zone), None)
    if previous is None:  # the zone was removed, or the device moved to another cluster
        return nearest, None
    previous_km = location.distance_km(previous.location)
    nearest_km = location.distance_km(nearest.location)
    gain = previous_km - nearest_km
    if gain > margin_km:
        return nearest, (
            f"moved from {previous.name}: {gain:.0f} km closer, more than the "
            f"{margin_km:.0f} km margin"
        )
    return previous, (
        f"kept {previous.name} ({previous_km:.0f} km), the zone it had: {nearest.name} "
        f"({nearest_km:.0f} km) is not more than {margin_km:.0f} km closer"
    )
