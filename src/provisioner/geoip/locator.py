"""The chain that decides a device's zone, each step explained.

`ZoneLocator` is the one object the web layer and the CLI use:

* ``locator.client_address(peer, headers)``: the address a request came from;
* ``locator.choose(estate, record, address, previous_zone=None) -> ZoneChoice``: the zone
  a device gets, `reason` saying which step decided and why;
* ``locator.decide(...) -> Decision``: the same with everything `geoip explain` shows.

What it needs from an estate (each cluster's rules as a lookup structure, its zones'
coordinates) is prepared once per `Estate` object and reused until a new one arrives.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provisioner.domain.effective import ZoneChoice
from provisioner.domain.errors import InvalidValue
from provisioner.domain.estate import Cluster, DeviceRecord, Estate, Zone, ZoneRule
from provisioner.geoip.addresses import (
    LOCAL_NETWORKS,
    IPAddress,
    normalise,
    not_looked_up,
    not_looked_up_value,
    parse_address,
    plain_address,
    plain_value,
)
from provisioner.geoip.countries import country_of
from provisioner.geoip.database import CityDatabase, CityRecord, record_from
from provisioner.geoip.forwarding import Headers, TrustedProxies, client_address
from provisioner.geoip.nearest import ZonePlaces
from provisioner.geoip.rules import NetworkRules
from provisioner.geoip.stickiness import DEFAULT_MARGIN_KM, sticky_zone


class Step(StrEnum):
    """The step of the chain that decided."""

    PINNED = "pinned"
    RULE = "rule"
    CITY = "city"
    COUNTRY = "country"
    DEFAULT = "default"


@dataclass(frozen=True)
class Decision:
    """A zone choice with what led to it."""

    choice: ZoneChoice
    step: Step
    cluster: str
    address: IPAddress | None
    found: CityRecord | None = None  # what the city database said
    country: str | None = None
    country_source: str | None = None  # "city database" or "iptocc"
    notes: tuple[str, ...] = field(default=())  # steps passed over, and why


CITY_CACHE_SIZE = 65_536  # places remembered per cluster (a city database has few)


@dataclass(frozen=True)
class _PreparedCluster:
    cluster: Cluster
    zones: Mapping[str, Zone]
    rules: NetworkRules
    places: ZonePlaces
    fallback: Zone | None  # the default zone, else the first one
    fallback_reason: str
    # The leading bits (8 of IPv4, 16 of IPv6) of every address that a rule or a local
    # network may hold: an address whose leading bits are not in here skips both checks.
    special_v4: frozenset[int] = frozenset()
    special_v6: frozenset[int] = frozenset()
    # the nearest-zone choice per place the database names: a city database gives the
    # same coordinates to every network of a city, so most decisions are one dict probe
    by_place: dict[tuple[Any, ...], tuple[ZoneChoice, CityRecord]] = field(default_factory=dict)

    def nearest_choice(self, data: Any) -> tuple[ZoneChoice, CityRecord] | None:
        """The nearest zone to the place in the database record `data`, with the reason,
        and the record read; None when the record has no usable location."""
        try:
            location = data["location"]
            key = (
                location["latitude"],
                location["longitude"],
                data.get("city", {}).get("names", {}).get("en"),
                data.get("country", {}).get("iso_code"),
            )
            cached = self.by_place.get(key)
        except (KeyError, TypeError, AttributeError):
            key, cached = None, None
        if cached is not None:
            return cached
        found = record_from(data)
        if found is None or found.location is None:
            return None
        nearest = self.places.nearest(found.location)
        if nearest is None:
            return None
        zone, distance = nearest
        reason = f"nearest zone to {found.describe()} by the city database ({distance:.0f} km)"
        result = (ZoneChoice(zone, reason), found)
        if key is not None:
            if len(self.by_place) >= CITY_CACHE_SIZE:
                self.by_place.clear()
            self.by_place[key] = result
        return result


def _prepare(estate: Estate) -> dict[str, _PreparedCluster]:
    prepared = {}
    for cluster in estate.clusters:
        zones = {zone.name: zone for zone in cluster.zones}
        if cluster.default_zone in zones:
            fallback: Zone | None = zones[cluster.default_zone]
            reason = f"default zone of cluster {cluster.name}"
        else:
            fallback = cluster.zones[0] if cluster.zones else None
            reason = f"first zone of cluster {cluster.name} (it has no default zone)"
        special_v4, special_v6 = _leading_bits(cluster.zone_rules)
        prepared[cluster.name] = _PreparedCluster(
            cluster=cluster,
            zones=zones,
            rules=NetworkRules.build(cluster.zone_rules, f"cluster {cluster.name}"),
            places=ZonePlaces.build(cluster.zones),
            fallback=fallback,
            fallback_reason=reason,
            special_v4=special_v4,
            special_v6=special_v6,
        )
    return prepared


def _leading_bits(rules: Sequence[ZoneRule]) -> tuple[frozenset[int], frozenset[int]]:
    """The leading 8 bits (IPv4) and 16 bits (IPv6) of every address in a rule's network
    or a local one."""
    networks = list(LOCAL_NETWORKS)
    for rule in rules:
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(rule.network, strict=False))
    leading: dict[int, set[int]] = {4: set(), 6: set()}
    for network in networks:
        keep = 8 if network.version == 4 else 16
        drop = network.max_prefixlen - keep
        first = int(network.network_address) >> drop
        last = int(network.broadcast_address) >> drop
        leading[network.version].update(range(first, last + 1))
    return frozenset(leading[4]), frozenset(leading[6])


class ZoneLocator:
    """Decides zones. `database`: the city database (None: country fallback only);
    `trusted`: the proxies whose forwarding headers are believed; `margin_km`: how much
    closer a new zone must be before a located device moves; `countries`: the country
    of an address with no file (iptocc)."""

    def __init__(
        self,
        database: CityDatabase | None = None,
        *,
        trusted: TrustedProxies | None = None,
        margin_km: float = DEFAULT_MARGIN_KM,
        countries: Callable[[IPAddress], str | None] = country_of,
    ) -> None:
        if not margin_km >= 0:
            raise InvalidValue("--geoip-margin-km", f"{margin_km} is not a distance ≥ 0 km")
        self.database = database
        self.trusted = trusted or TrustedProxies()
        self.margin_km = margin_km
        self.countries = countries
        self._prepared: tuple[Estate, dict[str, _PreparedCluster]] | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        """One line for the service's banner."""
        database = self.database.describe() if self.database else "none"
        return (
            f"GeoIP: city database {database}; country fallback iptocc; margin "
            f"{self.margin_km:.0f} km; trusted proxies {self.trusted} ({self.trusted.header})"
        )

    def client_address(self, peer: str | None, headers: Headers) -> IPAddress | None:
        """The address a request came from (see `provisioner.geoip.forwarding`)."""
        return client_address(peer, headers, self.trusted)

    def choose(
        self,
        estate: Estate,
        record: DeviceRecord,
        address: str | IPAddress | None,
        previous_zone: str | None = None,
    ) -> ZoneChoice:
        """The zone for `record` asking from `address`; `previous_zone` is the zone it was
        last given (``devices.located_zone_id``, see `provisioner.storage.locations`).
        Never raises for a bad or unknown address: the chain ends at the default zone."""
        # The common case in a few probes: not pinned, a plain address that no rule
        # matches and that is looked up, a city the database places. Everything else goes
        # through `decide`, which this must agree with (tests/geoip/test_locator.py).
        database = self.database
        if record.pinned_zone is None and database is not None and isinstance(address, str):
            parsed = plain_value(address)
            prepared = self.prepared(estate).get(record.cluster)
            if parsed is not None and prepared is not None and not self._special(prepared, *parsed):
                data = database.get(address)
                if data is not None:
                    nearest = prepared.nearest_choice(data)
                    if nearest is not None:
                        choice, found = nearest
                        if previous_zone is None or previous_zone == choice.zone.name:
                            return choice
                        assert found.location is not None
                        zone, sticky = sticky_zone(
                            prepared.cluster,
                            found.location,
                            choice.zone,
                            previous_zone,
                            self.margin_km,
                        )
                        return choice if sticky is None else ZoneChoice(zone, sticky)
        return self.decide(
            estate, record.cluster, address, record=record, previous_zone=previous_zone
        ).choice

    @staticmethod
    def _special(prepared: _PreparedCluster, value: int, version: int) -> bool:
        """Whether a rule matches the address or it is never looked up."""
        if version == 4:
            if value >> 24 not in prepared.special_v4:
                return False
        elif value >> 112 not in prepared.special_v6:
            return False
        return (
            prepared.rules.match_value(value, version) is not None
            or not_looked_up_value(value, version) is not None
        )

    def prepared(self, estate: Estate) -> dict[str, _PreparedCluster]:
        cached = self._prepared
        if cached is not None and cached[0] is estate:
            return cached[1]
        with self._lock:
            cached = self._prepared
            if cached is None or cached[0] is not estate:
                cached = (estate, _prepare(estate))
                self._prepared = cached
        return cached[1]

    def decide(
        self,
        estate: Estate,
        cluster_name: str,
        address: str | IPAddress | None,
        *,
        record: DeviceRecord | None = None,
        previous_zone: str | None = None,
    ) -> Decision:
        """The zone for a device of cluster `cluster_name` (KeyError if there is no such
        cluster) asking from `address`, with every step's outcome."""
        prepared = self.prepared(estate)[cluster_name]
        cluster = prepared.cluster
        key: str | IPAddress | None  # what the city database is asked with
        if isinstance(address, str):
            text = address
            address = plain_address(text)
            key = text if address is not None else None  # the C extension parses it fastest
            if address is None:
                address = key = parse_address(text)
        else:
            address = key = normalise(address) if address is not None else None
        notes: list[str] = []

        # 1. pinned on the device or its account
        if record is not None and record.pinned_zone is not None:
            zone = prepared.zones.get(record.pinned_zone)
            if zone is not None:
                reason = f"pinned on the {record.pinned_by}"
                return Decision(ZoneChoice(zone, reason), Step.PINNED, cluster.name, address)
            notes.append(f"pinned zone {record.pinned_zone} is not a zone of {cluster.name}")

        if address is None:
            notes.append("no client address")
            return self._fallback(prepared, None, notes)

        # 2. the cluster's CIDR rules
        if prepared.rules:
            rule = prepared.rules.match(address)
            if rule is not None and rule.zone in prepared.zones:
                reason = f"rule {rule.network} → {rule.zone} of cluster {cluster.name}"
                choice = ZoneChoice(prepared.zones[rule.zone], reason)
                return Decision(choice, Step.RULE, cluster.name, address, notes=tuple(notes))

        why_not = not_looked_up(address)
        if why_not is not None:
            notes.append(f"{address} is {why_not}: never looked up")
            return self._fallback(prepared, address, notes)

        # 3. the city database, then the nearest zone
        found = None
        if self.database is None:
            notes.append("no city database")
        else:
            assert key is not None
            data = self.database.get(key)  # (which also picks up a new file)
            found = record_from(data) if data is not None else None
            nearest = prepared.nearest_choice(data) if found is not None else None
            if not self.database.loaded:
                notes.append(f"the city database {self.database.path} is not loaded")
            elif found is None:
                notes.append(f"no entry for {address} in the city database")
            elif nearest is not None and found.location is not None:
                choice, _ = nearest
                zone, sticky = sticky_zone(
                    cluster, found.location, choice.zone, previous_zone, self.margin_km
                )
                if sticky is not None:
                    choice = ZoneChoice(zone, sticky)
                return Decision(choice, Step.CITY, cluster.name, address, found, notes=tuple(notes))
            else:
                notes.append(f"the city database knows only the country of {address}")

        # 4. the country, through the cluster's country → zone map
        country: str | None
        if found is not None and found.country:
            country, source = found.country, "city database"
        else:
            country, source = self.countries(address), "iptocc"
        if country is None:
            notes.append(f"no country known for {address}")
        else:
            zone_name = cluster.country_zones.get(country)
            if zone_name is not None and zone_name in prepared.zones:
                reason = (
                    f"country {country} ({source}) → {zone_name} by the country map of "
                    f"cluster {cluster.name}"
                )
                choice = ZoneChoice(prepared.zones[zone_name], reason)
                return Decision(
                    choice,
                    Step.COUNTRY,
                    cluster.name,
                    address,
                    found,
                    country,
                    source,
                    tuple(notes),
                )
            notes.append(f"country {country} ({source}) is not in the country map")
        return self._fallback(prepared, address, notes, found, country, source)

    @staticmethod
    def _fallback(
        prepared: _PreparedCluster,
        address: IPAddress | None,
        notes: list[str],
        found: CityRecord | None = None,
        country: str | None = None,
        source: str | None = None,
    ) -> Decision:
        """5. the cluster's default zone."""
        if prepared.fallback is None:
            raise LookupError(f"cluster {prepared.cluster.name} has no zone")
        reason = prepared.fallback_reason
        if notes:
            reason = f"{reason}: {'; '.join(notes)}"
        return Decision(
            ZoneChoice(prepared.fallback, reason),
            Step.DEFAULT,
            prepared.cluster.name,
            address,
            found,
            country,
            source,
            tuple(notes),
        )
