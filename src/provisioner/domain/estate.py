"""The estate as immutable value objects: what DNS records, GeoIP and phone files are built
from. `provisioner.storage.snapshot` reads them from the database; nothing here does I/O.

Names: a zone's *proxy name* is ``<proxy label>.<cluster domain>``
(``us-east.p.example.net``); a hosted partner's phones see the same label under the
partner's white-label domain (``us-east.p.acme.example``). A media server's host name is
``<name>.<cluster domain>`` (``ms1.p.example.net``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from provisioner.domain.geography import Location
from provisioner.domain.settings import EffectiveSettings


class ClusterKind(StrEnum):
    HOSTED = "hosted"
    PRIVATE_CLOUD = "private-cloud"
    GLOBAL_INFRASTRUCTURE = "global-infrastructure"


class SipTransport(StrEnum):
    """A transport a zone offers and a media server listens on (not the phone setting)."""

    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


VENDORS = ("yealink", "poly", "cisco", "grandstream", "snom", "fanvil")


@dataclass(frozen=True)
class MediaServer:
    name: str
    host_name: str
    addresses: tuple[str, ...]
    location: Location | None
    ports: Mapping[SipTransport, int]


@dataclass(frozen=True)
class Zone:
    name: str
    cluster: str
    proxy_label: str
    proxy_name: str
    location: Location
    media_order: str  # "explicit" or "nearest"
    media_servers: tuple[MediaServer, ...]  # in order of preference, `nearest` resolved
    srv_weight: int
    ttl: int
    transports: tuple[SipTransport, ...]

    def proxy_name_under(self, domain: str) -> str:
        """This zone's proxy name under another domain (a partner's white label)."""
        return f"{self.proxy_label}.{domain}"


def nearest_first(location: Location, servers: Iterable[MediaServer]) -> tuple[MediaServer, ...]:
    """Media servers by great-circle distance from `location`; those with no location last."""
    return tuple(
        sorted(
            servers,
            key=lambda server: (
                server.location is None,
                location.distance_km(server.location) if server.location else 0.0,
                server.name,
            ),
        )
    )


class _Named(Protocol):
    @property
    def name(self) -> str: ...


_T = TypeVar("_T", bound=_Named)


def _named(items: Iterable[_T], name: str) -> _T:
    """The item called `name` (KeyError if none): estates hold a handful of each."""
    for item in items:
        if item.name == name:
            return item
    raise KeyError(name)


def _no_settings() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Partner:
    name: str
    cluster: str
    domain: str
    settings: Mapping[str, Any] = field(default_factory=_no_settings)


@dataclass(frozen=True)
class ZoneRule:
    """Phones whose address falls in `network` (CIDR) belong to `zone`."""

    network: str
    zone: str


@dataclass(frozen=True)
class Cluster:
    name: str
    kind: ClusterKind
    domain: str
    default_zone: str | None
    zones: tuple[Zone, ...]
    media_servers: tuple[MediaServer, ...]
    partners: tuple[Partner, ...]
    settings: Mapping[str, Any] = field(default_factory=_no_settings)
    zone_rules: tuple[ZoneRule, ...] = ()
    country_zones: Mapping[str, str] = field(default_factory=_no_settings)  # "US" → zone name

    def zone(self, name: str) -> Zone:
        return _named(self.zones, name)


@dataclass(frozen=True)
class Estate:
    """Every cluster with its zones, media servers and partners, as of change `change_id`."""

    clusters: tuple[Cluster, ...]
    settings: Mapping[str, Any] = field(default_factory=_no_settings)  # the global layer
    change_id: int = 0
    # What is derived from this snapshot once and reused until the next one (for example
    # the settings a cluster's devices share): see `prepared`.
    _prepared: dict[Any, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def prepared(self, key: Any, build: Callable[..., Any], *args: Any) -> Any:
        """The value derived from this snapshot under `key`, built on first use by
        ``build(*args)`` (arguments rather than a closure: cheaper on the hot path)."""
        try:
            return self._prepared[key]
        except KeyError:
            value = self._prepared[key] = build(*args)
            return value

    def cluster(self, name: str) -> Cluster:
        return _named(self.clusters, name)

    @property
    def partners(self) -> tuple[Partner, ...]:
        return tuple(partner for cluster in self.clusters for partner in cluster.partners)

    def partner(self, name: str) -> Partner:
        return _named(self.partners, name)


@dataclass(frozen=True)
class LineConfig:
    index: int
    sip_user: str
    auth_name: str
    password: str
    display_name: str
    label: str


@dataclass(frozen=True)
class DeviceRecord:
    """A device as stored, with what its account contributes: the input of
    `provisioner.domain.effective`."""

    mac: str
    vendor: str
    model: str
    account: str
    cluster: str
    partner: str | None
    sip_domain: str
    pinned_zone: str | None  # the device's own pin, else its account's
    pinned_by: str | None  # "device" or "account"
    account_settings: Mapping[str, Any]
    settings: Mapping[str, Any]
    provisioning_user: str
    provisioning_password: str
    lines: tuple[LineConfig, ...] = ()
    located_zone: str | None = None  # the zone GeoIP last gave it (stickiness across restarts)


@dataclass(frozen=True, init=False)
class DeviceConfig:
    """Everything a vendor profile needs to render a device's files."""

    mac: str
    vendor: str
    model: str
    account: str
    cluster: str
    partner: str | None
    zone: str
    settings: EffectiveSettings
    lines: tuple[LineConfig, ...] = field(default=())
    # What the zone's proxy name resolves to (`provisioner.dns.records.ProxyRecords`), for
    # the vendors that write a static DNS cache; None where no estate built it.
    proxy_records: Any = field(default=None, repr=False, compare=False)
    # The device's own provisioning credentials (Cisco keeps them in its profile rule).
    provisioning_user: str = field(default="", repr=False)
    provisioning_password: str = field(default="", repr=False)
    # The estate's change id when rendered: rises with every change (Fanvil's <Version>).
    revision: int = 0

    def __init__(
        self,
        mac: str,
        vendor: str,
        model: str,
        account: str,
        cluster: str,
        partner: str | None,
        zone: str,
        settings: EffectiveSettings,
        lines: tuple[LineConfig, ...] = (),
        proxy_records: Any = None,
        provisioning_user: str = "",
        provisioning_password: str = "",
        revision: int = 0,
    ) -> None:
        # What the generated __init__ does, without a frozen object.__setattr__ per field
        # (a third of the cost of `device_config`, which builds one per device).
        fields = self.__dict__
        fields["mac"], fields["vendor"], fields["model"] = mac, vendor, model
        fields["account"], fields["cluster"], fields["partner"] = account, cluster, partner
        fields["zone"], fields["settings"], fields["lines"] = zone, settings, lines
        fields["proxy_records"] = proxy_records
        fields["provisioning_user"] = provisioning_user
        fields["provisioning_password"] = provisioning_password
        fields["revision"] = revision
