"""Applying an estate file to the database: all of it in one transaction, or nothing.

The file is parsed and validated first; an entry with a problem is set aside and the rest
is applied on top of what is stored, and the result is checked as a whole (references
between clusters, zones, partners, accounts and devices, duplicate MACs, the settings
rules, the DNS zones) before anything is committed: every problem of the file (parse,
schema, references, rules, DNS) comes back in one report, each naming its entry and field,
and one problem means nothing is changed. (Only a file that is not YAML at all stops at
the first.) A value of the wrong YAML type (``sip_user: 0100`` unquoted is a number) is
refused naming the field and the value as written, with its quoted form.

Moves and renames are explicit. A load that would give a stored device (by MAC) to another
account, or change a stored cluster's or partner's DNS domain, is refused naming both
accounts (or the old and the new domain) and how many phones it reaches, unless the load
is told so (`allow_moves`, `allow_domain_change`: `provisioner load --allow-moves`,
``--allow-domain-change``). Moving one device is `move_device` (`provisioner move device`). Devices go in by bulk statements, so 100,000 of them load in
seconds; `progress` is told how many devices are done.

An owner's ``templates`` (a cluster's, partner's or account's operator templates), when
given, replace its stored ones (``templates: []`` removes them); left out, the stored ones
stay. A template that is new or changed is tried, after everything else is applied, on the
devices it reaches, as `provisioner templates set` tries it: one that fails or whose file
loses the device's lines is an error of the file, naming the template's entry.

Secrets (provisioning and SIP passwords) are stored encrypted with the database's key
(`storage.secrets`) when it has one, else as given. A secret the file gives encrypted (a
default dump's) must decrypt with that keyring; it is kept as it is when it is under the
current key (so dump → load → dump gives the same file), else encrypted again under it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import yaml
import yaml_rs
from pydantic import ValidationError
from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from provisioner.dns.records import build_records
from provisioner.domain.errors import EstateErrors, InvalidValue
from provisioner.estate_files.schema import (
    POSITION,
    AccountEntry,
    ClusterEntry,
    DeviceEntry,
    EstateFile,
    Listed,
    TemplateEntry,
    ZoneEntry,
    plain_secret_problem,
)
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.secrets import Keyring, SecretError, is_encrypted
from provisioner.storage.settings_check import check_devices
from provisioner.storage.snapshot import load_estate
from provisioner.storage.template_overrides import Override, try_override

Progress = Callable[[int, int], None]  # (devices done, devices in the file)

_CHUNK = 1000
_WHOLE_TABLE_FROM = 5000  # devices in a file from which existing ids are read in one pass


@dataclass
class LoadResult:
    change_id: int
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)  # templates left out of a given list
    moved: dict[str, int] = field(default_factory=dict)  # devices given to another account

    def summary(self) -> str:
        """``created 6 devices, 7 lines; updated 2 clusters; removed 1 template``."""
        parts = []
        for verb, counts in (
            ("created", self.created),
            ("updated", self.updated),
            ("removed", self.removed),
            ("moved", self.moved),
        ):
            named = [
                f"{number} {kind.removesuffix('s') if number == 1 and kind != 'global settings' else kind}"
                for kind, number in counts.items()
                if number
            ]
            if named:
                parts.append(f"{verb} {', '.join(named)}")
        return "; ".join(parts) if parts else "nothing to change"


# --- reading and validating the file ---


def read_estate_file(text: str, source: str = "estate file") -> EstateFile:
    """Parse YAML text and validate its shape; raises `EstateErrors` naming every problem."""
    estate, problems = parse_estate_file(text, source)
    if problems or estate is None:
        raise EstateErrors(problems)
    return estate


# The entries a problem sets aside: the innermost of these lists that holds it.
_ENTRY_LISTS = {"clusters", "media_servers", "zones", "partners", "accounts", "devices"}


def parse_estate_file(
    text: str, source: str = "estate file"
) -> tuple[EstateFile | None, list[InvalidValue]]:
    """Parse YAML text and validate its shape: the file without the entries that have a
    problem (None if it is not YAML, or not a mapping), and every problem found.

    YAML 1.2 (yaml-rs, a Rust parser: 20x faster than PyYAML on large files, and it
    refuses duplicate keys and alias bombs).
    """
    try:
        raw = yaml_rs.loads(text, parse_datetime=False)
    except yaml_rs.YAMLDecodeError as error:
        return None, [InvalidValue(source, f"not valid YAML: {error}")]
    if raw is None:
        raw = {}
    problems: list[InvalidValue] = []
    written = _WrittenValues(text)
    for _attempt in range(5):  # each pass sets aside what the one before found
        try:
            if _attempt == 0:
                return EstateFile.model_validate(raw), problems
            estate = EstateFile.model_validate(_without_positions(raw))
            _copy_positions(raw, estate, estate._positions)
            return estate, problems
        except ValidationError as error:
            items = error.errors()
            problems.extend(
                InvalidValue(_where(raw, item["loc"]), _message(item, written)) for item in items
            )
            if _attempt == 0:
                _mark_positions(raw)
            if not _set_aside(raw, [item["loc"] for item in items]):
                return None, problems
            written.locs_changed()
    return None, problems


def _mark_positions(node: Any, in_entry_list: bool = False) -> None:
    """Write each entry's position into it (`schema.POSITION`) before entries are set
    aside, so that the others keep the positions they have in the file."""
    if isinstance(node, dict):
        for key, value in node.items():
            _mark_positions(value, key in _ENTRY_LISTS)
    elif isinstance(node, list) and in_entry_list:
        for position, item in enumerate(node):
            if isinstance(item, dict):
                item[POSITION] = position
                _mark_positions(item)


def _without_positions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_positions(v) for k, v in node.items() if k != POSITION}
    if isinstance(node, list):
        return [_without_positions(item) for item in node]
    return node


def _copy_positions(raw: Any, entry: Any, positions: dict[int, int]) -> None:
    """Give the entries validated after some were set aside their positions in the file."""
    if not isinstance(raw, dict):
        return
    for name in _ENTRY_LISTS:
        given, entries = raw.get(name), getattr(entry, name, None)
        if isinstance(given, list) and isinstance(entries, list):
            for raw_item, item in zip(given, entries, strict=False):
                if isinstance(item, Listed) and isinstance(raw_item, dict):
                    if isinstance(raw_item.get(POSITION), int):
                        positions[id(item)] = raw_item[POSITION]
                    _copy_positions(raw_item, item, positions)


def _set_aside(raw: Any, locs: list[Sequence[Any]]) -> bool:
    """Remove from `raw` each entry (or top-level field) a problem is in; False if none
    can be (the file is not a mapping)."""
    if not isinstance(raw, dict):
        return False
    cuts: dict[tuple[Any, ...], None] = {}
    for loc in locs:
        cut: tuple[Any, ...] = tuple(loc[:1])
        for position, step in enumerate(loc):
            if isinstance(step, int) and position and loc[position - 1] in _ENTRY_LISTS:
                cut = tuple(loc[: position + 1])
        if cut:
            cuts[cut] = None
    # The deepest and last first, so that an index still means the same entry.
    for cut in sorted(
        cuts, key=lambda path: [str(len(path))] + [str(p).zfill(12) for p in path], reverse=True
    ):
        node = raw
        for step in cut[:-1]:
            node = node[step] if isinstance(node, list | dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node.pop(cut[-1], None)
        elif isinstance(node, list) and isinstance(cut[-1], int) and cut[-1] < len(node):
            del node[cut[-1]]
    return bool(cuts)


class _WrittenValues:
    """Scalars as the file writes them (``0100``, not the number 100), read only when a
    problem needs one: the file is composed (not loaded) by PyYAML once, on demand. Once
    entries are set aside, positions in the loaded data no longer match the file's."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.root: Any = None
        self.composed = False
        self.usable = True

    def locs_changed(self) -> None:
        self.usable = False

    def at(self, loc: Sequence[Any]) -> str | None:
        if not self.usable:
            return None
        if not self.composed:
            self.composed = True
            try:
                self.root = yaml.compose(
                    self.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
                )
            except yaml.YAMLError:
                self.root = None
        node = self.root
        for step in loc:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == str(step)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                node = node.value[step] if step < len(node.value) else None
            else:
                return None
        if isinstance(node, yaml.ScalarNode) and not node.style:
            return str(node.value)
        return None


def _message(item: Any, written: _WrittenValues | None = None) -> str:
    message = str(item["msg"]).removeprefix("Value error, ")
    kind, value = item["type"], item.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required"
    as_written = written.at(item["loc"]) if written is not None else None
    if kind == "string_type" and isinstance(value, bool | int | float):
        token = as_written or (str(value).lower() if isinstance(value, bool) else str(value))
        what = "true or false" if isinstance(value, bool) else "a number"
        return f'{what}; write it quoted ("{token}") if it is text'
    if kind in ("int_type", "float_type", "bool_type") and isinstance(value, str):
        return f"text where {_WANTED[kind]} is meant; write it without quotes if it is one"
    if kind in ("int_type", "bool_type") and isinstance(value, float | int):
        return f"{as_written or value} is not {_WANTED[kind]}"
    return message


_WANTED = {"int_type": "a whole number", "float_type": "a number", "bool_type": "true or false"}


def _where(raw: Any, loc: Sequence[Any]) -> str:
    """``('accounts', 0, 'devices', 3, 'mac')`` → ``accounts[0] acme › devices[3] 0015… › mac``."""
    parts: list[str] = []
    node = raw
    for step in loc:
        if isinstance(step, int) and parts:
            item = node[step] if isinstance(node, list) and step < len(node) else None
            key = None
            if isinstance(item, dict):
                key = item.get("name", item.get("mac", item.get("index")))
                if key is None and "vendor" in item:  # a template: ``yealink device``
                    key = f"{item['vendor']} {item.get('kind', '')}".strip()
            if isinstance(item, dict):
                step = item.get(POSITION, step)
            parts[-1] += f"[{step}]" + (f" {key}" if key is not None else "")
            node = item
        else:
            parts.append(str(step))
            node = node.get(step) if isinstance(node, dict) else None
    return " › ".join(parts)


# --- applying it ---


class _Abandoned(Exception):
    """The database refused a flush after problems were found: they are the cause."""


class _Loader:
    def __init__(
        self,
        session: Session,
        progress: Progress | None,
        keyring: Keyring,
        *,
        allow_moves: bool = False,
        allow_domain_change: bool = False,
    ) -> None:
        self.session = session
        self.allow_moves = allow_moves
        self.allow_domain_change = allow_domain_change
        # an entry's position in the file (`EstateFile.position`), once `apply` has the file
        self.position: Callable[[Any, int], int] = lambda _entry, default: default
        self.progress = progress
        self.keyring = keyring
        self.errors: list[InvalidValue] = []
        self.result = LoadResult(change_id=0)
        # (where, layer, owner row, the given list): applied once every owner has an id
        self.templates: list[tuple[str, str, Any, list[TemplateEntry]]] = []
        self.templates_to_try: list[tuple[str, Override]] = []  # (where, new or changed)

    def count(self, kind: str, created: bool, n: int = 1) -> None:
        target = self.result.created if created else self.result.updated
        target[kind] = target.get(kind, 0) + n

    def error(self, where: str, message: str) -> None:
        self.errors.append(InvalidValue(where, message))

    def stored_secret(self, where: str, field_name: str, value: str) -> str:
        """The stored form of a secret the file gives (plain, or encrypted by a dump)."""
        if not is_encrypted(value):
            return self.keyring.encrypt(value)
        try:
            plain = self.keyring.decrypt(value)
        except SecretError as error:
            self.error(where, str(error))
            return value
        problem = plain_secret_problem(field_name, plain)
        if problem is not None:
            self.error(where, f"decrypted, it {problem}" if problem[:1].islower() else problem)
            return value
        return value if self.keyring.is_current(value) else self.keyring.encrypt(plain)

    def flush(self) -> None:
        """Flush to get ids and free unique keys. Once a problem is found the transaction
        is going to be rolled back, but the rest of the file is still applied and checked;
        should the database then refuse a flush, the problems found are its cause."""
        try:
            self.session.flush()
        except IntegrityError:
            if self.errors:
                raise _Abandoned() from None
            raise

    def checking(self, check: Callable[[], None]) -> None:
        """Run one of the checks of the whole estate. After a problem, the estate in the
        transaction may be one no check expects: a check that fails on it then adds nothing
        (the problems already found say what to fix first)."""
        if not self.errors:
            check()
            return
        try:
            check()
        except _Abandoned:
            raise
        except Exception:  # see the docstring
            pass

    # global

    def apply(self, estate: EstateFile) -> None:
        self.position = estate.position
        if "settings" in estate.model_fields_set:
            row = self.session.get(models.GlobalSettings, 1)
            if row is None:
                self.session.add(models.GlobalSettings(id=1, settings=estate.settings))
            else:
                row.settings = estate.settings
            self.count("global settings", row is None)
        self.clusters = {
            c.name: c
            for c in self.session.scalars(
                select(models.Cluster).options(
                    selectinload(models.Cluster.zones).selectinload(models.Zone.media_server_links),
                    selectinload(models.Cluster.media_servers),
                    selectinload(models.Cluster.partners),
                )
            )
        }
        self.partners = {p.name: p for p in self.session.scalars(select(models.Partner))}
        self.domains = {c.domain: f"cluster {c.name}" for c in self.clusters.values()}
        self.domains |= {p.domain: f"partner {p.name}" for p in self.partners.values()}
        for index, cluster_entry in enumerate(estate.clusters):
            position = self.position(cluster_entry, index)
            self.apply_cluster(f"clusters[{position}] {cluster_entry.name}", cluster_entry)
        self.flush()
        self.accounts = {a.name: a for a in self.session.scalars(select(models.Account))}
        for index, account_entry in enumerate(estate.accounts):
            position = self.position(account_entry, index)
            self.apply_account(f"accounts[{position}] {account_entry.name}", account_entry)
        self.flush()
        self.apply_devices(estate.accounts)
        self.flush()
        self.apply_templates()

    def apply_cluster(self, where: str, entry: ClusterEntry) -> None:
        given = entry.model_fields_set
        for required in ("kind", "domain"):
            if required in given and getattr(entry, required) is None:
                self.error(f"{where} › {required}", "must not be empty")
                return
        cluster = self.clusters.get(entry.name)
        created = cluster is None
        if cluster is None:
            for required in ("kind", "domain"):
                if required not in given:
                    self.error(f"{where} › {required}", "required for a new cluster")
            if "kind" not in given or "domain" not in given:
                return
            cluster = models.Cluster(name=entry.name, settings={})
            self.session.add(cluster)
            self.clusters[entry.name] = cluster
        domain_refused = (
            not created
            and entry.domain is not None
            and not self.domain_change_allowed(
                f"{where} › domain",
                f"cluster {entry.name}",
                cluster.domain,
                entry.domain,
                models.Account.cluster_id == cluster.id,
                models.Account.partner_id.is_(None),
            )
        )
        if domain_refused:
            given = given - {"domain"}
        elif entry.domain is not None and not self.claim_domain(
            f"{where} › domain", entry.domain, f"cluster {entry.name}"
        ):
            return
        for name in ("kind", "domain", "settings"):
            if name in given:
                setattr(cluster, name, getattr(entry, name))
        self.count("clusters", created)
        if "templates" in given:
            self.templates.append((where, "cluster", cluster, entry.templates))

        servers = {server.name: server for server in cluster.media_servers}
        for server_entry in entry.media_servers:
            server = servers.get(server_entry.name)
            if server is None and server_entry.addresses is None:
                self.error(
                    f"{where} › media_servers"
                    f"[{self.position(server_entry, entry.media_servers.index(server_entry))}] "
                    f"{server_entry.name} › addresses",
                    "required for a new media server",
                )
                continue
            self.count("media servers", server is None)
            if server is None:
                server = models.MediaServer(name=server_entry.name)
                cluster.media_servers.append(server)
                servers[server.name] = server
            fields = server_entry.model_fields_set
            if server_entry.addresses is not None:
                server.addresses = list(server_entry.addresses)
            if "latitude" in fields or server.latitude is None:
                server.latitude, server.longitude = server_entry.latitude, server_entry.longitude
            if "ports" in fields or server.udp_port is None:
                ports = server_entry.ports
                server.udp_port, server.tcp_port, server.tls_port = ports.udp, ports.tcp, ports.tls
        self.flush()

        zones = {zone.name: zone for zone in cluster.zones}
        for index, zone_entry in enumerate(entry.zones):
            position = self.position(zone_entry, index)
            zone_where = f"{where} › zones[{position}] {zone_entry.name}"
            self.apply_zone(zone_where, cluster, zones, servers, zone_entry)

        if entry.default_zone is not None:
            zone = zones.get(entry.default_zone)
            if zone is None:
                self.error(
                    f"{where} › default_zone", f"no zone {entry.default_zone!r} in this cluster"
                )
            else:
                cluster.default_zone = zone
        elif cluster.default_zone is None and cluster.zones:
            cluster.default_zone = cluster.zones[0]

        if "zone_rules" in given:
            cluster.zone_rules = []
            self.flush()
            for position, rule in enumerate(entry.zone_rules):
                zone = zones.get(rule.zone)
                if zone is None:
                    self.error(
                        f"{where} › zone_rules[{position}] › zone",
                        f"no zone {rule.zone!r} in this cluster",
                    )
                else:
                    cluster.zone_rules.append(models.ZoneRule(network=rule.network, zone=zone))
        if "country_zones" in given:
            cluster.country_zones = []
            self.flush()
            for country, zone_name in entry.country_zones.items():
                zone = zones.get(zone_name)
                if zone is None:
                    self.error(
                        f"{where} › country_zones › {country}",
                        f"no zone {zone_name!r} in this cluster",
                    )
                else:
                    cluster.country_zones.append(models.CountryZone(country=country, zone=zone))

        if cluster.kind != "hosted" and (cluster.partners or entry.partners):
            self.error(
                f"{where} › partners" if entry.partners else f"{where} › kind",
                f"hosted partners live only on a hosted cluster, this one is {cluster.kind}",
            )
        for index, partner_entry in enumerate(entry.partners):
            position = self.position(partner_entry, index)
            partner_where = f"{where} › partners[{position}] {partner_entry.name}"
            partner = self.partners.get(partner_entry.name)
            self.count("partners", partner is None)
            if partner is None:
                partner = models.Partner(name=partner_entry.name, settings={})
                cluster.partners.append(partner)
                self.partners[partner.name] = partner
            elif partner.cluster_id != cluster.id:
                self.error(partner_where, "this partner belongs to another cluster")
                continue
            if partner_entry.domain is None:
                if partner.domain is None:
                    self.error(f"{partner_where} › domain", "required for a new partner")
            elif partner.domain is not None and not self.domain_change_allowed(
                f"{partner_where} › domain",
                f"partner {partner.name}",
                partner.domain,
                partner_entry.domain,
                models.Account.partner_id == partner.id,
            ):
                pass
            elif self.claim_domain(
                f"{partner_where} › domain", partner_entry.domain, f"partner {partner_entry.name}"
            ):
                partner.domain = partner_entry.domain
            if "settings" in partner_entry.model_fields_set:
                partner.settings = partner_entry.settings
            if "templates" in partner_entry.model_fields_set:
                self.templates.append((partner_where, "partner", partner, partner_entry.templates))

    def apply_zone(
        self,
        where: str,
        cluster: models.Cluster,
        zones: dict[str, models.Zone],
        servers: dict[str, models.MediaServer],
        entry: ZoneEntry,
    ) -> None:
        zone = zones.get(entry.name)
        if zone is None:
            missing = [
                name
                for name in ("latitude", "longitude", "media_servers")
                if getattr(entry, name) is None
            ]
            for name in missing:
                self.error(f"{where} › {name}", "required for a new zone")
            if missing:
                return
        self.count("zones", zone is None)
        if zone is None:
            zone = models.Zone(name=entry.name)
            cluster.zones.append(zone)
            zones[entry.name] = zone
        given = entry.model_fields_set
        if "proxy_label" in given or zone.proxy_label is None:
            zone.proxy_label = entry.proxy_label or entry.name
        if entry.latitude is not None and entry.longitude is not None:  # both or neither
            zone.latitude, zone.longitude = entry.latitude, entry.longitude
        for name in ("srv_weight", "ttl", "transports"):
            if name in given or getattr(zone, name) is None:
                setattr(zone, name, getattr(entry, name))
        if entry.media_servers is None:
            return  # its stored list stays
        if entry.media_servers == "nearest":
            zone.media_order = "nearest"
            zone.media_server_links = []
            if not servers:
                self.error(f"{where} › media_servers", "the cluster has no media server")
            return
        zone.media_order = "explicit"
        missing = [name for name in entry.media_servers if name not in servers]
        if missing:
            self.error(
                f"{where} › media_servers",
                f"no media server {', '.join(map(repr, missing))} in cluster {cluster.name}",
            )
            return
        if [link.media_server.name for link in zone.media_server_links] != entry.media_servers:
            zone.media_server_links = []
            self.flush()
            zone.media_server_links = [
                models.ZoneMediaServer(position=index, media_server=servers[name])
                for index, name in enumerate(entry.media_servers)
            ]

    def apply_account(self, where: str, entry: AccountEntry) -> None:
        given = entry.model_fields_set
        for required in ("cluster", "sip_domain"):
            if required in given and getattr(entry, required) is None:
                self.error(f"{where} › {required}", "must not be empty")
                return
        account = self.accounts.get(entry.name)
        created = account is None
        if account is None:
            for required in ("cluster", "sip_domain"):
                if required not in given:
                    self.error(f"{where} › {required}", "required for a new account")
            if "cluster" not in given or "sip_domain" not in given:
                return
        if entry.cluster is not None:
            found = self.clusters.get(entry.cluster)
            if found is None:
                self.error(f"{where} › cluster", f"no cluster {entry.cluster!r}")
                return
            cluster = found
        else:
            assert account is not None  # a new account names its cluster (checked above)
            cluster = account.cluster
        if account is None:
            account = models.Account(name=entry.name, settings={})
            self.session.add(account)
            self.accounts[entry.name] = account
        account.cluster = cluster
        self.count("accounts", created)
        if entry.sip_domain is not None:
            account.sip_domain = entry.sip_domain
        if "settings" in given:
            account.settings = entry.settings
        if "partner" in given:
            if entry.partner is None:
                account.partner = None
            else:
                partner = self.partners.get(entry.partner)
                if partner is None:
                    self.error(f"{where} › partner", f"no partner {entry.partner!r}")
                elif partner.cluster_id != cluster.id:
                    self.error(
                        f"{where} › partner",
                        f"partner {entry.partner} is on another cluster than {cluster.name}",
                    )
                else:
                    account.partner = partner
        if "zone" in given:
            account.zone = self.zone_in(cluster, entry.zone, f"{where} › zone")
        if "templates" in given:
            self.templates.append((where, "account", account, entry.templates))

    def zone_in(self, cluster: models.Cluster, name: str | None, where: str) -> models.Zone | None:
        if name is None:
            return None
        for zone in cluster.zones:
            if zone.name == name:
                return zone
        self.error(where, f"no zone {name!r} in cluster {cluster.name}")
        return None

    def domain_change_allowed(
        self, where: str, owner: str, stored: str, given: str, *accounts: Any
    ) -> bool:
        """A stored cluster's or partner's domain changes only when the load is told so:
        every name its phones are given lives under it. `accounts` selects the accounts
        whose phones use it."""
        if stored == given or self.allow_domain_change:
            return True
        phones = self.session.scalar(
            select(func.count(models.Device.id))
            .join(models.Account, models.Device.account_id == models.Account.id)
            .where(*accounts)
        )
        self.error(
            where,
            f"would change the domain of {owner} from {stored} to {given}, re-pointing "
            f"{_phones(phones or 0)} to names under {given}; if that is meant, load with "
            "--allow-domain-change",
        )
        return False

    def claim_domain(self, where: str, domain: str, owner: str) -> bool:
        """Cluster and partner domains are all distinct: each is a DNS zone of its own."""
        holder = self.domains.get(domain)
        if holder is not None and holder != owner:
            self.error(where, f"{domain} is already the domain of {holder}")
            return False
        self.domains = {d: o for d, o in self.domains.items() if o != owner}
        self.domains[domain] = owner
        return True

    # devices: the bulk of any large file

    def apply_devices(self, accounts: Sequence[AccountEntry]) -> None:
        # Per-device work here is kept small: 100,000 devices go through these loops.
        entries: list[tuple[_AccountTarget, int, DeviceEntry]] = []
        first_seen: dict[str, tuple[_AccountTarget, int]] = {}
        zones_by_cluster = {
            cluster.id: {zone.name: zone.id for zone in cluster.zones}
            for cluster in self.clusters.values()
        }
        for index, account_entry in enumerate(accounts):
            a_pos = self.position(account_entry, index)
            account = self.accounts.get(account_entry.name)
            target = _AccountTarget(
                a_pos,
                account_entry.name,
                account.id if account else 0,
                zones_by_cluster.get(account.cluster_id, {}) if account else {},
                account.cluster.name if account else "",
            )
            for d_index, device in enumerate(account_entry.devices):
                d_pos = self.position(device, d_index)
                if device.mac in first_seen:
                    other, other_pos = first_seen[device.mac]
                    self.error(
                        f"{target.where(d_pos, device.mac)} › mac",
                        f"duplicate MAC, first given at {other.where(other_pos, device.mac)}",
                    )
                    continue
                first_seen[device.mac] = (target, d_pos)
                if account is not None:
                    entries.append((target, d_pos, device))
        total = len(entries)
        if self.progress:
            self.progress(0, total)
        stored = self._stored_devices([entry[2].mac for entry in entries])
        self.check_moves(entries, stored)
        existing = {mac: device_id for mac, (device_id, _account) in stored.items()}
        existing_before = set(existing)
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        lines_for: list[DeviceEntry] = []
        for target, d_pos, device in entries:
            device_id = existing.get(device.mac)
            row = self.device_row(target, d_pos, device, device_id is None)
            if row is None:
                continue
            if device_id is None:
                inserts.append(row)
                lines_for.append(device)
            else:
                row["id"] = device_id
                updates.append(row)
                if "lines" in device.model_fields_set:
                    lines_for.append(device)
        done = 0
        table = _DEVICES
        for chunk in _chunks(inserts, _CHUNK):
            # Plain executemany: on PostgreSQL, 4x faster than INSERT ... RETURNING.
            self.session.execute(table.insert(), chunk)
            done += len(chunk)
            if self.progress:
                self.progress(done, total)
        for chunk in _chunks(updates, _CHUNK):
            self.session.execute(update(models.Device), chunk)
            done += len(chunk)
            if self.progress:
                self.progress(done, total)
        self.count("devices", True, len(inserts))
        self.count("devices", False, len(updates))
        if len(inserts) + len(updates) > _WHOLE_TABLE_FROM:
            self.refresh_statistics()
        if inserts:
            inserted = self._stored_devices([row["mac"] for row in inserts])
            existing.update((mac, device_id) for mac, (device_id, _account) in inserted.items())
        self.replace_lines(lines_for, existing, replaced=existing_before)
        if self.progress:
            self.progress(total, total)

    def _stored_devices(self, macs: Sequence[str]) -> dict[str, tuple[int, int]]:
        """(id, account id) of the devices among `macs` that are already stored."""
        select_rows = select(models.Device.mac, models.Device.id, models.Device.account_id)
        if len(macs) > _WHOLE_TABLE_FROM:
            # Many devices: one pass over the table beats thousands of IN lookups.
            wanted = set(macs)
            rows = self.session.execute(select_rows.execution_options(yield_per=10_000))
            return {mac: (i, account) for mac, i, account in rows if mac in wanted}
        found: dict[str, tuple[int, int]] = {}
        for chunk in _chunks(macs, _CHUNK):
            found.update(
                (mac, (device_id, account_id))
                for mac, device_id, account_id in self.session.execute(
                    select_rows.where(models.Device.mac.in_(chunk))
                )
            )
        return found

    def check_moves(
        self,
        entries: Sequence[tuple[_AccountTarget, int, DeviceEntry]],
        stored: dict[str, tuple[int, int]],
    ) -> None:
        """A stored device listed under another account is a move: refused, one problem
        per pair of accounts naming both and the phones, unless the load allows moves."""
        moves: dict[tuple[int, int], list[str]] = {}  # (from, to account) → MACs
        targets: dict[int, _AccountTarget] = {}
        for target, _d_pos, device in entries:
            found = stored.get(device.mac)
            if found is not None and found[1] != target.account_id:
                moves.setdefault((found[1], target.account_id), []).append(device.mac)
                targets[target.account_id] = target
        if not moves:
            return
        if self.allow_moves:
            number = sum(len(macs) for macs in moves.values())
            self.result.moved["devices"] = self.result.moved.get("devices", 0) + number
            return
        names = {account.id: account.name for account in self.accounts.values()}
        for (from_id, to_id), macs in moves.items():
            target = targets[to_id]
            shown = ", ".join(macs[:5]) + (f" and {len(macs) - 5} more" if len(macs) > 5 else "")
            self.error(
                f"accounts[{target.position}] {target.name} › devices",
                f"would move {_phones(len(macs))} from account {names.get(from_id, from_id)} "
                f"to account {target.name} ({shown}); a load does not move phones between "
                "accounts unless told: use `provisioner move device MAC --to-account "
                f"{target.name}`, or load with --allow-moves",
            )

    def refresh_statistics(self) -> None:
        """After a large load, PostgreSQL's planner must know the tables grew, or the
        phones' lookups by MAC may be planned as if the tables were empty."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("ANALYZE devices"))
            self.session.execute(text("ANALYZE lines"))

    def device_row(
        self, target: _AccountTarget, d_pos: int, device: DeviceEntry, new: bool
    ) -> dict[str, Any] | None:
        given = device.model_fields_set
        if new:
            if device.vendor is None or device.model is None:
                for required in ("vendor", "model"):
                    if getattr(device, required) is None:
                        self.error(
                            f"{target.where(d_pos, device.mac)} › {required}",
                            "required for a new device",
                        )
                return None
            row: dict[str, Any] = {
                "mac": device.mac,
                "account_id": target.account_id,
                "vendor": device.vendor,
                "model": device.model,
                "provisioning_user": device.provisioning_user or device.mac,
                "provisioning_password": self.stored_secret(
                    f"{target.where(d_pos, device.mac)} › provisioning_password",
                    "provisioning_password",
                    device.provisioning_password or secrets.token_urlsafe(18),
                ),
                "settings": device.settings,
                "zone_id": None,
            }
        else:
            row = {"mac": device.mac, "account_id": target.account_id}
            for name in _UPDATABLE:
                if name in given and getattr(device, name) is not None:
                    row[name] = getattr(device, name)
            if "provisioning_password" in row:
                row["provisioning_password"] = self.stored_secret(
                    f"{target.where(d_pos, device.mac)} › provisioning_password",
                    "provisioning_password",
                    row["provisioning_password"],
                )
        if device.zone is not None:
            zone_id = target.zones.get(device.zone)
            if zone_id is None:
                self.error(
                    f"{target.where(d_pos, device.mac)} › zone",
                    f"no zone {device.zone!r} in cluster {target.cluster}",
                )
                return None
            row["zone_id"] = zone_id
        elif "zone" in given:
            row["zone_id"] = None
        return row

    def replace_lines(
        self, devices: list[DeviceEntry], ids: dict[str, int], replaced: set[str]
    ) -> None:
        """Give `devices` the lines of their entries; those in `replaced` had lines before."""
        device_ids = [ids[device.mac] for device in devices if device.mac in replaced]
        # A line entry (by index) that leaves a field out keeps the stored line's value.
        before: dict[tuple[int, int], Any] = {}
        needs_stored = {
            ids[device.mac]
            for device in devices
            if device.mac in replaced
            and any(_LINE_FIELDS - line.model_fields_set for line in device.lines)
        }
        for chunk in _chunks(sorted(needs_stored), _CHUNK):
            for stored_line in self.session.execute(
                select(_LINES).where(_LINES.c.device_id.in_(chunk))
            ).mappings():
                before[(stored_line["device_id"], stored_line["index"])] = stored_line
        for chunk in _chunks(device_ids, _CHUNK):
            self.session.execute(delete(models.Line).where(models.Line.device_id.in_(chunk)))
        rows = []
        for device in devices:
            device_id = ids[device.mac]
            for line in device.lines:
                where = f"device {device.mac} › lines[index {line.index}]"
                stored: Any = before.get((device_id, line.index))
                given = line.model_fields_set
                if stored is None and (line.sip_user is None or line.password is None):
                    for name in ("sip_user", "password"):
                        if getattr(line, name) is None:
                            self.error(f"{where} › {name}", "required for a new line")
                    continue
                sip_user = line.sip_user if line.sip_user is not None else stored["sip_user"]
                if line.auth_name is not None:
                    auth_name = line.auth_name
                elif stored is not None and stored["auth_name"] != stored["sip_user"]:
                    auth_name = stored["auth_name"]  # set apart from the SIP user: kept
                else:
                    auth_name = sip_user
                rows.append(
                    {
                        "device_id": device_id,
                        "index": line.index,
                        "sip_user": sip_user,
                        "auth_name": auth_name,
                        "password": (
                            self.stored_secret(f"{where} › password", "password", line.password)
                            if line.password is not None
                            else stored["password"]
                        ),
                        "display_name": line.display_name
                        if "display_name" in given or stored is None
                        else stored["display_name"],
                        "label": line.label
                        if "label" in given or stored is None
                        else stored["label"],
                    }
                )
        for chunk in _chunks(rows, _CHUNK * 5):
            self.session.execute(_LINES.insert(), chunk)
        self.count("lines", True, len(rows))

    # operators' templates, once their owners have ids

    def apply_templates(self) -> None:
        """Give each owner whose entry lists ``templates`` exactly those: new ones added,
        changed ones updated, the others of that owner removed."""
        now = datetime.now(UTC)
        for where, layer, owner, entries in self.templates:
            stored = {
                (row.vendor, row.file_kind): row
                for row in self.session.scalars(
                    select(models.TemplateOverride).where(
                        models.TemplateOverride.layer == layer,
                        models.TemplateOverride.owner_id == owner.id,
                    )
                )
            }
            for position, entry in enumerate(entries):
                row = stored.pop((entry.vendor, entry.kind), None)
                self.count("templates", row is None)
                if row is None:
                    row = models.TemplateOverride(
                        layer=layer, owner_id=owner.id, vendor=entry.vendor, file_kind=entry.kind
                    )
                    self.session.add(row)
                elif row.source == entry.source and row.enabled == entry.enabled:
                    continue  # as stored: nothing to try again
                row.source, row.enabled, row.updated_at = entry.source, entry.enabled, now
                if entry.enabled:
                    override = Override(layer, owner.name, entry.vendor, entry.kind, entry.source)
                    entry_where = f"{where} › templates[{position}] {entry.vendor} {entry.kind}"
                    self.templates_to_try.append((f"{entry_where} › source", override))
            for row in stored.values():
                self.session.delete(row)
                self.result.removed["templates"] = self.result.removed.get("templates", 0) + 1
        self.flush()

    def check_templates(self) -> None:
        """Try each new or changed template on the devices it reaches, as the estate would
        be committed."""
        if not self.templates_to_try:
            return
        estate = load_estate(self.session)
        for where, override in self.templates_to_try:
            _tried, problems = try_override(self.session, override, estate)
            for problem in problems:
                self.error(where, problem)

    # the estate as a whole, after the file is applied

    def check_publishable(self) -> None:
        """The estate as it would be committed must make valid DNS zones: an estate DNS
        cannot publish is refused here, not discovered later by a running server."""
        try:
            build_records(load_estate(self.session))
        except EstateErrors as problems:
            self.errors.extend(problems.errors)

    def check_estate(self) -> None:
        for account in self.accounts.values():
            where = f"account {account.name}"
            if account.partner is not None and account.partner.cluster_id != account.cluster_id:
                self.error(
                    f"{where} › partner", f"partner {account.partner.name} is on another cluster"
                )
            if account.zone is not None and account.zone.cluster_id != account.cluster_id:
                self.error(f"{where} › zone", f"zone {account.zone.name} is on another cluster")
        stray_pins = self.session.execute(
            select(models.Device.mac, models.Zone.name)
            .join(models.Account, models.Device.account_id == models.Account.id)
            .join(models.Zone, models.Device.zone_id == models.Zone.id)
            .where(models.Zone.cluster_id != models.Account.cluster_id)
            .limit(20)
        ).all()
        for mac, zone in stray_pins:
            self.error(f"device {mac} › zone", f"zone {zone} is not on its account's cluster")
        for cluster in self.clusters.values():
            where = f"cluster {cluster.name}"
            if cluster.zones and cluster.default_zone is None:
                self.error(f"{where} › default_zone", "the cluster has zones but no default zone")
            labels: dict[str, str] = {}
            for stored_zone in cluster.zones:
                label = stored_zone.proxy_label
                if label in labels:
                    self.error(
                        f"{where} › zones {stored_zone.name} › proxy_label",
                        f"{label} is already the proxy of zone {labels[label]}",
                    )
                labels[label] = stored_zone.name
            media_names = {server.name for server in cluster.media_servers}
            clash = media_names & set(labels)
            if clash:
                self.error(
                    f"{where} › media_servers",
                    f"{', '.join(sorted(clash))}: a media server and a proxy cannot share a name",
                )


_DEVICES = cast(Table, models.Device.__table__)
_LINES = cast(Table, models.Line.__table__)
_LINE_FIELDS = {"sip_user", "auth_name", "password", "display_name", "label"}
_UPDATABLE = ("vendor", "model", "provisioning_user", "provisioning_password", "settings")


@dataclass(frozen=True)
class _AccountTarget:
    """An account entry of the file, as its devices need it."""

    position: int
    name: str
    account_id: int
    zones: dict[str, int]
    cluster: str

    def where(self, device_position: int, mac: str) -> str:
        return f"accounts[{self.position}] {self.name} › devices[{device_position}] {mac}"


def _phones(number: int) -> str:
    return f"{number} phone" if number == 1 else f"{number} phones"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_estate_file(
    database: Database,
    estate: EstateFile,
    *,
    source: str = "estate file",
    progress: Progress | None = None,
    problems: Sequence[InvalidValue] = (),
    allow_moves: bool = False,
    allow_domain_change: bool = False,
    summary: str | None = None,
) -> LoadResult:
    """Apply `estate` in one transaction; raises `EstateErrors` and changes nothing on error.

    `problems` are those already found in the file (`parse_estate_file`): the estate is
    still applied and checked so that they are reported with every other, then refused.
    `summary` is the change's description in the history (``load SOURCE`` by default).
    """
    found = list(problems)
    try:
        with database.write(summary or f"load {source}") as session:
            loader = _Loader(
                session,
                progress,
                database.keyring,
                allow_moves=allow_moves,
                allow_domain_change=allow_domain_change,
            )
            loader.errors = found
            try:
                loader.apply(estate)
                loader.flush()
                loader.checking(loader.check_estate)
                loader.checking(loader.check_publishable)
                loader.checking(lambda: loader.errors.extend(check_devices(session)))
                loader.checking(loader.check_templates)
            except _Abandoned:
                pass
            if loader.errors:
                raise EstateErrors(loader.errors)
        loader.result.change_id = session.info["change_id"]
        return loader.result
    except IntegrityError as error:
        raise EstateErrors(
            [*found, InvalidValue(source, f"conflicts with stored data: {error.orig}")]
        ) from None
