"""Grandstream (GRP26xx, GXP): ``cfg<mac>.xml``, the P-value file with every account.

Files: ``cfg<mac>`` and ``cfg<mac>.bin`` (encrypted binaries: not kept, 404 for every
MAC, so the phone goes on), ``cfg<mac>.xml`` (the device file), ``cfg<model>.xml``
(``cfggrp2614.xml``) and ``cfg.xml`` (common files; nothing in them). The ``cfg`` prefix
and the ``.xml`` extension are lower case as the vendor documents them; the MAC and the
model in a name are matched without regard to case (``cfgGRP2614.xml``,
``cfg000B82A00004.xml``).

Accounts: every account the model has is written, the estate's lines enabled, the others
disabled (active 0, names, credentials, servers and voicemail cleared), because a phone
keeps whatever a file leaves out. Every account carries the same keys in every mode.
P-values per account, from Grandstream's configuration template for GRP261x firmware
1.0.5.15 (kept in wazo-provd-plugins, ``docs/config-template``; its account headers give
the counts: GRP2612 2, GRP2613 3, GRP2614 4, GRP2615 5, GRP2616 6). Account 1 has its
own numbers (P271 active, P47 server, ...); account n = 2, 3, 4 uses P{n+2}xx (P401,
P501, P601), accounts 5 and 6 P17xx and P18xx (P1701, P1801); the four-digit keys of
account n are P2{n+2}xx (secondary server P2312/P2412/.../P2812, DTMF P2301/.../P2801)
and the five-digit ones step by 100 (P26040/P26140/.../P26540). The GXP21xx template
(1.0.11.16) uses the same numbers for accounts 1 to 3 that it was checked for. Models
not in `MODELS` (every GXP: no document read gives their account counts) get six
accounts written, the ranges documented; a phone with fewer is expected to ignore the
P-values of accounts it lacks (**unsure**, said in the file).

Failover: DNS mode (P103, per account) 2 = NAPTR/SRV with host names without a port; the
secondary server (P2312) and backup outbound proxy (P2333) written empty. A transport
given without a port is DNS mode 1 (SRV for the transport in P130); only an explicit port
is mode 0 (A record). The transport P130 is written in every mode: under dns-naptr as 0
(UDP), the factory default, so no TCP/TLS value of an earlier mode stays; the NAPTR
records name the transports (whether this firmware also filters them by P130 is
**unsure**). Register expiry (P32) is in **minutes**, rounded up.

The failover policy: per account P26040 (SRV failover mode: 0 default, i.e. new requests;
1 saved address until the DNS TTL; 3 saved address until the failback timeout;
registration has no mode of its own and is written as 3 with the registration expiry)
and P29095 (register before DNS SRV failover). Account 1 only: P60056 the failback
timeout in **minutes** and P60055 the maximum SIP request retries (no document read
gives their numbers for other accounts; mode 3 is not in the 1.0.5.15 template, which
lists 0–2: **unsure** on that firmware).

Other settings: codecs P57–P62, P46, P98 (per account P{b}51–P{b}58): 0 PCMU, 8 PCMA,
9 G.722, 18 G.729; Opus is 125 except on GXP21xx (123, its template; the GRP261x
template's list says 123 but its defaults, which name each codec once, give 125: the
code is **unsure** there); slots after the chosen codecs repeat the last one (the
vendor's own defaults repeat a codec, e.g. GXP16xx), so no codec of an earlier file
stays offered. DTMF P2301 in audio / P2302 RFC 2833 / P2303 SIP INFO; SRTP P183
(0 disabled, 1 enabled but not forced, 2 enabled and forced); voicemail P33. Time zone
P64 = ``customize`` with P246 the POSIX TZ string (max 64 characters; names that are not
letters, ``<+0530>``, written STD/DST; transition times outside 0–24 h, which a few
zones have, written as the database gives them: **unsure** whether the firmware takes
them) and P143 = 0 (DHCP option 2 does not override).
NTP P30 with P144 = 0 (DHCP option 42 does not override). Language P1362 from the
template's table (``auto`` for a language not in it). Periodic check P194 (0 off,
1 every P193 minutes) and P193 (minutes, rounded up, at least 60: the template's
range 60–86400). Config server P212 (1 HTTP, 2 HTTPS) and P237 (host/path). Admin
password P2 only when set (the template lists a-z, A-Z, 0-9 for it: other characters
**unsure**).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Failback, Transport
from provisioner.domain.time_zones import Transition, UnknownTimeZone, zone_rule
from provisioner.vendors import common
from provisioner.vendors.base import (
    Delivery,
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

NAME = "grandstream"

# Accounts per model: the GRP261x template's account headers ("Account 3 GRP2613/GRP2614/
# GRP2615/GRP2616", "Account 4 GRP2614/GRP2615/GRP2616 only", ...).
MODELS = ModelTable(
    models=tuple(
        Model(name, lines)
        for name, lines in (
            ("GRP2612", 2),
            ("GRP2613", 3),
            ("GRP2614", 4),
            ("GRP2615", 5),
            ("GRP2616", 6),
        )
    ),
    unknown=Model("any other", 6),
)
MAX_ACCOUNTS = 6

# Account n's P-values: account 1 has its own; n >= 2 is P{base}xx and P2{n+2}xx.
_BASE = {2: "4", 3: "5", 4: "6", 5: "17", 6: "18"}


def _account_keys(n: int) -> Mapping[str, Any]:
    if n == 1:
        return {
            "active": "P271",
            "account_name": "P270",
            "display_name": "P3",
            "user_id": "P35",
            "auth_id": "P36",
            "password": "P34",
            "server": "P47",
            "proxy": "P48",
            "secondary_server": "P2312",
            "backup_proxy": "P2333",
            "voicemail": "P33",
            "dns_mode": "P103",
            "transport": "P130",
            "expiry_minutes": "P32",
            "srv_failover_mode": "P26040",
            "register_before_failover": "P29095",
            "codecs": ("P57", "P58", "P59", "P60", "P61", "P62", "P46", "P98"),
            "dtmf": ("P2301", "P2302", "P2303"),
            "srtp": "P183",
        }
    base, wide = _BASE[n], f"P2{n + 2}"
    return {
        "active": f"P{base}01",
        "account_name": f"P{base}17",
        "display_name": f"P{base}07",
        "user_id": f"P{base}04",
        "auth_id": f"P{base}05",
        "password": f"P{base}06",
        "server": f"P{base}02",
        "proxy": f"P{base}03",
        "secondary_server": f"{wide}12",
        "backup_proxy": f"{wide}33",
        "voicemail": f"P{base}26",
        "dns_mode": f"P{base}08",
        "transport": f"P{base}48",
        "expiry_minutes": f"P{base}12",
        "srv_failover_mode": f"P26{n - 1}40",
        "register_before_failover": f"P29{n - 1}95",
        "codecs": tuple(f"P{base}{slot}" for slot in range(51, 59)),
        "dtmf": (f"{wide}01", f"{wide}02", f"{wide}03"),
        "srtp": f"P{base}43",
    }


ACCOUNT_KEYS: Mapping[int, Mapping[str, Any]] = {
    n: _account_keys(n) for n in range(1, MAX_ACCOUNTS + 1)
}

DNS_MODE_A_RECORD = 0
DNS_MODE_SRV = 1
DNS_MODE_NAPTR_SRV = 2
# Account 1 only (no document read numbers them for the other accounts).
FAILBACK_MINUTES = "P60056"
MAX_RETRIES = "P60055"
FAILOVER_MODE = {
    Failback.NEW_REQUESTS: 0,
    Failback.DNS_TTL: 1,
    Failback.REGISTRATION: 3,
    Failback.DURATION: 3,
}
TRANSPORT = {Transport.UDP: 0, Transport.TCP: 1, Transport.TLS: 2}
NAPTR_TRANSPORT = TRANSPORT[Transport.UDP]  # the factory default, written under dns-naptr

CODEC = {"pcmu": 0, "pcma": 8, "g722": 9, "g729": 18}
CODECS = frozenset((*CODEC, "opus"))
OPUS = 125
OPUS_GXP21XX = 123
DTMF = {"inband": (1, 0, 0), "rfc2833": (0, 1, 0), "info": (0, 0, 1)}
SRTP = {"disabled": 0, "optional": 1, "required": 2}
# P1362's table, keyed by ISO 639-1 (Grandstream writes Czech "cz", Swedish "se").
_SAME_CODE = ("ar", "de", "en", "es", "fr", "he", "hr", "hu", "it", "ja", "ko", "lv", "nl")
LANGUAGE = {
    **{code: code for code in (*_SAME_CODE, "pl", "pt", "ru", "sl", "tr", "zh")},
    "cs": "cz",
    "sv": "se",
}
LANGUAGE_AUTOMATIC = "auto"

TIME_ZONE = "P64"
TIME_ZONE_CUSTOM = "customize"
SELF_DEFINED_TIME_ZONE = "P246"
DHCP_TIME_ZONE = "P143"
NTP_SERVER = "P30"
DHCP_NTP = "P144"
LANGUAGE_KEY = "P1362"
CHECK_MODE = "P194"
CHECK_MINUTES = "P193"
CHECK_OFF, CHECK_EVERY_MINUTES = 0, 1
CHECK_MINUTES_LOW, CHECK_MINUTES_HIGH = 60, 86400
CHECK_MINUTES_UNUSED = 10080  # the template's default, written while P194 is 0
CONFIG_VIA = "P212"
CONFIG_SERVER = "P237"
CONFIG_VIA_VALUE = {"http": 1, "https": 2}
ADMIN_PASSWORD = "P2"

_MAC = r"cfg(?P<mac>[0-9A-Fa-f]{12})"
PATH_RULES = (
    PathRule(re.compile(_MAC), "encrypted", delivery=Delivery.ABSENT),
    PathRule(re.compile(_MAC + r"\.bin"), "encrypted", delivery=Delivery.ABSENT),
    PathRule(re.compile(_MAC + r"\.xml"), "device", secret=True),
    PathRule(re.compile(r"cfg\.xml"), "common"),
    PathRule(re.compile(r"cfg(?P<model>[A-Za-z]{2,4}[0-9]{3,5}[A-Za-z0-9]{0,3})\.xml"), "model"),
)

USER_AGENT_RULES = (
    # Grandstream Model HW GXP2140 V2.3A SW 1.0.9.69 DevId 000b82xxxxxx
    UserAgentRule(
        re.compile(
            r"\bGrandstream Model HW (?P<model>[A-Za-z0-9-]+)(?:\s+V\S*)?"
            r"\s+SW (?P<firmware>[0-9][0-9.]*)"
            r"(?:.*?\bDevId (?P<mac>[0-9A-Fa-f]{12})\b)?"
        )
    ),
)

TEMPLATES = {
    "device": "grandstream/device.xml.j2",
    "model": "grandstream/base.xml.j2",
    "common": "grandstream/base.xml.j2",
}

SETTINGS: Mapping[str, SettingReach] = {
    "transport": Writes(
        ("P130", "P103"),
        "P130 0 UDP, 1 TCP, 2 TLS (accounts 2–6: P448, P548, P648, P1748, P1848), 0 under "
        "dns-naptr; P103 DNS mode (P408, P508, P608, P1708, P1808): 2 NAPTR/SRV for "
        "dns-naptr, 1 SRV without a port, 0 A record with one",
    ),
    "outbound_proxy.host": Writes(
        ("P48",), "host[:port] (P403, P503, P603, P1703, P1803); empty for none"
    ),
    "outbound_proxy.port": Writes(("P48",), "in host:port; no port under dns-naptr"),
    "secondary_proxy.host": Writes(
        ("P2333",),
        "backup outbound proxy (P2433, P2533, P2633, P2733, P2833); empty under dns-naptr; "
        "secondary SIP server P2312 family always empty",
    ),
    "secondary_proxy.port": Writes(("P2333",), "in host:port"),
    "registrar.host": Writes(("P47",), "SIP server (P402, P502, P602, P1702, P1802)"),
    "registrar.port": Writes(("P47",), "in host:port; no port under dns-naptr"),
    "registration.expiry": Writes(
        ("P32",), "minutes, rounded up (P412, P512, P612, P1712, P1812); 1–64800"
    ),
    "failover.tries_per_server": Writes(("P60055",), "maximum SIP request retries; account 1"),
    "failover.try_timeout": Unavailable(
        "only SIP T1 (P209: 0.5, 1 or 2 s) can be set, which makes a try 32 s or longer"
    ),
    "failover.register_on_failover": Writes(
        ("P29095",), "0/1 (P29195, P29295, P29395, P29495, P29595)"
    ),
    "failover.signal_only_registered": Unavailable("no documented key"),
    "failover.failback": Writes(
        ("P26040",),
        "SRV failover mode (P26140 … P26540): 0 new-requests, 1 dns-ttl, 3 duration and "
        "registration (with P60056)",
    ),
    "failover.failback_interval": Writes(
        ("P60056",), "minutes, rounded up; the expiry for registration, the TTL for dns-ttl"
    ),
    "failover.subscriptions_follow": Unavailable("no documented key"),
    "failover.static_dns_cache": Unavailable(
        "no static DNS cache; DNS mode 3 (P2308–P2310 fixed IPs) is not a cache"
    ),
    "ntp.server": Writes(("P30", "P144"), "P144 = 0: DHCP option 42 does not override"),
    "time_zone": Writes(
        ("P64", "P246", "P143"),
        "P64 = customize, P246 the POSIX TZ string (64 characters at most), P143 = 0: "
        "DHCP option 2 does not override",
    ),
    "resync.interval": Writes(
        ("P194", "P193"),
        "P194 0 off, 1 every P193 minutes (rounded up, 60–86400); P193 10080 while off",
    ),
    "provisioning.url": Writes(
        ("P212", "P237"), "P212 1 HTTP, 2 HTTPS; P237 host[:port]/path; the fetch URL if unset"
    ),
    "language": Writes(("P1362",), "the phone's language codes (cs → cz, sv → se); else auto"),
    "codecs": Writes(
        ("P57", "P58", "P59", "P60", "P61", "P62", "P46", "P98"),
        "0 PCMU, 8 PCMA, 9 G.722, 18 G.729, Opus 125 (GXP21xx 123); later slots repeat "
        "the last codec (accounts 2–6: P451–P458, P551–, P651–, P1751–, P1851–P1858)",
    ),
    "dtmf": Writes(
        ("P2301", "P2302", "P2303"),
        "in audio / RFC 2833 / SIP INFO, 0/1 each (P2401–P2403 … P2801–P2803)",
    ),
    "srtp": Writes(
        ("P183",),
        "0 disabled, 1 optional (enabled but not forced), 2 required (P443, P543, P643, "
        "P1743, P1843)",
    ),
    "voicemail.number": Writes(("P33",), "P426, P526, P626, P1726, P1826"),
    "admin.password": Writes(("P2",), "only when set; the template lists a-z, A-Z, 0-9"),
    **common.SERVER_ENFORCED,
}


def expiry_minutes(seconds: int) -> int:
    """P32 counts minutes: round up, so the phone never registers for less than asked."""
    return max(1, math.ceil(seconds / 60))


def check_minutes(seconds: int) -> int:
    """P193: minutes, rounded up (never checks more often than asked), within 60–86400."""
    return min(CHECK_MINUTES_HIGH, max(CHECK_MINUTES_LOW, math.ceil(seconds / 60)))


def dns_mode(servers: common.Servers) -> int:
    if servers.naptr:
        return DNS_MODE_NAPTR_SRV
    return DNS_MODE_SRV if servers.srv else DNS_MODE_A_RECORD


def opus_code(model: str | None) -> int:
    return OPUS_GXP21XX if model and model.upper().startswith("GXP21") else OPUS


@functools.lru_cache(maxsize=256)
def codec_values(codecs: tuple[str, ...], opus: int) -> tuple[int, ...]:
    """The eight vocoder slots: the chosen codecs in order, then the last one repeated."""
    chosen = [opus if name == "opus" else CODEC[name] for name in codecs if name in CODECS]
    if not chosen:
        chosen = [CODEC["pcmu"]]
    return tuple(chosen[:8]) + (chosen[-1],) * max(0, 8 - len(chosen))


def _posix_name(abbreviation: str, placeholder: str) -> str:
    return abbreviation if len(abbreviation) >= 3 and abbreviation.isalpha() else placeholder


def _posix_time(seconds: int) -> str:
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{sign}{hours}"
    if minutes or secs:
        text += f":{minutes:02d}"
    if secs:
        text += f":{secs:02d}"
    return text


def _posix_rule(transition: Transition) -> str:
    text = f"M{transition.month}.{transition.week}.{transition.weekday}"
    return text if transition.time == 7200 else f"{text}/{_posix_time(transition.time)}"


@functools.lru_cache(maxsize=512)
def posix_time_zone(name: str) -> str:
    """The POSIX TZ string for P246, rebuilt from the zone's rule: letters-only names
    (``<+0530>`` becomes STD, a DST one DST) and a positive DST (Europe/Dublin turned
    around), the forms the vendor's own table uses."""
    rule = zone_rule(name)
    text = _posix_name(rule.abbreviation, "STD") + _posix_time(-rule.offset)
    if rule.dst is not None:
        text += _posix_name(rule.dst.abbreviation, "DST")
        if rule.dst.save != 3600:
            text += _posix_time(-(rule.offset + rule.dst.save))
        text += f",{_posix_rule(rule.dst.start)},{_posix_rule(rule.dst.end)}"
    return text


def _time_zone(name: str) -> tuple[str, str | None]:
    """(P246, a note for the file): UTC, with a note, for a zone that cannot be read."""
    try:
        return posix_time_zone(name), None
    except UnknownTimeZone:
        return "UTC0", "the time zone could not be read: UTC written"


@functools.lru_cache(maxsize=64)
def _config_server(url: str) -> tuple[int, str]:
    parts = urlsplit(url)
    return CONFIG_VIA_VALUE.get(parts.scheme, 2), (parts.netloc + parts.path).rstrip("/")


def _failover(policy: common.Failover) -> list[tuple[str, Any]]:
    return [
        (FAILBACK_MINUTES, expiry_minutes(policy.failback_timer())),
        (MAX_RETRIES, policy.tries),
    ]


def _account(
    n: int,
    line: LineConfig | None,
    servers: common.Servers,
    shared: Mapping[str, Any],
) -> list[tuple[str, Any]]:
    keys = ACCOUNT_KEYS[n]
    on = line is not None
    values: list[tuple[str, Any]] = [
        (keys["active"], 1 if on else 0),
        (keys["account_name"], line.label if line is not None else None),
        (keys["display_name"], line.display_name if line is not None else None),
        (keys["user_id"], line.sip_user if line is not None else None),
        (keys["auth_id"], line.auth_name if line is not None else None),
        (keys["password"], line.password if line is not None else None),
        (
            keys["server"],
            common.host_port(servers.registrar_host, servers.registrar_port) if on else None,
        ),
        (keys["proxy"], common.host_port(servers.proxy_host, servers.proxy_port) if on else None),
        (keys["secondary_server"], None),
        (
            keys["backup_proxy"],
            common.host_port(servers.secondary_host, servers.secondary_port) if on else None,
        ),
        (keys["voicemail"], shared["voicemail"] if on else None),
        (keys["dns_mode"], shared["dns_mode"]),
        (keys["transport"], shared["transport"]),
        (keys["expiry_minutes"], shared["expiry"]),
        (keys["srv_failover_mode"], shared["failover_mode"]),
        (keys["register_before_failover"], shared["register_before_failover"]),
        *zip(keys["codecs"], shared["codecs"], strict=True),
        *zip(keys["dtmf"], shared["dtmf"], strict=True),
        (keys["srtp"], shared["srtp"]),
    ]
    return values


def _comment_name(text: str | None) -> str | None:
    """A model name fit for an XML comment (letters, digits, one dash at a time)."""
    if text and re.fullmatch(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*", text) and len(text) <= 32:
        return text
    return None


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind in ("model", "common"):
        return {}
    if kind != "device":
        raise RenderError(f"grandstream has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    policy = common.failover(config)
    slots = common.line_slots(config, MODELS)
    codecs = tuple(settings["codecs"] or ())
    shared = {
        "voicemail": settings["voicemail.number"],
        "dns_mode": dns_mode(servers),
        "transport": NAPTR_TRANSPORT if servers.naptr else TRANSPORT[servers.transport],
        "expiry": expiry_minutes(servers.expiry),
        "failover_mode": FAILOVER_MODE[policy.failback],
        "register_before_failover": common.on_off(policy.register_on_failover),
        "codecs": codec_values(codecs, opus_code(config.model)),
        "dtmf": DTMF.get(settings["dtmf"], DTMF["rfc2833"]),
        "srtp": SRTP.get(settings["srtp"], 0),
    }
    by_index = {line.index: line for line in slots.lines}
    accounts = [
        (n, n in by_index, _account(n, by_index.get(n), servers, shared))
        for n in range(1, slots.model.lines + 1)
    ]
    zone, zone_note = _time_zone(settings["time_zone"] or "UTC")
    language = LANGUAGE.get(str(settings["language"] or "").lower())
    interval = settings["resync.interval"] or 0
    config_via, config_server = _config_server(common.base_url(config, context))
    phone: list[tuple[str, Any]] = [
        (TIME_ZONE, TIME_ZONE_CUSTOM),
        (SELF_DEFINED_TIME_ZONE, zone),
        (DHCP_TIME_ZONE, 0),
        (NTP_SERVER, settings["ntp.server"]),
        (DHCP_NTP, 0),
        (LANGUAGE_KEY, language or LANGUAGE_AUTOMATIC),
        (CHECK_MODE, CHECK_EVERY_MINUTES if interval else CHECK_OFF),
        (CHECK_MINUTES, check_minutes(interval) if interval else CHECK_MINUTES_UNUSED),
        (CONFIG_VIA, config_via),
        (CONFIG_SERVER, config_server),
    ]
    admin_password = settings["admin.password"]
    if admin_password:
        phone.append((ADMIN_PASSWORD, admin_password))
    return {
        "naptr": servers.naptr,
        "srv": servers.srv,
        "accounts": accounts,
        "model": _comment_name(slots.model.name if slots.known else config.model),
        "model_known": slots.known,
        "account_count": slots.model.lines,
        "left_out": slots.left_out,
        "failover": _failover(policy),
        "opus": "opus" in codecs,
        "opus_code": opus_code(config.model),
        "zone_note": zone_note,
        "language_known": language is not None,
        "admin_password": bool(admin_password),
        "phone": phone,
    }


def device_files(mac: str, model: str) -> tuple[str, ...]:
    return (f"cfg{mac}.xml",)


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
