"""Grandstream (GXP/GRP): ``cfg<mac>.xml``, the P-value file with the accounts.

Files (lower-case): ``cfg<mac>`` and ``cfg<mac>.bin`` (encrypted binaries: not kept, 404
for every MAC, so the phone goes on), ``cfg<mac>.xml`` (the device file),
``cfg<model>.xml`` (``cfggrp2614.xml``) and ``cfg.xml`` (common files; nothing in them).

Failover: DNS mode (P103/P408) = 2, NAPTR/SRV, and host names without a port; the
secondary server (P2312/P2412) and backup outbound proxy (P2333/P2433) written empty.
A transport given without a port is DNS mode 1 (SRV, for the transport in P130/P448); only
an explicit port is mode 0 (A record). Register expiry (P32/P412) is in **minutes**. Only
accounts 1 and 2 have known P-values.

The failover policy (account 1 only: the keys of account 2 are not documented here):
P26040 SRV failover mode (0 default, i.e. new requests; 1 saved address until the DNS TTL;
3 saved address until the failback timeout; registration has no mode of its own and is
written as 3 with the registration expiry), P60056 the failback timeout in **minutes**,
P29095 register before DNS SRV failover, P60055 the maximum SIP request retries (tries).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
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

NAME = "grandstream"

# P-values per account: (account 1, account 2).
ACCOUNT_KEYS: Mapping[int, Mapping[str, str]] = {
    1: {
        "active": "P271",
        "server": "P47",
        "secondary_server": "P2312",
        "proxy": "P48",
        "backup_proxy": "P2333",
        "user_id": "P35",
        "auth_id": "P36",
        "password": "P34",
        "display_name": "P3",
        "account_name": "P270",
        "dns_mode": "P103",
        "transport": "P130",
        "expiry_minutes": "P32",
    },
    2: {
        "active": "P401",
        "server": "P402",
        "secondary_server": "P2412",
        "proxy": "P403",
        "backup_proxy": "P2433",
        "user_id": "P404",
        "auth_id": "P405",
        "password": "P406",
        "display_name": "P407",
        "account_name": "P417",
        "dns_mode": "P408",
        "transport": "P448",
        "expiry_minutes": "P412",
    },
}
DNS_MODE_A_RECORD = 0
DNS_MODE_SRV = 1
DNS_MODE_NAPTR_SRV = 2
# Account 1's failover keys.
SRV_FAILOVER_MODE = "P26040"
FAILBACK_MINUTES = "P60056"
REGISTER_BEFORE_FAILOVER = "P29095"
MAX_RETRIES = "P60055"
FAILOVER_MODE = {
    Failback.NEW_REQUESTS: 0,
    Failback.DNS_TTL: 1,
    Failback.REGISTRATION: 3,
    Failback.DURATION: 3,
}
TRANSPORT = {Transport.UDP: 0, Transport.TCP: 1, Transport.TLS: 2}
NTP_SERVER = "P30"
ADMIN_PASSWORD = "P2"

_MAC = r"cfg(?P<mac>[0-9a-f]{12})"
PATH_RULES = (
    PathRule(re.compile(_MAC), "encrypted", delivery=Delivery.ABSENT),
    PathRule(re.compile(_MAC + r"\.bin"), "encrypted", delivery=Delivery.ABSENT),
    PathRule(re.compile(_MAC + r"\.xml"), "device", secret=True),
    PathRule(re.compile(r"cfg\.xml"), "common"),
    PathRule(re.compile(r"cfg(?P<model>[a-z]{2,4}[0-9]{3,5}[a-z0-9]{0,3})\.xml"), "model"),
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


def expiry_minutes(seconds: int) -> int:
    """P32 counts minutes: round up, so the phone never registers for less than asked."""
    return max(1, math.ceil(seconds / 60))


def dns_mode(servers: common.Servers) -> int:
    if servers.naptr:
        return DNS_MODE_NAPTR_SRV
    return DNS_MODE_SRV if servers.srv else DNS_MODE_A_RECORD


def _failover(policy: common.Failover) -> list[tuple[str, Any]]:
    return [
        (SRV_FAILOVER_MODE, FAILOVER_MODE[policy.failback]),
        (
            FAILBACK_MINUTES,
            expiry_minutes(policy.failback_timer()),
        ),
        (REGISTER_BEFORE_FAILOVER, common.on_off(policy.register_on_failover)),
        (MAX_RETRIES, policy.tries),
    ]


def _account(line: Any, servers: common.Servers) -> list[tuple[str, Any]]:
    keys = ACCOUNT_KEYS[line.index]
    values: list[tuple[str, Any]] = [
        (keys["active"], 1),
        (keys["account_name"], line.label),
        (keys["display_name"], line.display_name),
        (keys["user_id"], line.sip_user),
        (keys["auth_id"], line.auth_name),
        (keys["password"], line.password),
        (keys["server"], common.host_port(servers.registrar_host, servers.registrar_port)),
        (keys["proxy"], common.host_port(servers.proxy_host, servers.proxy_port)),
        (keys["secondary_server"], None),
        (
            keys["backup_proxy"],
            common.host_port(servers.secondary_host, servers.secondary_port),
        ),
        (keys["dns_mode"], dns_mode(servers)),
        (keys["expiry_minutes"], expiry_minutes(servers.expiry)),
    ]
    if not servers.naptr:
        values.append((keys["transport"], TRANSPORT[servers.transport]))
    return values


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    if kind in ("model", "common"):
        return {}
    if kind != "device":
        raise RenderError(f"grandstream has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    lines = common.lines(config)
    return {
        "naptr": servers.naptr,
        "srv": servers.srv,
        "failover": _failover(common.failover(config)),
        "accounts": [
            (line.index, _account(line, servers)) for line in lines if line.index in ACCOUNT_KEYS
        ],
        "skipped_lines": [line.index for line in lines if line.index not in ACCOUNT_KEYS],
        "phone": [
            (NTP_SERVER, settings["ntp.server"]),
            *([(ADMIN_PASSWORD, settings["admin.password"])] if settings["admin.password"] else []),
        ],
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
)
