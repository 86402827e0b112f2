"""Reading one device for the phones' routes: its record and its digest HA1s, in one
indexed query. An unknown MAC costs the same work — the same query, and two hashes of a
random password — so timing does not tell which MACs exist."""

from __future__ import annotations

import secrets

from provisioner.storage.database import Database
from provisioner.storage.device_lookup import fetch_device
from provisioner.web.config_cache import DeviceEntry
from provisioner.web.digest import ha1_all


def lookup_device(database: Database, mac: str, realm: str) -> DeviceEntry:
    """The device with `mac`, or an entry with no record that no credentials match."""
    with database.engine.connect() as connection:
        record = fetch_device(connection, mac)
    if record is None:
        return DeviceEntry(None, mac, ha1_all(mac, realm, secrets.token_hex(16)))
    user = record.provisioning_user
    return DeviceEntry(record, user, ha1_all(user, realm, record.provisioning_password))
