"""The phones' files, fetched at the root (``/001565a00001.cfg``): one straight line per
request.

    identify → authenticate → locate → effective settings → render → answer with an ETag

* **identify**: the vendor profiles match the path (and the User-Agent picks among
  vendors that share a name), giving the file kind, the MAC and whether it carries a secret.
* **authenticate**: a file that carries a secret (or an upload) is answered only to the
  device's own provisioning credentials: its password by HTTP Digest, or a TLS client
  certificate (``serve --client-ca``) naming its MAC, as the device's
  ``provisioning.auth`` allows (digest, certificate, either). A missing or wrong
  password, another device's credentials or certificate, a credential the device does
  not take and an unknown MAC all get the same 401. A certificate the device does not
  take (or of an unknown MAC) is set aside, not counted as a failed attempt: phones show
  theirs on every request. With ``provisioning.https_only`` a device's own credentials
  over plain HTTP get 403, which tells nothing to whoever lacks them. Files without a
  secret are public and never look at a device record (only at the estate snapshot, the
  same for every MAC), so they tell nothing about which MACs exist either.
* **locate** → **settings** → **render**: from the estate snapshot and the device record,
  cached per generation (`config_cache`); a warm fetch touches no database at all.

Failed attempts are limited per MAC and per client address (`throttle`); uncached
fetches beyond a bound get 503 with Retry-After. Successful fetches are recorded in
batches (`seen`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from urllib.parse import urlsplit

from provisioner.domain.effective import device_config, public_provisioning_url
from provisioner.domain.errors import InvalidValue
from provisioner.domain.estate import DeviceConfig, DeviceRecord
from provisioner.geoip import ZoneLocator
from provisioner.storage.database import Database
from provisioner.storage.fetches import store_device_log
from provisioner.storage.snapshot import load_estate
from provisioner.storage.template_overrides import Override, load_overrides
from provisioner.vendors.base import (
    MAX_PATH,
    MAX_REMEMBERED_USER_AGENT,
    Delivery,
    RenderContext,
    VendorProfile,
    context_for,
)
from provisioner.vendors.overrides import render_operator_template
from provisioner.vendors.problems import render_problem
from provisioner.web import access_log, answers
from provisioner.web.access import DEFAULT as DEFAULT_ACCESS
from provisioner.web.access import access_of
from provisioner.web.answers import Answer, Receive, Scope, Send
from provisioner.web.changes import ChangeWatcher
from provisioner.web.config_cache import ConfigCache, DeviceEntry, RenderedFile, Snapshot
from provisioner.web.digest import (
    DEFAULT_NONCE_LIFETIME,
    Nonces,
    NonceState,
    challenges,
    check_response,
)
from provisioner.web.file_versions import FileVersions
from provisioner.web.identify import Candidate, Identified, firmware_of, identify
from provisioner.web.locating import Locating
from provisioner.web.lookup import DeviceLookups
from provisioner.web.phone_request import PhoneRequest, PublicUrls
from provisioner.web.prepare import Preparer, Recipe
from provisioner.web.seen import SeenRecorder
from provisioner.web.throttle import (
    ACROSS_ADDRESSES,
    PER_ADDRESS,
    PER_DEVICE,
    Allowance,
    LoadShedder,
    Throttle,
    place_of,
)

log = logging.getLogger(__name__)

# a device's own file asked for over plain HTTP when its `provisioning.https_only` is set,
# answered only once its credentials were right
HTTPS_REQUIRED = Answer(403, b"this file is served over HTTPS only\n")


class Needs(Enum):
    """What `PhoneFiles.decide` must have before it can answer."""

    DEVICE = "device"  # the device's record and HA1s (one indexed query)
    SNAPSHOT = "snapshot"  # the estate and operator templates of this generation


@dataclass(frozen=True, slots=True)
class Upload:
    """An authenticated log upload: its body is read next."""

    record: DeviceRecord


# (path, method, User-Agent) → what it asks for; only paths and User-Agents short enough
# for a phone are kept (`MAX_PATH`, `MAX_REMEMBERED_USER_AGENT`), so the keys take at most
# ~400 bytes each: a few tens of MB in all, whatever clients send
_IDENTIFIED_KEPT = 100_000
_LAST_GOOD_KEPT = 200_000  # files kept to answer with when a template breaks
# a public file is cached only when the model and firmware read from the User-Agent are
# no longer than this (no phone's are): others are rendered for the request and forgotten
_PUBLIC_CONTEXT_KEPT = 64


@dataclass(frozen=True)
class PhoneOptions:
    """How the phones' routes behave; the defaults suit production."""

    realm: str = "provisioner"
    nonce_lifetime: float = DEFAULT_NONCE_LIFETIME
    # Nodes behind one load balancer share it (PROVISIONER_NONCE_SECRET), so a nonce from
    # one is good at the others; None: a random secret per process.
    nonce_secret: bytes | None = field(default_factory=lambda: _nonce_secret_from_environment())
    change_poll_interval: float = 1.0  # seconds between looks at the latest change id
    seen_flush_interval: float = 1.0  # seconds between writes of last-seen batches
    max_log_bytes: int = 1 << 20  # a larger upload is refused with 413
    logs_kept: int = 10  # per device, newest first
    # failed attempts (`throttle`): of one device from one address; of different MACs from
    # one address; of one device from different addresses
    per_device: Allowance = field(default_factory=lambda: PER_DEVICE)
    per_address: Allowance = field(default_factory=lambda: PER_ADDRESS)
    across_addresses: Allowance = field(default_factory=lambda: ACROSS_ADDRESSES)
    max_uncached_in_flight: int = 4096  # waiting uncached fetches; past it, 503
    # files asked for in one generation and prepared again after a change (0: none)
    prepare_after_change: int = 100_000
    # where files point phones when no provisioning.url applies (`PublicUrls`); empty: the
    # address the server was reached on, never the request's Host unless it names one
    public_urls: tuple[str, ...] = ()


def _nonce_secret_from_environment() -> bytes | None:
    text = os.environ.get("PROVISIONER_NONCE_SECRET", "")
    if text and len(text) < 16:
        raise InvalidValue("PROVISIONER_NONCE_SECRET", "is shorter than 16 characters")
    return text.encode() or None


class PhoneFiles:
    """The ASGI app behind every phone path."""

    def __init__(
        self,
        database: Database,
        profiles: Sequence[VendorProfile],
        options: PhoneOptions | None = None,
        locator: ZoneLocator | None = None,
    ) -> None:
        self.database = database
        self.locating = Locating(locator)
        self.profiles = tuple(profiles)
        self.options = options or PhoneOptions()
        self.public_urls = PublicUrls(self.options.public_urls)
        self.cache = ConfigCache()
        self.lookups = DeviceLookups(database, self.options.realm)
        self.preparer = Preparer(
            self.prepare,
            self.lookups.get,
            self._snapshot,
            self.cache.put_device,
            max_recipes=self.options.prepare_after_change,
        )
        self.changes = ChangeWatcher(
            database, self.cache, self.options.change_poll_interval, self.preparer.changed
        )
        self.seen = SeenRecorder(database, self.options.seen_flush_interval)
        self.nonces = Nonces(self.options.nonce_secret, self.options.nonce_lifetime)
        self.throttle = Throttle(
            self.options.per_device, self.options.per_address, self.options.across_addresses
        )
        self.shedder = LoadShedder(self.options.max_uncached_in_flight)
        self._last_good: OrderedDict[Hashable, RenderedFile] = OrderedDict()
        self.versions = FileVersions()  # Fanvil's <Version>: rises with the content only
        self._snapshot_lock = asyncio.Lock()
        self._identified: dict[tuple[str, str, str | None], Identified | None] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    # --- lifetime ---

    def use_locator(self, locator: ZoneLocator) -> None:
        self.locating = Locating(locator)

    async def start(self) -> None:
        """Read the latest change and start the watcher and the last-seen writer."""
        if self._started:
            return
        self._started = True
        await self.changes.refresh()
        self._tasks = [
            asyncio.create_task(self.changes.run()),
            asyncio.create_task(self.seen.run()),
        ]

    async def stop(self) -> None:
        """Stop the background tasks and write the fetches not yet recorded."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._started = False
        await self.preparer.stop()
        await self.seen.flush()

    # --- the flow ---

    @property
    def started(self) -> bool:
        return self._started

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await self.handle(scope, receive, send):
            await answers.NOT_FOUND.send(send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if its path is a phone's file; False (nothing sent) if not."""
        request = PhoneRequest.from_scope(scope)
        identified = self.identify(request.path, request.method, request.user_agent)
        if identified is None:
            return False
        answer = await self.answer(request, identified, receive)
        await answer.send(send, head_only=request.method == "HEAD")
        return True

    def identify(self, path: str, method: str, user_agent: str | None) -> Identified | None:
        """`identify`, remembered: phones ask for the same few names again and again."""
        key = (path, "PUT" if method == "PUT" else "GET", user_agent)
        try:
            return self._identified[key]
        except KeyError:
            pass
        identified = identify(self.profiles, path, key[1], user_agent)
        if len(path) > MAX_PATH or (
            user_agent is not None and len(user_agent) > MAX_REMEMBERED_USER_AGENT
        ):
            return identified  # no phone's: not worth the memory
        if len(self._identified) >= _IDENTIFIED_KEPT:
            self._identified.clear()
        self._identified[key] = identified
        return identified

    async def answer(
        self,
        request: PhoneRequest,
        identified: Identified,
        receive: Receive | None = None,
        decided: Answer | Needs | Upload | None = None,
    ) -> Answer:
        """The answer to a phone's request: `decide`, fetching what it needs first.
        `decided`: what a call to `decide` just said this request needs."""
        if request.method not in ("GET", "HEAD", "PUT"):
            return self._logged(request, identified, answers.METHOD_NOT_ALLOWED)
        if not self._started:
            await self.start()
            decided = None
        entry: DeviceEntry | None = None
        snapshot: Snapshot | None = None
        while True:
            if decided is None:
                decided = self.decide(request, identified, entry, snapshot)
            if isinstance(decided, Answer):
                return decided
            if decided is Needs.DEVICE:
                assert identified.mac is not None
                looked_up = await self._look_up(identified.mac)
                if isinstance(looked_up, Answer):
                    return self._logged(request, identified, looked_up)
                entry = looked_up
            elif decided is Needs.SNAPSHOT:
                snapshot = await self._snapshot()
            else:
                assert isinstance(decided, Upload) and receive is not None
                stored = await self._store_upload(receive, decided.record, request.path)
                return self._logged(request, identified, stored)
            decided = None

    def _logged(self, request: PhoneRequest, identified: Identified, answer: Answer) -> Answer:
        """`answer`, written to the access log: every request ends here or in `decide`."""
        if access_log.logger.isEnabledFor(logging.INFO):
            address = self.locating.client_address(request.client, request.raw_headers)
            access_log.log_answer(request, identified.mac, address, answer)
        return answer

    def decide(
        self,
        request: PhoneRequest,
        identified: Identified,
        entry: DeviceEntry | None = None,
        snapshot: Snapshot | None = None,
    ) -> Answer | Needs | Upload:
        """The whole flow, without waiting: the answer, or what must be fetched first (the
        device, the estate snapshot) or read (an upload's body). Nothing here changes any
        state until it returns an answer, so it can be called again once that is at hand;
        a warm fetch is answered by this call alone. An answer is written to the access
        log here: the front door and the ASGI route both end their requests here (or in
        `answer`'s own refusals)."""
        decided = self._decide(request, identified, entry, snapshot)
        if isinstance(decided, Answer):
            return self._logged(request, identified, decided)
        return decided

    def _decide(
        self,
        request: PhoneRequest,
        identified: Identified,
        entry: DeviceEntry | None,
        snapshot: Snapshot | None,
    ) -> Answer | Needs | Upload:
        method = request.method
        headers = request.headers
        base_url = self.public_urls.of(request)
        if not identified.needs_device:
            return self._public_file(identified, base_url, headers, snapshot)
        mac = identified.mac
        if mac is None:
            return answers.NOT_FOUND
        if method == "PUT" and _declared_length(headers) > self.options.max_log_bytes:
            return answers.TOO_LARGE
        address = self.locating.client_address(request.client, request.raw_headers)
        authenticated = self._authenticate(request, mac, address, entry, snapshot)
        if not isinstance(authenticated, DeviceEntry):
            return authenticated
        record = authenticated.record
        assert record is not None
        candidate = identified.for_vendor(record.vendor)
        if candidate is None or candidate.request.delivery is Delivery.ABSENT:
            return answers.NOT_FOUND
        if candidate.request.delivery is Delivery.UPLOAD:
            return Upload(record)
        return self._device_file(
            candidate, identified, authenticated, record, base_url, address, headers, snapshot
        )

    def _authenticate(
        self,
        request: PhoneRequest,
        mac: str,
        address: str | None,
        entry: DeviceEntry | None,
        snapshot: Snapshot | None,
    ) -> DeviceEntry | Answer | Needs:
        """The device entry when the request carries its credentials — its digest, or a
        TLS client certificate naming its MAC — and the device's `provisioning.auth`
        accepts them; else the refusal, the same whether the MAC is unknown, another
        device's or the password wrong."""
        credentials = request.credentials
        # A certificate counts only for the MAC it names: another phone's is no credential
        # for this file, decided before anything is looked up (the same for every MAC).
        certified = request.certificate_mac == mac
        if credentials is None and not certified:
            return self._challenge()
        place = place_of(address)
        wait = self.throttle.own_wait(mac, place)  # this device's failures from here only
        if wait > 0:
            return answers.slow_down(math.ceil(wait))
        if credentials is not None:
            state = self.nonces.check(credentials.nonce)
            if state is not NonceState.VALID:
                # An expired nonce, or one from before a restart: the handshake starts
                # again, and that is no failed attempt (with a certificate, the stale
                # digest is set aside).
                if not certified:
                    return self._challenge(stale=state is NonceState.STALE)
                credentials = None
        if entry is None:
            entry = self.cache.device(mac)
            if entry is None:
                return Needs.DEVICE
        record = entry.record
        digest_right = False
        if credentials is not None:
            matches = check_response(credentials, entry.user, entry.ha1, request.method)
            digest_right = (
                matches
                and record is not None
                and credentials.realm == self.options.realm
                and _same_target(credentials.uri, request.target)
            )
        access = DEFAULT_ACCESS
        if digest_right or certified:
            # What the device takes (`provisioning.auth`), from the settings layers: read
            # only for a credential that would open the file (a wrong password or an
            # unknown MAC's does the same work as ever); the file needs the snapshot next.
            snapshot = snapshot or self.cache.snapshot
            if snapshot is None:
                return Needs.SNAPSHOT
            access = access_of(snapshot.estate, record)
        if credentials is None:
            # the certificate alone: accepted, or set aside and no failed attempt (a phone
            # whose device takes only digest shows its certificate on every first request)
            if record is None or not access.by_certificate:
                return self._challenge()
            right = True
        else:
            right = (digest_right and access.by_digest) or (
                certified and record is not None and access.by_certificate
            )
        # The place's and the device's backoffs, after the check (the same work for every
        # MAC): 429 unless right and from the device's home (`throttle.Throttle.verdict`).
        wait = self.throttle.verdict(mac, place, right)
        if wait > 0:
            return answers.slow_down(math.ceil(wait))
        if not right:
            return self._challenge()
        if access.https_only and request.scheme != "https":
            # Only after the device's own credentials: a refusal that tells nothing to
            # whoever lacks them, and tells the phone's operator what is wrong.
            log.info("refused %s to %s over plain HTTP (provisioning.https_only)", mac, address)
            return HTTPS_REQUIRED
        return entry

    def _challenge(self, stale: bool = False) -> Answer:
        return answers.unauthorized(challenges(self.options.realm, self.nonces.issue(), stale))

    async def _look_up(self, mac: str) -> DeviceEntry | Answer:
        """One indexed lookup, unless too many are already waiting (then 503)."""
        if not self.shedder.try_enter():
            return answers.busy(self.shedder.retry_after())
        generation = self.cache.generation
        try:
            entry = await self.lookups.get(mac)
        finally:
            self.shedder.leave()
        self.cache.put_device(mac, entry, generation)
        return entry

    async def _snapshot(self) -> Snapshot:
        """The estate and operator templates of the current generation, read once."""
        snapshot = self.cache.snapshot
        if snapshot is not None:
            return snapshot
        async with self._snapshot_lock:
            if self.cache.snapshot is not None:
                return self.cache.snapshot
            generation = self.cache.generation
            snapshot = await asyncio.to_thread(self._read_snapshot)
            self.cache.set_snapshot(snapshot, generation)
            return snapshot

    def _read_snapshot(self) -> Snapshot:
        with self.database.read() as session:
            return Snapshot(load_estate(session), load_overrides(session))

    # --- the files ---

    def _public_file(
        self,
        identified: Identified,
        base_url: str,
        headers: dict[bytes, str],
        snapshot: Snapshot | None = None,
    ) -> Answer | Needs:
        """A file without a secret (boot, index, bootstrap), the same for every MAC, known or
        not: rendered without a device, it points the phone at the estate's public
        ``provisioning.url`` (`public_provisioning_url`), else at `base_url`."""
        candidate = identified.public
        request = candidate.request
        if request.delivery is not Delivery.RENDER:
            return answers.NOT_FOUND
        snapshot = snapshot or self.cache.snapshot
        if snapshot is None:
            return Needs.SNAPSHOT  # once per generation, whatever the MAC
        estate = snapshot.estate
        configured = estate.prepared(_PUBLIC_URL_KEY, public_provisioning_url, estate)
        context = context_for(request, identified.identity, configured or base_url)
        key = (request.vendor, request.kind, context)
        rendered = self.cache.public_file(key)
        if rendered is None:
            rendered = self._render_public(candidate, context)
            if rendered is None:
                return answers.RENDER_FAILED
            if _keepable(context):
                self.cache.put_public_file(key, rendered, self.cache.generation)
        return _file_answer(rendered, headers)

    def _render_public(self, candidate: Candidate, context: RenderContext) -> RenderedFile | None:
        """A public file's bytes; None (500) if its template fails. Public files do not read
        settings or operator templates, so there is no last good file to fall back on."""
        request = candidate.request
        try:
            body = candidate.profile.render(request.kind, None, context)
        except Exception as error:
            log.error(
                "cannot render %s %s file: %s; answering 500",
                request.vendor,
                request.kind,
                render_problem(error, None),
            )
            return None
        return RenderedFile.of(body, request.media_type, request.secret)

    def _device_file(
        self,
        candidate: Candidate,
        identified: Identified,
        entry: DeviceEntry,
        record: DeviceRecord,
        base_url: str,
        address: str | None,
        headers: dict[bytes, str],
        snapshot: Snapshot | None,
    ) -> Answer | Needs:
        snapshot = snapshot or self.cache.snapshot
        if snapshot is None:
            return Needs.SNAPSHOT
        prepared = self._rendered(candidate, identified, entry, record, base_url, address, snapshot)
        if prepared is None:
            return answers.RENDER_FAILED
        rendered, zone = prepared
        self._record_seen(record, identified, address, headers.get(b"user-agent"), zone)
        return _file_answer(rendered, headers)

    def _rendered(
        self,
        candidate: Candidate,
        identified: Identified,
        entry: DeviceEntry,
        record: DeviceRecord,
        base_url: str,
        address: str | None,
        snapshot: Snapshot,
    ) -> tuple[RenderedFile, str] | None:
        """locate → settings → render (or the cache): the file and the zone it names."""
        route = entry.route
        if (
            route is not None
            and route[0] is identified
            and route[1] == base_url
            and route[2] == address
        ):
            return route[3], route[4]  # this device's last answer: the same request again
        request = candidate.request
        estate = snapshot.estate
        if entry.located is not None and entry.located[0] == address:
            choice = entry.located[1]  # same generation, same address: same zone
        else:
            choice = self.locating.locate(estate, record, address)
            entry.located = (address, choice)
        identity = identified.identity if identified.identity else None
        context = context_for(request, identity, base_url)
        key = (request.vendor, request.kind, context, choice.zone.name)
        rendered = self.cache.device_file(entry, key)
        if rendered is None:
            config = device_config(estate, record, choice)
            override = snapshot.overrides.for_device(record, request.vendor, request.kind)
            rendered = self._render(candidate, config, context, (record.mac, *key), override)
            if rendered is None:
                return None
            self.cache.put_device_file(entry, key, rendered)
            self.preparer.remember(
                (record.mac, *key), Recipe(record.mac, identified, base_url, address)
            )
        entry.route = (identified, base_url, address, rendered, choice.zone.name)
        return rendered, choice.zone.name

    def prepare(self, recipe: Recipe, entry: DeviceEntry, snapshot: Snapshot) -> object:
        """The file a recipe asked for, made ready for the next fetch (`Preparer`): the
        same steps as a fetch, with nothing answered or recorded; None if there is none."""
        record = entry.record
        if record is None:
            return None
        candidate = recipe.identified.for_vendor(record.vendor)
        if candidate is None or candidate.request.delivery is not Delivery.RENDER:
            return None
        return self._rendered(
            candidate, recipe.identified, entry, record, recipe.base_url, recipe.address, snapshot
        )

    def _render(
        self,
        candidate: Candidate,
        config: DeviceConfig | None,
        context: RenderContext,
        key: Hashable,
        override: Override | None = None,
    ) -> RenderedFile | None:
        """The file's bytes, rendered completely; on any error the last good bytes (or
        None), never a part of a file."""
        request = candidate.request
        profile = candidate.profile

        def render(config: DeviceConfig | None) -> bytes:
            if override is not None:
                return render_operator_template(
                    override.source, profile, request.kind, config, context, override.where
                )
            return profile.render(request.kind, config, context)

        try:
            if profile.versioned and config is not None:
                body = self.versions.render(render, config, (config.mac, request.kind))
            else:
                body = render(config)
        except Exception as error:
            fallback = self._last_good.get(key)
            log.error(
                "cannot render %s %s file%s: %s; %s",
                request.vendor,
                request.kind,
                f" for {request.mac}" if request.mac else "",
                render_problem(error, config),
                "serving the previous good file" if fallback else "answering 500",
            )
            return fallback
        rendered = RenderedFile.of(body, request.media_type, request.secret)
        self._last_good[key] = rendered
        self._last_good.move_to_end(key)
        while len(self._last_good) > _LAST_GOOD_KEPT:
            self._last_good.popitem(last=False)
        return rendered

    async def _store_upload(self, receive: Receive, record: DeviceRecord, path: str) -> Answer:
        body = await _read_body(receive, self.options.max_log_bytes)
        if body is None:
            return answers.TOO_LARGE
        await asyncio.to_thread(
            store_device_log,
            self.database,
            record.mac,
            path.lstrip("/")[:128],
            body,
            datetime.now(UTC),
            self.options.logs_kept,
        )
        return answers.STORED

    def _record_seen(
        self,
        record: DeviceRecord,
        identified: Identified,
        address: str | None,
        user_agent: str | None,
        zone: str,
    ) -> None:
        identity = identified.identity
        if identity is not None and identity.vendor == record.vendor:
            firmware = identity.firmware
        else:
            firmware = firmware_of(self.profiles, record.vendor, user_agent)
        self.seen.seen(record.mac, address, user_agent, firmware, zone)


# --- small helpers of the flow ---


_PUBLIC_URL_KEY = "public provisioning.url"


def _keepable(context: RenderContext) -> bool:
    """Short enough to be a phone's (`_PUBLIC_CONTEXT_KEPT`): worth a place in the cache."""
    return len(context.model or "") <= _PUBLIC_CONTEXT_KEPT and (
        len(context.firmware or "") <= _PUBLIC_CONTEXT_KEPT
    )


def _declared_length(headers: dict[bytes, str]) -> int:
    value = headers.get(b"content-length", "0").strip()
    return int(value) if value.isdigit() else 0


def _same_target(uri: str, target: bytes) -> bool:
    """The digest was computed for this request's target (path and query)."""
    given = uri.encode("latin-1", "replace")
    if given.startswith((b"http://", b"https://")):  # the absolute form some clients send
        parts = urlsplit(uri)
        given = (parts.path + (f"?{parts.query}" if parts.query else "")).encode(
            "latin-1", "replace"
        )
    return given == target


def _file_answer(rendered: RenderedFile, headers: dict[bytes, str]) -> Answer:
    wanted = headers.get(b"if-none-match")
    if wanted and _etag_matches(wanted, rendered.etag):
        return rendered.not_modified
    return rendered.ok


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(",") if tag.strip())


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, or None as soon as it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
