"""Shared by the DNS tests: the demo estate as value objects, and small estate changes."""

from __future__ import annotations

import dataclasses

from provisioner.domain.estate import Estate
from provisioner.estate_files.load import load_estate_file, read_estate_file
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_estate


def estate_of(database: Database) -> Estate:
    with database.read() as session:
        return load_estate(session)


def move_media_server(database: Database, address: str, name: str = "ms1") -> int:
    """Give the hosted cluster's media server `name` a new address; the change's id."""
    text = f"""
clusters:
  - name: hosted
    kind: hosted
    domain: p.example.net
    media_servers:
      - name: {name}
        addresses: [{address}]
"""
    return load_estate_file(database, read_estate_file(text, "test")).change_id


def replace_zone(estate: Estate, cluster: str, zone: str, **changes: object) -> Estate:
    """The estate with one zone's fields replaced."""
    clusters = []
    for each in estate.clusters:
        if each.name == cluster:
            zones = tuple(
                dataclasses.replace(z, **changes) if z.name == zone else z for z in each.zones
            )
            each = dataclasses.replace(each, zones=zones)
        clusters.append(each)
    return dataclasses.replace(estate, clusters=tuple(clusters))
