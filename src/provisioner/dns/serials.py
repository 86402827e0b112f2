"""SOA serials: one per DNS zone, rising with every estate change (RFC 1982), stored in
``dns_serials`` with the change they were published for, so they never go back, across
restarts and across the provisioning nodes that share one database.

The next serial is the later, in serial-number arithmetic, of the previous serial + 1 and
the current Unix time (Knot's ``unixtime`` policy): serials keep rising even when the
database is restored from an older backup, as long as the clock does. Rows of domains
that disappeared are kept, so a zone deleted and created again continues its sequence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import cast

from sqlalchemy import Table, insert, select, update

from provisioner.storage.database import Database
from provisioner.storage.models import DnsSerial

SERIAL_BITS = 32
_MODULUS = 2**SERIAL_BITS
_HALF = 2 ** (SERIAL_BITS - 1)


class StaleChange(Exception):
    """The estate read is older than a change whose serials are already published: read
    it again (a serial must never stand for two different contents)."""


def serial_gt(a: int, b: int) -> bool:
    """RFC 1982: whether serial `a` is later than serial `b`."""
    return a != b and ((a > b and a - b < _HALF) or (a < b and b - a > _HALF))


def next_serial(previous: int | None, now: float) -> int:
    clock = int(now) % _MODULUS
    if previous is None:
        return clock
    following = (previous + 1) % _MODULUS
    return clock if serial_gt(clock, following) else following


def publish_serials(
    database: Database,
    domains: Iterable[str],
    change_id: int,
    clock: Callable[[], float] = time.time,
) -> dict[str, int]:
    """The serial of each domain for the estate as of `change_id`, assigning (and storing)
    new ones for the domains whose stored serial is for an older change.

    Runs under the writers' lock without recording a change: every process publishing the
    same change gets the same serials.
    """
    wanted = sorted(set(domains))
    table = cast(Table, DnsSerial.__table__)
    with database.write_connection() as connection:
        rows = {
            row.domain: row
            for row in connection.execute(select(table).where(table.c.domain.in_(wanted)))
        }
        serials = {}
        for domain in wanted:
            row = rows.get(domain)
            if row is not None and row.change_id > change_id:
                raise StaleChange(
                    f"{domain}: serials are already published for change "
                    f"{row.change_id}, after {change_id}"
                )
            if row is not None and row.change_id == change_id:
                serials[domain] = row.serial
                continue
            serial = next_serial(row.serial if row else None, clock())
            values = {"serial": serial, "change_id": change_id}
            if row is None:
                connection.execute(insert(table).values(domain=domain, **values))
            else:
                connection.execute(update(table).where(table.c.domain == domain).values(**values))
            serials[domain] = serial
    return serials


def stored_serials(database: Database) -> dict[str, tuple[int, int]]:
    """Every stored domain → (serial, change id)."""
    table = cast(Table, DnsSerial.__table__)
    with database.engine.connect() as connection:
        return {
            row.domain: (row.serial, row.change_id) for row in connection.execute(select(table))
        }
