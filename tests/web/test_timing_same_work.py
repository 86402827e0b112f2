"""An unknown MAC costs what a known MAC with a wrong password costs, on the first,
uncached lookup: the same SQL statements, the same device rows turned into a record, the
same hash computations. Counted, not timed (bench/lookup_timing.py measures the time)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from provisioner.storage import device_lookup
from provisioner.storage.database import Database
from provisioner.web import digest
from tests.web.support import REALM, YEALINK, phone_client, served_devices

pytestmark = pytest.mark.anyio

YEALINK_FILE = served_devices()[YEALINK]
NEIGHBOUR = "001565a00000"  # unknown; no device lies between it and YEALINK
FAR = "805ec0123456"  # unknown, past every demo MAC


@contextmanager
def counting(database: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    """Counts, while inside: SQL statements (those SQLAlchemy runs and those run on the
    driver's connection itself), device records and lines built, and hashes computed."""
    counts: Counter[str] = Counter()
    engine = database.engine

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counts[f"sqlalchemy: {statement}"] += 1

    def traced(statement: str) -> None:
        if statement.strip() in ("", ";"):  # the pool's liveness ping, not the lookup's work
            return
        counts[f"driver: {statement.split(' WHERE ')[0][:60]}…{len(statement)}"] += 1
        counts["statements"] += 1

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if hasattr(dbapi_connection, "set_trace_callback"):  # sqlite3
            dbapi_connection.set_trace_callback(traced)

    def checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None and hasattr(dbapi_connection, "set_trace_callback"):
            dbapi_connection.set_trace_callback(None)

    if engine.dialect.driver == "psycopg":  # psycopg has no trace hook: count its executes
        import psycopg

        execute = psycopg.Cursor.execute

        def traced_execute(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            traced(str(query))
            return execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", traced_execute)

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return function(*args, **kwargs)

        return wrapper

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    monkeypatch.setattr(device_lookup, "_record", counted("records", device_lookup._record))
    monkeypatch.setattr(device_lookup, "_new_line", counted("lines", device_lookup._new_line))
    for algorithm, constructor in list(digest._CONSTRUCTORS.items()):
        monkeypatch.setitem(digest._CONSTRUCTORS, algorithm, counted("hashes", constructor))
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
        monkeypatch.undo()


async def test_an_unknown_mac_does_the_work_of_a_known_one_with_a_wrong_password(
    demo_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with phone_client(demo_database) as phones:
        nonce = await phones.challenge(YEALINK_FILE)
        cases = {
            "known": (YEALINK_FILE, YEALINK),
            "neighbour": (f"/{NEIGHBOUR}.cfg", NEIGHBOUR),
            "far": (f"/{FAR}.cfg", FAR),
        }
        headers = {
            name: digest.authorization_header(mac, "guess", REALM, nonce, path)
            for name, (path, mac) in cases.items()
        }
        work: dict[str, Counter[str]] = {}
        for name, (path, _mac) in cases.items():
            assert phones.phones.cache.device(_mac) is None  # uncached: the lookup runs
            with counting(demo_database, monkeypatch) as counts:
                response = await phones.client.get(path, headers={"authorization": headers[name]})
            assert response.status_code == 401
            work[name] = counts
    known = work["known"]
    assert known["statements"] == 1 and known["records"] == 1 and known["hashes"] == 4
    # the unknown MAC next to it reads that very device: the same work in every count
    assert work["neighbour"] == known
    # one far from any reads another device (lines may differ); all else is the same
    far = work["far"]
    assert {k: v for k, v in far.items() if k != "lines"} == {
        k: v for k, v in known.items() if k != "lines"
    }
