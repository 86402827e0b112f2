"""Noticing changes to the estate, made by this process or any other sharing the database:
poll the latest change id (one cheap indexed query) at most once per `interval`, and start
a new cache generation when it rises."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from provisioner.storage.database import Database
from provisioner.web.config_cache import ConfigCache

log = logging.getLogger(__name__)


class ChangeWatcher:
    def __init__(
        self,
        database: Database,
        cache: ConfigCache,
        interval: float = 1.0,
        on_change: Callable[[int], None] | None = None,
    ) -> None:
        self.database = database
        self.cache = cache
        self.interval = interval
        self.on_change = on_change  # told each new generation, after the cache starts it

    async def refresh(self) -> int:
        """Read the latest change id; a new cache generation starts if it rose."""
        change = await asyncio.to_thread(self.database.latest_change)
        if self.cache.start_generation(change):
            log.info("estate change %d: the phones' cache starts afresh", change)
            if self.on_change is not None:
                self.on_change(change)
        return change

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except Exception:
                log.exception("could not read the latest change; keeping the cache")
