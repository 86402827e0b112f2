"""Writing the zones for real DNS servers: one BIND-format file per domain, and snippets
that make Knot, NSD or BIND either serve those files as primary or follow this server
as secondaries (AXFR from it, NOTIFY accepted from it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from provisioner.dns.records import DnsRecords


def zone_file_name(domain: str) -> str:
    return f"{domain}.zone"


def _write(path: Path, text: str) -> Path:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8"
    ) as handle:
        handle.write(text)
        temporary = Path(handle.name)
    os.chmod(temporary, 0o644)
    temporary.replace(path)
    return path


def knot_snippet(records: DnsRecords, directory: Path, primary: str) -> str:
    address, _, port = primary.partition("@")
    lines = [
        "# Knot: include from knot.conf. Either serve the exported files as primary",
        "# (template provisioner-files), or follow Provisioner as a secondary",
        "# (template provisioner-secondary): pick one per zone below.",
        "remote:",
        "  - id: provisioner",
        f"    address: {address}@{port or 53}",
        "acl:",
        "  - id: provisioner-notify",
        f"    address: {address}",
        "    action: notify",
        "template:",
        "  - id: provisioner-files",
        f"    storage: {directory.resolve()}",
        "    file: %s.zone",
        "  - id: provisioner-secondary",
        "    master: provisioner",
        "    acl: provisioner-notify",
        "zone:",
    ]
    for domain in records.domains:
        lines.append(f"  - domain: {domain}")
        lines.append("    template: provisioner-files")
    return "\n".join(lines) + "\n"


def nsd_snippet(records: DnsRecords, directory: Path, primary: str) -> str:
    address, _, port = primary.partition("@")
    lines = [
        "# NSD: include from nsd.conf. Serves the exported files; to follow Provisioner",
        "# as a secondary instead, drop zonefile and keep request-xfr and allow-notify.",
    ]
    for domain in records.domains:
        lines += [
            "zone:",
            f"    name: {domain}",
            f"    zonefile: {directory.resolve() / zone_file_name(domain)}",
            f"    # request-xfr: {address}@{port or 53} NOKEY",
            f"    # allow-notify: {address} NOKEY",
        ]
    return "\n".join(lines) + "\n"


def bind_snippet(records: DnsRecords, directory: Path, primary: str) -> str:
    address, _, port = primary.partition("@")
    lines = [
        "// BIND: include from named.conf. Serves the exported files; to follow",
        "// Provisioner as a secondary use the commented form instead.",
    ]
    for domain in records.domains:
        lines += [
            f'zone "{domain}" {{',
            "    type primary;",
            f'    file "{directory.resolve() / zone_file_name(domain)}";',
            "};",
            f'// zone "{domain}" {{ type secondary; primaries port {port or 53} '
            f"{{ {address}; }}; }};",
        ]
    return "\n".join(lines) + "\n"


def export_zones(records: DnsRecords, directory: Path, primary: str) -> list[Path]:
    """Write every zone file and the three snippets; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [
        _write(directory / zone_file_name(zone.domain), zone.to_text()) for zone in records.zones
    ]
    written.append(_write(directory / "knot.conf", knot_snippet(records, directory, primary)))
    written.append(_write(directory / "nsd.conf", nsd_snippet(records, directory, primary)))
    written.append(_write(directory / "named.conf", bind_snippet(records, directory, primary)))
    return written
