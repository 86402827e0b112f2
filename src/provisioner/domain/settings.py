"""Phone settings: the vendor-neutral schema, the layers, the merge and the failover rules.

This module is the one place that knows

* which keys exist, what values they accept and their defaults (`SCHEMA`);
* the order of the layers: defaults, then what the estate implies (the zone's outbound
  proxy name, the account's SIP domain), then global → cluster → partner → account →
  device, a lower layer overriding a higher one key by key;
* the rules applied after the merge, whatever any layer said: with transport
  ``dns-naptr`` every proxy and registrar port is 0 and there is no secondary proxy,
  because a non-zero port disables SRV on many phones and phones given two proxies
  alternate between them;
* the combinations of values that no phone can honour (`conflicts`), refused when a
  layer is written, naming each key and the layer that set it.

The ``failover.*`` keys are the failover policy: vendor-neutral, compiled by each vendor
module into its own keys (the README's failover table says which).

The result, `EffectiveSettings`, carries for every key its value and where it came from.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from operator import attrgetter
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from provisioner.domain import names
from provisioner.domain.errors import InvalidValue, PlainReason
from provisioner.domain.text import writable


class Transport(StrEnum):
    DNS_NAPTR = "dns-naptr"
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


_TRANSPORTS: Mapping[str, Transport] = MappingProxyType({t.value: t for t in Transport})
_DNS_NAPTR = Transport.DNS_NAPTR.value


class Layer(int, Enum):
    """Where a value was set, in the order the merge applies them (later wins)."""

    DEFAULT = 0
    ESTATE = 1
    GLOBAL = 2
    CLUSTER = 3
    PARTNER = 4
    ACCOUNT = 5
    DEVICE = 6
    RULE = 7

    @property
    def label(self) -> str:
        return self.name.lower()


# --- value parsers: each takes what YAML or a command line gives and returns the value ---


def _text(value: object) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not text")
    text = str(value).strip()
    if not text:
        raise PlainReason("must not be empty")
    if len(text) > 255:
        raise PlainReason("is longer than 255 characters")
    return writable(text)


def _integer(value: object, low: int, high: int, unit: str = "") -> int:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a whole number")
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise ValueError(f"{value!r} is not a whole number")
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"{value!r} is not a whole number")
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise ValueError(f"{value} is out of range {low}..{high}{suffix}")
    return value


def _port(value: object) -> int:
    return _integer(value, 0, 65535)


def _choice(options: Sequence[str]) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = value.value if isinstance(value, Enum) else str(value).strip().lower()
        if text not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(options)}")
        return text

    return parse


def _seconds(low: int, high: int) -> Callable[[object], int]:
    return lambda value: _integer(value, low, high, "seconds")


def _time_zone(value: object) -> str:
    text = _text(value)
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not an IANA time zone such as America/New_York") from None
    return text


def _url(value: object) -> str:
    text = _text(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an http:// or https:// URL")
    return text.rstrip("/")


def _language(value: object) -> str:
    text = _text(value).lower()
    if len(text) != 2 or not text.isalpha():
        raise ValueError(f"{text!r} is not a two-letter language code such as en")
    return text


CODECS = ("opus", "g722", "pcmu", "pcma", "g729")


def _codecs(value: object) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError(f"{value!r} is not a list of codecs ({', '.join(CODECS)})")
    parsed = tuple(_choice(CODECS)(item) for item in items)
    if len(set(parsed)) != len(parsed):
        raise ValueError("names a codec twice")
    return parsed


def _secret(value: object) -> str:
    text = _text(value)
    if len(text) < 6:
        raise PlainReason("is shorter than 6 characters")
    return text


_YES = frozenset(("yes", "true", "on", "1"))
_NO = frozenset(("no", "false", "off", "0"))


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(f"{value!r} is not yes or no")


class Failback(StrEnum):
    """When a phone that failed over tries the preferred media server again."""

    NEW_REQUESTS = "new-requests"  # on every new call or registration (factory default)
    DNS_TTL = "dns-ttl"  # when the SRV records' TTL runs out
    REGISTRATION = "registration"  # at the next registration refresh
    DURATION = "duration"  # after failover.failback_interval


def _dial_string(value: object) -> str:
    text = _text(value)
    if not all(c.isdigit() or c in "*#+" for c in text):
        raise ValueError(f"{text!r} may hold only digits, *, # and +")
    return text


@dataclass(frozen=True)
class SettingKey:
    """One key of the schema."""

    name: str
    kind: str  # what the README shows as the type
    description: str
    parse: Callable[[Any], Any]
    default: Any = None
    secret: bool = False


SCHEMA: Mapping[str, SettingKey] = MappingProxyType(
    {
        key.name: key
        for key in (
            SettingKey(
                "transport",
                "dns-naptr | udp | tcp | tls",
                "SIP transport. dns-naptr lets the phone find transport, media servers and "
                "their order in DNS (NAPTR → SRV → A): the failover this product is built on.",
                _choice([t.value for t in Transport]),
                Transport.DNS_NAPTR.value,
            ),
            SettingKey(
                "outbound_proxy.host",
                "host name",
                "Outbound proxy. Defaults to the proxy name of the device's zone.",
                names.host_or_address,
            ),
            SettingKey(
                "outbound_proxy.port",
                "port",
                "Outbound proxy port; forced to 0 with dns-naptr (0 lets the phone use SRV).",
                _port,
                0,
            ),
            SettingKey(
                "secondary_proxy.host",
                "host name",
                "A backup outbound proxy. Removed with dns-naptr: DNS carries the failover.",
                names.host_or_address,
            ),
            SettingKey(
                "secondary_proxy.port",
                "port",
                "Backup outbound proxy port. Removed with dns-naptr.",
                _port,
            ),
            SettingKey(
                "registrar.host",
                "host name",
                "Registrar (SIP server, the domain of the phone's address of record). "
                "Defaults to the account's SIP domain.",
                names.host_or_address,
            ),
            SettingKey(
                "registrar.port",
                "port",
                "Registrar port; forced to 0 with dns-naptr.",
                _port,
                0,
            ),
            SettingKey(
                "registration.expiry",
                "seconds",
                "Requested registration lifetime (vendors that count minutes get it converted). "
                "A phone notices a dead registrar only when it refreshes: short, so inbound "
                "calls come back within minutes.",
                _seconds(60, 86400),
                300,
            ),
            SettingKey(
                "failover.tries_per_server",
                "1..10",
                "Tries of one media server before the next. Over UDP one try is a whole "
                "transaction (its retransmissions included).",
                lambda value: _integer(value, 1, 10),
                1,
            ),
            SettingKey(
                "failover.try_timeout",
                "seconds",
                "How long one try waits for an answer, where the vendor lets it be set "
                "(RFC 3261's timer B is 32 s).",
                _seconds(1, 32),
                8,
            ),
            SettingKey(
                "failover.register_on_failover",
                "yes | no",
                "Register on the media server failed over to, so inbound calls reach the phone.",
                _flag,
                True,
            ),
            SettingKey(
                "failover.signal_only_registered",
                "yes | no",
                "Send calls only to a media server the phone is registered on; needs "
                "register_on_failover and a failback other than new-requests.",
                _flag,
                True,
            ),
            SettingKey(
                "failover.failback",
                "new-requests | dns-ttl | registration | duration",
                "When a phone that failed over tries the preferred media server again.",
                _choice([mode.value for mode in Failback]),
                Failback.DURATION.value,
            ),
            SettingKey(
                "failover.failback_interval",
                "seconds",
                "How long a phone stays on the media server it failed over to, with failback "
                "duration.",
                _seconds(60, 86400),
                600,
            ),
            SettingKey(
                "failover.subscriptions_follow",
                "yes | no",
                "Subscriptions (BLF, voicemail) move with the registration.",
                _flag,
                True,
            ),
            SettingKey(
                "failover.static_dns_cache",
                "yes | no",
                "Write the zone's NAPTR, SRV and A/AAAA records into the file of phones that "
                "keep a static DNS cache, used only when live DNS does not answer.",
                _flag,
                False,
            ),
            SettingKey(
                "ntp.server",
                "host name or address",
                "Time server.",
                names.host_or_address,
                "pool.ntp.org",
            ),
            SettingKey(
                "time_zone",
                "IANA time zone",
                "The phone's local time zone, e.g. America/New_York.",
                _time_zone,
                "UTC",
            ),
            SettingKey(
                "resync.interval",
                "seconds",
                "How often the phone fetches its files again; 0 never.",
                lambda value: 0 if value in (0, "0") else _seconds(300, 2592000)(value),
                86400,
            ),
            SettingKey(
                "provisioning.url",
                "URL",
                "Base URL phones fetch from. Empty: the URL the phone used.",
                _url,
            ),
            SettingKey(
                "provisioning.auth",
                "digest | certificate | either",
                "What a phone must show to fetch its own (secret) files: its provisioning "
                "password (HTTP digest), a TLS client certificate naming its MAC from a CA "
                "given to `serve --client-ca`, or either. Without --client-ca no certificate "
                "is asked for, so either is digest.",
                _choice(("digest", "certificate", "either")),
                "either",
            ),
            SettingKey(
                "provisioning.https_only",
                "yes | no",
                "Serve the phone's own (secret) files over HTTPS only: over plain HTTP the "
                "phone, once authenticated, gets 403.",
                _flag,
                False,
            ),
            SettingKey(
                "language",
                "language code",
                "Language of the phone's screen (two letters).",
                _language,
                "en",
            ),
            SettingKey(
                "codecs",
                "list of opus, g722, pcmu, pcma, g729",
                "Audio codecs in order of preference (comma-separated on the command line).",
                _codecs,
                ("g722", "pcmu", "pcma"),
            ),
            SettingKey(
                "dtmf",
                "rfc2833 | inband | info",
                "How key presses are sent.",
                _choice(("rfc2833", "inband", "info")),
                "rfc2833",
            ),
            SettingKey(
                "srtp",
                "disabled | optional | required",
                "Media encryption.",
                _choice(("disabled", "optional", "required")),
                "disabled",
            ),
            SettingKey(
                "voicemail.number",
                "dial string",
                "Number the message key dials.",
                _dial_string,
            ),
            SettingKey(
                "admin.password",
                "secret",
                "Password of the phone's own web interface. Empty: the vendor default.",
                _secret,
                secret=True,
            ),
        )
    }
)

PORT_KEYS = ("outbound_proxy.port", "registrar.port")
SECONDARY_KEYS = ("secondary_proxy.host", "secondary_proxy.port")
SECRET_KEYS = frozenset(key.name for key in SCHEMA.values() if key.secret)
# What the rules read and write: a layer setting none of these leaves the rules' outcome as
# it was before that layer (see `merge`).
RULE_KEYS = frozenset(("transport", *PORT_KEYS, *SECONDARY_KEYS))


def parse_value(key: str, value: object, where: str) -> Any:
    """Validate one value for `key`; `where` names the layer for the error message."""
    location = f"{where}: {key}" if where else key
    definition = SCHEMA.get(key)
    if definition is None:
        raise InvalidValue(location, "unknown setting (see `provisioner settings keys`)")
    try:
        return definition.parse(value)
    except ValueError as error:
        if definition.secret and not isinstance(error, PlainReason):
            raise InvalidValue(location, "invalid secret value (not shown)") from None
        raise InvalidValue(location, str(error)) from None


def validate_layer(values: Mapping[str, object] | None, where: str) -> dict[str, Any]:
    """Validate and normalise a whole layer; the first bad key raises `InvalidValue`."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidValue(
            f"{where}: settings" if where else "settings", "must be a mapping of key: value"
        )
    return {str(key): parse_value(str(key), value, where) for key, value in values.items()}


def parse_assignments(assignments: Sequence[str], where: str) -> dict[str, Any]:
    """``["transport=udp", "outbound_proxy.port=5060"]`` → validated values."""
    raw: dict[str, str] = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise InvalidValue(where, f"{assignment!r} is not KEY=VALUE")
        raw[key.strip()] = value
    return validate_layer(raw, where)


def to_storable(value: Any) -> Any:
    """The JSON form of a parsed value (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


# --- the merge ---


@dataclass(frozen=True, init=False)
class LayerValues:
    """The values one layer sets. `owner` names the cluster, partner, account or device."""

    layer: Layer
    values: Mapping[str, Any]
    owner: str | None = None

    def __init__(self, layer: Layer, values: Mapping[str, Any], owner: str | None = None) -> None:
        # What the generated __init__ does, without a frozen object.__setattr__ per field:
        # one is built per device on the phones' hot path.
        fields = self.__dict__
        fields["layer"], fields["values"], fields["owner"] = layer, values, owner


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an effective value came from: a layer (and its owner) or a rule."""

    layer: Layer
    owner: str | None = None
    note: str | None = None

    def __str__(self) -> str:
        # The estate layer's owner says what implied the value ("zone us-east").
        text = self.owner if self.layer is Layer.ESTATE and self.owner else self.layer.label
        if self.owner and self.layer is not Layer.ESTATE:
            text += f" {self.owner}"
        if self.note:
            text += f" ({self.note})"
        return text


DEFAULTS = LayerValues(
    Layer.DEFAULT, MappingProxyType({key.name: key.default for key in SCHEMA.values()})
)

_NAPTR_RULE_PORT = Provenance(Layer.RULE, "dns-naptr", "port 0 lets the phone use SRV")
_NAPTR_RULE_SECONDARY = Provenance(Layer.RULE, "dns-naptr", "DNS carries the failover")


class EffectiveSettings(Mapping[str, Any]):
    """Every schema key with its value (None for unset) and its provenance. Read-only."""

    __slots__ = ("_provenance", "_values")

    def __init__(self, values: dict[str, Any], provenance: dict[str, Provenance]) -> None:
        # Takes ownership of both dicts (merge builds them for this object alone, and
        # nothing here changes them).
        self._values = values
        self._provenance = provenance

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"EffectiveSettings({dict(self._values)!r})"

    def source(self, key: str) -> Provenance:
        return self._provenance[key]

    @property
    def transport(self) -> Transport:
        return _TRANSPORTS[self._values["transport"]]


@dataclass(frozen=True)
class Stacked:
    """Layers merged without the rules: a base that lower layers are merged onto.

    Merging the layers a device shares with others (global, cluster, partner) once, and
    only its own per device, keeps resolution cheap. Merging onto a base gives exactly
    what merging everything at once gives: a value never replaces one set by a higher
    layer, whatever the order of the calls.

    Built with the base, once, for the merges onto it: plain dicts of its values and
    provenance (copying a dict costs a tenth of copying a mapping proxy), as they are and
    with the rules applied. `merge` starts from the latter when the layers it adds set
    none of the keys the rules read or write (`RULE_KEYS`): the same result as applying
    the rules after the merge.
    """

    values: Mapping[str, Any]
    provenance: Mapping[str, Provenance]
    _plain: tuple[dict[str, Any], dict[str, Provenance]] = field(
        init=False, repr=False, compare=False
    )
    _finished: tuple[dict[str, Any], dict[str, Provenance]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        values, provenance = dict(self.values), dict(self.provenance)
        object.__setattr__(self, "_plain", (values, provenance))
        finished_values, finished_provenance = values.copy(), provenance.copy()
        _apply_rules(finished_values, finished_provenance)
        object.__setattr__(self, "_finished", (finished_values, finished_provenance))


def _apply_rules(values: dict[str, Any], provenance: dict[str, Provenance]) -> None:
    if values["transport"] == _DNS_NAPTR:
        for key in PORT_KEYS:
            values[key] = 0
            provenance[key] = _NAPTR_RULE_PORT
        for key in SECONDARY_KEYS:
            values[key] = None
            provenance[key] = _NAPTR_RULE_SECONDARY


_DEFAULT_SOURCE = Provenance(Layer.DEFAULT)
# The provenance of a layer's values, (layer, owner) → Provenance: the same few (an
# account's, a partner's) for many devices, and a Provenance costs more to build than to
# find. Equal either way: provenances are values.
_source = functools.lru_cache(maxsize=4096, typed=True)(Provenance)
NOTHING_STACKED = Stacked(DEFAULTS.values, dict.fromkeys(DEFAULTS.values, _DEFAULT_SOURCE))
_ORDER = attrgetter("layer")


def _stack_into(
    values: dict[str, Any], provenance: dict[str, Provenance], layers: Sequence[LayerValues]
) -> None:
    for layer in sorted(layers, key=_ORDER) if len(layers) > 1 else layers:
        if not layer.values:
            continue
        source = _source(layer.layer, layer.owner)
        rank = layer.layer
        for key, value in layer.values.items():
            if provenance[key].layer <= rank:
                values[key] = value
                provenance[key] = source


def stack(layers: Sequence[LayerValues], base: Stacked = NOTHING_STACKED) -> Stacked:
    """Merge `layers` onto `base` (lower layers win), without the rules."""
    values, provenance = base._plain[0].copy(), base._plain[1].copy()
    _stack_into(values, provenance, layers)
    return Stacked(MappingProxyType(values), MappingProxyType(provenance))


def merge(layers: Sequence[LayerValues], base: Stacked = NOTHING_STACKED) -> EffectiveSettings:
    """Merge the defaults (or `base`) and `layers` (lower layers win), then apply the rules.

    Layers are expected to hold validated values (`validate_layer`); this function is on
    the phones' hot path and does no validation of its own.
    """
    start = base._finished
    for layer in layers:
        if not RULE_KEYS.isdisjoint(layer.values):
            start = base._plain
            break
    # Without a layer that touches what the rules read or write, the rules applied to the
    # base hold: applying them again would change nothing.
    values, provenance = start[0].copy(), start[1].copy()
    _stack_into(values, provenance, layers)
    if start is base._plain:
        _apply_rules(values, provenance)
    return EffectiveSettings(values, provenance)


def as_text(value: Any) -> str:
    """A value as a person reads it: yes/no, lists comma-separated, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def _said(settings: EffectiveSettings, key: str) -> str:
    return f"{key} = {as_text(settings[key])} (from {settings.source(key)})"


def conflicts(settings: EffectiveSettings) -> list[InvalidValue]:
    """The combinations in `settings` that no phone can honour, each naming its keys and the
    layers that set them: a phone told to signal only where it is registered must register
    where it fails over to, and must not go back to a dead server on every new request
    (Yealink refuses ``only_signal_with_registered`` otherwise; every vendor loses calls)."""
    found = []
    if settings["failover.signal_only_registered"]:
        key = "failover.signal_only_registered"
        where = f"{settings.source(key)}: {key}"
        if not settings["failover.register_on_failover"]:
            found.append(
                InvalidValue(
                    where,
                    "needs failover.register_on_failover = yes, but "
                    + _said(settings, "failover.register_on_failover"),
                )
            )
        if settings["failover.failback"] == Failback.NEW_REQUESTS.value:
            found.append(
                InvalidValue(
                    where,
                    "needs a failback other than new-requests, but "
                    + _said(settings, "failover.failback"),
                )
            )
    return found


def mask(key: str, value: Any) -> Any:
    """What to show of a value: secrets are masked."""
    if key in SECRET_KEYS and value is not None:
        return "********"
    return value
