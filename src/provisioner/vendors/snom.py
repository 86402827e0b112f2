"""Snom (D7xx): ``snom<model>-<MAC>.htm`` → ``<MAC>.xml``.

Files (MAC **upper-case**): ``snom<model>.htm`` and ``snom<model>-<MAC>.htm`` list the
setting files to load (no secret), ``<MAC>.xml`` is the device file with the identities.

Failover: the registrar and outbound proxy as host names without a port; how Snom treats
SRV and port 0 is unsure, so the file says so in a comment. Snom has no backup proxy key.

The failover policy: only the per-try timeout has a Snom key, ``sip_retry_t1`` (T1 in ms;
a dead target costs 64 × T1, so T1 = timeout / 64, 500 ms at the RFC's 32 s). Tries,
failback, registering where failed over to and subscriptions have no known Snom key: Snom
re-registers elsewhere when a server answers its ``sip_failover_response``.

Nothing stale: every identity the model has beyond the estate's lines is written
``user_active = off`` with its user, password and registrar empty (`MODELS`; an unknown
model gets 12); a voicemail number no longer set is written empty; ``settings_refresh_timer``
is written 0 when the phone should not fetch again.

Time: ``timezone`` takes a Snom code (country and standard offset: ``GER+1``, ``USA-5``),
which carries the DST rule. `TIME_ZONES` holds the codes found in open templates of real
deployments (Europe) and ``USA-5`` (vendors.md); the other US codes follow the same pattern
and are **unsure**, said in the file. For a zone with no code, ``timezone`` is not written
(the file says so) and the phone keeps its own. ``GBR+0``/``IRL+0``/``PRT+0`` follow
vendors.md; an open template writes ``-0`` for these: **unsure** which the phone takes.

Codecs ``codec_priority_list`` (per identity, Snom's names, ``telephone-event`` last for RFC
2833), SRTP ``user_srtp`` on/off and ``user_savp`` off/optional/mandatory: the key names
come from vendors.md; the per-identity form of the codec list and ``user_savp`` are
**unsure**.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import Transport
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

NAME = "snom"

# IANA zone → Snom's code. Europe: open templates of a real deployment; USA-5: vendors.md.
TIME_ZONES = {
    "Europe/Amsterdam": "NLD+1",
    "Europe/Athens": "GRC+2",
    "Europe/Berlin": "GER+1",
    "Europe/Bratislava": "SVK+1",
    "Europe/Brussels": "BEL+1",
    "Europe/Bucharest": "ROU+2",
    "Europe/Budapest": "HUN+1",
    "Europe/Copenhagen": "DNK+1",
    "Europe/Dublin": "IRL+0",
    "Europe/Helsinki": "FIN+2",
    "Europe/Istanbul": "TUR+2",
    "Europe/Lisbon": "PRT+0",
    "Europe/London": "GBR+0",
    "Europe/Luxembourg": "LUX+1",
    "Europe/Madrid": "ESP+1",
    "Europe/Moscow": "RUS+3",
    "Europe/Oslo": "NOR+1",
    "Europe/Paris": "FRA+1",
    "Europe/Prague": "CZE+1",
    "Europe/Riga": "LVA+2",
    "Europe/Rome": "ITA+1",
    "Europe/Sofia": "BGR+2",
    "Europe/Stockholm": "SWE+1",
    "Europe/Tallinn": "EST+2",
    "Europe/Vienna": "AUT+1",
    "Europe/Warsaw": "POL+1",
    "Europe/Zagreb": "HRV+1",
    "Europe/Zurich": "CHE+1",
    "America/New_York": "USA-5",
}
UNSURE_TIME_ZONES = {  # the same pattern, no document found
    "America/Chicago": "USA-6",
    "America/Denver": "USA-7",
    "America/Los_Angeles": "USA-8",
    "America/Anchorage": "USA-9",
    "Pacific/Honolulu": "USA-10",
}
CODECS = {"opus": "opus", "g722": "g722", "pcmu": "pcmu", "pcma": "pcma", "g729": "g729"}
SAVP = {"disabled": "off", "optional": "optional", "required": "mandatory"}

MODELS = ModelTable(
    models=tuple(
        Model(name, lines)
        for name, lines in (
            ("D710", 4),
            ("D712", 4),
            ("D713", 4),
            ("D715", 4),
            ("D717", 6),
            ("D725", 12),
            ("D735", 12),
            ("D745", 12),
            ("D765", 12),
            ("D785", 12),
            ("D862", 12),
            ("D865", 12),
        )
    ),
    unknown=Model("any other", 12),
)

_NONE = "Snom has no known key for it"
SETTINGS: Mapping[str, SettingReach] = {
    "transport": Writes(("user_outbound",), ";transport=udp|tcp|tls, none with dns-naptr"),
    "outbound_proxy.host": Writes(("user_outbound",)),
    "outbound_proxy.port": Writes(("user_outbound",), "host:port, no port when 0"),
    "secondary_proxy.host": Unavailable("Snom has no backup proxy key"),
    "secondary_proxy.port": Unavailable("Snom has no backup proxy key"),
    "registrar.host": Writes(("user_host",)),
    "registrar.port": Writes(("user_host",), "host:port, no port when 0"),
    "registration.expiry": Writes(("user_expiry",), "seconds"),
    "failover.tries_per_server": Unavailable(_NONE),
    "failover.try_timeout": Writes(("sip_retry_t1",), "T1 in ms = timeout / 64"),
    "failover.register_on_failover": Unavailable(_NONE),
    "failover.signal_only_registered": Unavailable(_NONE),
    "failover.failback": Unavailable(_NONE),
    "failover.failback_interval": Unavailable(_NONE),
    "failover.subscriptions_follow": Unavailable(_NONE),
    "failover.static_dns_cache": Unavailable("Snom has no static DNS cache"),
    "ntp.server": Writes(("ntp_server",)),
    "time_zone": Writes(
        ("timezone",), "Snom's country+offset codes (Europe, US); other zones not written"
    ),
    "resync.interval": Writes(("settings_refresh_timer",), "seconds, 0 never"),
    "provisioning.url": Unavailable(
        "the index files naming <MAC>.xml are public and rendered without the device's "
        "settings: they name the URL the phone used"
    ),
    "language": Unavailable("Snom's language names are not documented here"),
    "codecs": Writes(("codec_priority_list",), "Snom's names in order, telephone-event last"),
    "dtmf": Writes(
        ("codec_priority_list",),
        "rfc2833: telephone-event in the codec list; inband, info: left out (Snom's SIP "
        "INFO key is not documented here)",
    ),
    "srtp": Writes(("user_srtp", "user_savp"), "on/off; off, optional, mandatory (unsure)"),
    "voicemail.number": Writes(("user_mailbox",), "empty when none"),
    "admin.password": Writes(("admin_mode_password",), "not written when unset"),
    **common.SERVER_ENFORCED,
}

PATH_RULES = (
    PathRule(re.compile(r"snom(?P<model>[A-Za-z0-9]{2,8})\.htm"), "model-index"),
    PathRule(
        re.compile(r"snom(?P<model>[A-Za-z0-9]{2,8})-(?P<mac>[0-9A-F]{12})\.htm"), "device-index"
    ),
    PathRule(re.compile(r"(?P<mac>[0-9A-F]{12})\.xml"), "device", secret=True),
)

USER_AGENT_RULES = (
    # Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-... 000413922D24 SXM:0 UXM:0)
    UserAgentRule(
        re.compile(
            r"\bsnom(?P<model>[A-Za-z0-9]+)-SIP\s+(?P<firmware>[0-9][0-9.]*)"
            r"(?:[^)]*?\b(?P<mac>[0-9A-Fa-f]{12})\b)?"
        )
    ),
)

TEMPLATES = {
    "model-index": "snom/index.htm.j2",
    "device-index": "snom/index.htm.j2",
    "device": "snom/device.xml.j2",
}


def device_file(mac: str) -> str:
    return f"{mac.upper()}.xml"


def _outbound(servers: common.Servers) -> str | None:
    target = common.host_port(servers.proxy_host, servers.proxy_port)
    if target is None or servers.transport is Transport.DNS_NAPTR:
        return target
    return f"{target};transport={servers.transport.value}"


def retry_t1(try_timeout: int) -> int:
    """T1 in ms for a transaction timeout (64 × T1) of `try_timeout` seconds."""
    return try_timeout * 1000 // 64


@functools.lru_cache(maxsize=64)
def codec_list(codecs: tuple[str, ...], rfc2833: bool) -> str:
    names = [CODECS[name] for name in codecs]
    return ",".join([*names, "telephone-event"] if rfc2833 else names)


def _identity(line: Any, servers: common.Servers) -> dict[str, Any]:
    return {
        "idx": line.index,
        "values": [
            ("user_active", "on"),
            ("user_realname", line.display_name),
            ("user_name", line.sip_user),
            ("user_pname", line.auth_name),
            ("user_pass", line.password),
            ("user_host", common.host_port(servers.registrar_host, servers.registrar_port)),
            ("user_outbound", _outbound(servers)),
            ("user_expiry", servers.expiry),
            ("user_idle_text", line.label),
        ],
    }


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind in ("model-index", "device-index"):
        base = common.base_url(config, context)
        return {"files": [f"{base}/{device_file(context.mac)}"] if context.mac else []}
    if kind != "device":
        raise RenderError(f"snom has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    slots = common.line_slots(config, MODELS)
    identities = [_identity(line, servers) for line in slots.lines]
    codecs = codec_list(tuple(settings["codecs"]), settings["dtmf"] == "rfc2833")
    srtp = settings["srtp"]
    shared = [
        ("user_mailbox", settings["voicemail.number"]),
        ("codec_priority_list", codecs),
        ("user_srtp", "off" if srtp == "disabled" else "on"),
        ("user_savp", SAVP[srtp]),
    ]
    for identity in identities:
        identity["values"].extend(shared)
    policy = common.failover(config)
    zone = settings["time_zone"]
    time_zone = TIME_ZONES.get(zone) or UNSURE_TIME_ZONES.get(zone)
    phone: list[tuple[str, Any]] = [
        ("ntp_server", settings["ntp.server"]),
        ("sip_retry_t1", retry_t1(policy.try_timeout)),
        ("settings_refresh_timer", settings["resync.interval"]),
    ]
    if time_zone:
        phone.append(("timezone", time_zone))
    if settings["admin.password"]:
        phone.append(("admin_mode_password", settings["admin.password"]))
    return {
        "naptr": servers.naptr,
        "phone": phone,
        "identities": identities,
        "disabled_identities": slots.disabled,
        "left_out_lines": slots.left_out,
        "model": slots.model.name if slots.known else None,
        "model_lines": slots.model.lines,
        "time_zone": zone,
        "time_zone_code": time_zone,
        "time_zone_unsure": zone in UNSURE_TIME_ZONES,
    }


def device_files(mac: str, model: str) -> tuple[str, ...]:
    return (device_file(mac), f"snom{model}-{mac.upper()}.htm")


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
