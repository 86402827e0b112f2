"""Yealink (T4x/T5x, firmware 80 and newer): ``<mac>.boot`` → ``<mac>.cfg``.

Files (MAC lower-case): ``<mac>.boot`` and ``y000000000000.boot`` (boot files: which
files to load), ``y0000000000NN.cfg`` (per-model common file, NN the model code; we keep
nothing in it) and ``<mac>.cfg`` (the device file, with the lines and their passwords).

Failover: ``account.X.sip_server.1.transport_type = 3`` (DNS-NAPTR) with port 0, the
outbound proxy on with the zone's proxy name and port 0; ``sip_server.2`` and
``outbound_proxy.2`` (the backups) are written empty so a value left on the phone is cleared.
A transport given without a port is SRV for that transport (Yealink: "if an explicit port
(except 0) is specified, A query will be performed only"); ``account.X.naptr_build = 1``
makes a phone whose NAPTR lookup finds nothing try the SRV of UDP, TCP and TLS.

The failover policy goes to ``sip_server.1`` and to ``outbound_proxy.1`` alike (the
outbound proxy's keys default to -1, "as sip_server"; written out so either reading
holds): ``retry_counts``, ``failback_mode`` (0 newRequests, 1 DNSTTL, 2 registration, 3
duration), ``failback_timeout``, ``register_on_enable``, ``only_signal_with_registered``.
Subscriptions following the registration is ``failback_subscribe.enable``, documented both
per server (T5 guide) and per account: both are written. Yealink has no per-try timeout.

The static DNS cache (``failover.static_dns_cache``): ``dns_cache_naptr.N.*``,
``dns_cache_srv.N.*`` and ``dns_cache_a.N.*`` with ``account.X.dns_cache_type = 1`` and
``account.X.static_cache_pri = 0`` (live DNS first; the cache only when DNS gives nothing).
The guides list the entries for the model file; they are written in the device file, the
one file the phone is known to load (unsure whether every firmware reads them there).
Twelve entries at most, as Poly (Yealink's limit is not documented).

Nothing stale: a Yealink phone changes only the keys a file carries, and a key written
blank (``key =``) is ignored, so a value to clear is written ``%NULL%`` (the backup server
and proxy, an empty display name, a voicemail number no longer set). Every account the
model has beyond the estate's lines is written ``account.N.enable = 0`` with its user,
password and server cleared (`MODELS`: the accounts per model; a model not in the table
gets 16, the most any Yealink desk phone has: an account key the phone lacks is ignored).

Time: ``local_time.time_zone`` is the standard offset (``-5``, ``+5:30``) and DST is written
as a rule from the IANA database, not left to the phone's own table: ``summer_time = 1``
with ``dst_time_type = 1`` (by week), ``start_time``/``end_time`` as
month/week (5: last)/weekday (1 Monday … 7 Sunday)/hour and ``offset_time`` in minutes;
``summer_time = 0`` for a zone without DST. ``local_time.time_zone_name`` is not written:
Yealink's name table is not documented here, and with ``summer_time`` other than 2
(automatic) the name does not choose the rule.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import Failback, Transport
from provisioner.domain.time_zones import ZoneRule, format_offset, zone_rule
from provisioner.vendors import common
from provisioner.vendors.base import (
    TEXT,
    Model,
    ModelTable,
    PathRule,
    RenderContext,
    RenderError,
    SettingReach,
    Unavailable,
    UserAgentRule,
    VendorProfile,
    Writes,
    choose_by_kind,
)

NAME = "yealink"
NULL = "%NULL%"  # how a Yealink file clears a key (a blank value is ignored)

TRANSPORT_TYPE = {Transport.UDP: 0, Transport.TCP: 1, Transport.TLS: 2, Transport.DNS_NAPTR: 3}
DTMF_TYPE = {"inband": 0, "rfc2833": 1, "info": 2}
SRTP = {"disabled": 0, "optional": 1, "required": 2}
FAILBACK_MODE = {
    Failback.NEW_REQUESTS: 0,
    Failback.DNS_TTL: 1,
    Failback.REGISTRATION: 2,
    Failback.DURATION: 3,
}
STATIC_CACHE_ENTRIES = 12
LANGUAGE = {
    "en": "English",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese",
    "ru": "Russian",
    "pl": "Polish",
    "tr": "Turkish",
}

# Accounts per model (data sheets); a model not listed gets the most a Yealink desk phone
# has. Writing a disabled account the phone lacks is harmless: unknown keys are ignored.
MODELS = ModelTable(
    models=tuple(
        Model(name, lines)
        for name, lines in (
            ("T31G", 2),
            ("T33G", 4),
            ("T41S", 6),
            ("T42S", 12),
            ("T46S", 16),
            ("T48S", 16),
            ("T46G", 6),
            ("T48G", 6),
            ("T42U", 12),
            ("T43U", 12),
            ("T46U", 16),
            ("T48U", 16),
            ("T53", 12),
            ("T53W", 12),
            ("T54W", 16),
            ("T57W", 16),
            ("T58W", 16),
            ("W52P", 5),
            ("W56P", 5),
            ("W70B", 10),
        )
    ),
    unknown=Model("any other", 16),
)

SETTINGS: Mapping[str, SettingReach] = {
    "transport": Writes(
        ("account.{n}.sip_server.1.transport_type",),
        "0 UDP, 1 TCP, 2 TLS, 3 DNS-NAPTR; naptr_build 1 with no port",
    ),
    "outbound_proxy.host": Writes(
        ("account.{n}.outbound_proxy.1.address", "account.{n}.outbound_proxy_enable"),
    ),
    "outbound_proxy.port": Writes(("account.{n}.outbound_proxy.1.port",), "0 under dns-naptr"),
    "secondary_proxy.host": Writes(
        ("account.{n}.outbound_proxy.2.address",), "%NULL% when none (always with dns-naptr)"
    ),
    "secondary_proxy.port": Writes(("account.{n}.outbound_proxy.2.port",), "%NULL% when none"),
    "registrar.host": Writes(("account.{n}.sip_server.1.address",)),
    "registrar.port": Writes(("account.{n}.sip_server.1.port",), "0 under dns-naptr"),
    "registration.expiry": Writes(("account.{n}.sip_server.1.expires",), "seconds"),
    "failover.tries_per_server": Writes(
        ("account.{n}.sip_server.1.retry_counts", "account.{n}.outbound_proxy.1.retry_counts")
    ),
    "failover.try_timeout": Unavailable("Yealink has no per-try timeout key"),
    "failover.register_on_failover": Writes(
        (
            "account.{n}.sip_server.1.register_on_enable",
            "account.{n}.outbound_proxy.1.register_on_enable",
        ),
    ),
    "failover.signal_only_registered": Writes(
        (
            "account.{n}.sip_server.1.only_signal_with_registered",
            "account.{n}.outbound_proxy.1.only_signal_with_registered",
        ),
    ),
    "failover.failback": Writes(
        ("account.{n}.sip_server.1.failback_mode", "account.{n}.outbound_proxy.1.failback_mode"),
        "0 new requests, 1 DNS TTL, 2 registration, 3 duration",
    ),
    "failover.failback_interval": Writes(
        (
            "account.{n}.sip_server.1.failback_timeout",
            "account.{n}.outbound_proxy.1.failback_timeout",
        ),
        "seconds",
    ),
    "failover.subscriptions_follow": Writes(
        (
            "account.{n}.sip_server.1.failback_subscribe.enable",
            "account.{n}.failback_subscribe.enable",
        ),
    ),
    "failover.static_dns_cache": Writes(
        ("account.{n}.dns_cache_type", "dns_cache_naptr.1.name", "dns_cache_srv.1.name"),
        "dns_cache_type 1 and static_cache_pri 0 (live DNS first); at most 12 entries",
    ),
    "ntp.server": Writes(("local_time.ntp_server1",)),
    "time_zone": Writes(
        (
            "local_time.time_zone",
            "local_time.summer_time",
            "local_time.dst_time_type",
            "local_time.start_time",
            "local_time.end_time",
            "local_time.offset_time",
        ),
        "standard offset (-5, +5:30); DST by week from the IANA rule, offset in minutes",
    ),
    "resync.interval": Writes(
        ("static.auto_provision.repeat.enable", "static.auto_provision.repeat.minutes"),
        "minutes, at least 1",
    ),
    "provisioning.url": Writes(("static.auto_provision.server.url",), "written when set"),
    "language": Writes(
        ("lang.gui", "lang.wui"),
        "en fr de es it pt ru pl tr; others not written (said in the file)",
    ),
    "codecs": Writes(
        ("account.{n}.codec.opus.enable", "account.{n}.codec.pcma.enable"),
        "every codec (opus g722 pcmu pcma g729) .enable 0/1; .priority in the setting's order",
    ),
    "dtmf": Writes(("account.{n}.dtmf.type",), "0 inband, 1 RFC 2833, 2 SIP INFO"),
    "srtp": Writes(("account.{n}.srtp_encryption",), "0 disabled, 1 optional, 2 compulsory"),
    "voicemail.number": Writes(("voice_mail.number.{n}",), "%NULL% when none"),
    "admin.password": Writes(
        ("static.security.user_password",), "admin:PASSWORD; not written when unset"
    ),
    **common.SERVER_ENFORCED,
}

PATH_RULES = (
    PathRule(re.compile(r"y000000000000\.boot"), "common-boot", media_type=TEXT),
    PathRule(re.compile(r"y(?=[0-9]{12}\.cfg)0*(?P<model>[0-9]*)\.cfg"), "model", media_type=TEXT),
    PathRule(re.compile(r"(?P<mac>[0-9a-f]{12})\.boot"), "boot", media_type=TEXT),
    PathRule(re.compile(r"(?P<mac>[0-9a-f]{12})\.cfg"), "device", secret=True, media_type=TEXT),
)

USER_AGENT_RULES = (
    # Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37 / Yealink SIP VP-T49G ... / Yealink W52P ...
    UserAgentRule(
        re.compile(
            r"\bYealink\s+(?:SIP[-\s])?(?P<model>[A-Za-z0-9][A-Za-z0-9_-]*)\s+"
            r"(?P<firmware>\d+(?:\.\d+)+)"
            r"(?:\s+(?P<mac>[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{12}))?"
        )
    ),
)

TEMPLATES = {
    "common-boot": "yealink/boot.boot.j2",
    "boot": "yealink/boot.boot.j2",
    "model": "yealink/model.cfg.j2",
    "device": "yealink/device.cfg.j2",
}


def _or_null(value: Any) -> Any:
    return NULL if value is None or value == "" else value


def _line(line: Any, shared: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": line.index,
        "label": _or_null(line.label),
        "display_name": _or_null(line.display_name),
        "auth_name": _or_null(line.auth_name),
        "user_name": _or_null(line.sip_user),
        "password": _or_null(line.password),
        **shared,
    }


def week_rule(transition: Any) -> str:
    """``month/week/weekday/hour``: week 5 is the last, weekday 1 Monday … 7 Sunday."""
    return f"{transition.month}/{transition.week}/{transition.iso_weekday}/{transition.hour_of_day}"


@functools.lru_cache(maxsize=256)
def time_keys(name: str) -> tuple[tuple[tuple[str, Any], ...], str | None]:
    """The ``local_time.*`` keys for an IANA zone, and a note when the rule is approximate."""
    rule: ZoneRule = zone_rule(name)
    keys: list[tuple[str, Any]] = [
        ("local_time.time_zone", format_offset(rule.offset, always_minutes=False))
    ]
    dst = rule.dst
    if dst is None:
        keys += [
            ("local_time.summer_time", 0),
            ("local_time.dst_time_type", NULL),
            ("local_time.start_time", NULL),
            ("local_time.end_time", NULL),
            ("local_time.offset_time", NULL),
        ]
        return tuple(keys), None
    keys += [
        ("local_time.summer_time", 1),
        ("local_time.dst_time_type", 1),
        ("local_time.start_time", week_rule(dst.start)),
        ("local_time.end_time", week_rule(dst.end)),
        ("local_time.offset_time", dst.save // 60),
    ]
    note = None
    if not (dst.start.exact and dst.end.exact):
        note = f"{name}'s DST changes at {rule.posix}: rounded to the hour the phone can take"
    return tuple(keys), note


def _servers(servers: common.Servers) -> dict[str, Any]:
    """The keys of a line that come from the servers: the same for every line."""
    return {
        "server_address": servers.registrar_host,
        "server_port": servers.registrar_port,
        "transport_type": TRANSPORT_TYPE[servers.transport],
        "expires": servers.expiry,
        "proxy_enable": 1 if servers.proxy_host else 0,
        "proxy_address": servers.proxy_host,
        "proxy_port": servers.proxy_port,
        "backup_proxy_address": _or_null(servers.secondary_host),
        "backup_proxy_port": servers.secondary_port if servers.secondary_host else NULL,
    }


def _failover(policy: common.Failover, servers: common.Servers) -> dict[str, Any]:
    """The failover keys of a line (the same for server 1 and outbound proxy 1)."""
    return {
        "retry_counts": policy.tries,
        "failback_mode": FAILBACK_MODE[policy.failback],
        "failback_timeout": policy.failback_interval,
        "register_on_enable": common.on_off(policy.register_on_failover),
        "only_signal_with_registered": common.on_off(policy.signal_only_registered),
        "failback_subscribe": common.on_off(policy.subscriptions_follow),
        "naptr_build": common.on_off(servers.srv),
    }


def _settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of a line that come from the settings: the same for every line."""
    return {
        "codecs": list(map(dict.copy, _codec_rows(tuple(settings["codecs"])))),
        "dtmf_type": DTMF_TYPE[settings["dtmf"]],
        "srtp": SRTP[settings["srtp"]],
    }


@functools.lru_cache(maxsize=512)
def _codec_rows(codecs: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """Every codec the phone has, enabled or not, for one codecs setting (an estate has a
    handful of distinct ones: worked out once each). Never handed out: copies are."""
    return tuple(
        {
            "name": name,
            "enable": 1 if name in codecs else 0,
            "priority": common.codec_priority(name, codecs),
        }
        for name in ("opus", "g722", "pcmu", "pcma", "g729")
    )


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind in ("boot", "common-boot"):
        mac = context.mac
        return {"includes": [f"{common.base_url(config, context)}/{mac}.cfg"] if mac else []}
    if kind == "model":
        return {}
    if kind != "device":
        raise RenderError(f"yealink has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    resync = settings["resync.interval"]
    # Every line shares these (the templates and operator templates only read them):
    # the servers' keys, then the settings'.
    policy = common.failover(config)
    shared = _servers(servers)
    shared.update(_settings(settings))
    shared.update(_failover(policy, servers))
    cache = (
        common.static_dns_cache(config.proxy_records, STATIC_CACHE_ENTRIES)
        if policy.static_dns_cache and config.proxy_records is not None
        else None
    )
    shared["static_cache"] = cache is not None
    shared["voicemail"] = _or_null(settings["voicemail.number"])
    slots = common.line_slots(config, MODELS)
    time, time_note = time_keys(settings["time_zone"])
    return {
        "naptr": servers.naptr,
        "srv": servers.srv,
        "static_cache": cache,
        "lines": [_line(line, shared) for line in slots.lines],
        "disabled_lines": slots.disabled,
        "left_out_lines": slots.left_out,
        "model": slots.model.name if slots.known else None,
        "model_lines": slots.model.lines,
        "ntp_server": settings["ntp.server"],
        "time": time,
        "time_note": time_note,
        "resync_enable": 1 if resync else 0,
        "resync_minutes": max(1, resync // 60) if resync else NULL,
        "server_url": settings["provisioning.url"],
        "language": LANGUAGE.get(settings["language"]),
        "language_code": settings["language"],
        "voicemail": settings["voicemail.number"],
        "admin_password": settings["admin.password"],
    }


def device_files(mac: str, model: str) -> tuple[str, ...]:
    return (f"{mac}.cfg", f"{mac}.boot")


PROFILE = VendorProfile(
    name=NAME,
    path_rules=PATH_RULES,
    user_agent_rules=USER_AGENT_RULES,
    variables=variables,
    template_for=choose_by_kind(NAME, TEMPLATES),
    device_files=device_files,
    settings_map=SETTINGS,
    models=MODELS,
)
