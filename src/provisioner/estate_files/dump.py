"""Writing the stored estate as an estate file that loads back into the same estate.

The dump holds secrets (provisioning and SIP passwords), by default encrypted with the
database's current key (`storage.secrets`), so it loads back where that key is set; in
clear only when asked (`plaintext_secrets`). With no key set, only a dump in clear can be
written, and only when asked. It is a backup: keep it as one.
Devices are streamed account by account, so dumping a large estate does not hold every
device in memory twice. Operators' templates are written under their owner (cluster,
partner or account) as ``templates``, each source as a YAML literal block where it can be
one (else quoted), so `load` restores the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.secrets import KEY_FILE_VARIABLE, KEY_VARIABLE, SecretError
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


# (stored value, where) → the value the dump writes
Secret = Callable[[str, str], str]


def _device(device: models.Device, secret: Secret) -> dict[str, Any]:
    where = f"device {device.mac}"
    return _without_empty(
        {
            "mac": device.mac,
            "vendor": device.vendor,
            "model": device.model,
            "zone": device.zone.name if device.zone else None,
            "provisioning_user": device.provisioning_user,
            "provisioning_password": secret(device.provisioning_password, where),
            "settings": device.settings,
            "lines": [
                {
                    "index": line.index,
                    "sip_user": line.sip_user,
                    "auth_name": line.auth_name,
                    "password": secret(line.password, f"{where} line {line.index}"),
                    "display_name": line.display_name,
                    "label": line.label,
                }
                for line in device.lines
            ],
        }
    )


def _accounts(session: Session, templates: Templates, secret: Secret) -> Iterator[dict[str, Any]]:
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
                "devices": [_device(device, secret) for device in devices],
            }
        )
        session.expunge_all()


def dump_estate(database: Database, out: TextIO, *, plaintext_secrets: bool = False) -> None:
    """Write the whole estate to `out` as YAML, its secrets encrypted with the current key
    (or in clear with `plaintext_secrets`). Raises `SecretError` before writing anything
    when there are secrets to write, no key and no `plaintext_secrets`."""
    keyring = database.keyring
    secret: Secret = keyring.decrypt if plaintext_secrets else keyring.reencrypt
    with database.read() as session:
        has_secrets = session.scalar(select(models.Device.id).limit(1)) is not None
        if not plaintext_secrets and not keyring.encrypts and has_secrets:
            raise SecretError(
                f"no secret key is set ({KEY_VARIABLE} or {KEY_FILE_VARIABLE}), so the "
                "dump's passwords cannot be encrypted: set a key, or pass "
                "--plaintext-secrets to write them in clear"
            )
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
        if plaintext_secrets:
            out.write(
                "# Provisioner estate file. It holds passwords IN CLEAR: keep it as you keep "
                "backups.\n"
            )
        elif keyring.current is not None:
            out.write(
                "# Provisioner estate file. Its passwords are encrypted with key "
                f"{keyring.current.id}: it loads where that key is set.\n"
            )
        else:
            out.write("# Provisioner estate file (no device, so no password).\n")
        out.write(yaml.dump(head, Dumper=_Dumper, sort_keys=False, allow_unicode=True))
        out.write("accounts:\n")
        wrote_any = False
        for account in _accounts(session, templates, secret):
            out.write(yaml.dump([account], Dumper=_Dumper, sort_keys=False, allow_unicode=True))
            wrote_any = True
        if not wrote_any:
            out.write("  []\n")
