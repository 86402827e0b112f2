"""Fanvil (X series, firmware 2.2.10 and newer): ``<mac>.cfg``, an XML ``<sysConf>``.

Files (MAC lower-case): ``<mac>.cfg``, the device file. Fanvil's per-model common files
have no confirmed name, so none is served.

Failover: ``DNSSRV = 1``, registrar and proxy as host names with no port element (the
conservative form; unsure, said in a comment in the file); ``BakProxyAddr``/``BakProxyPort``
and ``BackupAddr``/``BackupPort`` written empty. ``DNSMode`` codes and the transport code
under SRV are unsure and left out. ``DNSSRV`` follows "no port", not the transport: a
transport given without a port is SRV too; only an explicit port turns SRV off.

The failover policy, per line, with **unsure** semantics (no Fanvil document was found;
the names and FusionPBX's values are all there is): ``EnableFailback = 1`` with
``FailbackInterval`` (the failback as a duration), ``SignalRetryCounts`` (tries),
``BackupNeedRegOn`` (register_on_failover). ``SignalFailback`` is not written: what it
switches is not known.
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

NAME = "fanvil"

TRANSPORT = {Transport.UDP: 0, Transport.TCP: 1, Transport.TLS: 3}

PATH_RULES = (PathRule(re.compile(r"(?P<mac>[0-9a-f]{12})\.cfg"), "device", secret=True),)

USER_AGENT_RULES = (
    # Fanvil X4 2.10.2.6887 0c383e07e16c
    UserAgentRule(
        re.compile(
            r"\bFanvil\s+(?P<model>[A-Za-z0-9-]+)\s+(?P<firmware>[0-9][0-9.]*)"
            r"(?:\s+(?P<mac>[0-9A-Fa-f]{12}|[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}))?"
        )
    ),
)

TEMPLATES = {"device": "fanvil/device.xml.j2"}


def _failover(policy: common.Failover) -> list[tuple[str, Any]]:
    return [
        ("EnableFailback", 1),
        ("FailbackInterval", policy.failback_timer()),
        ("SignalRetryCounts", policy.tries),
        ("BackupNeedRegOn", common.on_off(policy.register_on_failover)),
    ]


def _line(line: Any, servers: common.Servers, failover: list[tuple[str, Any]]) -> dict[str, Any]:
    values: list[tuple[str, Any]] = [
        ("PhoneNumber", line.sip_user),
        ("DisplayName", line.display_name),
        ("RegisterAddr", servers.registrar_host),
    ]
    if not servers.naptr and servers.registrar_port:
        values.append(("RegisterPort", servers.registrar_port))
    values += [
        ("RegisterUser", line.auth_name),
        ("RegisterPswd", line.password),
        ("RegisterTTL", servers.expiry),
        ("EnableReg", 1),
        ("ProxyAddr", servers.proxy_host),
    ]
    if not servers.naptr and servers.proxy_port:
        values.append(("ProxyPort", servers.proxy_port))
    values += [
        ("BakProxyAddr", servers.secondary_host),
        ("BakProxyPort", servers.secondary_port or None),
        ("BackupAddr", None),
        ("BackupPort", None),
    ]
    if not servers.naptr:
        values.append(("Transport", TRANSPORT[servers.transport]))
    values.append(("DNSSRV", common.on_off(servers.srv)))
    values += failover
    return {"index": line.index, "values": values}


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind != "device":
        raise RenderError(f"fanvil has no file kind {kind!r}")
    config = common.require(config, kind)
    servers = common.servers(config)
    failover = _failover(common.failover(config))
    return {
        "naptr": servers.naptr,
        "lines": [_line(line, servers, failover) for line in common.lines(config)],
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
)
