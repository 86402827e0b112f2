"""Step three of a fetch: where the phone is, and so which zone's proxy name it is given.
The one place the phones' routes choose a zone (the GeoIP chain, `provisioner.geoip`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from provisioner.domain.effective import ZoneChoice
from provisioner.domain.estate import DeviceRecord, Estate
from provisioner.geoip import ZoneLocator


class Locating:
    """The client's address (through trusted proxies only) and the device's zone, kept
    sticky: the zone each device was last given is remembered (bounded, in memory, and
    stored with the device by the last-seen recorder)."""

    def __init__(self, locator: ZoneLocator | None = None, remember: int = 200_000) -> None:
        self.locator = locator or ZoneLocator()
        self.remember = remember
        self._last_zone: OrderedDict[str, str] = OrderedDict()

    def client_address(
        self, peer: tuple[str, int] | list | None, headers: Sequence[tuple[bytes, bytes]]
    ) -> str | None:
        """The TCP peer, or what a trusted proxy says the client is."""
        address = str(peer[0]) if peer else None
        if not self.locator.trusted.networks:
            return address
        decoded = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]
        found = self.locator.client_address(address, decoded)
        return str(found) if found is not None else address

    def locate(self, estate: Estate, record: DeviceRecord, address: str | None) -> ZoneChoice:
        # The zone given on this node since it started, else the one stored with the
        # device (given before a restart, or by another node).
        previous = self._last_zone.get(record.mac, record.located_zone)
        choice = self.locator.choose(estate, record, address, previous_zone=previous)
        self._last_zone[record.mac] = choice.zone.name
        self._last_zone.move_to_end(record.mac)
        if len(self._last_zone) > self.remember:
            self._last_zone.popitem(last=False)
        return choice
