"""The phones' cache: per device, its record and digest HA1s and the files rendered for it;
per path, the public files; and the estate snapshot they were rendered from.

Everything here belongs to one *generation*: the id of the latest change to the estate
(``changes.id``, which only rises). When `ChangeWatcher` sees a newer id — a change made
by this process or any other sharing the database — the whole cache starts afresh. That is
coarse but plainly correct: any change that can reach a device (any settings layer, its
account, zone, media servers, partner) drops its files. ETags are hashes of the bytes, so
a device whose file did not really change still gets 304 on its next fetch.

Rendered files live in memory only: files carrying secrets are never written to disk.
All sizes are bounded (least recently used entries go first); the public files, whose keys
carry what a User-Agent said (model, firmware), by bytes as well as by count.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from provisioner.domain.effective import ZoneChoice
from provisioner.domain.estate import DeviceRecord, Estate
from provisioner.storage.template_overrides import Overrides
from provisioner.web import answers
from provisioner.web.answers import Answer


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What files are rendered from, besides the device: the estate and operator templates."""

    estate: Estate
    overrides: Overrides


@dataclass(frozen=True, slots=True)
class RenderedFile:
    body: bytes
    media_type: str
    etag: str  # quoted, as sent
    secret: bool = False  # carries a secret: never stored by caches on the way
    # the answers, prepared once: 200 with the file now, 304 when first asked for
    ok: Answer = field(init=False, repr=False, compare=False)
    _not_modified: Answer | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "ok", answers.file(self.body, self.media_type, self.etag, self.secret)
        )

    @property
    def not_modified(self) -> Answer:
        answer = self._not_modified
        if answer is None:
            answer = answers.not_modified(self.etag)
            object.__setattr__(self, "_not_modified", answer)
        return answer

    @classmethod
    def of(cls, body: bytes, media_type: str, secret: bool = False) -> RenderedFile:
        etag = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
        return cls(body, media_type, etag, secret)


@dataclass(slots=True)
class DeviceEntry:
    """A device as the phones' routes need it; `record` None means "no such MAC" (kept so
    unknown MACs cost the same as known ones)."""

    record: DeviceRecord | None
    user: str
    ha1: Mapping[str, str]  # algorithm → H(user:realm:password)
    located: tuple[str | None, ZoneChoice] | None = None  # (address, zone chosen for it)
    # the last request answered, and its answer: (identified, base URL, address, file, zone)
    route: tuple[object, str, str | None, RenderedFile, str] | None = None
    files: OrderedDict[Hashable, RenderedFile] = field(default_factory=OrderedDict)


class _Bounded(OrderedDict[Hashable, object]):
    def remember(self, key: Hashable, value: object, limit: int) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > limit:
            self.popitem(last=False)

    def recall(self, key: Hashable) -> object | None:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class _Weighed(_Bounded):
    """`_Bounded`, also by the bytes its entries take (`weight` each, as told)."""

    def __init__(self) -> None:
        super().__init__()
        self.weights: dict[Hashable, int] = {}
        self.total = 0

    def remember_weighed(
        self, key: Hashable, value: object, weight: int, limit: int, max_total: int
    ) -> None:
        if weight > max_total:
            return
        self.total += weight - self.weights.get(key, 0)
        self.weights[key] = weight
        self[key] = value
        self.move_to_end(key)
        while len(self) > limit or self.total > max_total:
            gone, _value = self.popitem(last=False)
            self.total -= self.weights.pop(gone)


def public_weight(key: Hashable, rendered: RenderedFile) -> int:
    """Roughly the bytes a public file takes in the cache: its body (twice: the file and
    its prepared answer), its key and the objects around them."""
    return 2 * len(rendered.body) + len(repr(key)) + 1024


class ConfigCache:
    """What the phones' routes keep between fetches, for one generation at a time."""

    def __init__(
        self,
        max_devices: int = 200_000,
        max_files_per_device: int = 8,
        max_public_files: int = 4096,
        max_public_bytes: int = 32 << 20,
    ) -> None:
        self.max_devices = max_devices
        self.max_files_per_device = max_files_per_device
        self.max_public_files = max_public_files
        self.max_public_bytes = max_public_bytes
        self.generation = -1
        self.snapshot: Snapshot | None = None
        self._devices = _Bounded()
        self._public = _Weighed()

    def start_generation(self, generation: int) -> bool:
        """Drop everything if `generation` is newer; True when it was."""
        if generation <= self.generation:
            return False
        self.generation = generation
        self.snapshot = None
        self._devices = _Bounded()
        self._public = _Weighed()
        return True

    def set_snapshot(self, snapshot: Snapshot, generation: int) -> None:
        if generation == self.generation:
            self.snapshot = snapshot

    def device(self, mac: str) -> DeviceEntry | None:
        return self._devices.recall(mac)  # type: ignore[return-value]

    def put_device(self, mac: str, entry: DeviceEntry, generation: int) -> None:
        """Keep `entry` unless the cache moved on while it was being read."""
        if generation == self.generation:
            self._devices.remember(mac, entry, self.max_devices)

    def device_file(self, entry: DeviceEntry, key: Hashable) -> RenderedFile | None:
        rendered = entry.files.get(key)
        if rendered is not None:
            entry.files.move_to_end(key)
        return rendered

    def put_device_file(self, entry: DeviceEntry, key: Hashable, rendered: RenderedFile) -> None:
        entry.files[key] = rendered
        entry.files.move_to_end(key)
        while len(entry.files) > self.max_files_per_device:
            entry.files.popitem(last=False)

    def public_file(self, key: Hashable) -> RenderedFile | None:
        return self._public.recall(key)  # type: ignore[return-value]

    def put_public_file(self, key: Hashable, rendered: RenderedFile, generation: int) -> None:
        if generation == self.generation:
            self._public.remember_weighed(
                key,
                rendered,
                public_weight(key, rendered),
                self.max_public_files,
                self.max_public_bytes,
            )

    @property
    def public_files(self) -> int:
        return len(self._public)

    @property
    def public_bytes(self) -> int:
        """What the public files take, as `public_weight` counts it."""
        return self._public.total

    def __len__(self) -> int:
        return len(self._devices)
