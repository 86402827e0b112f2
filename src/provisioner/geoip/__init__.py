"""GeoIP: which zone a phone is told to use, and from which address it asked.

The chain (`provisioner.geoip.locator.ZoneLocator`), each step explained in the returned
`ZoneChoice.reason`:

1. a zone pinned on the device or its account;
2. the cluster's CIDR rules, the most specific network winning (`rules`);
3. a city-level MaxMind-format database giving a location, then the nearest zone of the
   device's cluster by great-circle distance (`database`, `nearest`), kept sticky by a
   margin so a noisy database does not move phones back and forth (`stickiness`);
4. the address's country, offline with no file (`countries`), through the cluster's
   country → zone map;
5. the cluster's default zone.

Loopback, private, CGNAT and link-local addresses never reach steps 3 and 4
(`addresses`). The source address is the TCP peer unless that peer is a trusted proxy
(`forwarding`).
"""

from provisioner.geoip.addresses import IPAddress, parse_address
from provisioner.geoip.database import CityDatabase, CityRecord, GeoipDatabaseError
from provisioner.geoip.forwarding import TrustedProxies, client_address
from provisioner.geoip.locator import DEFAULT_MARGIN_KM, Decision, Step, ZoneLocator

__all__ = [
    "DEFAULT_MARGIN_KM",
    "CityDatabase",
    "CityRecord",
    "Decision",
    "GeoipDatabaseError",
    "IPAddress",
    "Step",
    "TrustedProxies",
    "ZoneLocator",
    "client_address",
    "parse_address",
]
