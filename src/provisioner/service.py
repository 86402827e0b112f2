"""Running the service: the HTTP server (phones' files, health) and the embedded DNS
server in one asyncio loop, stopped cleanly by Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from provisioner.dns.service import DnsService, DnsSettings
from provisioner.domain.errors import InvalidValue, ProvisionerError
from provisioner.geoip.locator import ZoneLocator
from provisioner.storage.database import Database
from provisioner.web.app import ProvisionerApp, create_app
from provisioner.web.front_door import front_door

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
    """uvicorn, with signals left to `run_service`."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _with_locator(app: ProvisionerApp, locator: ZoneLocator | None) -> ProvisionerApp:
    """The GeoIP chain for the phones' routes: ``app.state.locator``."""
    app.state.locator = locator or ZoneLocator()
    return app


async def run_service(
    database: Database,
    http: Endpoint,
    on_ready: Callable[[list[str]], None] | None = None,
    dns: DnsSettings | None = None,
    locator: ZoneLocator | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; `on_ready` gets a line per listening endpoint."""
    http_socket = bind_tcp(http, "--http")
    dns_service = DnsService(database, dns) if dns else None
    if dns_service:
        try:
            await dns_service.start()
        except BaseException:
            http_socket.close()
            raise
    bound = Endpoint(http.host, http_socket.getsockname()[1])
    app = _with_locator(create_app(database), locator)
    server = _HttpServer(
        uvicorn.Config(
            app,
            # The phones' GETs are answered by the front door; it hands uvicorn the rest.
            http=front_door(app.phones),  # type: ignore[arg-type]
            # Only `--trusted-proxy` names who may speak for a client (`Locating`).
            proxy_headers=False,
            log_level="warning",
            access_log=False,
            lifespan="on",
            server_header=False,
        )
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    http_task = asyncio.create_task(server.serve(sockets=[http_socket]))
    try:
        while not server.started and not http_task.done():
            await asyncio.sleep(0.01)
        if http_task.done():
            http_task.result()
        tune_garbage_collector()
        if on_ready:
            lines = [f"HTTP  http://{bound}/  (phones' files; health at /healthz)"]
            on_ready([*lines, dns_service.describe()] if dns_service else lines)
        stop_task = asyncio.create_task(stop.wait())
        await asyncio.wait({stop_task, http_task}, return_when=asyncio.FIRST_COMPLETED)
        stop_task.cancel()
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await http_task
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        http_socket.close()
        if dns_service:
            await dns_service.stop()
        log.info("stopped")
