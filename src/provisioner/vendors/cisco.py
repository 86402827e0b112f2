"""Cisco SPA3xx/5xx and 78xx/88xx 3PCC (MPP): a secret-free bootstrap → ``<mac>.xml``.

Files: SPA phones ask for ``spa$PSN.cfg`` (``spa504G.cfg``), MPP phones for ``$PSN.xml``
(both ``CP-8841-3PCC.xml`` and ``8841-3PCC.xml`` are accepted: how MPP expands ``$PSN``
is unsure). Both bootstraps carry no secret and set ``Profile_Rule`` to ``/$MA.xml``
(``$MA``: the MAC, lower-case), the device file with the lines.

Failover: ``SIP_Transport_n_ = AUTO`` (transport from NAPTR), ``Use_DNS_SRV_n_ = Yes``,
``DNS_SRV_Auto_Prefix_n_ = Yes`` and host names without a port; ``Alternate_Proxy_n_``
and ``Alternate_Outbound_Proxy_n_`` empty, ``Dual_Registration_n_ = No``. SPA models get
``cisco/spa.xml.j2``, which adds the keys only SPA firmware has.

``Use_DNS_SRV`` follows "no port", not the transport: a transport given without a port is
SRV too. The auto prefix is always ``_sip._udp.``, so for TCP and TLS the prefix is off and
the outbound proxy is written as the SRV name itself (``_sip._tcp.<proxy>``,
``_sips._tcp.<proxy>``), which the phone then looks up as SRV (the guide: with the prefix
off the name is queried as given). An explicit port: ``Use_DNS_SRV = No``, an A lookup.

The failover policy: ``Proxy_Fallback_Intvl_n_`` (seconds before the preferred server is
tried again: the failback as a duration) and ``Auto_Register_When_Failover_n_``
(register_on_failover; with Yes the phone returns only when its registration expires).
Tries, per-try timeout, calls only where registered and subscriptions have no known key.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from provisioner.dns.records import srv_name
from provisioner.domain.estate import DeviceConfig, SipTransport
from provisioner.domain.settings import Transport
from provisioner.vendors import common
from provisioner.vendors.base import (
    PathRule,
    RenderContext,
    RenderError,
    UserAgentRule,
    VendorProfile,
)

NAME = "cisco"

SIP_TRANSPORT = {
    Transport.DNS_NAPTR: "AUTO",
    Transport.UDP: "UDP",
    Transport.TCP: "TCP",
    Transport.TLS: "TLS",
}
DTMF = {"rfc2833": "AVT", "inband": "InBand", "info": "INFO"}
CODEC = {"pcmu": "G711u", "pcma": "G711a", "g729": "G729a", "g722": "G722"}

PATH_RULES = (
    PathRule(re.compile(r"spa(?P<model>[0-9]{3}[0-9A-Za-z]{0,4})\.cfg"), "spa-bootstrap"),
    PathRule(re.compile(r"(?:CP-)?(?P<model>[0-9]{4}[A-Z]{0,2}-3PCC)\.xml"), "mpp-bootstrap"),
    PathRule(re.compile(r"(?P<mac>[0-9a-f]{12})\.xml"), "device", secret=True),
)

_UA_MAC = r"(?:\s*\((?P<mac>[0-9A-Fa-f]{12})\))?"
USER_AGENT_RULES = (
    # Cisco/SPA508G-7.4.4 (0002FDFF2103)(CBT141400UK)
    UserAgentRule(
        re.compile(
            r"\bCisco/(?P<model>SPA[0-9A-Za-z]+)-(?P<firmware>[0-9][0-9A-Za-z._]*)" + _UA_MAC
        )
    ),
    # Cisco-CP-7832-3PCC/11.0.1 (00562b043615)
    UserAgentRule(
        re.compile(
            r"\bCisco-(?P<model>CP-[0-9A-Za-z]+-3PCC)/(?P<firmware>[0-9][0-9A-Za-z._-]*)" + _UA_MAC
        )
    ),
)


def is_spa(model: str | None) -> bool:
    return bool(model) and model.upper().startswith("SPA")  # type: ignore[union-attr]


def template_for(kind: str, model: str | None) -> str:
    if kind in ("spa-bootstrap", "mpp-bootstrap"):
        return "cisco/bootstrap.xml.j2"
    if kind == "device":
        return "cisco/spa.xml.j2" if is_spa(model) else "cisco/device.xml.j2"
    raise RenderError(f"cisco has no file kind {kind!r}")


def _yes(flag: bool) -> str:
    return common.on_off(flag, "Yes", "No")


# The transports whose SRV records the auto prefix (always ``_sip._udp.``) would miss: a
# line's outbound proxy is written as their SRV name instead, with the prefix off.
NOT_AUTO_PREFIXED = {Transport.TCP: SipTransport.TCP, Transport.TLS: SipTransport.TLS}


def _outbound_proxy(servers: common.Servers) -> tuple[str | None, bool]:
    """The outbound proxy as written, and whether the auto prefix is on."""
    transport = NOT_AUTO_PREFIXED.get(servers.transport)
    if transport is None or not servers.srv or not servers.proxy_host:
        return common.host_port(servers.proxy_host, servers.proxy_port), servers.srv
    return srv_name(servers.proxy_host, transport), False


def _line(line: Any, servers: common.Servers, dtmf: str, policy: common.Failover) -> dict[str, Any]:
    outbound_proxy, auto_prefix = _outbound_proxy(servers)
    return {
        "n": line.index,
        "proxy": common.host_port(servers.registrar_host, servers.registrar_port),
        "outbound_proxy": outbound_proxy,
        "use_outbound_proxy": _yes(bool(servers.proxy_host)),
        "alternate_outbound_proxy": common.host_port(
            servers.secondary_host, servers.secondary_port
        ),
        "transport": SIP_TRANSPORT[servers.transport],
        "use_dns_srv": _yes(servers.srv),
        "dns_srv_auto_prefix": _yes(auto_prefix),
        "fallback_interval": policy.failback_timer(),
        "auto_register_when_failover": _yes(policy.register_on_failover),
        "display_name": line.display_name,
        "user_id": line.sip_user,
        "password": line.password,
        "auth_id": line.auth_name,
        "expires": servers.expiry,
        "dtmf": dtmf,
    }


@functools.lru_cache(maxsize=512)
def _preferred(codecs: tuple[str, ...]) -> str | None:
    """The first codec Cisco knows, for one codecs setting (a handful in an estate)."""
    return next((CODEC[name] for name in codecs if name in CODEC), None)


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    profile_rule = f"{common.base_url(config, context)}/$MA.xml"
    if kind in ("spa-bootstrap", "mpp-bootstrap"):
        return {"profile_rule": profile_rule}
    if kind != "device":
        raise RenderError(f"cisco has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    dtmf = DTMF[settings["dtmf"]]
    policy = common.failover(config)
    return {
        "naptr": servers.naptr,
        "profile_rule": profile_rule,
        "resync_periodic": settings["resync.interval"],
        "lines": [_line(line, servers, dtmf, policy) for line in common.lines(config)],
        "preferred_codec": _preferred(tuple(settings["codecs"])),
        "ntp_server": settings["ntp.server"],
        "voicemail": settings["voicemail.number"],
        "admin_password": settings["admin.password"],
    }


def device_files(mac: str, model: str) -> tuple[str, ...]:
    return (f"{mac}.xml",)


PROFILE = VendorProfile(
    name=NAME,
    path_rules=PATH_RULES,
    user_agent_rules=USER_AGENT_RULES,
    variables=variables,
    template_for=template_for,
    device_files=device_files,
)
