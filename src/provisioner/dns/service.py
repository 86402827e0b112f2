"""The DNS side of a running Provisioner: prepared answers, the server on UDP and TCP, the
poller that follows estate changes, zone transfers and NOTIFY. `provisioner serve` and
`provisioner dns serve` both run one `DnsService`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from provisioner.dns.answers import prepare_answers
from provisioner.dns.live import LiveAnswers, load_answers
from provisioner.dns.ratelimit import ResponseRateLimit
from provisioner.dns.records import DnsOptions, DnsRecords
from provisioner.dns.responder import Responder
from provisioner.dns.server import DnsServer, TcpLimits
from provisioner.dns.transfer import LOOPBACK, Notifier, TransferPolicy, Transfers
from provisioner.domain.errors import ProvisionerError
from provisioner.storage.database import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DnsSettings:
    host: str = "127.0.0.1"
    port: int = 1053
    options: DnsOptions = field(default_factory=DnsOptions)
    transfer: TransferPolicy = field(default_factory=TransferPolicy)
    poll_seconds: float = 0.25
    # UDP responses a second per client network and response (`dns.ratelimit`); 0: off.
    # 20 of the same answer to one network a second: a caching resolver asks each name
    # once a TTL, so only a reflection flood (or a benchmark) comes near it, while room is
    # left for a resolver farm behind one /24 (BIND's manual's example is 5).
    rate_limit: int = 20
    rate_limit_slip: int = 2  # every 2nd limited response truncated, the rest dropped
    rate_limit_exempt: tuple[str, ...] = LOOPBACK  # cannot be spoofed from outside
    tcp: TcpLimits = field(default_factory=TcpLimits)
    # strict: an estate whose zones cannot be built stops the start (``dns serve``);
    # otherwise (``serve``, where phones' files must go on) the server starts with no
    # zones, says why, and publishes the first change that builds.
    strict: bool = True


class DnsService:
    def __init__(self, database: Database, settings: DnsSettings) -> None:
        self.database = database
        self.settings = settings
        self.responder: Responder | None = None
        self.server: DnsServer | None = None
        self.live: LiveAnswers | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.problem: str | None = None

    @property
    def port(self) -> int:
        return self.server.port if self.server else 0

    async def start(self) -> None:
        settings = self.settings
        try:
            answers = await asyncio.to_thread(load_answers, self.database, settings.options)
        except ProvisionerError as error:
            if settings.strict:
                raise
            self.problem = str(error)
            log.error("DNS: serving no zones until the estate is fixed: %s", error)
            answers = prepare_answers(DnsRecords(zones=(), change_id=-1))
        self.responder = Responder(answers)
        transfers = Transfers(self.responder, settings.transfer)
        rate_limit = None
        if settings.rate_limit:
            rate_limit = ResponseRateLimit(
                settings.rate_limit, settings.rate_limit_slip, settings.rate_limit_exempt
            )
        self.server = DnsServer(self.responder, transfers, settings.tcp, rate_limit)
        await self.server.start(settings.host, settings.port)
        self.live = LiveAnswers(
            self.database, self.responder, settings.options, settings.poll_seconds
        )
        if settings.transfer.notify:
            notifier = Notifier(settings.transfer)
            self.live.listeners.append(notifier.changed)
            self._tasks.append(asyncio.create_task(notifier.changed(answers.records, None)))
        self._tasks.append(asyncio.create_task(self.live.run()))
        log.info("DNS serving %s on %s:%d", ", ".join(answers.serials), settings.host, self.port)

    def describe(self) -> str:
        host = f"[{self.settings.host}]" if ":" in self.settings.host else self.settings.host
        domains = ", ".join(self.responder.answers.serials) if self.responder else ""
        line = f"DNS   udp+tcp {host}:{self.port}  ({domains or 'no zones yet'})"
        if self.problem and self.responder and self.responder.answers.change_id < 0:
            line += f"\n        NO ZONES SERVED: {self.problem}"
        return line

    async def stop(self) -> None:
        if self.live is not None:
            await self.live.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.server is not None:
            await self.server.close()
