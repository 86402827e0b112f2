"""Snom (D7xx): ``snom<model>-<MAC>.htm`` → ``<MAC>.xml``.

Files (MAC **upper-case**): ``snom<model>.htm`` and ``snom<model>-<MAC>.htm`` list the
setting files to load (no secret), ``<MAC>.xml`` is the device file with the identities.

Failover: the registrar and outbound proxy as host names without a port; how Snom treats
SRV and port 0 is unsure, so the file says so in a comment. Snom has no backup proxy key.

The failover policy: only the per-try timeout has a Snom key, ``sip_retry_t1`` (T1 in ms;
a dead target costs 64 × T1, so T1 = timeout / 64, 500 ms at the RFC's 32 s). Tries,
failback, registering where failed over to and subscriptions have no known Snom key: Snom
re-registers elsewhere when a server answers its ``sip_failover_response``.
"""

from __future__ import annotations

import re
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import Transport
from provisioner.vendors import common
from provisioner.vendors.base import (
    PathRule,
    RenderContext,
    RenderError,
    UserAgentRule,
    VendorProfile,
    choose_by_kind,
)

NAME = "snom"

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
    identities = [_identity(line, servers) for line in common.lines(config)]
    if settings["voicemail.number"]:
        for identity in identities:
            identity["values"].append(("user_mailbox", settings["voicemail.number"]))
    policy = common.failover(config)
    phone: list[tuple[str, Any]] = [
        ("ntp_server", settings["ntp.server"]),
        ("sip_retry_t1", retry_t1(policy.try_timeout)),
    ]
    if settings["resync.interval"]:
        phone.append(("settings_refresh_timer", settings["resync.interval"]))
    if settings["admin.password"]:
        phone.append(("admin_mode_password", settings["admin.password"]))
    return {
        "naptr": servers.naptr,
        "secondary_ignored": bool(servers.secondary_host),
        "phone": phone,
        "identities": identities,
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
)
