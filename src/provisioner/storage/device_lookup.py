"""One device by MAC, for the phones' hot path: the same `DeviceRecord` as
`provisioner.storage.snapshot.load_device`, read by a single indexed Core query (or several devices by one) (the
device, its account, cluster, partner, pinned zones and lines joined), without ORM
objects. tests/web/test_device_lookup.py holds the two to the same answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from provisioner.domain.estate import DeviceRecord, LineConfig
from provisioner.storage import models

_DEVICE = models.Device.__table__
_ACCOUNT = models.Account.__table__
_CLUSTER = models.Cluster.__table__
_PARTNER = models.Partner.__table__
_LINE = models.Line.__table__
_DEVICE_ZONE = models.Zone.__table__.alias("device_zone")
_ACCOUNT_ZONE = models.Zone.__table__.alias("account_zone")
_LOCATED_ZONE = models.Zone.__table__.alias("located_zone")

_QUERY = (
    select(
        _DEVICE.c.mac,
        _DEVICE.c.vendor,
        _DEVICE.c.model,
        _DEVICE.c.settings,
        _DEVICE.c.provisioning_user,
        _DEVICE.c.provisioning_password,
        _ACCOUNT.c.name,
        _ACCOUNT.c.sip_domain,
        _ACCOUNT.c.settings,
        _CLUSTER.c.name,
        _PARTNER.c.name,
        _DEVICE_ZONE.c.name,
        _ACCOUNT_ZONE.c.name,
        _LOCATED_ZONE.c.name,
        _LINE.c.index,
        _LINE.c.sip_user,
        _LINE.c.auth_name,
        _LINE.c.password,
        _LINE.c.display_name,
        _LINE.c.label,
    )
    .select_from(_DEVICE)
    .join(_ACCOUNT, _DEVICE.c.account_id == _ACCOUNT.c.id)
    .join(_CLUSTER, _ACCOUNT.c.cluster_id == _CLUSTER.c.id)
    .outerjoin(_PARTNER, _ACCOUNT.c.partner_id == _PARTNER.c.id)
    .outerjoin(_DEVICE_ZONE, _DEVICE.c.zone_id == _DEVICE_ZONE.c.id)
    .outerjoin(_ACCOUNT_ZONE, _ACCOUNT.c.zone_id == _ACCOUNT_ZONE.c.id)
    .outerjoin(_LOCATED_ZONE, _DEVICE.c.located_zone_id == _LOCATED_ZONE.c.id)
    .outerjoin(_LINE, _LINE.c.device_id == _DEVICE.c.id)
    .order_by(_LINE.c.index)
)
_BY_MAC = _QUERY.where(_DEVICE.c.mac == bindparam("mac"))
_BY_MACS = _QUERY.where(_DEVICE.c.mac.in_(bindparam("macs", expanding=True))).order_by(
    _DEVICE.c.mac
)


def fetch_device(connection: Connection, mac: str) -> DeviceRecord | None:
    """The device with this (normalised) MAC, or None; one query."""
    rows: list[Sequence[Any]] = list(connection.execute(_BY_MAC, {"mac": mac}))
    return _record(rows) if rows else None


def fetch_devices(connection: Connection, macs: Sequence[str]) -> dict[str, DeviceRecord]:
    """The devices with these MACs (those that exist), in one query."""
    if not macs:
        return {}
    found: dict[str, list[Sequence[Any]]] = {}
    for row in connection.execute(_BY_MACS, {"macs": list(macs)}):
        found.setdefault(row[0], []).append(row)
    return {mac: _record(rows) for mac, rows in found.items()}


def _record(rows: Sequence[Sequence[Any]]) -> DeviceRecord:
    (
        mac,
        vendor,
        model,
        settings,
        user,
        password,
        account,
        sip_domain,
        account_settings,
        cluster,
        partner,
        device_zone,
        account_zone,
        located_zone,
    ) = tuple(rows[0][:14])
    lines = tuple(
        LineConfig(
            index=row[14],
            sip_user=row[15],
            auth_name=row[16],
            password=row[17],
            display_name=row[18],
            label=row[19],
        )
        for row in rows
        if row[14] is not None
    )
    return DeviceRecord(
        mac=mac,
        vendor=vendor,
        model=model,
        account=account,
        cluster=cluster,
        partner=partner,
        sip_domain=sip_domain,
        pinned_zone=device_zone or account_zone,
        pinned_by="device" if device_zone else "account" if account_zone else None,
        account_settings=dict(account_settings or {}),
        settings=dict(settings or {}),
        provisioning_user=user,
        provisioning_password=password,
        lines=lines,
        located_zone=located_zone,
    )
