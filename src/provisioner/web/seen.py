"""Recording each device's last fetch without a database write per request.

Fetches are collected in memory (the latest per device wins) and written in one batch
every `interval` seconds by `run`, and once more by `flush` when the service stops
cleanly, so nothing acknowledged to a phone is lost on a clean shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from provisioner.storage.database import Database
from provisioner.storage.fetches import Fetch, record_fetches

log = logging.getLogger(__name__)


class SeenRecorder:
    def __init__(self, database: Database, interval: float = 1.0) -> None:
        self.database = database
        self.interval = interval
        self._pending: dict[str, Fetch] = {}
        self._lock = asyncio.Lock()

    def seen(
        self, mac: str, address: str | None, user_agent: str | None, firmware: str | None
    ) -> None:
        self._pending[mac] = Fetch(mac, datetime.now(UTC), address, user_agent, firmware)

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
