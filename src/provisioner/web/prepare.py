"""Preparing phones' files again after an estate change, before the phones ask.

Any change starts the cache afresh (`config_cache`), so without this every phone's next
fetch after a change would wait for its device query and a render. `Preparer` remembers
how each device file of the current generation was asked for — the device, the file,
the address and Host it came from — and when a newer generation starts it renders those
files again in the background, most recently asked for first, through the same steps a
fetch takes (`PhoneFiles.prepare`: locate, settings, render). Nothing is sent and
nothing recorded as seen; a phone that then asks from the same address finds its file
ready, and one whose file changed gets the new bytes and a new ETag.

Bounded: at most `max_recipes` files are remembered (one generation's worth, least
recently rendered dropped first), the work runs in slices of `slice_seconds` followed by
an equal pause (at most about half of the event loop), and it stops as soon as a newer
generation starts. Devices are read in batches by the same `DeviceLookups` the fetches
use. Only files phones actually asked for are prepared, so an estate of a million idle
devices costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from provisioner.web.config_cache import DeviceEntry, Snapshot
from provisioner.web.identify import Identified

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recipe:
    """How a device file was asked for: enough to prepare it again."""

    mac: str
    identified: Identified
    base_url: str
    address: str | None


class Preparer:
    def __init__(
        self,
        prepare: Callable[[Recipe, DeviceEntry, Snapshot], object],
        look_up: Callable[[str], Awaitable[DeviceEntry]],
        snapshot: Callable[[], Awaitable[Snapshot]],
        keep: Callable[[str, DeviceEntry, int], None],
        max_recipes: int = 100_000,
        slice_seconds: float = 0.005,
        batch: int = 256,
    ) -> None:
        self._prepare = prepare
        self._look_up = look_up
        self._snapshot = snapshot
        self._keep = keep
        self.max_recipes = max_recipes
        self.slice_seconds = slice_seconds
        self.batch = batch
        self._recipes: OrderedDict[Hashable, Recipe] = OrderedDict()
        self._task: asyncio.Task[None] | None = None
        self.prepared = 0  # files prepared since start (for tests and logs)

    def remember(self, key: Hashable, recipe: Recipe) -> None:
        """A device file was rendered for a phone in this generation."""
        if self.max_recipes <= 0:
            return
        self._recipes[key] = recipe
        self._recipes.move_to_end(key)
        if len(self._recipes) > self.max_recipes:
            self._recipes.popitem(last=False)

    def changed(self, generation: int) -> None:
        """A newer generation started: prepare the files of the previous one again."""
        recipes = list(reversed(self._recipes.values()))  # most recent first
        self._recipes = OrderedDict()
        if self._task is not None:
            self._task.cancel()
            self._task = None
        if recipes:
            self._task = asyncio.get_running_loop().create_task(self._run(recipes, generation))

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, recipes: list[Recipe], generation: int) -> None:
        started = time.monotonic()
        done = 0
        try:
            snapshot = await self._snapshot()
            for first in range(0, len(recipes), self.batch):
                batch = recipes[first : first + self.batch]
                macs = list(dict.fromkeys(recipe.mac for recipe in batch))
                entries = await asyncio.gather(*(self._look_up(mac) for mac in macs))
                for mac, entry in zip(macs, entries, strict=True):
                    self._keep(mac, entry, generation)
                by_mac = dict(zip(macs, entries, strict=True))
                slice_started = time.monotonic()
                for recipe in batch:
                    if self._prepare(recipe, by_mac[recipe.mac], snapshot) is not None:
                        done += 1
                    if time.monotonic() - slice_started > self.slice_seconds:
                        await asyncio.sleep(self.slice_seconds)  # the phones come first
                        slice_started = time.monotonic()
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            log.info("stopped preparing files after %d of %d: a newer change", done, len(recipes))
            raise
        except Exception:
            log.exception("could not prepare files after the change")
        finally:
            self.prepared += done
        log.info(
            "prepared %d files for the next fetches in %.1f s", done, time.monotonic() - started
        )
