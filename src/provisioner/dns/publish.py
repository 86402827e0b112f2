"""The records to publish now: the estate read from the database, validated, with the
serials of its change. Everything that publishes DNS (the server, `dns zone`, `dns export`,
the PowerDNS push) starts here."""

from __future__ import annotations

from provisioner.dns.records import DnsOptions, DnsRecords, build_records, zone_sources
from provisioner.dns.serials import StaleChange, publish_serials
from provisioner.storage.database import Database, DatabaseError
from provisioner.storage.snapshot import load_estate

READ_ATTEMPTS = 5


def current_records(database: Database, options: DnsOptions | None = None) -> DnsRecords:
    """The validated records of the latest change, serials assigned and stored.

    Raises `EstateErrors` (and stores nothing) when the estate cannot be published.
    """
    for _attempt in range(READ_ATTEMPTS):
        with database.read() as session:
            estate = load_estate(session)
        build_records(estate, options=options)  # validate before any serial moves
        domains = [source.domain for source in zone_sources(estate)]
        try:
            serials = publish_serials(database, domains, estate.change_id)
        except StaleChange:
            continue  # another change landed meanwhile and is published: read it
        return build_records(estate, serials, options)
    raise DatabaseError("DNS: the estate kept changing while its serials were published")
