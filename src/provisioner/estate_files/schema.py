"""The shape of an estate file (YAML), validated with pydantic.

Each entry is found by its natural key (cluster, partner and account by name, media
server and zone by name within their cluster, device by MAC, line by index). A field left
out of an entry keeps its stored value, or takes its default for a new entry (for every
kind of entry: a zone given without its location keeps the stored one); a list that is
given (a zone's media servers, a device's lines, an owner's templates) replaces the stored
one. What a new entry must give (a zone's location, a media server's addresses, a
partner's domain) is checked when the file is applied, where it is known to be new.

Types are strict: a number where text is meant (``sip_user: 0100`` unquoted, which YAML
reads as the number 100) is refused, never converted; `estate_files.load` names the value
as written and suggests its quoted form. The one exception is a MAC written as 12 digits,
whose leading zeros can be put back without guessing.

A cluster, partner or account may carry ``templates``: its operator templates (see
`provisioner templates`), each a vendor, a file kind of that vendor and the Jinja2 source,
written as it is (no whitespace stripped). The source's syntax is checked here, naming the
line; whether it renders for the devices it reaches is checked when the file is loaded.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from provisioner.domain import names
from provisioner.domain.errors import InvalidValue, PlainReason
from provisioner.domain.estate import VENDORS
from provisioner.domain.mac import normalise_mac
from provisioner.domain.settings import to_storable, validate_layer
from provisioner.domain.text import writable
from provisioner.storage.secrets import MAX_STORED_LENGTH, is_encrypted
from provisioner.vendors.overrides import (
    OperatorTemplateError,
    compile_operator_template,
    file_kinds,
)


def _settings(values: Any) -> dict[str, Any]:
    try:
        layer = validate_layer(values, "")
    except InvalidValue as error:
        raise ValueError(str(error)) from None
    return {key: to_storable(value) for key, value in layer.items()}


Label = Annotated[str, AfterValidator(names.dns_label)]
HostName = Annotated[str, AfterValidator(names.host_name)]


def _digits_as_written(value: Any) -> Any:
    """An unquoted all-digit MAC (``001565000001``) arrives as an integer without its
    leading zeros; a MAC has 12 digits, so they can be put back."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**12:
        return f"{value:012d}"
    return value


Mac = Annotated[str, BeforeValidator(_digits_as_written), AfterValidator(normalise_mac)]
Settings = Annotated[dict[str, Any], BeforeValidator(_settings)]
Port = Annotated[int, Field(ge=1, le=65535)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
# Text that may reach a phone's file: no character XML cannot carry (`domain.text`).
Text = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(writable)]
OptionalText = Annotated[str, Field(max_length=128), AfterValidator(writable)]
Transport = Literal["udp", "tcp", "tls"]
_STRINGS = ConfigDict(strict=True, str_strip_whitespace=True)


def _plain_or_encrypted(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A secret as a dump writes it (``enc:v1:…``, checked when it is decrypted on
    loading), or a plain value with the plain value's rules."""
    if isinstance(value, str) and is_encrypted(value.strip()):
        if len(value.strip()) > MAX_STORED_LENGTH:
            raise PlainReason("is too long for an encrypted value")
        return value.strip()
    return handler(value)


# A secret: a plain password, or one encrypted with the estate's key (a default dump's).
_ProvisioningPassword = Annotated[
    str, Field(min_length=8, max_length=128), AfterValidator(writable)
]
ProvisioningPassword = Annotated[_ProvisioningPassword, WrapValidator(_plain_or_encrypted)]
LinePassword = Annotated[Text, WrapValidator(_plain_or_encrypted)]
_PLAIN_SECRETS = {
    "provisioning_password": TypeAdapter(_ProvisioningPassword, config=_STRINGS),
    "password": TypeAdapter(Text, config=_STRINGS),
}


def plain_secret_problem(field_name: str, plain: str) -> str | None:
    """What is wrong with a decrypted secret of `field_name` (a device's
    ``provisioning_password``, a line's ``password``) by the plain value's rules, in words
    that never quote it; None when nothing is."""
    try:
        _PLAIN_SECRETS[field_name].validate_python(plain)
    except ValidationError as error:
        return str(error.errors()[0]["msg"]).removeprefix("Value error, ")
    return None


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True, frozen=True)


# The key under which `estate_files.load` writes an entry's position in the file before it
# sets aside entries with problems, so that the others are still named by their position.
POSITION = "\x00position"


class Listed(Entry):
    """An entry of one of the file's lists (clusters, accounts, devices, …)."""


class Ports(Entry):
    udp: Port = 5060
    tcp: Port = 5060
    tls: Port = 5061


class MediaServerEntry(Listed):
    name: Label
    addresses: (
        Annotated[list[Annotated[str, AfterValidator(names.ip_address)]], Field(min_length=1)]
        | None
    ) = None  # required for a new media server
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    ports: Ports = Ports()

    @model_validator(mode="after")
    def _both_coordinates(self) -> MediaServerEntry:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class ZoneEntry(Listed):
    name: Label
    proxy_label: Label | None = None
    latitude: Latitude | None = None  # latitude, longitude, media_servers: required for a
    longitude: Longitude | None = None  # new zone; left out, an existing zone keeps its own
    media_servers: Literal["nearest"] | Annotated[list[Label], Field(min_length=1)] | None = None
    srv_weight: Annotated[int, Field(ge=0, le=65535)] = 50
    ttl: Annotated[int, Field(ge=0, le=2147483647)] = 300
    transports: Annotated[list[Transport], Field(min_length=1)] = ["udp", "tcp", "tls"]

    @model_validator(mode="after")
    def _both_coordinates(self) -> ZoneEntry:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self

    @field_validator("media_servers", "transports")
    @classmethod
    def _no_repeats(cls, value: Any) -> Any:
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError("names the same entry twice")
        return value


class TemplateEntry(Entry):
    """An operator template of the owner it is given under (cluster, partner or account)."""

    model_config = ConfigDict(str_strip_whitespace=False)  # a source is written as it is

    vendor: Literal[VENDORS]  # type: ignore[valid-type]
    kind: Annotated[str, Field(min_length=1, max_length=64)]
    source: Annotated[str, Field(min_length=1)]  # at most MAX_SOURCE characters
    enabled: bool = True

    @field_validator("vendor", "kind", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("kind")
    @classmethod
    def _kind_of_vendor(cls, kind: str, info: ValidationInfo) -> str:
        vendor = info.data.get("vendor")
        kinds = file_kinds(vendor) if vendor else None
        if kinds is not None and kind not in kinds:
            raise ValueError(f"{vendor} has no file kind {kind!r} ({', '.join(kinds)})")
        return kind

    @field_validator("source")
    @classmethod
    def _compiles(cls, source: str) -> str:
        try:
            compile_operator_template(source)
        except OperatorTemplateError as error:
            at = f"line {error.line}: " if error.line else ""
            raise ValueError(f"{at}{error.message}") from None
        return source


def _one_per_file(templates: list[TemplateEntry]) -> list[TemplateEntry]:
    files = [(template.vendor, template.kind) for template in templates]
    if len(set(files)) != len(files):
        raise ValueError("two templates for the same vendor and file kind")
    return templates


Templates = Annotated[list[TemplateEntry], AfterValidator(_one_per_file)]


class PartnerEntry(Listed):
    name: Label
    domain: HostName | None = None  # required for a new partner
    settings: Settings = {}
    templates: Templates = []  # given: replaces the partner's templates


def _network(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise ValueError(f"{text!r} is not a network such as 10.0.0.0/8 or 2001:db8::/32") from None


def _country(text: str) -> str:
    code = text.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValueError(f"{text!r} is not a two-letter country code such as US")
    return code


class ZoneRuleEntry(Entry):
    network: Annotated[str, AfterValidator(_network)]
    zone: Label


class ClusterEntry(Listed):
    name: Label
    kind: Literal["hosted", "private-cloud", "global-infrastructure"] | None = None
    domain: HostName | None = None
    default_zone: Label | None = None
    settings: Settings = {}
    media_servers: list[MediaServerEntry] = []
    zones: list[ZoneEntry] = []
    partners: list[PartnerEntry] = []
    zone_rules: list[ZoneRuleEntry] = []  # given: replaces the cluster's rules
    country_zones: dict[Annotated[str, AfterValidator(_country)], Label] = {}  # given: replaces
    templates: Templates = []  # given: replaces the cluster's templates

    @field_validator("zone_rules")
    @classmethod
    def _distinct_networks(cls, rules: list[ZoneRuleEntry]) -> list[ZoneRuleEntry]:
        networks = [rule.network for rule in rules]
        if len(set(networks)) != len(networks):
            raise ValueError("names the same network twice")
        return rules


class LineEntry(Entry):
    index: Annotated[int, Field(ge=1, le=64)]
    sip_user: Text | None = None  # sip_user, password: required for a new line
    auth_name: Text | None = None  # defaults to sip_user
    password: LinePassword | None = None
    display_name: OptionalText = ""
    label: OptionalText = ""


class DeviceEntry(Listed):
    mac: Mac
    vendor: Literal[VENDORS] | None = None  # type: ignore[valid-type]
    model: Text | None = None
    zone: Label | None = None
    provisioning_user: Text | None = None
    provisioning_password: ProvisioningPassword | None = None
    settings: Settings = {}
    lines: list[LineEntry] = []

    @field_validator("vendor", mode="before")
    @classmethod
    def _vendor_lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("lines")
    @classmethod
    def _distinct_lines(cls, lines: list[LineEntry]) -> list[LineEntry]:
        indexes = [line.index for line in lines]
        if len(set(indexes)) != len(indexes):
            raise ValueError("two lines have the same index")
        return lines


class AccountEntry(Listed):
    name: Label
    cluster: Label | None = None
    partner: Label | None = None
    sip_domain: HostName | None = None
    zone: Label | None = None
    settings: Settings = {}
    templates: Templates = []  # given: replaces the account's templates
    devices: list[DeviceEntry] = []


class EstateFile(Entry):
    settings: Settings = {}
    clusters: list[ClusterEntry] = []
    accounts: list[AccountEntry] = []
    # id of an entry → its position in the file, for entries after one set aside
    _positions: dict[int, int] = PrivateAttr(default_factory=dict)

    def position(self, entry: Listed, default: int) -> int:
        """The entry's position in the file: `default` (its position in its list) unless
        entries before it were set aside (`estate_files.load.parse_estate_file`)."""
        return self._positions.get(id(entry), default)
