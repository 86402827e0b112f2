"""The interface every vendor profile has: which paths it serves, who is asking, and the bytes.

A vendor module (`yealink.py`, `poly.py`, ...) builds one `VendorProfile` from

* `PathRule`s: compiled patterns for the file names its phones request, each naming the
  file *kind*, whether the file carries a secret (and so needs the device's credentials and
  its `DeviceConfig`) and how it is delivered;
* `UserAgentRule`s: compiled patterns that read model, firmware and MAC from a User-Agent;
* a function that turns a kind, a `DeviceConfig` (or None) and a `RenderContext` into the
  variables of that vendor's Jinja2 templates, and one that picks the template.

Everything here is pure: no database, no request. Patterns are compiled once, when the
vendor module is imported; matching a path is a handful of `fullmatch` calls.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import SCHEMA
from provisioner.vendors.rendering import render_template

_DEFAULTS: Mapping[str, Any] = {key.name: key.default for key in SCHEMA.values()}

XML = "application/xml"
TEXT = "text/plain; charset=utf-8"

_ZERO_MAC = "000000000000"
MATCH_CACHE = 16384  # paths and User-Agents remembered per vendor
MAX_PATH = 128
MAX_REMEMBERED_USER_AGENT = 256  # longer ones are read every time, not kept


class Delivery(StrEnum):
    """What the server does with a matched path."""

    RENDER = "render"  # GET: answer `render(kind, config, context)`
    ABSENT = "absent"  # GET: the vendor asks, we keep none (answer 404, the same for any MAC)
    UPLOAD = "upload"  # PUT: the phone uploads a file (a log)


@dataclass(frozen=True, slots=True)
class FileRequest:
    """A request path recognised by one vendor profile."""

    vendor: str
    kind: str  # "device" is always the per-MAC file with the lines and their secrets
    mac: str | None  # 12 lower-case hex digits; None for a common file
    model: str | None  # a model hint from the path (``T46``/``504G``/``grp2614``), else None
    secret: bool  # carries a secret: serve only to the device's credentials; render needs config
    delivery: Delivery = Delivery.RENDER
    media_type: str = XML


@dataclass(frozen=True, slots=True)
class PhoneIdentity:
    """What a User-Agent says about the phone."""

    vendor: str
    model: str | None
    firmware: str | None
    mac: str | None  # 12 lower-case hex digits, when the User-Agent carries it


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a file needs beyond the device: where the phone fetched from, and who it is.

    `base_url` is scheme://host[:port] the phone used (no trailing slash); a device's
    ``provisioning.url`` setting takes precedence in files rendered with a config.
    `mac` and `model` come from the path or the User-Agent: boot files, which carry no
    secret and are rendered without a config, use them to point at the per-MAC file.
    """

    base_url: str
    mac: str | None = None
    model: str | None = None
    firmware: str | None = None  # from the User-Agent (Fanvil's file format depends on it)


def context_for(
    request: FileRequest, identity: PhoneIdentity | None, base_url: str
) -> RenderContext:
    """The `RenderContext` for a matched request: MAC and model from the path, else the UA."""
    return RenderContext(
        base_url=base_url.rstrip("/"),
        mac=request.mac or (identity.mac if identity else None),
        model=request.model or (identity.model if identity else None),
        firmware=identity.firmware if identity else None,
    )


class RenderError(ValueError):
    """A file cannot be rendered (a secret file without a config, an unknown kind)."""


@dataclass(frozen=True, slots=True)
class PathRule:
    """One file name a vendor's phones request. Named groups: ``mac`` and ``model``."""

    pattern: re.Pattern[str]
    kind: str
    secret: bool = False
    delivery: Delivery = Delivery.RENDER
    media_type: str = XML

    @property
    def extension(self) -> str | None:
        """The literal extension the pattern ends with (``cfg``), "" for none, None if unknown."""
        source = self.pattern.pattern
        found = _LITERAL_EXTENSION.search(source)
        if found is not None:
            return found.group(1)
        return None if "." in source else ""  # a dot that is not the extension's: try always


_LITERAL_EXTENSION = re.compile(r"\\\.([A-Za-z0-9]+)$")


def extension_of(name: str) -> str:
    """``cfg`` for ``001565a00001.cfg``; "" for a name without a dot."""
    return name.rpartition(".")[2] if "." in name else ""


@dataclass(frozen=True, slots=True)
class UserAgentRule:
    """A User-Agent form. Named groups: ``model``, ``firmware`` and optionally ``mac``."""

    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Writes:
    """A schema key reaches this vendor: the vendor keys it is written to (``{n}`` stands
    for the line or account number) and how (units, value table, limits)."""

    keys: tuple[str, ...]
    how: str = ""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A schema key this vendor has no key for (or none a document confirms), and why."""

    why: str


SettingReach = Writes | Unavailable


@dataclass(frozen=True, slots=True)
class Model:
    """A model a vendor module knows: how many lines (accounts) it has, its file format."""

    name: str
    lines: int
    file_format: str = ""


def model_key(name: str) -> str:
    """A model name compared without case, spaces, dashes or underscores."""
    return "".join(c for c in name.upper() if c.isalnum())


@dataclass(frozen=True)
class ModelTable:
    """A vendor's models, found by name without regard to case, and what an unknown model
    is treated as (`unknown`: its line count is how many lines the file writes, disabled
    past the estate's; its format the one written)."""

    models: tuple[Model, ...]
    unknown: Model
    _by_name: Mapping[str, Model] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name = {model_key(model.name): model for model in self.models}
        object.__setattr__(self, "_by_name", by_name)

    def find(self, name: str | None) -> Model | None:
        """The model called `name` (any case; ``VVX_450``, ``vvx450`` and ``VVX-450`` are
        one), or None when this vendor does not know it."""
        return self._by_name.get(model_key(name)) if name else None

    def of(self, name: str | None) -> tuple[Model, bool]:
        """The model to write for (the unknown one if need be), and whether it is known."""
        found = self.find(name)
        return (found, True) if found is not None else (self.unknown, False)


Variables = Callable[[str, DeviceConfig | None, RenderContext], Mapping[str, Any]]
TemplateChooser = Callable[[str, str | None], str]


def choose_by_kind(vendor: str, templates: Mapping[str, str]) -> TemplateChooser:
    """A `TemplateChooser` for vendors whose models share their templates."""

    def choose(kind: str, model: str | None) -> str:
        try:
            return templates[kind]
        except KeyError:
            raise RenderError(f"{vendor} has no file kind {kind!r}") from None

    return choose


def mac_of(text: str | None) -> str | None:
    """12 lower-case hex digits from a path or User-Agent fragment, or None if not a phone's."""
    if not text:
        return None
    candidate = text.replace(":", "").replace("-", "").lower()
    if len(candidate) != 12 or candidate == _ZERO_MAC:
        return None
    try:
        if int(candidate, 16) >> 40 & 1:  # multicast bit of the first octet
            return None
    except ValueError:
        return None
    return candidate


@dataclass(frozen=True)
class VendorProfile:
    """One vendor: its paths, its User-Agents and its files.

    `device_files(mac, model)` lists the names a device of this vendor fetches that the
    server renders, the main per-MAC file (kind ``device``) first.
    """

    name: str
    path_rules: tuple[PathRule, ...] = field(repr=False)
    user_agent_rules: tuple[UserAgentRule, ...] = field(repr=False)
    variables: Variables = field(repr=False)
    template_for: TemplateChooser = field(repr=False)
    device_files: Callable[[str, str], tuple[str, ...]] = field(repr=False)
    # Each schema key: the vendor keys it is written to, or why this vendor cannot take it.
    settings_map: Mapping[str, SettingReach] = field(default_factory=dict, repr=False)
    models: ModelTable | None = field(default=None, repr=False)
    # What this vendor writes differently from an effective value, and why: (key, text).
    adjustments: Callable[[Mapping[str, Any]], list[tuple[str, str]]] | None = field(
        default=None, repr=False
    )
    # The device file carries a version the phone compares (Fanvil): the server keeps it
    # from rising while the content stays the same (`web.file_versions`).
    versioned: bool = field(default=False, repr=False)
    _rules_by_extension: Mapping[str | None, tuple[PathRule, ...]] = field(
        init=False, repr=False, compare=False
    )
    _unknown_extension: tuple[PathRule, ...] = field(init=False, repr=False, compare=False)
    _remembered: Callable[[str], FileRequest | None] = field(init=False, repr=False, compare=False)
    _remembered_identity: Callable[[str], PhoneIdentity | None] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # The rules worth trying for each extension, in their order (a dict lookup per path).
        by_extension: dict[str | None, list[PathRule]] = {}
        for rule in self.path_rules:
            by_extension.setdefault(rule.extension, [])
        for extension in by_extension:
            by_extension[extension] = [
                rule for rule in self.path_rules if rule.extension in (extension, None)
            ]
        object.__setattr__(
            self, "_rules_by_extension", {k: tuple(v) for k, v in by_extension.items()}
        )
        object.__setattr__(self, "_unknown_extension", tuple(by_extension.get(None, ())))
        # Phones fetch the same few names again and again: remember the latest answers.
        object.__setattr__(self, "_remembered", functools.lru_cache(MATCH_CACHE)(self._match))
        object.__setattr__(
            self, "_remembered_identity", functools.lru_cache(MATCH_CACHE)(self._identify)
        )

    def match(self, path: str) -> FileRequest | None:
        """The file `path` (``/001565a00001.cfg``, as decoded by the HTTP server) asks for."""
        if len(path) > MAX_PATH:  # no phone file name is that long
            return None
        return self._remembered(path)

    def _match(self, path: str) -> FileRequest | None:
        if not path.startswith("/"):
            return None
        name = path[1:]
        rules = self._rules_by_extension.get(extension_of(name), self._unknown_extension)
        for rule in rules:
            found = rule.pattern.fullmatch(name)
            if found is None:
                continue
            groups = found.groupdict()
            mac = None
            if "mac" in groups:
                mac = mac_of(groups["mac"])
                if mac is None:
                    continue
            return FileRequest(
                vendor=self.name,
                kind=rule.kind,
                mac=mac,
                model=groups.get("model") or None,
                secret=rule.secret,
                delivery=rule.delivery,
                media_type=rule.media_type,
            )
        return None

    def identify(self, user_agent: str | None) -> PhoneIdentity | None:
        """Vendor, model, firmware and MAC read from a User-Agent, or None if not ours."""
        if not user_agent:
            return None
        if len(user_agent) > MAX_REMEMBERED_USER_AGENT:
            return self._identify(user_agent)
        return self._remembered_identity(user_agent)

    def _identify(self, user_agent: str) -> PhoneIdentity | None:
        for rule in self.user_agent_rules:
            found = rule.pattern.search(user_agent)
            if found is None:
                continue
            groups = found.groupdict()
            model = groups.get("model")
            return PhoneIdentity(
                vendor=self.name,
                model=model or None,
                firmware=groups.get("firmware"),
                mac=mac_of(groups.get("mac")),
            )
        return None

    def cannot_take(
        self, settings: Mapping[str, Any], defaults: bool = False
    ) -> list[tuple[str, str]]:
        """The keys of `settings` with a value that this vendor cannot take, and why; with
        `defaults` False only those set to something other than the schema's default
        (what someone asked for)."""
        found = []
        for key, reach in self.settings_map.items():
            if not isinstance(reach, Unavailable):
                continue
            value = settings.get(key)
            if value in (None, "", ()) or (not defaults and value == _DEFAULTS.get(key)):
                continue
            found.append((key, reach.why))
        return found

    def notes(self, settings: Mapping[str, Any]) -> list[tuple[str, str]]:
        """What a person should know about `settings` on this vendor's phones: each key
        it cannot take, and each value it writes differently (``provisioner settings``
        and ``render`` print them)."""
        found = [
            (key, f"not taken by {self.name}: {why}") for key, why in self.cannot_take(settings)
        ]
        if self.adjustments is not None:
            found += self.adjustments(settings)
        return found

    def render(self, kind: str, config: DeviceConfig | None, context: RenderContext) -> bytes:
        """The bytes of a file of `kind`. Pure: same inputs, same bytes.

        Files that carry a secret need `config` (the device's); the others ignore it.
        """
        values = self.variables(kind, config, context)
        model = config.model if config is not None else context.model
        return render_template(self.template_for(kind, model), values)

    def template_variables(
        self, kind: str, config: DeviceConfig | None, context: RenderContext
    ) -> tuple[str, Mapping[str, Any]]:
        """The template `render` would use and its variables (operator templates get the same)."""
        model = config.model if config is not None else context.model
        return self.template_for(kind, model), self.variables(kind, config, context)
