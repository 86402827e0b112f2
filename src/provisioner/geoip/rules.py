"""A cluster's CIDR rules as a lookup structure: the most specific network wins.

Built once per estate: for each prefix length in use (longest first), a dict from the
masked address to the rule, so a lookup costs one dict probe per distinct prefix length,
whatever the number of rules.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from provisioner.domain.estate import ZoneRule
from provisioner.geoip.addresses import IPAddress

log = logging.getLogger(__name__)

_Table = tuple[tuple[int, dict[int, ZoneRule]], ...]  # (bits to shift away, masked → rule)


@dataclass(frozen=True)
class NetworkRules:
    _v4: _Table
    _v6: _Table

    @classmethod
    def build(cls, rules: Iterable[ZoneRule], where: str = "") -> NetworkRules:
        """The lookup structure for `rules`; a rule whose network does not parse (estate
        files validate them, so only a hand-edited database has one) is skipped with a
        warning rather than failing a phone's request."""
        by_version: dict[int, dict[int, dict[int, ZoneRule]]] = {4: {}, 6: {}}
        for rule in rules:
            try:
                network = ipaddress.ip_network(rule.network, strict=False)
            except ValueError:
                log.warning("%s: zone rule %r is not a network; ignored", where, rule.network)
                continue
            shift = network.max_prefixlen - network.prefixlen
            table = by_version[network.version].setdefault(shift, {})
            table.setdefault(int(network.network_address) >> shift, rule)
        return cls(_freeze(by_version[4]), _freeze(by_version[6]))

    def match(self, address: IPAddress) -> ZoneRule | None:
        """The rule with the most specific network holding `address`, or None."""
        return self.match_value(int(address), address.version)

    def match_value(self, value: int, version: int) -> ZoneRule | None:
        """`match` for an address given as its integer value and IP version."""
        for shift, table in self._v4 if version == 4 else self._v6:
            rule = table.get(value >> shift)
            if rule is not None:
                return rule
        return None

    def __bool__(self) -> bool:
        return bool(self._v4 or self._v6)


def _freeze(tables: dict[int, dict[int, ZoneRule]]) -> _Table:
    return tuple(sorted(tables.items()))  # smallest shift = longest prefix first
