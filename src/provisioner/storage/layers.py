"""Changing one settings layer (global, cluster, partner, account or device).

Values are validated by `provisioner.domain.settings` before anything is written; an
unknown owner or a bad value changes nothing.
"""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.domain.errors import EstateErrors, InvalidValue, NotFound
from provisioner.domain.mac import normalise_mac
from provisioner.domain.settings import SCHEMA, Layer, as_text, mask, to_storable
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.settings_check import check_devices

_OWNERS: dict[Layer, tuple[type[Any], str]] = {
    Layer.CLUSTER: (models.Cluster, "name"),
    Layer.PARTNER: (models.Partner, "name"),
    Layer.ACCOUNT: (models.Account, "name"),
    Layer.DEVICE: (models.Device, "mac"),
}


def describe(layer: Layer, owner: str | None) -> str:
    """``cluster hosted``, ``device 001565a00001``, ``global``."""
    return layer.label if owner is None else f"{layer.label} {owner}"


def _owner_row(session: Session, layer: Layer, owner: str | None) -> Any:
    if layer is Layer.GLOBAL:
        row = session.get(models.GlobalSettings, 1)
        if row is None:
            row = models.GlobalSettings(id=1, settings={})
            session.add(row)
        return row
    if layer not in _OWNERS or owner is None:
        raise InvalidValue(layer.label, "is not a layer that can be changed")
    model, key = _OWNERS[layer]
    if layer is Layer.DEVICE:
        try:
            owner = normalise_mac(owner)
        except ValueError as error:
            raise InvalidValue("device", str(error)) from None
    row = session.scalar(select(model).where(getattr(model, key) == owner))
    if row is None:
        raise NotFound(layer.label, owner)
    return row


def _summary(
    layer: Layer, owner: str | None, set_values: Mapping[str, Any], unset: list[str]
) -> str:
    """``settings set --device 001565a00001 transport=udp``: the command it amounts to, a
    secret setting's value masked."""
    if layer is Layer.DEVICE and owner is not None:
        with contextlib.suppress(ValueError):  # refused below, as unknown
            owner = normalise_mac(owner)
    where = f"--{layer.label}" if owner is None else f"--{layer.label} {shlex.quote(owner)}"
    parts = []
    if set_values:
        shown = " ".join(
            shlex.quote(f"{key}={as_text(mask(key, value))[:80]}")
            for key, value in set_values.items()
        )
        parts.append(f"settings set {where} {shown}")
    if unset:
        parts.append(f"settings unset {where} {' '.join(map(shlex.quote, unset))}")
    return "; ".join(parts) or f"settings {describe(layer, owner)}"


def change_layer(
    database: Database,
    layer: Layer,
    owner: str | None,
    set_values: Mapping[str, Any] = {},
    unset_keys: Iterable[str] = (),
) -> int:
    """Set validated `set_values` and remove `unset_keys` in one layer; returns the change id."""
    unset = list(unset_keys)
    for key in unset:
        if key not in SCHEMA:
            raise InvalidValue(f"{describe(layer, owner)}: {key}", "unknown setting")
    with database.write(_summary(layer, owner, set_values, unset)) as session:
        row = _owner_row(session, layer, owner)
        values = dict(row.settings or {})
        values.update({key: to_storable(value) for key, value in set_values.items()})
        for key in unset:
            values.pop(key, None)
        row.settings = values
        session.flush()
        problems = check_devices(
            session,
            macs=[row.mac] if layer is Layer.DEVICE else None,
            account=owner if layer is Layer.ACCOUNT else None,
        )
        if problems:
            raise EstateErrors(problems)  # the write is rolled back: nothing changes
    return session.info["change_id"]
