"""The records to publish now: the estate read from the database, validated, with the
serials of its change. Everything that publishes DNS (the server, `dns zone`, `dns export`,
the PowerDNS push) starts here."""

from __future__ import annotations

from provisioner.dns.records import DnsOptions, DnsRecords, build_records, zone_sources
from provisioner.dns.serials import publish_serials
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_estate


def current_records(database: Database, options: DnsOptions | None = None) -> DnsRecords:
    """The validated records of the latest change, serials assigned and stored.

    Raises `EstateErrors` (and stores nothing) when the estate cannot be published.
    """
    with database.read() as session:
        estate = load_estate(session)
    build_records(estate, options=options)  # validate before any serial moves
    domains = [source.domain for source in zone_sources(estate)]
    serials = publish_serials(database, domains, estate.change_id)
    return build_records(estate, serials, options)
