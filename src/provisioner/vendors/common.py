"""What every vendor derives the same way from effective settings: the SIP servers and lines.

No vendor key lives here: a vendor module maps these neutral values onto its own keys.
With transport ``dns-naptr`` the settings rules already forced the ports to 0 and removed
the secondary proxy; `servers` repeats that guard so no template can print a backup.
"""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.domain.settings import Transport
from provisioner.vendors.base import RenderContext, RenderError


@dataclass(frozen=True, slots=True)
class Servers:
    """Registrar, outbound proxy and (only without dns-naptr) a secondary proxy."""

    transport: Transport
    registrar_host: str | None
    registrar_port: int  # 0: none given (always 0 with dns-naptr)
    proxy_host: str | None
    proxy_port: int
    secondary_host: str | None  # always None with dns-naptr
    secondary_port: int
    expiry: int  # seconds

    @property
    def naptr(self) -> bool:
        return self.transport is Transport.DNS_NAPTR


def servers(config: DeviceConfig) -> Servers:
    settings = config.settings
    transport = settings.transport
    naptr = transport is Transport.DNS_NAPTR
    secondary = None if naptr else settings["secondary_proxy.host"]
    return Servers(
        transport=transport,
        registrar_host=settings["registrar.host"],
        registrar_port=0 if naptr else settings["registrar.port"] or 0,
        proxy_host=settings["outbound_proxy.host"],
        proxy_port=0 if naptr else settings["outbound_proxy.port"] or 0,
        secondary_host=secondary,
        secondary_port=(settings["secondary_proxy.port"] or 0) if secondary else 0,
        expiry=settings["registration.expiry"],
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
    return tuple(sorted(config.lines, key=lambda line: line.index))


def on_off(flag: bool, on: str = "1", off: str = "0") -> str:
    return on if flag else off
