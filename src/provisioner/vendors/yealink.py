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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import Failback, Transport
from provisioner.vendors import common
from provisioner.vendors.base import (
    TEXT,
    PathRule,
    RenderContext,
    RenderError,
    UserAgentRule,
    VendorProfile,
    choose_by_kind,
)

NAME = "yealink"

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


def _line(line: Any, shared: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": line.index,
        "label": line.label,
        "display_name": line.display_name,
        "auth_name": line.auth_name,
        "user_name": line.sip_user,
        "password": line.password,
        **shared,
    }


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
        "backup_proxy_address": servers.secondary_host,
        "backup_proxy_port": servers.secondary_port if servers.secondary_host else None,
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
    return {
        "naptr": servers.naptr,
        "srv": servers.srv,
        "static_cache": cache,
        "lines": [_line(line, shared) for line in common.lines(config)],
        "ntp_server": settings["ntp.server"],
        "resync_enable": 1 if resync else 0,
        "resync_minutes": max(1, resync // 60) if resync else None,
        "server_url": settings["provisioning.url"],
        "language": LANGUAGE.get(settings["language"]),
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
)
