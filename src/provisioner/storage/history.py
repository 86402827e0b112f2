"""The history of the estate: who made each change, when, what it did, and which devices
it wrote.

`Database.write` attaches a `Recorder` to the change's session. The recorder watches what
the session writes (ORM flushes, and the bulk inserts and updates an estate file's load
runs) and gives the change

* a count of the rows created, updated and removed per table (``created 3 accounts,
  1 device``), appended to the caller's summary — counts and names, never a value;
* the MACs of the devices whose own rows (or lines, or device settings) it wrote, so that
  ``provisioner history --device MAC`` can answer. A change to a layer above the devices
  (global, cluster, partner or account settings, zones, templates) records no MAC: the
  scope is in its summary.

Who: the caller's actor (an API token's name, later), else the operating-system user.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Insert, Table, Update, event, select
from sqlalchemy.orm import ORMExecuteState, Session

from provisioner.domain.mac import normalise_mac
from provisioner.storage import models

_SKIPPED_TABLES = frozenset({"changes"})
_WORDS = {"global_settings": "global settings", "zone_media_servers": "zone media servers"}


def operating_system_user() -> str:
    """Who runs this process: the login name, else the uid."""
    try:
        return getpass.getuser()
    except Exception:  # no USER/LOGNAME and no passwd entry (some containers)
        return f"uid {os.getuid()}"


def _word(table: str, number: int) -> str:
    word = _WORDS.get(table, table.replace("_", " "))
    if number == 1 and word.endswith("s") and word != "global settings":
        word = word[:-1]
    return f"{number} {word}"


class Recorder:
    """What one change's session writes: counts per table and verb, and devices' MACs."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.counts: dict[tuple[str, str], int] = {}
        self.macs: set[str] = set()
        self._device_ids: set[int] = set()
        self._seen: set[tuple[str, int]] = set()
        event.listen(session, "do_orm_execute", self._on_execute)
        event.listen(session, "before_flush", self._on_flush)

    def close(self) -> None:
        if not event.contains(self.session, "before_flush", self._on_flush):
            return
        event.remove(self.session, "do_orm_execute", self._on_execute)
        event.remove(self.session, "before_flush", self._on_flush)

    def _count(self, verb: str, table: str, number: int) -> None:
        if number and table not in _SKIPPED_TABLES:
            self.counts[verb, table] = self.counts.get((verb, table), 0) + number

    def _on_execute(self, state: ORMExecuteState) -> None:
        statement = state.statement
        if not isinstance(statement, (Insert, Update, Delete)):
            return
        table = statement.table
        if not isinstance(table, Table):
            return
        verb = {Insert: "created", Update: "updated", Delete: "removed"}[type(statement)]
        parameters = state.parameters
        rows: Sequence[Any] = (
            parameters if isinstance(parameters, list) else [parameters] if parameters else []
        )
        if rows:
            self._count(verb, table.name, len(rows))
        elif verb != "removed":
            self._count(verb, table.name, 1)
        # A bulk delete's rows are not counted (it says no number before it runs); in an
        # estate file's load it only clears lines that are inserted again.
        if table.name == "devices":
            self.macs.update(row["mac"] for row in rows if isinstance(row, dict) and "mac" in row)
        elif table.name == "lines":
            self._device_ids.update(
                row["device_id"] for row in rows if isinstance(row, dict) and "device_id" in row
            )

    def _on_flush(self, session: Session, _context: Any, _instances: Any) -> None:
        for verb, objects in (
            ("created", session.new),
            ("updated", [o for o in session.dirty if session.is_modified(o)]),
            ("removed", session.deleted),
        ):
            for obj in objects:
                table = getattr(obj, "__tablename__", None)
                if table is None:
                    continue
                key = (verb, id(obj))
                if key in self._seen or (verb == "updated" and ("created", id(obj)) in self._seen):
                    continue  # once per row; a row created by this change is not also updated
                self._seen.add(key)
                self._count(verb, table, 1)
                if isinstance(obj, models.Device) and obj.mac:
                    self.macs.add(obj.mac)
                elif isinstance(obj, models.Line) and obj.device_id is not None:
                    self._device_ids.add(obj.device_id)

    def describe(self) -> str:
        """``created 3 accounts, 5 devices; updated 1 device`` (empty: nothing written)."""
        parts = []
        for verb in ("created", "updated", "removed"):
            named = [_word(table, n) for (v, table), n in self.counts.items() if v == verb]
            if named:
                parts.append(f"{verb} {', '.join(named)}")
        return "; ".join(parts)

    def devices(self) -> list[str]:
        """The MACs of the devices written, sorted (the lines' devices looked up in chunks)."""
        macs = set(self.macs)
        ids = sorted(self._device_ids)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            macs.update(
                self.session.scalars(select(models.Device.mac).where(models.Device.id.in_(chunk)))
            )
        return sorted(macs)


def finish(recorder: Recorder, summary: str, actor: str | None) -> models.Change:
    """The change row for what `recorder` saw (not yet added to the session)."""
    recorder.close()
    counts = recorder.describe()
    text = f"{summary}: {counts}" if counts and counts not in summary else summary
    macs = recorder.devices()
    return models.Change(
        summary=text[:1000],
        actor=(actor or operating_system_user())[:128],
        devices=f" {' '.join(macs)} " if macs else None,
    )


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime | None
    actor: str | None
    summary: str

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat() if self.at else None,
            "who": self.actor,
            "summary": self.summary,
        }


def history(database: Any, device: str | None = None, limit: int | None = 50) -> list[Entry]:
    """The latest changes first; with `device`, those that wrote that device."""
    query = select(
        models.Change.id, models.Change.at, models.Change.actor, models.Change.summary
    ).order_by(models.Change.id.desc())
    if device is not None:
        query = query.where(models.Change.devices.contains(f" {normalise_mac(device)} "))
    if limit is not None:
        query = query.limit(limit)
    with database.read() as session:
        return [Entry(*row) for row in session.execute(query)]
