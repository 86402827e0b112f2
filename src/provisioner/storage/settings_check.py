"""Refusing a write that would leave some device with settings no phone can honour.

Run inside the write's transaction, after its changes are flushed: every device the
write can touch (one device, an account's, or all of them) is resolved as the phones'
path resolves it, and `provisioner.domain.effective.settings_problems` says what is
wrong, naming the key and the layer that set it. Devices that share an account, a pin
and their own settings share the answer, so each such group is resolved once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.domain.effective import settings_problems
from provisioner.domain.errors import InvalidValue
from provisioner.storage import models
from provisioner.storage.device_lookup import fetch_devices
from provisioner.storage.snapshot import load_estate

BATCH = 500


def check_devices(
    session: Session, *, macs: Sequence[str] | None = None, account: str | None = None
) -> list[InvalidValue]:
    """The problems of the devices with these MACs, or of `account`'s, or of all."""
    if macs is None:
        query = select(models.Device.mac).order_by(models.Device.mac)
        if account is not None:
            query = query.join(models.Account).where(models.Account.name == account)
        macs = session.scalars(query).all()
    if not macs:
        return []
    estate = load_estate(session)
    connection = session.connection()
    answers: dict[tuple[object, ...], list[InvalidValue]] = {}
    found: dict[tuple[str, str], list[str]] = {}  # (where, problem) → devices
    for start in range(0, len(macs), BATCH):
        for record in fetch_devices(connection, macs[start : start + BATCH]).values():
            key = (
                record.account,
                record.pinned_zone,
                json.dumps(record.settings, sort_keys=True, default=str),
            )
            problems = answers.get(key)
            if problems is None:
                problems = answers[key] = settings_problems(estate, record)
            for problem in problems:
                found.setdefault((problem.where, problem.message), []).append(record.mac)
    return [
        InvalidValue(where, f"{message} ({_devices(devices)})")
        for (where, message), devices in found.items()
    ]


def _devices(macs: list[str]) -> str:
    macs = sorted(macs)
    if len(macs) == 1:
        return f"device {macs[0]}"
    return f"devices {macs[0]} and {len(macs) - 1} more"
