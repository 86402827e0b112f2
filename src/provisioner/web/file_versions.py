"""Version numbers that rise only when a device file's content changes (Fanvil's <Version>).

A Fanvil phone applies a file only when its ``<Version>`` is higher than the one it applied
last. Writing the estate's change id there would raise every Fanvil file's version on any
change anywhere, and every Fanvil phone would apply its whole file again. Instead this
node remembers, per device file, the content (a hash of the file rendered with revision 0)
and the change id at which it first rendered that content; the version stays while the
content does. It rises with every content change, also across restarts and nodes: a node
that starts later sees a higher change id, so its first version is at least as high as
any version written before for older content (each phone applies a file again once after
a node restarts; nothing is lost).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Hashable

from provisioner.domain.estate import DeviceConfig

Render = Callable[[DeviceConfig], bytes]


class FileVersions:
    def __init__(self) -> None:
        self._seen: dict[Hashable, tuple[bytes, int]] = {}

    def render(self, render: Render, config: DeviceConfig, key: Hashable) -> bytes:
        """``render(config)`` with `config.revision` replaced by the change id at which this
        content was first rendered for `key` (the device file)."""
        canonical = render(dataclasses.replace(config, revision=0))
        digest = hashlib.blake2b(canonical, digest_size=16).digest()
        found = self._seen.get(key)
        if found is not None and found[0] == digest:
            revision = found[1]
        else:
            revision = config.revision
            self._seen[key] = (digest, revision)
        if revision == 0:
            return canonical
        return render(dataclasses.replace(config, revision=revision))

    def forget(self, key: Hashable) -> None:
        self._seen.pop(key, None)
