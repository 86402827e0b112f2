"""Moving a device to another account: the one way a stored phone changes customer.

A load refuses to move a device (`estate_files.load`); `move_device` does it on purpose,
as a load of that one device under its new account, so that everything a load checks
(the account's cluster and zones, the settings rules, the DNS zones, operator templates)
holds after the move too, and the change is recorded in the history as a move.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from provisioner.domain.errors import InvalidValue, NotFound
from provisioner.domain.mac import normalise_mac
from provisioner.estate_files.load import load_estate_file
from provisioner.estate_files.schema import EstateFile
from provisioner.storage import models
from provisioner.storage.database import Database


@dataclass(frozen=True)
class Moved:
    mac: str
    from_account: str
    to_account: str
    change_id: int
    unpinned: str | None  # the zone the device was pinned to, if the move dropped the pin

    def summary(self) -> str:
        unpinned = f", unpinned from zone {self.unpinned}" if self.unpinned else ""
        return (
            f"moved device {self.mac} from account {self.from_account} to account "
            f"{self.to_account}{unpinned} (change {self.change_id})"
        )


def move_device(database: Database, mac: str, to_account: str, *, unpin: bool = False) -> Moved:
    """Give the device `mac` to the account `to_account`, in one transaction.

    A device pinned to a zone keeps its pin when the new account is on the same cluster;
    on another cluster the move is refused unless `unpin` drops the pin. Raises
    `NotFound` for an unknown device or account, `InvalidValue` / `EstateErrors` when the
    move is refused; nothing is changed then.
    """
    try:
        mac = normalise_mac(mac)
    except ValueError as error:
        raise InvalidValue("MAC", str(error)) from None
    with database.read() as session:
        device = session.scalar(select(models.Device).where(models.Device.mac == mac))
        if device is None:
            raise NotFound("device", mac)
        account = session.scalar(select(models.Account).where(models.Account.name == to_account))
        if account is None:
            raise NotFound("account", to_account)
        from_account = device.account.name
        if device.account_id == account.id:
            raise InvalidValue(f"device {mac}", f"is already on account {to_account}")
        pin = device.zone
        leaves_pin = pin is not None and pin.cluster_id != account.cluster_id
        if leaves_pin and not unpin:
            assert pin is not None
            raise InvalidValue(
                f"device {mac} › zone",
                f"pinned to zone {pin.name} of cluster {pin.cluster.name}; account "
                f"{to_account} is on cluster {account.cluster.name}: move it with --unpin "
                "(it is then located as any other phone of its new account)",
            )
        unpinned = pin.name if leaves_pin and pin is not None else None
    device_entry: dict[str, object] = {"mac": mac}
    if unpinned is not None:
        device_entry["zone"] = None
    estate = EstateFile.model_validate(
        {"accounts": [{"name": to_account, "devices": [device_entry]}]}
    )
    result = load_estate_file(
        database,
        estate,
        source=f"move device {mac}",
        allow_moves=True,
        summary=f"move device {mac} from account {from_account} to account {to_account}",
    )
    return Moved(mac, from_account, to_account, result.change_id, unpinned)
