"""Fanvil (X series): ``<mac>.cfg``, XML in one of two formats chosen by model and firmware.

Files (MAC lower-case): ``<mac>.cfg``, the device file. Fanvil's per-model common files
have no confirmed name, so none is served.

Formats (`file_format`). The newer ``<sysConf>`` (``<Version>`` its first child,
``<sip><line index="n">``, ``<phone><date>``, ``<ap>``, ``<web>``) for firmware 2.2.10 and
newer and for the models that only ever had it (X4U, X5U, X6U, X7, X7C, X210 and their
Pro/V2 variants). The older module format ``<VOIP_CONFIG_FILE>`` (``<version>``,
``GLOBAL_CONFIG_MODULE``, ``SIP_CONFIG_MODULE/SIP_Line_List/SIP_Line_List_Entry`` with
``<ID>SIPn</ID>``, ``MMI_CONFIG_MODULE``, ``PHONE_CONFIG_MODULE``,
``AUTOUPDATE_CONFIG_MODULE``; key names with underscores) for X2, X3, X3S, X3SP, X3SG,
X4, X4G, X5, X5S, X6 and X6V2 whose firmware is older than 2.2.10, or unknown (a phone
that never fetched): wazo-provd serves this format to X4 phones on firmware 2.14, so it
is the form that works on either firmware. Versions compare numerically (2.10.2 is newer
than 2.2.10). A model not in `MODELS` gets ``<sysConf>`` unless its firmware is older
than 2.2.10, and 20 lines (the most an X model has); the file says so.

Version. A Fanvil phone applies a file only when its version is higher than the one it
applied last, so the version is ``2.`` and a change id (`DeviceConfig.revision`) in ten
digits: ``2.0000000042``. Ten fixed digits order the same whether the phone compares the
text, a decimal number or the part after the dot as an integer (the form FusionPBX
writes is ``2.0000000000``). The server writes the change id at which it first rendered
the file's current content (`provisioner.web.file_versions`), so the version rises when
the file changes and only then; `provisioner render` writes the estate's change id.

Lines (`MODELS`, line counts from wazo-provd's Fanvil plugin): every line the model has
is written; the estate's lines enabled, the others ``EnableReg = 0`` with their number,
credentials and servers written empty; estate lines past the model's count are left out
and named in a file comment.

Failover: the registrar and outbound proxy as host names; a port element empty when no
port is given (always under dns-naptr), so the phone looks SRV up: ``DNSSRV = 1`` with
``DNSMode = 1`` (FusionPBX's form for SRV). With an explicit port ``DNSSRV = 0`` and
``DNSMode = 0``. The DNSMode codes are **unsure**: 1 is the only value seen; 0 is read as
"no SRV" by analogy. ``BakProxyAddr``/``BakProxyPort`` (the secondary proxy) and
``BackupAddr``/``BackupPort`` are written, empty when none. Fanvil has no NAPTR
transport code (none is documented): under dns-naptr ``Transport`` is the zone's first
NAPTR transport (from its records; UDP when they are not known) and the phone looks up
that transport's SRV records. Transport codes: 0 UDP, 1 TCP, 3 TLS (FusionPBX and wazo
agree); in the module format FusionPBX writes TLS as 2 and wazo as 3: **unsure**, 2 is
written. ``ProxyUser``/``ProxyPswd`` carry the register credentials.

The failover policy, per line, ``<sysConf>`` only, with **unsure** semantics (no Fanvil
document was found; the names and FusionPBX's values are all there is):
``EnableFailback = 1`` with ``FailbackInterval`` (the failback as a duration),
``SignalRetryCounts`` (tries), ``BackupNeedRegOn`` (register_on_failover).
``SignalFailback`` is not written: what it switches is not known.

Time (``<phone><date>``; the module format's ``Time_Zone`` etc.): ``EnableSNTP = 1``,
``SNTPServer``; ``TimeZone`` is the standard offset in quarter hours (-20 for UTC-5, 22
for UTC+5:30: FusionPBX's and wazo's tables agree). ``TimeZoneName`` is written
``UTC-5``/``UTC+5:30``/``UTC`` as FusionPBX does (wazo writes ``UTC-05``): Fanvil's name
table is not documented, so the name is **unsure**; the quarter-hour offset sets the
clock. DST is written from the IANA rule as wazo does: ``EnableDST = 2`` with
``DSTFixedType = 2``, ``DSTMinOffset`` (minutes), ``DST{Start,End}{Mon,Week,Wday,Hour}``
(week 1-4, -1 the last, as wazo; weekday 0 Sunday; the hour of day, rounded, said in
the file); ``EnableDST = 0`` for a zone without DST. The meaning of the codes 2 is not
documented (**unsure**).

Periodic provisioning (``<ap>``; the module format's ``Download_*``): ``FlashServerIP``
is the provisioning URL, ``FlashProtocol`` 4 for http and 5 for https (FusionPBX and
wazo); ``FlashMode = 1`` with ``FlashInterval`` in hours (rounded up), ``FlashMode = 0``
for never. The unit and the mode codes are **unsure**: FusionPBX and wazo write mode 1,
interval 1.

Other keys: ``DTMFMode`` 0 in-band, 1 RFC 2833, 2 SIP INFO (wazo); ``MWINum`` the
voicemail number; ``VoiceCodecMap`` per line, the codecs in order of preference (PCMU,
PCMA, G722, G729; the module format says G711U, G711A); Opus is not written, its name
in that list is not documented. Language: ``<phone><display><DefaultLanguage>`` (en, fr,
de, es, it, ru, pt, pl, tr, nl, he, hr, ko, ar, cat, eus, slo, cz, ua, cn: wazo's list);
the module format's numeric ``Language`` (en 0, nl 3, fr 4, it 7, es 10, de 16); any
other language is not written (said in the file). Admin password: ``<phone><MenuPassword>``
and ``<web><account index="1">`` (admin, level 10); not written when unset (the phone
keeps its own). SRTP is not available: the key is ``MediaCrypto`` but no source gives the
codes for optional and required.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

import dns.rdatatype

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Transport
from provisioner.domain.time_zones import Transition, format_offset, zone_rule
from provisioner.vendors import common
from provisioner.vendors.base import (
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

NAME = "fanvil"

SYSCONF = "sysConf"  # firmware 2.2.10 and newer
MODULES = "VOIP_CONFIG_FILE"  # older firmware of the older models
LAYOUTS = {SYSCONF: "fanvil/sysconf.xml.j2", MODULES: "fanvil/modules.xml.j2"}
NEWER_FIRMWARE = (2, 2, 10)

# Per format: (sysConf, module format).
TRANSPORT = {
    Transport.UDP: (0, 0),
    Transport.TCP: (1, 1),
    Transport.TLS: (3, 2),
}
NAPTR_SERVICES = {"SIPS+D2T": Transport.TLS, "SIP+D2T": Transport.TCP, "SIP+D2U": Transport.UDP}
DTMF_MODE = {"inband": 0, "rfc2833": 1, "info": 2}
CODEC_NAMES = {
    "pcmu": ("PCMU", "G711U"),
    "pcma": ("PCMA", "G711A"),
    "g722": ("G722", "G722"),
    "g729": ("G729", "G729"),
}
LANGUAGE_SYSCONF = {
    "en": "en",
    "zh": "cn",
    "ru": "ru",
    "it": "it",
    "fr": "fr",
    "de": "de",
    "he": "he",
    "es": "es",
    "ca": "cat",
    "eu": "eus",
    "tr": "tr",
    "hr": "hr",
    "sk": "slo",
    "cs": "cz",
    "nl": "nl",
    "ko": "ko",
    "uk": "ua",
    "pt": "pt",
    "pl": "pl",
    "ar": "ar",
}
LANGUAGE_MODULES = {"en": 0, "nl": 3, "fr": 4, "it": 7, "es": 10, "de": 16}

# Element names of a line's keys: (sysConf, module format).
KEYS = {
    "number": ("PhoneNumber", "Phone_Number"),
    "display_name": ("DisplayName", "Display_Name"),
    "user": ("RegisterUser", "Register_User"),
    "password": ("RegisterPswd", "Register_Pswd"),
    "proxy_user": ("ProxyUser", "Proxy_User"),
    "proxy_password": ("ProxyPswd", "Proxy_Pswd"),
    "enable": ("EnableReg", "Enable_Reg"),
    "registrar": ("RegisterAddr", "Register_Addr"),
    "registrar_port": ("RegisterPort", "Register_Port"),
    "expiry": ("RegisterTTL", "Register_TTL"),
    "proxy": ("ProxyAddr", "Proxy_Addr"),
    "proxy_port": ("ProxyPort", "Proxy_Port"),
    "secondary": ("BakProxyAddr", "BakProxy_Addr"),
    "secondary_port": ("BakProxyPort", "BakProxy_Port"),
    "backup": ("BackupAddr", "Backup_Addr"),
    "backup_port": ("BackupPort", "Backup_Port"),
    "transport": ("Transport", "Transport"),
    "srv": ("DNSSRV", "DNS_SRV"),
    "dns_mode": ("DNSMode", "DNS_Mode"),
    "dtmf": ("DTMFMode", "DTMF_Mode"),
    "voicemail": ("MWINum", "MWI_Num"),
    "codecs": ("VoiceCodecMap", "VoiceCodecMap"),
}
_IDENTITY = ("number", "display_name", "user", "password", "proxy_user", "proxy_password")
_CLEARED_SERVERS = (
    "registrar",
    "registrar_port",
    "proxy",
    "proxy_port",
    "secondary",
    "secondary_port",
    "backup",
    "backup_port",
    "voicemail",
)

# Lines per model (wazo-provd's Fanvil X plugin) and the format a model gets when its
# firmware is not known. X1S, X3U and X7A are not listed: no source gave their lines.
MODELS = ModelTable(
    models=tuple(
        Model(name, lines, file_format)
        for file_format, models in (
            (
                MODULES,
                (
                    ("X2", 2),
                    ("X3", 2),
                    ("X3S", 2),
                    ("X3SP", 2),
                    ("X3SG", 2),
                    ("X4", 4),
                    ("X4G", 4),
                    ("X5", 16),
                    ("X5S", 16),
                    ("X6", 20),
                    ("X6V2", 20),
                ),
            ),
            (
                SYSCONF,
                (
                    ("X4U", 12),
                    ("X4U-Pro", 12),
                    ("X4U-V2", 12),
                    ("X5U", 16),
                    ("X5U-Pro", 16),
                    ("X5U-V2", 16),
                    ("X6U", 20),
                    ("X6U-Pro", 20),
                    ("X7", 20),
                    ("X7-Pro", 20),
                    ("X7C", 20),
                    ("X7C-Pro", 20),
                    ("X210", 20),
                    ("X210-Pro", 20),
                    ("X210i", 20),
                    ("X210i-Pro", 20),
                ),
            ),
        )
        for name, lines in models
    ),
    unknown=Model("any other", 20, SYSCONF),
)

_DST_KEYS = tuple(
    f"DST{edge}{part}" for edge in ("Start", "End") for part in ("Mon", "Week", "Wday", "Hour")
)

SETTINGS: Mapping[str, SettingReach] = {
    "transport": Writes(
        ("Transport", "DNSSRV", "DNSMode"),
        "0 UDP, 1 TCP, 3 TLS (module format: TLS 2, unsure); dns-naptr: the zone's first "
        "NAPTR transport; DNSSRV 1 and DNSMode 1 without a port",
    ),
    "outbound_proxy.host": Writes(("ProxyAddr",), "module format Proxy_Addr"),
    "outbound_proxy.port": Writes(("ProxyPort",), "empty when none (always under dns-naptr)"),
    "secondary_proxy.host": Writes(
        ("BakProxyAddr",), "empty when none (always with dns-naptr); BackupAddr empty"
    ),
    "secondary_proxy.port": Writes(("BakProxyPort",), "empty when none"),
    "registrar.host": Writes(("RegisterAddr",), "module format Register_Addr"),
    "registrar.port": Writes(("RegisterPort",), "empty when none (always under dns-naptr)"),
    "registration.expiry": Writes(("RegisterTTL",), "seconds"),
    "failover.tries_per_server": Writes(("SignalRetryCounts",), "sysConf only; semantics unsure"),
    "failover.try_timeout": Unavailable("no Fanvil key for a per-try timeout is known"),
    "failover.register_on_failover": Writes(
        ("BackupNeedRegOn",), "0/1; sysConf only; semantics unsure"
    ),
    "failover.signal_only_registered": Unavailable(
        "SignalFailback may be it, but what it switches is not documented"
    ),
    "failover.failback": Writes(
        ("EnableFailback", "FailbackInterval"),
        "a timer only: duration as the interval, registration as the expiry, dns-ttl as the "
        "records' TTL, new-requests as the interval; sysConf only; semantics unsure",
    ),
    "failover.failback_interval": Writes(("FailbackInterval",), "seconds (unsure)"),
    "failover.subscriptions_follow": Unavailable("no Fanvil key for it is known"),
    "failover.static_dns_cache": Unavailable("Fanvil has no static DNS cache key known"),
    "ntp.server": Writes(("SNTPServer", "EnableSNTP"), "<phone><date>; module SNTP_Server"),
    "time_zone": Writes(
        ("TimeZone", "TimeZoneName", "EnableDST", "DSTMinOffset", *_DST_KEYS),
        "standard offset in quarter hours; name UTC-5 (unsure); DST from the IANA rule "
        "(EnableDST 2, week -1 the last), EnableDST 0 without",
    ),
    "resync.interval": Writes(
        ("FlashMode", "FlashInterval"),
        "<ap>: mode 1 with the interval in hours, rounded up; 0: mode 0 (codes and unit "
        "unsure); module Download_Mode, Download_Interval",
    ),
    "provisioning.url": Writes(
        ("FlashServerIP", "FlashProtocol"),
        "the provisioning URL, else the one the phone used; protocol 4 http, 5 https",
    ),
    "language": Writes(
        ("DefaultLanguage",),
        "en fr de es it ru pt pl tr nl he hr ko ar ca eu sk cs uk zh (module format: "
        "en nl fr it es de as numbers); others not written (said in the file)",
    ),
    "codecs": Writes(
        ("VoiceCodecMap",), "per line, in order: PCMU PCMA G722 G729 (opus not written)"
    ),
    "dtmf": Writes(("DTMFMode",), "0 in-band, 1 RFC 2833, 2 SIP INFO"),
    "srtp": Unavailable("the key is MediaCrypto, but no source gives its codes"),
    "voicemail.number": Writes(("MWINum",), "per line; empty when none"),
    "admin.password": Writes(
        ("MenuPassword", "account", "Password"),
        "<phone><MenuPassword> and <web><account index=1> admin, level 10; not written when unset",
    ),
    **common.SERVER_ENFORCED,
}

PATH_RULES = (PathRule(re.compile(r"(?P<mac>[0-9a-f]{12})\.cfg"), "device", secret=True),)

USER_AGENT_RULES = (
    # Fanvil X4 2.10.2.6887 0c383e07e16c / Fanvil X6U Pro 0.0.10 0c383e07e16c
    UserAgentRule(
        re.compile(
            r"\bFanvil\s+(?P<model>[A-Za-z0-9-]+(?:\s+(?:Pro|V2))?)\s+(?P<firmware>[0-9][0-9.]*)"
            r"(?:\s+(?P<mac>[0-9A-Fa-f]{12}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}))?"
        )
    ),
)

TEMPLATES = {"device": "fanvil/device.xml.j2"}


@functools.lru_cache(maxsize=256)
def firmware_version(firmware: str | None) -> tuple[int, ...] | None:
    """``2.10.2.6887`` as (2, 10, 2, 6887), compared number by number; None if unreadable."""
    if not firmware:
        return None
    found = re.match(r"\d+(?:\.\d+)*", firmware.strip())
    if found is None:
        return None
    return tuple(int(part) for part in found.group().split("."))


@functools.lru_cache(maxsize=256)
def file_format(model_name: str | None, firmware: str | None) -> tuple[str, str | None]:
    """The format a phone gets (`SYSCONF` or `MODULES`), and a note when the choice is
    not the model's own (an unknown model, or a firmware that decided it)."""
    model = MODELS.find(model_name)
    version = firmware_version(firmware)
    newer = None if version is None else version >= NEWER_FIRMWARE
    if model is not None and model.file_format == SYSCONF:
        return SYSCONF, None  # these models only ever had the newer format
    if model is not None:
        if newer:
            return SYSCONF, f"firmware {firmware} is 2.2.10 or newer: sysConf format"
        return MODULES, None
    if newer is False:
        return MODULES, f"firmware {firmware} is older than 2.2.10: the module format"
    return SYSCONF, None


def version(revision: int) -> str:
    """``2.`` and the estate's change id in ten digits (the largest if it ever has more)."""
    return f"2.{min(max(revision, 0), 9_999_999_999):010d}"


def _week(transition: Transition) -> int:
    return -1 if transition.week == 5 else transition.week


@functools.lru_cache(maxsize=512)
def time_keys(name: str, layout: str) -> tuple[tuple[tuple[str, Any], ...], str | None]:
    """The time zone keys for an IANA zone in one format, and a note when the DST rule
    had to be rounded to the hours the phone takes."""
    rule = zone_rule(name)
    modules = layout == MODULES
    offset = rule.offset
    zone_name = "UTC" if not offset else "UTC" + format_offset(offset, always_minutes=False)
    keys: list[tuple[str, Any]] = [
        ("Time_Zone" if modules else "TimeZone", offset // 900),
        ("Time_Zone_Name" if modules else "TimeZoneName", zone_name),
    ]
    dst = rule.dst
    if dst is None:
        keys.append(("Enable_DST" if modules else "EnableDST", 0))
        return tuple(keys), None
    if modules:
        keys += [("Enable_DST", 2), ("DST_Min_Offset", dst.save // 60)]
        for edge, transition in (("Start", dst.start), ("End", dst.end)):
            keys += [
                (f"DST_{edge}_Mon", transition.month),
                (f"DST_{edge}_Week", _week(transition)),
                (f"DST_{edge}_Wday", transition.weekday),
                (f"DST_{edge}_Hour", transition.hour_of_day),
                (f"DST_{edge}_Min", 0),
            ]
    else:
        keys += [("EnableDST", 2), ("DSTFixedType", 2), ("DSTMinOffset", dst.save // 60)]
        for edge, transition in (("Start", dst.start), ("End", dst.end)):
            keys += [
                (f"DST{edge}Mon", transition.month),
                (f"DST{edge}Week", _week(transition)),
                (f"DST{edge}Wday", transition.weekday),
                (f"DST{edge}Hour", transition.hour_of_day),
            ]
    note = None
    if not (dst.start.exact and dst.end.exact):
        note = f"{name} changes time at {rule.posix}: rounded to the hour the phone takes"
    return tuple(keys), note


@functools.lru_cache(maxsize=256)
def codec_map(codecs: tuple[str, ...], layout: str) -> tuple[str | None, tuple[str, ...]]:
    """``VoiceCodecMap`` for the ``codecs`` setting (None when no codec has a Fanvil
    name), and the codecs left out."""
    column = 1 if layout == MODULES else 0
    names = [CODEC_NAMES[codec][column] for codec in codecs if codec in CODEC_NAMES]
    left_out = tuple(codec for codec in codecs if codec not in CODEC_NAMES)
    return (",".join(names) if names else None), left_out


def _indexes(indexes: tuple[int, ...]) -> str:
    """``3``, ``3, 5`` or ``3 to 12`` (a run without gaps)."""
    if len(indexes) > 2 and indexes[-1] - indexes[0] == len(indexes) - 1:
        return f"{indexes[0]} to {indexes[-1]}"
    return ", ".join(str(index) for index in indexes)


def _comment(text: str) -> str:
    """`text` safe inside an XML comment (which may not hold ``--``)."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text


def _port(port: int) -> int | None:
    return port or None  # an empty element: no port, the phone looks SRV up


def _naptr_transport(config: DeviceConfig) -> Transport | None:
    """The zone's most preferred NAPTR transport; None when its records are not known."""
    records = config.proxy_records
    if records is None:
        return None
    for rrset in records.of_type(dns.rdatatype.NAPTR):
        best = min(rrset, key=lambda r: (r.order, r.preference), default=None)
        if best is not None:
            return NAPTR_SERVICES.get(best.service.decode().upper())
    return None


def _failover(policy: common.Failover) -> list[tuple[str, Any]]:
    return [
        ("EnableFailback", 1),
        ("FailbackInterval", policy.failback_timer()),
        ("SignalRetryCounts", policy.tries),
        ("BackupNeedRegOn", common.on_off(policy.register_on_failover)),
    ]


def _identity(line: LineConfig, column: int) -> list[tuple[str, Any]]:
    values = (
        line.sip_user,
        line.display_name,
        line.auth_name,
        line.password,
        line.auth_name,
        line.password,
    )
    pairs: list[tuple[str, Any]] = [
        (KEYS[key][column], value) for key, value in zip(_IDENTITY, values, strict=True)
    ]
    pairs.append((KEYS["enable"][column], 1))
    return pairs


def _disabled(column: int) -> tuple[tuple[str, Any], ...]:
    pairs: list[tuple[str, Any]] = [(KEYS[key][column], None) for key in _IDENTITY]
    pairs.append((KEYS["enable"][column], 0))
    pairs += [(KEYS[key][column], None) for key in _CLEARED_SERVERS]
    return tuple(pairs)


_DISABLED = (_disabled(0), _disabled(1))  # a line the estate does not have, per format


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind != "device":
        raise RenderError(f"fanvil has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    layout, format_note = file_format(config.model, context.firmware)
    modules = layout == MODULES
    column = 1 if modules else 0
    notes: list[str] = []
    if format_note:
        notes.append(format_note)

    slots = common.line_slots(config, MODELS)
    if not slots.known:
        notes.append(
            f"model {config.model} is not in the Fanvil table of Provisioner: written in the "
            f"{layout} format with {slots.model.lines} lines, those past the estate's "
            "disabled (a phone with fewer lines is expected to ignore the rest: unsure)"
        )
    if slots.disabled:
        notes.append(f"not in the estate, written disabled: line {_indexes(slots.disabled)}")
    if slots.left_out:
        notes.append(
            f"past the {slots.model.lines} lines of the model, not written: "
            f"line {_indexes(slots.left_out)}"
        )

    servers = common.servers(config)
    transport = servers.transport
    if servers.naptr:
        first = _naptr_transport(config)
        transport = first or Transport.UDP
        source = (
            "the first NAPTR transport of the zone" if first else "records of the zone not known"
        )
        notes.append(
            f"dns-naptr: Fanvil has no NAPTR transport code, so Transport is {transport.value}"
            f" ({source}) and the phone looks its SRV records up"
        )
    codecs, codecs_left_out = codec_map(tuple(settings["codecs"]), layout)
    if codecs_left_out:
        notes.append(
            f"codecs {', '.join(codecs_left_out)}: no Fanvil name is documented, not written"
        )
    if codecs is None:
        notes.append("no codec of the setting has a Fanvil name: VoiceCodecMap not written")

    servers_pairs: list[tuple[str, Any]] = [
        (KEYS["registrar"][column], servers.registrar_host),
        (KEYS["registrar_port"][column], _port(servers.registrar_port)),
        (KEYS["expiry"][column], servers.expiry),
        (KEYS["proxy"][column], servers.proxy_host),
        (KEYS["proxy_port"][column], _port(servers.proxy_port)),
        (KEYS["secondary"][column], servers.secondary_host),
        (KEYS["secondary_port"][column], _port(servers.secondary_port)),
        (KEYS["backup"][column], None),
        (KEYS["backup_port"][column], None),
        (KEYS["transport"][column], TRANSPORT[transport][column]),
        (KEYS["srv"][column], common.on_off(servers.srv)),
        (KEYS["dns_mode"][column], common.on_off(servers.srv)),
        (KEYS["dtmf"][column], DTMF_MODE[settings["dtmf"]]),
        (KEYS["voicemail"][column], settings["voicemail.number"]),
    ]
    if codecs is not None:
        servers_pairs.append((KEYS["codecs"][column], codecs))
    if not modules:
        servers_pairs += _failover(common.failover(config))

    lines = [
        {"index": line.index, "values": _identity(line, column) + servers_pairs}
        for line in slots.lines
    ]
    if slots.disabled:
        cleared = _DISABLED[column]
        lines += [{"index": index, "values": cleared} for index in slots.disabled]
        lines.sort(key=lambda line: int(line["index"]))  # type: ignore[call-overload]

    time, time_note = time_keys(settings["time_zone"], layout)
    if time_note:
        notes.append(time_note)
    language_code = settings["language"]
    language = (LANGUAGE_MODULES if modules else LANGUAGE_SYSCONF).get(language_code)
    if language is None:
        notes.append(f"language {language_code} has no Fanvil code known: not written")

    url = common.base_url(config, context)
    resync = settings["resync.interval"]
    hours = math.ceil(resync / 3600) if resync else None
    if modules:
        provisioning = [
            ("Download_Server_IP", url),
            ("Download_Mode", 1 if resync else 0),
        ]
        if hours:
            provisioning.append(("Download_Interval", hours))
    else:
        provisioning = [
            ("FlashServerIP", url),
            ("FlashProtocol", 5 if url.lower().startswith("https:") else 4),
            ("FlashMode", 1 if resync else 0),
        ]
        if hours:
            provisioning.append(("FlashInterval", hours))

    return {
        "layout": LAYOUTS[layout],
        "version": version(config.revision),
        "notes": [_comment(note) for note in notes],
        "naptr": servers.naptr,
        "srv": servers.srv,
        "lines": lines,
        "provisioning": provisioning,
        "ntp_server": settings["ntp.server"],
        "time": time,
        "language": language,
        "admin_password": settings["admin.password"],
    }


def device_files(mac: str, model: str) -> tuple[str, ...]:
    return (f"{mac}.cfg",)


PROFILE = VendorProfile(
    name=NAME,
    path_rules=PATH_RULES,
    user_agent_rules=USER_AGENT_RULES,
    variables=variables,
    template_for=choose_by_kind(NAME, TEMPLATES),
    device_files=device_files,
    settings_map=SETTINGS,
    models=MODELS,
    versioned=True,
)
