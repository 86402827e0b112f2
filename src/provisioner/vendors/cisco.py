"""Cisco SPA3xx/5xx and 78xx/88xx/68xx 3PCC (MPP): a secret-free bootstrap → ``<mac>.xml``.

Files: SPA phones ask for ``spa$PSN.cfg`` (``spa504G.cfg``: their factory rule). For MPP
the common file is served under the ``$PN``-style names ``CP-8841-3PCC.xml`` and
``8841-3PCC.xml`` (and the same with ``.cfg``). The 8800 guide gives ``$PN`` as
``CP-8841-3PCC`` and ``$PSN`` as the product *series* (example ``V03``); which name a
factory MPP phone asks for first (its default rule is ``/$PSN.xml``) is unsure, so every
one of these names is served and a ``V03``-like name is not (it names no model or vendor).
``<mac>.xml`` (``$MA``: the MAC, lower case) is the device file, with the lines.

How a phone gets from the bootstrap to its own file, in one resync: at each resync the
phone runs ``Profile_Rule``, then ``Profile_Rule_B``, ``_C`` and ``_D``, each with the
values the earlier ones just set. The bootstrap, which anyone may fetch and so carries no
secret, sets both ``Profile_Rule`` and ``Profile_Rule_B`` to ``<base>/$MA.xml``: the phone
fetches its own file in the same resync, not ``Resync_Periodic`` later. The device file
then sets ``Profile_Rule`` to ``[--uid USER --pwd PASS] <base>/$MA.xml`` with the
device's own provisioning credentials (the documented ``--uid``/``--pwd`` resync options,
whose arguments are macro expanded, so a ``$`` is written ``$$``; a value with a space or
other punctuation is written in double quotes, the quoted form the guides document for
``--key``; a value holding ``"`` or a control character cannot be written and the rule
then goes without credentials, with a comment saying so), and clears ``Profile_Rule_B``,
so no rule without credentials is left (``_C`` and ``_D`` are not ours and not touched).

The credentials reach the phone the first time by a way other than the public bootstrap:
an administrator enters them on the phone's web page (MPP's profile account, or a
``Profile_Rule`` typed with ``--uid``/``--pwd``), a redirect service hands the phone a
rule carrying them, an MPP phone asks for them on its screen when the fetch of its file
is refused with 401 (the 8800 guide's "Profile account setup"), or the phone fetches over
HTTPS with its client certificate. SPA phones can answer a digest challenge only with
credentials in the rule (or a client certificate): the web page or a redirect service.

Failover: ``SIP_Transport_n_ = AUTO`` (transport from NAPTR), ``Use_DNS_SRV_n_ = Yes``,
``DNS_SRV_Auto_Prefix_n_ = Yes`` and host names without a port; ``Alternate_Proxy_n_``
and ``Alternate_Outbound_Proxy_n_`` empty, ``Dual_Registration_n_ = No``. Every one of
these keys is written in every mode, so switching transport leaves none behind.
``Use_DNS_SRV`` follows "no port", not the transport: a transport given without a port is
SRV too. The auto prefix is always ``_sip._udp.``, so for TCP and TLS the prefix is off and
the outbound proxy is written as the SRV name itself (``_sip._tcp.<proxy>``,
``_sips._tcp.<proxy>``), which the phone then looks up as SRV (the guide: with the prefix
off the name is queried as given). An explicit port: ``Use_DNS_SRV = No``, an A lookup.
The failover policy: ``Proxy_Fallback_Intvl_n_`` (the failback as a duration) and
``Auto_Register_When_Failover_n_``. Tries, per-try timeout, calls only where registered,
subscriptions and a static DNS cache have no documented key.

Lines: every line the model has (`MODELS`, the extensions of the admin guides; a model
not in the table is written as MPP with 10 lines, SPA if its name starts with SPA) is
written: the estate's lines enabled, the others ``Line_Enable_n_ = No`` with their
credentials and servers cleared. Estate lines past the model's count are named in a file
comment. Line counts of some models are from data sheets, not admin guides (unsure).

Settings (`SETTINGS` says which key each goes to):

* Time: ``Time_Zone`` is the standard offset as ``GMT-05:00`` (``GMT`` for 0, the value
  the SPA guides list; ``GMT+05:30`` for half-hour zones, a value the guides found do not
  list: unsure, said in the file). DST from the IANA database, not the phone's default
  (US 2006 rules): ``Daylight_Saving_Time_Enable`` ``yes``/``no`` and
  ``Daylight_Saving_Time_Rule`` as ``start=M/D/W/H:M:S;end=...;save=H`` (D ``-1`` with
  weekday W: the last W of the month; D ``1``, ``8``, ``15``, ``22``: the first W on or
  after that day; W 1 Monday … 7 Sunday), cleared when the zone has none.
* Codecs: ``Preferred_Codec_n_``, ``Second_Preferred_Codec_n_`` and
  ``Third_Preferred_Codec_n_``, the first three codecs of the setting Cisco takes
  (``G711u``, ``G711a``, ``G722``, ``G729a``), ``Unspecified`` for a slot left over
  (``G711u``, the factory default, when none is known), ``Use_Pref_Codec_Only_n_ = No``.
  Opus is not written: no guide found lists it as a preferred-codec value; the codecs left
  out stay offered (no per-codec enable key was confirmed).
* DTMF ``DTMF_Tx_Method_n_`` (``AVT``, ``InBand``, ``INFO``); ``Resync_Periodic`` in seconds
  (0 never); ``Primary_NTP_Server``; ``Voice_Mail_Number`` (cleared when unset).
* Admin password: ``Admin_Password`` (MPP) or ``Admin_Passwd`` (SPA), written only when
  set (unset, the phone keeps the one it has: a factory phone has none).
* Not available: SRTP (no document found for an MPP/SPA key and its values), the screen
  language (``Language_Selection`` takes effect only with a dictionary the phone downloads
  through ``Dictionary_Server_Script``; Provisioner serves none).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from provisioner.dns.records import srv_name
from provisioner.domain.estate import DeviceConfig, SipTransport
from provisioner.domain.settings import Transport
from provisioner.domain.time_zones import Transition, UnknownTimeZone, zone_rule
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
)

NAME = "cisco"
SPA = "spa"  # file formats: which template
MPP = "mpp"

SIP_TRANSPORT = {
    Transport.DNS_NAPTR: "AUTO",
    Transport.UDP: "UDP",
    Transport.TCP: "TCP",
    Transport.TLS: "TLS",
}
DTMF = {"rfc2833": "AVT", "inband": "InBand", "info": "INFO"}
CODEC = {"pcmu": "G711u", "pcma": "G711a", "g729": "G729a", "g722": "G722"}
CODEC_SLOTS = 3  # Preferred, Second and Third Preferred Codec
NO_CODEC = "Unspecified"  # the documented default of the second and third slots
FACTORY_CODEC = "G711u"

MODELS = ModelTable(
    models=(
        # SPA300/500 guides and data sheets: lines (extensions) per model.
        Model("SPA301", 1, SPA),
        Model("SPA303", 3, SPA),
        Model("SPA501G", 8, SPA),
        Model("SPA502G", 1, SPA),
        Model("SPA504G", 4, SPA),
        Model("SPA508G", 8, SPA),
        Model("SPA509G", 12, SPA),
        Model("SPA512G", 1, SPA),
        Model("SPA514G", 4, SPA),
        Model("SPA525G", 5, SPA),
        Model("SPA525G2", 5, SPA),
        Model("SPA112", 2, SPA),  # analog adapters: one line per port
        Model("SPA122", 2, SPA),
        # MPP (3PCC) admin guides and data sheets.
        Model("CP-6821-3PCC", 2, MPP),
        Model("CP-6841-3PCC", 4, MPP),
        Model("CP-6851-3PCC", 4, MPP),
        Model("CP-6861-3PCC", 4, MPP),
        Model("CP-7811-3PCC", 1, MPP),
        Model("CP-7821-3PCC", 2, MPP),
        Model("CP-7841-3PCC", 4, MPP),
        Model("CP-7861-3PCC", 16, MPP),
        Model("CP-7832-3PCC", 1, MPP),
        Model("CP-8811-3PCC", 10, MPP),
        Model("CP-8832-3PCC", 1, MPP),
        Model("CP-8841-3PCC", 10, MPP),
        Model("CP-8845-3PCC", 10, MPP),
        Model("CP-8851-3PCC", 10, MPP),
        Model("CP-8851NR-3PCC", 10, MPP),
        Model("CP-8861-3PCC", 10, MPP),
        Model("CP-8865-3PCC", 10, MPP),
        Model("CP-8865NR-3PCC", 10, MPP),
    ),
    unknown=Model("unknown", 10, MPP),
)

SETTINGS: Mapping[str, SettingReach] = {
    "transport": Writes(
        ("SIP_Transport_{n}_", "Use_DNS_SRV_{n}_", "DNS_SRV_Auto_Prefix_{n}_"),
        "dns-naptr AUTO, else UDP/TCP/TLS; Use_DNS_SRV Yes when no port is given; the auto "
        "prefix (always _sip._udp.) only for dns-naptr and UDP",
    ),
    "outbound_proxy.host": Writes(
        ("Outbound_Proxy_{n}_",),
        "host[:port]; for TCP/TLS without a port the SRV name itself (_sip._tcp.host, "
        "_sips._tcp.host); SPA also Use_Outbound_Proxy_n_",
    ),
    "outbound_proxy.port": Writes(("Outbound_Proxy_{n}_",), "host:port; none when 0"),
    "secondary_proxy.host": Writes(
        ("Alternate_Outbound_Proxy_{n}_",), "empty with dns-naptr; Dual_Registration_n_ No"
    ),
    "secondary_proxy.port": Writes(("Alternate_Outbound_Proxy_{n}_",), "host:port"),
    "registrar.host": Writes(("Proxy_{n}_",), "host[:port]"),
    "registrar.port": Writes(("Proxy_{n}_",), "host:port; none when 0"),
    "registration.expiry": Writes(("Register_Expires_{n}_",), "seconds"),
    "failover.tries_per_server": Unavailable("no documented key for tries per server"),
    "failover.try_timeout": Unavailable(
        "SIP timer keys (SIP_T1, SIP_Timer_B) are not confirmed by a guide"
    ),
    "failover.register_on_failover": Writes(("Auto_Register_When_Failover_{n}_",), "Yes/No"),
    "failover.signal_only_registered": Unavailable("no documented key"),
    "failover.failback": Writes(
        ("Proxy_Fallback_Intvl_{n}_",),
        "a timer only: duration its interval, registration the expiry, dns-ttl the TTL, "
        "new-requests the interval",
    ),
    "failover.failback_interval": Writes(("Proxy_Fallback_Intvl_{n}_",), "seconds"),
    "failover.subscriptions_follow": Unavailable("no documented key"),
    "failover.static_dns_cache": Unavailable("Cisco phones have no static DNS cache"),
    "ntp.server": Writes(("Primary_NTP_Server",), "host name or address"),
    "time_zone": Writes(
        ("Time_Zone", "Daylight_Saving_Time_Enable", "Daylight_Saving_Time_Rule"),
        "GMT-05:00 (GMT for 0); DST yes/no and start=M/D/W/H:M:S;end=...;save=H from the "
        "IANA rule (D -1 last, 1/8/15/22 on or after; W 1 Monday..7 Sunday)",
    ),
    "resync.interval": Writes(("Resync_Periodic",), "seconds; 0 never"),
    "provisioning.url": Writes(
        ("Profile_Rule",),
        "[--uid USER --pwd PASS] <url>/$MA.xml in the device file; the bootstrap sets "
        "Profile_Rule and Profile_Rule_B to <url>/$MA.xml",
    ),
    "language": Unavailable(
        "Language_Selection needs a dictionary downloaded through Dictionary_Server_Script; "
        "Provisioner serves none"
    ),
    "codecs": Writes(
        ("Preferred_Codec_{n}_", "Second_Preferred_Codec_{n}_", "Third_Preferred_Codec_{n}_"),
        "the first three of G711u, G711a, G722, G729a in the setting's order, Unspecified "
        "after; opus not written (not a documented value)",
    ),
    "dtmf": Writes(("DTMF_Tx_Method_{n}_",), "AVT, InBand, INFO"),
    "srtp": Unavailable("no document found for an SPA/MPP SRTP key and its values"),
    "voicemail.number": Writes(("Voice_Mail_Number",), "cleared when unset"),
    "admin.password": Writes(
        ("Admin_Password",), "MPP Admin_Password, SPA Admin_Passwd; unset: not written"
    ),
    **common.SERVER_ENFORCED,
}

PATH_RULES = (
    PathRule(re.compile(r"spa(?P<model>[0-9]{3}[0-9A-Za-z]{0,4})\.cfg"), "spa-bootstrap"),
    PathRule(re.compile(r"(?:CP-)?(?P<model>[0-9]{4}[A-Z]{0,2}-3PCC)\.xml"), "mpp-bootstrap"),
    PathRule(re.compile(r"(?:CP-)?(?P<model>[0-9]{4}[A-Z]{0,2}-3PCC)\.cfg"), "mpp-bootstrap"),
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


def file_format(model: str | None) -> str:
    """SPA or MPP: the table's format for a known model, else by the name."""
    found = MODELS.find(model)
    if found is not None:
        return found.file_format
    return SPA if is_spa(model) else MODELS.unknown.file_format


def template_for(kind: str, model: str | None) -> str:
    if kind in ("spa-bootstrap", "mpp-bootstrap"):
        return "cisco/bootstrap.xml.j2"
    if kind == "device":
        return "cisco/spa.xml.j2" if file_format(model) == SPA else "cisco/device.xml.j2"
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


def _line(line: Any, servers: common.Servers, policy: common.Failover) -> dict[str, Any]:
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
    }


@functools.lru_cache(maxsize=512)
def codec_slots(codecs: tuple[str, ...]) -> tuple[str, ...]:
    """Preferred, second and third codec for one codecs setting (a handful in an estate)."""
    known = [CODEC[name] for name in codecs if name in CODEC][:CODEC_SLOTS]
    if not known:
        known = [FACTORY_CODEC]
    return tuple(known + [NO_CODEC] * (CODEC_SLOTS - len(known)))


# --- time zone -------------------------------------------------------------------------


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60}:{rest % 60}"


def _transition(transition: Transition) -> tuple[str, bool]:
    """``month/day/weekday/H:M:S`` and whether it is exact (the time fits 0:0:0–23:59:59)."""
    day = -1 if transition.week == 5 else (transition.week - 1) * 7 + 1
    exact = 0 <= transition.time < 86400
    time = transition.time if exact else transition.hour_of_day * 3600
    return f"{transition.month}/{day}/{transition.iso_weekday}/{_clock(time)}", exact


def _save(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}" if not rest else f"{hours}:{rest // 60}"


@functools.lru_cache(maxsize=1024)
def time_zone(name: str) -> tuple[str, str, str, str]:
    """``Time_Zone``, ``Daylight_Saving_Time_Enable``, ``_Rule`` and a note for the file."""
    try:
        rule = zone_rule(name)
    except UnknownTimeZone:
        return "GMT", "no", "", f"{name}: not in the time zone database here, written as GMT"
    notes = [f"{name}"]
    zone = "GMT" if rule.offset == 0 else "GMT" + rule.offset_text(":", True)
    if rule.offset % 3600:
        notes.append(f"{zone}: a half-hour value the guides found do not list (unsure)")
    if rule.dst is None:
        return zone, "no", "", "; ".join(notes)
    start, start_exact = _transition(rule.dst.start)
    end, end_exact = _transition(rule.dst.end)
    if not (start_exact and end_exact):
        notes.append("a DST change outside 0:00-23:59 written at the nearest hour of its day")
    dst = f"start={start};end={end};save={_save(rule.dst.save)}"
    return zone, "yes", dst, "; ".join(notes)


# --- the profile rule ------------------------------------------------------------------

_BARE = re.compile(r"[A-Za-z0-9._~@+=,:%^*!-]+")


def rule_argument(text: str) -> str | None:
    """`text` as an argument of ``--uid``/``--pwd``: bare when safe, else in double quotes
    with ``$`` doubled (arguments are macro expanded); None when it cannot be written."""
    if _BARE.fullmatch(text):
        return text
    if not text or '"' in text or not text.isprintable():
        return None
    return '"' + text.replace("$", "$$") + '"'


def profile_rule(config: DeviceConfig, url: str) -> tuple[str, str | None]:
    """The device file's ``Profile_Rule``, and a note when it goes without credentials."""
    if not config.provisioning_user or not config.provisioning_password:
        return url, "this device has no provisioning credentials: the rule carries none"
    user = rule_argument(config.provisioning_user)
    password = rule_argument(config.provisioning_password)
    if user is None or password is None:
        return url, (
            "the provisioning user or password holds a character a Cisco rule cannot carry "
            "(a double quote or a control character): the rule carries no credentials"
        )
    return f"[--uid {user} --pwd {password}] {url}", None


def _comment(text: str) -> str:
    """Text safe inside an XML comment (no ``--``)."""
    return text.replace("-", "\u2010") if "--" in text or text.endswith("-") else text


def variables(kind: str, config: DeviceConfig | None, context: RenderContext) -> dict[str, Any]:
    device_url = f"{common.base_url(config, context)}/$MA.xml"
    if kind in ("spa-bootstrap", "mpp-bootstrap"):
        return {"profile_rule": device_url}
    if kind != "device":
        raise RenderError(f"cisco has no file kind {kind!r}")
    config = common.require(config, kind)
    settings = config.settings
    servers = common.servers(config)
    policy = common.failover(config)
    slots = common.line_slots(config, MODELS)
    rule, rule_note = profile_rule(config, device_url)
    zone, dst_enable, dst_rule, zone_note = time_zone(settings["time_zone"])
    model_note = None
    if not slots.known:
        model_note = _comment(
            f"model {config.model} is not in the Cisco model table: written with "
            f"{slots.model.lines} lines, those past the estate's disabled"
        )
    left_out = None
    if slots.left_out:
        left_out = _comment(
            f"estate lines {', '.join(map(str, slots.left_out))} are not written: "
            f"{config.model} has {slots.model.lines}"
        )
    return {
        "naptr": servers.naptr,
        "profile_rule": rule,
        "profile_rule_note": rule_note,
        "resync_periodic": settings["resync.interval"],
        "lines": [_line(line, servers, policy) for line in slots.lines],
        "disabled": slots.disabled,
        "left_out": left_out,
        "model_note": model_note,
        "codecs": codec_slots(tuple(settings["codecs"])),
        "dtmf": DTMF[settings["dtmf"]],
        "ntp_server": settings["ntp.server"],
        "time_zone": zone,
        "dst_enable": dst_enable,
        "dst_rule": dst_rule,
        "time_zone_note": _comment(zone_note),
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
    settings_map=SETTINGS,
    models=MODELS,
)
