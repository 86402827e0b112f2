"""Pushing the zones to PowerDNS through its HTTP API, idempotently.

For every zone we publish: create it if PowerDNS does not have it (kind Native, SOA-EDIT-API
off so our serial stays ours); then replace every record set whose content differs and
delete the record sets we created before that are gone now. Record sets we own carry the
comment ``managed by provisioner`` (account ``provisioner``); anything else in the zone —
added by hand — is left alone. A push with nothing new changes nothing. The API key goes
in a header and never into logs or errors.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import dns.rdatatype

from provisioner.dns.records import DnsRecords, DnsZone
from provisioner.domain.errors import ProvisionerError

log = logging.getLogger(__name__)

OWNER = "provisioner"
MARK = "managed by provisioner"
TIMEOUT_SECONDS = 30


class PowerDnsError(ProvisionerError):
    pass


@dataclass
class PushResult:
    created: list[str] = field(default_factory=list)  # zones
    replaced: int = 0  # record sets
    deleted: int = 0
    unchanged: int = 0

    def summary(self) -> str:
        zones = f"zones created: {', '.join(self.created)}; " if self.created else ""
        return (
            f"{zones}record sets replaced {self.replaced}, deleted {self.deleted}, "
            f"unchanged {self.unchanged}"
        )


class PowerDnsApi:
    """The few calls of the PowerDNS Authoritative HTTP API (v1) a push needs."""

    def __init__(self, url: str, key: str, server_id: str = "localhost") -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PowerDnsError(f"--api: {url!r} is not an http:// or https:// URL")
        base = url.rstrip("/")
        if not base.endswith("/api/v1"):
            base += "/api/v1"
        self.base = f"{base}/servers/{urllib.parse.quote(server_id)}"
        self._key = key

    def call(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-API-Key": self._key, "Accept": "application/json"}
            | ({"Content-Type": "application/json"} if body is not None else {}),
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404 and method == "GET":
                return None
            detail = error.read().decode(errors="replace")[:300]
            raise PowerDnsError(
                f"PowerDNS {method} {self.base + path}: HTTP {error.code} {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PowerDnsError(f"PowerDNS at {self.base}: {reason}") from None
        return json.loads(text) if text else None


def _rrsets(zone: DnsZone) -> dict[tuple[str, str], dict[str, Any]]:
    """Our record sets in the API's shape, by (name, type)."""
    wanted = {}
    for rrset in zone.rrsets():
        name = rrset.name.to_text()
        rdtype = dns.rdatatype.to_text(rrset.rdtype)
        wanted[(name, rdtype)] = {
            "name": name,
            "type": rdtype,
            "ttl": rrset.ttl,
            "records": sorted(
                ({"content": rdata.to_text(), "disabled": False} for rdata in rrset),
                key=lambda record: record["content"],
            ),
            "comments": [{"content": MARK, "account": OWNER}],
        }
    return wanted


def _owned(rrset: dict[str, Any]) -> bool:
    return any(comment.get("account") == OWNER for comment in rrset.get("comments", []))


def _same(ours: dict[str, Any], theirs: dict[str, Any]) -> bool:
    def contents(rrset: dict[str, Any]) -> list[str]:
        return sorted(record["content"].lower() for record in rrset.get("records", []))

    return (
        ours["ttl"] == theirs.get("ttl") and contents(ours) == contents(theirs) and _owned(theirs)
    )


def push_zone(api: PowerDnsApi, zone: DnsZone, result: PushResult) -> None:
    zone_id = "/zones/" + urllib.parse.quote(zone.origin.to_text())
    wanted = _rrsets(zone)
    current = api.call("GET", zone_id)
    if current is None:
        api.call(
            "POST",
            "/zones",
            {
                "name": zone.origin.to_text(),
                "kind": "Native",
                "nameservers": [],
                "soa_edit_api": "",
                "account": OWNER,
                "rrsets": list(wanted.values()),
            },
        )
        result.created.append(zone.domain)
        current = api.call("GET", zone_id) or {"rrsets": []}
    theirs = {(r["name"], r["type"]): r for r in current.get("rrsets", [])}
    changes = []
    for key, rrset in wanted.items():
        if key in theirs and _same(rrset, theirs[key]):
            result.unchanged += 1
            continue
        changes.append({**rrset, "changetype": "REPLACE"})
        result.replaced += 1
    for key, rrset in theirs.items():
        if key not in wanted and _owned(rrset):
            changes.append({"name": key[0], "type": key[1], "changetype": "DELETE"})
            result.deleted += 1
    if changes:
        api.call("PATCH", zone_id, {"rrsets": changes})
        log.info("PowerDNS: %s: %d record sets changed", zone.domain, len(changes))


def push_to_powerdns(
    records: DnsRecords, url: str, key: str, server_id: str = "localhost"
) -> PushResult:
    """Make PowerDNS hold exactly our record sets in each of our zones."""
    api = PowerDnsApi(url, key, server_id)
    result = PushResult()
    for zone in records.zones:
        push_zone(api, zone, result)
    return result
