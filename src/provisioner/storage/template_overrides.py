"""Operators' own templates (table ``template_overrides``): one per layer owner (a cluster,
partner or account), vendor and file kind. Setting or removing one is an estate change
(recorded in ``changes``), so every phone's cached file follows it.

`load_overrides` reads them all (they are few) for the phones' snapshot; `Overrides.for_device`
picks the most specific one for a device: its account's, else its partner's, else its
cluster's. `try_override` renders one for the devices it reaches before it is saved (by
`provisioner templates set` and by an estate file's load), and for `templates list --check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from provisioner.domain.effective import device_config
from provisioner.domain.errors import InvalidValue, NotFound
from provisioner.domain.estate import DeviceRecord, Estate
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device, load_estate
from provisioner.vendors import PROFILES, RenderContext
from provisioner.vendors.overrides import lost_lines, render_operator_template
from provisioner.vendors.problems import render_problem

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

TRIED_DEVICES = 20  # devices a template is tried on before it is saved


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


def overrides_of(session: Session) -> list[Override]:
    """Every override, by layer, owner, vendor and kind (for `provisioner dump`)."""
    return _rows(session)


def devices_in_scope(
    session: Session, layer: str, owner: str, vendor: str, limit: int = TRIED_DEVICES
) -> list[str]:
    """The MACs of (at most `limit` of) `vendor`'s devices under `layer` `owner`."""
    query = (
        select(models.Device.mac)
        .join(models.Account, models.Device.account_id == models.Account.id)
        .where(models.Device.vendor == vendor)
        .order_by(models.Device.mac)
        .limit(limit)
    )
    if layer == "account":
        query = query.where(models.Account.name == owner)
    elif layer == "partner":
        query = query.join(models.Partner, models.Account.partner_id == models.Partner.id).where(
            models.Partner.name == owner
        )
    else:
        query = query.join(models.Cluster, models.Account.cluster_id == models.Cluster.id).where(
            models.Cluster.name == owner
        )
    return list(session.scalars(query))


def try_override(
    session: Session, override: Override, estate: Estate | None = None
) -> tuple[int, list[str]]:
    """Render `override` for the devices it reaches (at most TRIED_DEVICES) as `session`
    sees the estate: how many were tried, and the problems, each naming its device (secrets
    masked). A problem is a template that fails, or one whose file loses a line the
    vendor's own file gives the phone (`vendors.overrides.lost_lines`: a phone served it
    would have no such line), which a render alone would call a success."""
    profile = next((p for p in PROFILES if p.name == override.vendor), None)
    if profile is None:
        return 0, [f"no vendor {override.vendor!r}"]
    macs = devices_in_scope(session, override.layer, override.owner, override.vendor)
    if not macs:
        return 0, []
    estate = estate if estate is not None else load_estate(session)
    problems: list[str] = []
    for mac in macs:
        record = load_device(session, mac)
        if record is None:
            continue
        config = device_config(estate, record)
        context = RenderContext(base_url="http://provisioner.invalid", mac=mac, model=None)
        try:
            body = render_operator_template(
                override.source, profile, override.kind, config, context, override.where
            )
        except Exception as error:
            problems.append(f"device {mac}: {render_problem(error, config)}")
            continue
        lost = lost_lines(body, profile, override.kind, config, context)
        if lost:
            named = ", ".join(f"{line.index} (SIP user {line.sip_user})" for line in lost)
            problems.append(
                f"device {mac}: {override.where}: the file loses line(s) {named}: the vendor's "
                "file gives each as a value of its own, this one does not"
            )
    return len(macs), problems


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
