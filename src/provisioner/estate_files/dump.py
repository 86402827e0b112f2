"""Writing the stored estate as an estate file that loads back into the same estate.

The dump holds secrets (provisioning and SIP passwords): it is a backup, keep it as one.
Devices are streamed account by account, so dumping a large estate does not hold every
device in memory twice. Operators' templates are written under their owner (cluster,
partner or account) as ``templates``, each source as a YAML literal block where it can be
one (else quoted), so `load` restores the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TextIO

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.template_overrides import Override, overrides_of

# (layer, owner) → its templates, as estate-file entries
Templates = dict[tuple[str, str], list[dict[str, Any]]]

# Strings a YAML 1.2 reader could take for something else (numbers, booleans, null) are
# always written in quotes, so `load` gets back exactly what was dumped.
_AMBIGUOUS = re.compile(r"[-+.0-9~]|(true|false|yes|no|on|off|null|y|n)$|.*[:#]", re.IGNORECASE)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if not text or _AMBIGUOUS.match(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_text)


class _Source(str):
    """A template's source: written as a literal block (``|``) when YAML allows it."""

    __slots__ = ()


def _represent_source(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # The emitter falls back to a quoted scalar when a literal block cannot hold the text
    # (trailing spaces on a line, some control characters): either loads back the same.
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style="|")


_Dumper.add_representer(_Source, _represent_source)


def _templates(overrides: list[Override]) -> Templates:
    found: Templates = {}
    for override in overrides:
        entry: dict[str, Any] = {
            "vendor": override.vendor,
            "kind": override.kind,
            "source": _Source(override.source),
        }
        if not override.enabled:
            entry["enabled"] = False
        found.setdefault((override.layer, override.owner), []).append(entry)
    return found


def _without_empty(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if value not in (None, {}, [])}


def _cluster(cluster: models.Cluster, templates: Templates) -> dict[str, Any]:
    return _without_empty(
        {
            "name": cluster.name,
            "kind": cluster.kind,
            "domain": cluster.domain,
            "default_zone": cluster.default_zone.name if cluster.default_zone else None,
            "settings": cluster.settings,
            "media_servers": [
                _without_empty(
                    {
                        "name": server.name,
                        "addresses": list(server.addresses),
                        "latitude": server.latitude,
                        "longitude": server.longitude,
                        "ports": {
                            "udp": server.udp_port,
                            "tcp": server.tcp_port,
                            "tls": server.tls_port,
                        },
                    }
                )
                for server in cluster.media_servers
            ],
            "zones": [
                {
                    "name": zone.name,
                    "proxy_label": zone.proxy_label,
                    "latitude": zone.latitude,
                    "longitude": zone.longitude,
                    "media_servers": "nearest"
                    if zone.media_order == "nearest"
                    else [link.media_server.name for link in zone.media_server_links],
                    "srv_weight": zone.srv_weight,
                    "ttl": zone.ttl,
                    "transports": list(zone.transports),
                }
                for zone in cluster.zones
            ],
            "zone_rules": [
                {"network": rule.network, "zone": rule.zone.name} for rule in cluster.zone_rules
            ],
            "country_zones": {entry.country: entry.zone.name for entry in cluster.country_zones},
            "templates": templates.get(("cluster", cluster.name)),
            "partners": [
                _without_empty(
                    {
                        "name": partner.name,
                        "domain": partner.domain,
                        "settings": partner.settings,
                        "templates": templates.get(("partner", partner.name)),
                    }
                )
                for partner in cluster.partners
            ],
        }
    )


def _device(device: models.Device) -> dict[str, Any]:
    return _without_empty(
        {
            "mac": device.mac,
            "vendor": device.vendor,
            "model": device.model,
            "zone": device.zone.name if device.zone else None,
            "provisioning_user": device.provisioning_user,
            "provisioning_password": device.provisioning_password,
            "settings": device.settings,
            "lines": [
                {
                    "index": line.index,
                    "sip_user": line.sip_user,
                    "auth_name": line.auth_name,
                    "password": line.password,
                    "display_name": line.display_name,
                    "label": line.label,
                }
                for line in device.lines
            ],
        }
    )


def _accounts(session: Session, templates: Templates) -> Iterator[dict[str, Any]]:
    accounts = session.scalars(
        select(models.Account)
        .order_by(models.Account.name)
        .options(
            selectinload(models.Account.cluster),
            selectinload(models.Account.partner),
            selectinload(models.Account.zone),
        )
    ).all()
    for account in accounts:
        devices = session.scalars(
            select(models.Device)
            .where(models.Device.account_id == account.id)
            .order_by(models.Device.mac)
            .options(selectinload(models.Device.lines), selectinload(models.Device.zone))
        ).all()
        yield _without_empty(
            {
                "name": account.name,
                "cluster": account.cluster.name,
                "partner": account.partner.name if account.partner else None,
                "sip_domain": account.sip_domain,
                "zone": account.zone.name if account.zone else None,
                "settings": account.settings,
                "templates": templates.get(("account", account.name)),
                "devices": [_device(device) for device in devices],
            }
        )
        session.expunge_all()


def dump_estate(database: Database, out: TextIO) -> None:
    """Write the whole estate to `out` as YAML."""
    with database.read() as session:
        global_row = session.get(models.GlobalSettings, 1)
        clusters = session.scalars(
            select(models.Cluster)
            .order_by(models.Cluster.name)
            .options(
                selectinload(models.Cluster.media_servers),
                selectinload(models.Cluster.partners),
                selectinload(models.Cluster.zones)
                .selectinload(models.Zone.media_server_links)
                .selectinload(models.ZoneMediaServer.media_server),
                selectinload(models.Cluster.default_zone),
                selectinload(models.Cluster.zone_rules).selectinload(models.ZoneRule.zone),
                selectinload(models.Cluster.country_zones).selectinload(models.CountryZone.zone),
            )
        ).all()
        templates = _templates(overrides_of(session))
        head: dict[str, Any] = {}
        if global_row and global_row.settings:
            head["settings"] = global_row.settings
        head["clusters"] = [_cluster(cluster, templates) for cluster in clusters]
        out.write("# Provisioner estate file. It holds passwords: keep it as you keep backups.\n")
        out.write(yaml.dump(head, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
        out.write("accounts:\n")
        wrote_any = False
        for account in _accounts(session, templates):
            out.write(yaml.dump([account], Dumper=_Dumper, sort_keys=False, allow_unicode=True))
            wrote_any = True
        if not wrote_any:
            out.write("  []\n")
