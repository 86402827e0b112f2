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
"""

from __future__ import annotations

import functools
import re
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import Failback, Transport
from provisioner.vendors import common
from provisioner.vendors.base import (
    Delivery,
    PathRule,
    RenderContext,
    RenderError,
    UserAgentRule,
    VendorProfile,
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


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind == "master":
        return {"config_files": device_file(context.mac) if context.mac else ""}
    if kind == "default-master":
        return {"config_files": ""}
    if kind != "device":
        raise RenderError(f"poly has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    policy = common.failover(config)
    enable, offer, require = SRTP[settings["srtp"]]
    resync = settings["resync.interval"]
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
        "registrations": [_registration(line, servers) for line in common.lines(config)],
        "ntp_server": settings["ntp.server"],
        "polling_enabled": 1 if resync else 0,
        "polling_period": resync or None,
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
)
