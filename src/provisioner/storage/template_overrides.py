"""Operators' own templates (table ``template_overrides``): one per layer owner (a cluster,
partner or account), vendor and file kind. Setting or removing one is an estate change
(recorded in ``changes``), so every phone's cached file follows it.

`load_overrides` reads them all (they are few) for the phones' snapshot; `Overrides.for_device`
picks the most specific one for a device: its account's, else its partner's, else its
cluster's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from provisioner.domain.errors import InvalidValue, NotFound
from provisioner.domain.estate import DeviceRecord
from provisioner.storage import models
from provisioner.storage.database import Database

LAYERS: Mapping[str, type[models.Cluster] | type[models.Partner] | type[models.Account]] = {
    "cluster": models.Cluster,
    "partner": models.Partner,
    "account": models.Account,
}


@dataclass(frozen=True)
class Override:
    layer: str  # cluster | partner | account
    owner: str  # its name
    vendor: str
    kind: str
    source: str
    enabled: bool = True
    updated_at: datetime | None = None

    @property
    def where(self) -> str:
        """``account acme-bakery: yealink device``, for messages."""
        return f"{self.layer} {self.owner}: {self.vendor} {self.kind}"


@dataclass(frozen=True)
class Overrides:
    by_key: Mapping[tuple[str, str, str, str], Override]  # (layer, owner, vendor, kind)

    def for_device(self, record: DeviceRecord, vendor: str, kind: str) -> Override | None:
        if not self.by_key:
            return None
        for layer, owner in (
            ("account", record.account),
            ("partner", record.partner),
            ("cluster", record.cluster),
        ):
            if owner is None:
                continue
            found = self.by_key.get((layer, owner, vendor, kind))
            if found is not None and found.enabled:
                return found
        return None


NO_OVERRIDES = Overrides({})


def _rows(session: Session) -> list[Override]:
    found = []
    for layer, model in LAYERS.items():
        rows = session.execute(
            select(models.TemplateOverride, model.name)
            .join(model, model.id == models.TemplateOverride.owner_id)
            .where(models.TemplateOverride.layer == layer)
        ).all()
        for row, owner in rows:
            found.append(
                Override(
                    layer, owner, row.vendor, row.file_kind, row.source, row.enabled, row.updated_at
                )
            )
    return sorted(found, key=lambda o: (o.layer, o.owner, o.vendor, o.kind))


def load_overrides(session: Session) -> Overrides:
    return Overrides({(o.layer, o.owner, o.vendor, o.kind): o for o in _rows(session)})


def list_overrides(database: Database) -> list[Override]:
    with database.read() as session:
        return _rows(session)


def _owner_id(session: Session, layer: str, owner: str) -> int:
    model = LAYERS.get(layer)
    if model is None:
        raise InvalidValue("layer", f"{layer!r} is not one of {', '.join(LAYERS)}")
    owner_id = session.scalar(select(model.id).where(model.name == owner))
    if owner_id is None:
        raise NotFound(layer, owner)
    return owner_id


def set_override(
    database: Database, layer: str, owner: str, vendor: str, kind: str, source: str
) -> int:
    """Store (or replace) an override; returns the change id."""
    with database.write(f"template {layer} {owner}: {vendor} {kind}") as session:
        owner_id = _owner_id(session, layer, owner)
        row = session.scalar(
            select(models.TemplateOverride).where(
                models.TemplateOverride.layer == layer,
                models.TemplateOverride.owner_id == owner_id,
                models.TemplateOverride.vendor == vendor,
                models.TemplateOverride.file_kind == kind,
            )
        )
        if row is None:
            row = models.TemplateOverride(
                layer=layer, owner_id=owner_id, vendor=vendor, file_kind=kind
            )
            session.add(row)
        row.source = source
        row.enabled = True
        row.updated_at = datetime.now(UTC)
    return session.info["change_id"]


def unset_override(database: Database, layer: str, owner: str, vendor: str, kind: str) -> int:
    """Remove an override (NotFound if there is none); returns the change id."""
    with database.write(f"template {layer} {owner}: {vendor} {kind} removed") as session:
        owner_id = _owner_id(session, layer, owner)
        result = session.execute(
            delete(models.TemplateOverride).where(
                models.TemplateOverride.layer == layer,
                models.TemplateOverride.owner_id == owner_id,
                models.TemplateOverride.vendor == vendor,
                models.TemplateOverride.file_kind == kind,
            )
        )
        if not cast(CursorResult[Any], result).rowcount:
            raise NotFound("template override", f"{layer} {owner}: {vendor} {kind}")
    return session.info["change_id"]
