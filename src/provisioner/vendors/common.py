"""What every vendor derives the same way from effective settings: the SIP servers and lines.

No vendor key lives here: a vendor module maps these neutral values onto its own keys.
With transport ``dns-naptr`` the settings rules already forced the ports to 0 and removed
the secondary proxy; `servers` repeats that guard so no template can print a backup.
"""

from __future__ import annotations

from operator import attrgetter
from typing import NamedTuple

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Transport
from provisioner.vendors.base import RenderContext, RenderError


class Servers(NamedTuple):
    """Registrar, outbound proxy and (only without dns-naptr) a secondary proxy.

    A named tuple: built for every device file in a fifth of a frozen dataclass's time,
    its fields read nearly as fast.
    """

    transport: Transport
    registrar_host: str | None
    registrar_port: int  # 0: none given (always 0 with dns-naptr)
    proxy_host: str | None
    proxy_port: int
    secondary_host: str | None  # always None with dns-naptr
    secondary_port: int
    expiry: int  # seconds
    naptr: bool  # transport is dns-naptr (set by `servers`, which builds every one)


_DNS_NAPTR = Transport.DNS_NAPTR


def servers(config: DeviceConfig) -> Servers:
    settings = config.settings
    transport = settings.transport
    if transport is _DNS_NAPTR:
        return Servers(
            transport,
            settings["registrar.host"],
            0,
            settings["outbound_proxy.host"],
            0,
            None,
            0,
            settings["registration.expiry"],
            True,
        )
    secondary = settings["secondary_proxy.host"]
    return Servers(  # by position: keywords cost a third of this function
        transport,
        settings["registrar.host"],
        settings["registrar.port"] or 0,
        settings["outbound_proxy.host"],
        settings["outbound_proxy.port"] or 0,
        secondary,
        (settings["secondary_proxy.port"] or 0) if secondary else 0,
        settings["registration.expiry"],
        False,
    )


def host_port(host: str | None, port: int) -> str | None:
    """``host`` or ``host:port`` (no port when it is 0); IPv6 addresses get brackets."""
    if not host:
        return None
    if not port:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def require(config: DeviceConfig | None, kind: str) -> DeviceConfig:
    """The config a secret file needs; a clear error instead of a file without lines."""
    if config is None:
        raise RenderError(f"the {kind!r} file carries a device's lines: it needs its config")
    return config


def base_url(config: DeviceConfig | None, context: RenderContext) -> str:
    """Where the phone should fetch from: the ``provisioning.url`` setting, else its own URL."""
    if config is not None and config.settings["provisioning.url"]:
        return str(config.settings["provisioning.url"]).rstrip("/")
    return context.base_url.rstrip("/")


def lines(config: DeviceConfig) -> tuple[LineConfig, ...]:
    """The device's lines by index (the database gives them in that order already)."""
    found = config.lines
    if type(found) is tuple and (len(found) < 2 or _in_order(found)):
        return found  # what the stable sort would give: the same lines, in the same order
    return tuple(sorted(found, key=_INDEX))


_INDEX = attrgetter("index")


def _in_order(found: tuple[LineConfig, ...]) -> bool:
    previous = found[0].index
    for line in found:
        if line.index < previous:
            return False
        previous = line.index
    return True


def codec_priority(name: str, codecs: tuple[str, ...]) -> int:
    """A codec's place in the ``codecs`` setting (1 first), 0 when the setting leaves it out."""
    return codecs.index(name) + 1 if name in codecs else 0


def on_off(flag: bool, on: str = "1", off: str = "0") -> str:
    return on if flag else off
