"""Poly / Polycom (VVX, UC Software): master ``<mac>.cfg`` → parameter file ``<mac>-sip.cfg``.

Files (MAC lower-case): ``<mac>.cfg`` is the master file, carrying no secret: it names the
parameter files to load, here ``<mac>-sip.cfg`` (the device file, with the registrations
and their passwords). ``000000000000.cfg`` is the master for phones without their own.
``<mac>-phone.cfg``, ``<mac>-directory.xml`` and ``<mac>-license.cfg`` are asked for but
kept by no one here (404, the same for every MAC); ``<mac>-boot.log`` and ``<mac>-app.log``
are uploads (PUT). The User-Agent carries no MAC: the path does.

Failover: ``reg.x.server.1.transport`` and ``reg.x.outboundProxy.transport`` =
``DNSnaptr`` with port 0 and host names; ``reg.x.server.2.*`` written empty.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import Transport
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
    enable, offer, require = SRTP[settings["srtp"]]
    resync = settings["resync.interval"]
    return {
        "naptr": servers.naptr,
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
