"""Recording each device's last fetch without a database write per request.

Fetches are collected in memory (the latest per device wins) and written in one batch
every `interval` seconds by `run`, and once more by `flush` when the service stops
cleanly, so nothing acknowledged to a phone is lost on a clean shutdown. A fetch that
says nothing new — same address, User-Agent, firmware and zone as the one last written,
less than `resolution` seconds later — is not written again: last-seen times are exact to
`resolution`, and a boot storm or a benchmark does not turn into a write storm.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime

from provisioner.storage.database import Database
from provisioner.storage.fetches import Fetch, record_fetches

log = logging.getLogger(__name__)

_Details = tuple[str | None, str | None, str | None, str | None]


class SeenRecorder:
    def __init__(
        self,
        database: Database,
        interval: float = 1.0,
        resolution: float = 60.0,
        remember: int = 200_000,
    ) -> None:
        self.database = database
        self.interval = interval
        self.resolution = resolution
        self.remember = remember
        self._pending: dict[str, Fetch] = {}
        self._written: OrderedDict[str, tuple[float, _Details]] = OrderedDict()
        self._lock = asyncio.Lock()

    def seen(
        self,
        mac: str,
        address: str | None,
        user_agent: str | None,
        firmware: str | None,
        zone: str | None,
    ) -> None:
        now = time.monotonic()
        details = (address, user_agent, firmware, zone)
        written = self._written.get(mac)
        if written is not None and written[1] == details and now - written[0] < self.resolution:
            return
        self._written[mac] = (now, details)
        self._written.move_to_end(mac)
        if len(self._written) > self.remember:
            self._written.popitem(last=False)
        self._pending[mac] = Fetch(mac, datetime.now(UTC), address, user_agent, firmware, zone)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        async with self._lock:
            batch, self._pending = list(self._pending.values()), {}
            if not batch:
                return
            try:
                await asyncio.to_thread(record_fetches, self.database, batch)
            except Exception:
                # Keep them for the next try, unless a newer fetch arrived meanwhile.
                for fetch in batch:
                    self._pending.setdefault(fetch.mac, fetch)
                log.exception("could not record %d fetches; will retry", len(batch))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()
