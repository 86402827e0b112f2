"""The zone of a cluster nearest to a location, by great-circle distance.

The zones' coordinates are prepared once per estate (radians, cosine of the latitude);
ranking compares the haversine term, which rises with the distance, and only the winner's
distance is turned into kilometres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from provisioner.domain.estate import Zone
from provisioner.domain.geography import EARTH_RADIUS_KM, Location


@dataclass(frozen=True)
class ZonePlaces:
    zones: tuple[Zone, ...]
    _points: tuple[tuple[float, float, float], ...]  # latitude, longitude (radians), cos(lat)

    @classmethod
    def build(cls, zones: Sequence[Zone]) -> ZonePlaces:
        points = tuple(
            (
                math.radians(zone.location.latitude),
                math.radians(zone.location.longitude),
                math.cos(math.radians(zone.location.latitude)),
            )
            for zone in zones
        )
        return cls(tuple(zones), points)

    def nearest(self, location: Location) -> tuple[Zone, float] | None:
        """The nearest zone and its distance in km (the first zone listed on a tie), or
        None for a cluster with no zone."""
        if not self.zones:
            return None
        latitude = math.radians(location.latitude)
        longitude = math.radians(location.longitude)
        cos_latitude = math.cos(latitude)
        sin, best, best_term = math.sin, 0, 2.0
        for index, (zone_latitude, zone_longitude, zone_cos) in enumerate(self._points):
            term = (
                sin((zone_latitude - latitude) / 2) ** 2
                + cos_latitude * zone_cos * sin((zone_longitude - longitude) / 2) ** 2
            )
            if term < best_term:
                best, best_term = index, term
        distance = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(best_term)))
        return self.zones[best], distance


def distances(location: Location, zones: Sequence[Zone]) -> list[tuple[Zone, float]]:
    """Every zone with its distance from `location` in km, nearest first."""
    return sorted(
        ((zone, location.distance_km(zone.location)) for zone in zones), key=lambda z: z[1]
    )
