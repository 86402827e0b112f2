"""Running the service: the HTTP and HTTPS servers (phones' files, health) and the embedded
DNS server in one asyncio loop, stopped cleanly by Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import uvicorn

from provisioner.dns.service import DnsService, DnsSettings
from provisioner.domain.errors import InvalidValue, ProvisionerError
from provisioner.geoip.locator import ZoneLocator
from provisioner.storage.database import Database
from provisioner.web.app import ProvisionerApp, create_app
from provisioner.web.front_door import Limits, front_door
from provisioner.web.phones import PhoneOptions
from provisioner.web.tls import RELOAD_INTERVAL, CertificateReloader, TlsFiles, server_context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    @classmethod
    def parse(cls, text: str, option: str) -> Endpoint:
        """``127.0.0.1:8080``, ``[::1]:8080`` or ``:8080`` (all addresses)."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise InvalidValue(option, f"{text!r} is not HOST:PORT (port 0..65535)")
        return cls(host.strip("[]") or "0.0.0.0", int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def bind_tcp(endpoint: Endpoint, option: str) -> socket.socket:
    """A listening socket, or an error that names the option and the address."""
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP
    # (without it, Nagle and delayed ACKs hold every response for 40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((endpoint.host, endpoint.port))
    except OSError as error:
        sock.close()
        raise ProvisionerError(f"{option} {endpoint}: {error.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when it is installed (more requests per second than asyncio's
    own, see bench/http.py), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def tune_garbage_collector() -> None:
    """The phones' cache holds hundreds of thousands of long-lived objects, and with
    Python's default thresholds (700, 10, 10) the cycle collector walks them again and
    again while it fills: ~50 µs of each uncached fetch (bench/http.py). Collect the young
    generation less often, and leave what start-up made (modules, templates) out of every
    later collection. Reference counting still frees everything without cycles at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


class _HttpServer(uvicorn.Server):
    """uvicorn, with signals left to `run_service`, and HTTPS listeners beside the plain
    ones: the same app, lifespan, connections and front door (`front_door`) behind each,
    so a phone's fetch and a hand-over to uvicorn work alike over TLS. uvicorn's own
    `ssl` option would put every socket it is given behind one TLS context."""

    def __init__(
        self,
        config: uvicorn.Config,
        tls_listeners: Sequence[tuple[socket.socket, ssl.SSLContext]] = (),
        handshake_timeout: float = 10.0,
    ) -> None:
        super().__init__(config)
        self.tls_listeners = tuple(tls_listeners)
        self.handshake_timeout = handshake_timeout

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.started:
            return
        config = self.config

        def create_protocol(_loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )

        loop = asyncio.get_running_loop()
        for sock, context in self.tls_listeners:
            server = await loop.create_server(
                create_protocol,
                sock=sock,
                ssl=context,
                backlog=config.backlog,
                # a TLS handshake is held to the time a request head may take
                ssl_handshake_timeout=self.handshake_timeout,
            )
            self.servers.append(server)


# descriptors kept for what is not an HTTP connection: the database, the DNS server's
# sockets and TCP clients, GeoIP, logs, the listening socket
_RESERVED_DESCRIPTORS = 256


def within_descriptor_limit(limits: Limits) -> Limits:
    """`limits` with `max_connections` below the process's file descriptor limit (raised
    to its hard limit first): past that limit accept() fails and nobody is served, while
    below it a connection too many gets a 503 with Retry-After."""
    try:
        import resource
    except ImportError:  # not on a POSIX system
        return limits
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.max_connections + _RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return limits
    allowed = max(1, soft - _RESERVED_DESCRIPTORS)
    log.warning(
        "at most %d HTTP connections (not %d): the file descriptor limit is %d",
        allowed,
        limits.max_connections,
        soft,
    )
    return dataclasses.replace(limits, max_connections=allowed)


def _with_locator(app: ProvisionerApp, locator: ZoneLocator | None) -> ProvisionerApp:
    """The GeoIP chain for the phones' routes: ``app.state.locator``."""
    app.state.locator = locator or ZoneLocator()
    return app


async def run_service(
    database: Database,
    http: Endpoint | None,
    on_ready: Callable[[list[str]], None] | None = None,
    dns: DnsSettings | None = None,
    locator: ZoneLocator | None = None,
    limits: Limits | None = None,
    public_urls: Sequence[str] = (),
    health_token: str | None = None,
    https: Endpoint | None = None,
    tls: TlsFiles | None = None,
    tls_reload_interval: float = RELOAD_INTERVAL,
) -> None:
    """Serve until SIGINT or SIGTERM; `on_ready` gets a line per listening endpoint.

    `http` and `https` (with `tls`: certificate, key, client CAs) are where phones and
    the API are served, either or both; the certificate is loaded again when its files
    change (`tls.CertificateReloader`, every `tls_reload_interval` seconds).
    `limits` bound every HTTP connection, the phones' and those handed to uvicorn;
    `public_urls` are where files point phones when no provisioning.url applies
    (`PublicUrls`); `health_token` lets /healthz tell the version."""
    if http is None and https is None:
        raise ProvisionerError("nothing to serve on: give --http, --https or both")
    if https is not None and tls is None:
        raise ProvisionerError("--https needs --cert and --key")
    chosen = within_descriptor_limit(limits or Limits())
    context = server_context(tls) if https is not None and tls is not None else None
    sockets: list[socket.socket] = []
    try:
        http_socket = bind_tcp(http, "--http") if http is not None else None
        if http_socket is not None:
            sockets.append(http_socket)
        https_socket = bind_tcp(https, "--https") if https is not None else None
        if https_socket is not None:
            sockets.append(https_socket)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    dns_service = DnsService(database, dns) if dns else None
    if dns_service:
        try:
            await dns_service.start()
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
    bound = Endpoint(http.host, http_socket.getsockname()[1]) if http and http_socket else None
    bound_tls = (
        Endpoint(https.host, https_socket.getsockname()[1]) if https and https_socket else None
    )
    options = PhoneOptions(public_urls=tuple(public_urls))
    app = _with_locator(create_app(database, options, health_token=health_token), locator)
    server = _HttpServer(
        uvicorn.Config(
            app,
            # The phones' GETs are answered by the front door; it hands uvicorn the rest.
            http=front_door(app.phones, chosen),  # type: ignore[arg-type]
            ws="none",  # no WebSocket route: an upgrade is an ordinary request
            # Only `--trusted-proxy` names who may speak for a client (`Locating`).
            proxy_headers=False,
            log_level="warning",
            access_log=False,
            lifespan="on",
            server_header=False,
        ),
        tls_listeners=(
            [(https_socket, context)] if https_socket is not None and context is not None else []
        ),
        handshake_timeout=chosen.head_timeout,
    )
    reloader = (
        CertificateReloader(context, tls) if context is not None and tls is not None else None
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    http_task = asyncio.create_task(
        server.serve(sockets=[http_socket] if http_socket is not None else [])
    )
    reload_task = (
        asyncio.create_task(reloader.run(tls_reload_interval)) if reloader is not None else None
    )
    try:
        while not server.started and not http_task.done():
            await asyncio.sleep(0.01)
        if http_task.done():
            http_task.result()
        tune_garbage_collector()
        if on_ready:
            lines = []
            if bound is not None:
                lines.append(f"HTTP  http://{bound}/  (phones' files; health at /healthz)")
            if bound_tls is not None and tls is not None:
                lines.append(
                    f"HTTPS https://{bound_tls}/  (certificate {tls.cert}, reloaded when it "
                    "changes; "
                    + (
                        f"client certificates of {len(tls.client_cas)} CA file(s) accepted)"
                        if tls.client_cas
                        else "no client certificate asked for)"
                    )
                )
            lines += [
                "      files point phones at "
                + (", ".join(app.phones.public_urls.urls) or "the address they reached")
                + " unless provisioning.url is set",
                f"      at most {chosen.max_connections} connections"
                + (
                    f", {chosen.max_connections_per_address} per address"
                    if chosen.max_connections_per_address
                    else ""
                )
                + f"; heads within {chosen.head_timeout:g} s, bodies within "
                f"{chosen.body_timeout:g} s",
            ]
            on_ready([*lines, dns_service.describe()] if dns_service else lines)
        stop_task = asyncio.create_task(stop.wait())
        await asyncio.wait({stop_task, http_task}, return_when=asyncio.FIRST_COMPLETED)
        stop_task.cancel()
    finally:
        if reload_task is not None:
            reload_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reload_task
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await http_task
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        for sock in sockets:
            sock.close()
        if dns_service:
            await dns_service.stop()
        log.info("stopped")
