"""Keeping a running server's answers current: poll the id of the last estate change
(one tiny indexed query, four times a second), and when it moved — whichever process made
the change — rebuild the records and answers in a worker thread and swap them in with one
assignment. Queries keep being answered from the old data meanwhile; an estate that cannot
be published is logged and the old answers stay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from provisioner.dns.answers import Answers, prepare_answers
from provisioner.dns.publish import current_records
from provisioner.dns.records import DnsOptions, DnsRecords
from provisioner.dns.responder import Responder
from provisioner.domain.errors import ProvisionerError
from provisioner.storage.database import Database

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
QUIET_SECONDS = 30.0

Listener = Callable[[DnsRecords, DnsRecords | None], Coroutine[Any, Any, None]]  # (new, old)


def load_answers(database: Database, options: DnsOptions | None = None) -> Answers:
    """The answers for the latest change (blocking: call it from a thread in a loop)."""
    return prepare_answers(current_records(database, options))


class LiveAnswers:
    """Follows the estate for a `Responder`."""

    def __init__(
        self,
        database: Database,
        responder: Responder,
        options: DnsOptions | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.database = database
        self.responder = responder
        self.options = options
        self.poll_seconds = poll_seconds
        self.listeners: list[Listener] = []
        self._failed_change: int | None = None
        self._listening: set[asyncio.Task[None]] = set()

    @property
    def change_id(self) -> int:
        return self.responder.answers.change_id

    async def run(self) -> None:
        """Poll until cancelled. While the database is unreachable the last answers stay,
        and the error is logged once per `QUIET_SECONDS`, not four times a second."""
        loop = asyncio.get_running_loop()
        last_logged = -QUIET_SECONDS
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if loop.time() - last_logged >= QUIET_SECONDS:
                    last_logged = loop.time()
                    log.error("DNS: could not check for estate changes: %s", error)

    async def check(self) -> bool:
        """Rebuild if the estate changed since the answers were built; whether it did."""
        latest = await asyncio.to_thread(self.database.latest_change)
        if latest == self.change_id or latest == self._failed_change:
            return False
        try:
            answers = await asyncio.to_thread(load_answers, self.database, self.options)
        except ProvisionerError as error:
            self._failed_change = latest
            log.error(
                "DNS: change %d not published, still serving the last good one: %s", latest, error
            )
            return False
        old = self.responder.answers.records
        self.responder.answers = answers
        log.info("DNS: serving change %d, serials %s", answers.change_id, answers.serials)
        for listener in self.listeners:  # in the background: a slow secondary must not
            task = asyncio.create_task(listener(answers.records, old))  # delay the next poll
            self._listening.add(task)
            task.add_done_callback(self._listened)
        return True

    def _listened(self, task: asyncio.Task[None]) -> None:
        self._listening.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("DNS: after a change: %s", task.exception())

    async def stop(self) -> None:
        for task in list(self._listening):
            task.cancel()
