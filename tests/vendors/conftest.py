"""The demo estate's devices as vendor profiles see them."""

from __future__ import annotations

import pytest

from provisioner.domain.effective import device_config
from provisioner.domain.estate import DeviceConfig
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device, load_estate

DEMO_MACS = {
    "yealink": "001565a00001",
    "poly": "0004f2a00002",
    "cisco": "00562ba00003",
    "grandstream": "000b82a00004",
    "snom": "000413a00005",
    "fanvil": "0c383ea00006",
}


@pytest.fixture
def demo_configs(demo_database: Database) -> dict[str, DeviceConfig]:
    """vendor → the demo device's config (pinned or default zone)."""
    configs = {}
    with demo_database.read() as session:
        estate = load_estate(session)
        for vendor, mac in DEMO_MACS.items():
            record = load_device(session, mac)
            assert record is not None
            configs[vendor] = device_config(estate, record)
    return configs
