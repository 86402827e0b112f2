"""Reading devices for the phones' routes: record and digest HA1s.

Uncached fetches that arrive together (a boot storm, a restart) are looked up together:
`DeviceLookups` gathers the MACs asked for while a query runs and reads them all in the
next single indexed query, one thread hop per batch instead of one per phone.

An unknown MAC costs the same work as a known one, so timing does not tell which MACs
exist: it is in the same query, which reads the rows of a stand-in device for it and
builds its record (`storage.device_lookup.read_devices`), and its entry gets the same two
hashes, of a password no request can know.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence

from provisioner.domain.estate import DeviceRecord
from provisioner.storage.database import Database
from provisioner.storage.device_lookup import read_devices
from provisioner.web.config_cache import DeviceEntry
from provisioner.web.digest import ha1_all

# An unknown MAC's entry is hashed with this: drawn once (no per-lookup work a known MAC
# lacks), and as long as a usual password (16 characters: with the MAC and the realm the
# text fits the one 64-byte block of SHA-256 and MD5, as a generated password's does).
# With no record the entry is refused whatever the digest, so it need match nothing.
_NO_PASSWORD = secrets.token_hex(8)


def entry_for(mac: str, record: DeviceRecord | None, realm: str) -> DeviceEntry:
    """The cache entry of `mac`; with no record, one that no credentials match."""
    if record is None:
        user, password = mac, _NO_PASSWORD
    else:
        user, password = record.provisioning_user, record.provisioning_password
    return DeviceEntry(record, user, ha1_all(user, realm, password))


def lookup_devices(database: Database, macs: Sequence[str], realm: str) -> dict[str, DeviceEntry]:
    """An entry for every MAC in `macs` (blocking: run it in a thread)."""
    records = read_devices(database.engine, macs)
    return {mac: entry_for(mac, records.get(mac), realm) for mac in macs}


class DeviceLookups:
    """Batches concurrent lookups: at most one query in flight, each for every MAC that
    was waiting (up to `max_batch`)."""

    def __init__(self, database: Database, realm: str, max_batch: int = 256) -> None:
        self.database = database
        self.realm = realm
        self.max_batch = max_batch
        self._waiting: dict[str, list[asyncio.Future[DeviceEntry]]] = {}
        self._running = False

    async def get(self, mac: str) -> DeviceEntry:
        future: asyncio.Future[DeviceEntry] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(mac, []).append(future)
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                macs = list(self._waiting)[: self.max_batch]
                futures = {mac: self._waiting.pop(mac) for mac in macs}
                try:
                    entries = await asyncio.to_thread(
                        lookup_devices, self.database, macs, self.realm
                    )
                except BaseException as error:
                    for waiting in futures.values():
                        for future in waiting:
                            if not future.done():
                                future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for mac, waiting in futures.items():
                    for future in waiting:
                        if not future.done():
                            future.set_result(entries[mac])
        finally:
            self._running = False
