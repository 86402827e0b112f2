"""Poly / Polycom (VVX, UC Software): master ``<mac>.cfg`` → parameter file ``<mac>-sip.cfg``.

Files (MAC lower-case): ``<mac>.cfg`` is the master file, carrying no secret: it names the
parameter files to load, here ``<mac>-sip.cfg`` (the device file, with the registrations
and their passwords). ``000000000000.cfg`` is the master for phones without their own.
``<mac>-phone.cfg``, ``<mac>-directory.xml`` and ``<mac>-license.cfg`` are asked for but
kept by no one here (404, the same for every MAC); ``<mac>-boot.log`` and ``<mac>-app.log``
are uploads (PUT). The User-Agent carries no MAC: the path does.

Failover: ``reg.x.server.1.transport`` and ``reg.x.outboundProxy.transport`` =
``DNSnaptr`` with port 0 and host names; ``reg.x.server.2.*`` written empty. A transport
given without a port (port 0) is SRV for that transport; an explicit port is A/AAAA only.

The failover policy, for ``reg.x.server.1`` and ``reg.x.outboundProxy`` alike:
``failOver.reRegisterOn`` (factory 0: the phone would not register on the server it fails
over to), ``failOver.failRegistrationOn`` (keep failing over when registering there
fails: follows register_on_failover), ``failOver.onlySignalWithRegistered``,
``failOver.failBack.mode`` and ``.timeout``; per server also ``retryMaxCount`` (tries)
and ``retryTimeOut`` (ms per try). ``reg.x.tcpFastFailover = 1``: over TCP and TLS a
connection error fails over at once. Subscriptions following the registration: no Poly
key is known.

The static DNS cache (``failover.static_dns_cache``): ``dns.cache.NAPTR.n.*``,
``dns.cache.SRV.n.*`` and ``dns.cache.A.n.*``, twelve entries at most (the guide allows
12 per type; we keep to 12 in all, which holds under either reading), TTLs of at least
300 s (the guide's lower bound). What does not fit is named in a comment.

``000000000000.cfg`` is the master of every phone without its own: its ``CONFIG_FILES``
names ``[PHONE_MAC_ADDRESS]-sip.cfg``, which Poly replaces with the phone's MAC. Master
files carry no secret and are served whatever the User-Agent.

Nothing stale: every registration the model has beyond the estate's lines is written with
its address, credentials and servers empty (`MODELS`: line keys per model, as wazo-provd's
Polycom plugin counts them; an unknown model gets 16). A voicemail number no longer set
is ``msg.mwi.N.callBackMode="disabled"``.

Time: ``tcpIpApp.sntp.gmtOffset`` (seconds) and ``tcpIpApp.sntp.daylightSavings.*`` from the
IANA rule (``fixedDayEnable 0``: ``date`` 1/8/15/22 for the first to fourth weekday of the
month, ``dayOfWeek.lastInMonth 1`` for the last; ``dayOfWeek`` 1 Sunday … 7 Saturday;
``time`` an hour 0–23). ``prov.polling.period`` must be more than 3600 s: a shorter
``resync.interval`` is written as 3601 s, and ``provisioner settings``/``render`` say so.
Language: ``lcl.ml.lang`` (de, en, es, fr, it, nl as wazo-provd writes them; other
languages are not written). DTMF: ``tone.dtmf.viaRtp``, ``tone.dtmf.rfc2833Control`` and
``voIpProt.SIP.dtmfViaSignaling.rfc2976``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import Failback, Transport
from provisioner.domain.time_zones import zone_rule
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

NAME = "poly"

TRANSPORT = {
    Transport.DNS_NAPTR: "DNSnaptr",
    Transport.UDP: "UDPOnly",
    Transport.TCP: "TCPOnly",
    Transport.TLS: "TLS",
}
FAILBACK_MODE = {
    Failback.NEW_REQUESTS: "newRequests",
    Failback.DNS_TTL: "DNSTTL",
    Failback.REGISTRATION: "registration",
    Failback.DURATION: "duration",
}
STATIC_CACHE_ENTRIES = 12
STATIC_CACHE_MIN_TTL = 300
CODEC_PREFERENCE = {"g722": "G722", "pcmu": "G711_Mu", "pcma": "G711_A", "g729": "G729_AB"}
SRTP = {"disabled": (0, 0, 0), "optional": (1, 1, 0), "required": (1, 1, 1)}
# (tone.dtmf.viaRtp, tone.dtmf.rfc2833Control, voIpProt.SIP.dtmfViaSignaling.rfc2976)
DTMF = {"inband": (1, 0, 0), "rfc2833": (1, 1, 0), "info": (0, 0, 1)}
LANGUAGE = {
    "de": "German_Germany",
    "en": "English_United_States",
    "es": "Spanish_Spain",
    "fr": "French_France",
    "it": "Italian_Italy",
    "nl": "Dutch_Netherlands",
}
MIN_POLLING_PERIOD = 3601  # prov.polling.period must be more than 3600 s

MODELS = ModelTable(
    models=tuple(
        Model(name, lines)
        for name, lines in (
            ("VVX101", 2),
            ("VVX150", 2),
            ("VVX201", 2),
            ("VVX250", 4),
            ("VVX300", 6),
            ("VVX301", 6),
            ("VVX310", 6),
            ("VVX311", 6),
            ("VVX350", 6),
            ("VVX400", 12),
            ("VVX401", 12),
            ("VVX410", 12),
            ("VVX411", 12),
            ("VVX450", 12),
            ("VVX500", 12),
            ("VVX501", 12),
            ("VVX600", 16),
            ("VVX601", 16),
            ("VVX1500", 6),
        )
    ),
    unknown=Model("any other", 16),
)

_REG = "reg.{n}."
SETTINGS: Mapping[str, SettingReach] = {
    "transport": Writes(
        (_REG + "server.1.transport", _REG + "outboundProxy.transport"),
        "DNSnaptr, UDPOnly, TCPOnly, TLS",
    ),
    "outbound_proxy.host": Writes(
        (_REG + "outboundProxy.address", _REG + "server.1.useOutboundProxy")
    ),
    "outbound_proxy.port": Writes((_REG + "outboundProxy.port",), "0 under dns-naptr"),
    "secondary_proxy.host": Unavailable("Poly has no backup outbound proxy key"),
    "secondary_proxy.port": Unavailable("Poly has no backup outbound proxy key"),
    "registrar.host": Writes((_REG + "server.1.address",)),
    "registrar.port": Writes((_REG + "server.1.port",), "0 under dns-naptr"),
    "registration.expiry": Writes((_REG + "server.1.expires",), "seconds"),
    "failover.tries_per_server": Writes((_REG + "server.1.retryMaxCount",)),
    "failover.try_timeout": Writes((_REG + "server.1.retryTimeOut",), "milliseconds"),
    "failover.register_on_failover": Writes(
        (_REG + "server.1.failOver.reRegisterOn", _REG + "server.1.failOver.failRegistrationOn")
    ),
    "failover.signal_only_registered": Writes(
        (_REG + "server.1.failOver.onlySignalWithRegistered",)
    ),
    "failover.failback": Writes(
        (_REG + "server.1.failOver.failBack.mode", _REG + "outboundProxy.failOver.failBack.mode"),
        "newRequests, DNSTTL, registration, duration",
    ),
    "failover.failback_interval": Writes((_REG + "server.1.failOver.failBack.timeout",), "seconds"),
    "failover.subscriptions_follow": Unavailable("no Poly key is known"),
    "failover.static_dns_cache": Writes(
        ("dns.cache.NAPTR.1.name", "dns.cache.SRV.1.name", "dns.cache.A.1.name"),
        "at most 12 entries, TTLs of at least 300 s",
    ),
    "ntp.server": Writes(("tcpIpApp.sntp.address", "tcpIpApp.sntp.address.overrideDHCP")),
    "time_zone": Writes(
        (
            "tcpIpApp.sntp.gmtOffset",
            "tcpIpApp.sntp.daylightSavings.enable",
            "tcpIpApp.sntp.daylightSavings.start.month",
            "tcpIpApp.sntp.daylightSavings.stop.month",
        ),
        "offset in seconds; DST by weekday of the month from the IANA rule",
    ),
    "resync.interval": Writes(
        ("prov.polling.enabled", "prov.polling.period"),
        "seconds, relative mode; at least 3601 (Poly's lower bound)",
    ),
    "provisioning.url": Unavailable(
        "Poly takes its provisioning server from DHCP or its own settings, not from a file"
    ),
    "language": Writes(("lcl.ml.lang",), "de en es fr it nl; others not written"),
    "codecs": Writes(
        ("voice.codecPref.G722", "voice.codecPref.G711_Mu"),
        "priority 1.. in the setting's order, 0 to disable; opus not written",
    ),
    "dtmf": Writes(
        ("tone.dtmf.viaRtp", "tone.dtmf.rfc2833Control", "voIpProt.SIP.dtmfViaSignaling.rfc2976")
    ),
    "srtp": Writes(("sec.srtp.enable", "sec.srtp.offer", "sec.srtp.require")),
    "voicemail.number": Writes(
        ("msg.mwi.{n}.callBackMode", "msg.mwi.{n}.callBack"), "disabled when none"
    ),
    "admin.password": Writes(
        ("device.auth.localAdminPassword",), "with device.set; not written when unset"
    ),
    **common.SERVER_ENFORCED,
}

_MAC = r"(?P<mac>[0-9a-f]{12})"
PATH_RULES = (
    PathRule(re.compile(r"000000000000\.cfg"), "default-master"),
    PathRule(re.compile(_MAC + r"\.cfg"), "master"),
    PathRule(re.compile(_MAC + r"-sip\.cfg"), "device", secret=True),
    PathRule(re.compile(_MAC + r"-phone\.cfg"), "phone-overrides", delivery=Delivery.ABSENT),
    PathRule(re.compile(_MAC + r"-directory\.xml"), "directory", delivery=Delivery.ABSENT),
    PathRule(re.compile(_MAC + r"-license\.cfg"), "license", delivery=Delivery.ABSENT),
    PathRule(re.compile(_MAC + r"-boot\.log"), "boot-log", delivery=Delivery.UPLOAD),
    PathRule(re.compile(_MAC + r"-app\.log"), "app-log", delivery=Delivery.UPLOAD),
)

USER_AGENT_RULES = (
    # FileTransport PolycomVVX-VVX_400-UA/4.1.4.7430 Type/Application
    UserAgentRule(
        re.compile(
            r"\bPolycom[A-Za-z]*-(?P<model>[A-Za-z0-9_]+?)-UA/(?P<firmware>[0-9][0-9A-Za-z.]*)"
        )
    ),
)

TEMPLATES = {
    "default-master": "poly/master.xml.j2",
    "master": "poly/master.xml.j2",
    "device": "poly/device.xml.j2",
}


def device_file(mac: str) -> str:
    return f"{mac}-sip.cfg"


def _failover(policy: common.Failover) -> dict[str, Any]:
    """The ``failOver.*`` attributes, the same for server 1 and the outbound proxy."""
    return {
        "failOver.reRegisterOn": common.on_off(policy.register_on_failover),
        "failOver.failRegistrationOn": common.on_off(policy.register_on_failover),
        "failOver.onlySignalWithRegistered": common.on_off(policy.signal_only_registered),
        "failOver.failBack.mode": FAILBACK_MODE[policy.failback],
        "failOver.failBack.timeout": policy.failback_interval,
    }


def _registration(line: Any, servers: common.Servers) -> dict[str, Any]:
    return {
        "index": line.index,
        "address": line.sip_user,
        "auth_user": line.auth_name,
        "password": line.password,
        "display_name": line.display_name,
        "label": line.label,
        "server_address": servers.registrar_host,
        "server_port": servers.registrar_port,
        "transport": TRANSPORT[servers.transport],
        "expires": servers.expiry,
        "use_proxy": 1 if servers.proxy_host else 0,
        "proxy_address": servers.proxy_host,
        "proxy_port": servers.proxy_port,
    }


@functools.lru_cache(maxsize=512)
def _codec_priorities(codecs: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """(Poly's codec key, its priority or 0) for one codecs setting (a handful in an
    estate: worked out once each)."""
    return tuple(
        (key, common.codec_priority(name, codecs)) for name, key in CODEC_PREFERENCE.items()
    )


def polling_period(resync: int) -> int:
    return max(resync, MIN_POLLING_PERIOD)


def adjustments(settings: Mapping[str, Any]) -> list[tuple[str, str]]:
    resync = settings.get("resync.interval")
    if resync and resync < MIN_POLLING_PERIOD:
        return [
            (
                "resync.interval",
                f"Poly polls no more often than every {MIN_POLLING_PERIOD} s: "
                f"{MIN_POLLING_PERIOD} written instead of {resync}",
            )
        ]
    return []


@functools.lru_cache(maxsize=256)
def time_attributes(name: str) -> tuple[tuple[str, Any], ...]:
    """The ``tcpIpApp.sntp.*`` attributes of an IANA zone."""
    rule = zone_rule(name)
    prefix = "tcpIpApp.sntp."
    found: list[tuple[str, Any]] = [(prefix + "gmtOffset", rule.offset)]
    if rule.dst is None:
        found.append((prefix + "daylightSavings.enable", 0))
        return tuple(found)
    found += [
        (prefix + "daylightSavings.enable", 1),
        (prefix + "daylightSavings.fixedDayEnable", 0),
    ]
    for name_, change in (("start", rule.dst.start), ("stop", rule.dst.end)):
        key = f"{prefix}daylightSavings.{name_}."
        last = change.week == 5
        found += [
            (key + "month", change.month),
            (key + "date", 1 if last else (change.week - 1) * 7 + 1),
            (key + "time", change.hour_of_day),
            (key + "dayOfWeek", change.weekday + 1),
            (key + "dayOfWeek.lastInMonth", 1 if last else 0),
        ]
    return tuple(found)


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind == "master":
        return {"config_files": device_file(context.mac) if context.mac else ""}
    if kind == "default-master":
        return {"config_files": device_file("[PHONE_MAC_ADDRESS]")}
    if kind != "device":
        raise RenderError(f"poly has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    policy = common.failover(config)
    enable, offer, require = SRTP[settings["srtp"]]
    via_rtp, rfc2833, info = DTMF[settings["dtmf"]]
    resync = settings["resync.interval"]
    slots = common.line_slots(config, MODELS)
    return {
        "naptr": servers.naptr,
        "srv": servers.srv,
        "failover": list(_failover(policy).items()),
        "retry_max_count": policy.tries,
        "retry_timeout_ms": policy.try_timeout * 1000,
        "static_cache": (
            common.static_dns_cache(
                config.proxy_records, STATIC_CACHE_ENTRIES, STATIC_CACHE_MIN_TTL
            )
            if policy.static_dns_cache and config.proxy_records is not None
            else None
        ),
        "secondary_ignored": bool(servers.secondary_host),
        "registrations": [_registration(line, servers) for line in slots.lines],
        "disabled_registrations": slots.disabled,
        "left_out_lines": slots.left_out,
        "model": slots.model.name if slots.known else None,
        "model_lines": slots.model.lines,
        "ntp_server": settings["ntp.server"],
        "time": time_attributes(settings["time_zone"]),
        "language": LANGUAGE.get(settings["language"]),
        "language_code": settings["language"],
        "dtmf": {"via_rtp": via_rtp, "rfc2833": rfc2833, "info": info},
        "polling_enabled": 1 if resync else 0,
        "polling_period": polling_period(resync) if resync else None,
        "polling_raised": bool(resync) and resync < MIN_POLLING_PERIOD,
        "codecs": list(_codec_priorities(tuple(settings["codecs"]))),
        "srtp": {"enable": enable, "offer": offer, "require": require},
        "voicemail": settings["voicemail.number"],
        "admin_password": settings["admin.password"],
    }


def device_files(mac: str, model: str) -> tuple[str, ...]:
    return (device_file(mac), f"{mac}.cfg")


PROFILE = VendorProfile(
    name=NAME,
    path_rules=PATH_RULES,
    user_agent_rules=USER_AGENT_RULES,
    variables=variables,
    template_for=choose_by_kind(NAME, TEMPLATES),
    device_files=device_files,
    settings_map=SETTINGS,
    models=MODELS,
    adjustments=adjustments,
)
