"""A running DNS service on a free loopback port, in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import dns.message
import dns.query
import pytest

from provisioner.dns.service import DnsService, DnsSettings
from provisioner.storage.database import Database


@dataclass
class RunningDns:
    """A `DnsService` running in a background thread; `query` asks it like a client."""

    service: DnsService
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    stop_event: asyncio.Event
    host: str = "127.0.0.1"

    @property
    def port(self) -> int:
        return self.service.port

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    def query(
        self, name: str, rdtype: str = "A", tcp: bool = False, **make: Any
    ) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, **make)
        ask = dns.query.tcp if tcp else dns.query.udp
        return ask(query, self.host, port=self.port, timeout=5)


def start_dns(database: Database, settings: DnsSettings | None = None) -> RunningDns:
    settings = settings or DnsSettings(host="127.0.0.1", port=0, poll_seconds=0.05)
    service = DnsService(database, settings)
    loop = asyncio.new_event_loop()
    ready: Future[None] = Future()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def main() -> None:
            try:
                await service.start()
            except BaseException as error:
                ready.set_exception(error)
                return
            ready.set_result(None)
            await stop.wait()
            await service.stop()

        loop.run_until_complete(main())
        loop.close()

    thread = threading.Thread(target=run, name="dns-under-test", daemon=True)
    thread.start()
    ready.result(20)
    return RunningDns(service, loop, thread, stop)


def stop_dns(running: RunningDns) -> None:
    if running.thread.is_alive():
        running.loop.call_soon_threadsafe(running.stop_event.set)
        running.thread.join(20)


@pytest.fixture
def demo_dns(demo_database: Database) -> Iterator[RunningDns]:
    running = start_dns(demo_database)
    yield running
    stop_dns(running)
