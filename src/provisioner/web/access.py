"""What a device must show to fetch its own (secret) files: `provisioning.auth` (digest,
certificate or either) and `provisioning.https_only`, read through the settings layers
(global → cluster → partner → account → device, a lower layer winning) without merging
the rest: the phones' flow asks this on every authenticated fetch.

The global, cluster and partner part is worked out once per estate snapshot
(`Estate.prepared`); the account's and the device's are two look-ups in the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from provisioner.domain.estate import DeviceRecord, Estate
from provisioner.domain.settings import SCHEMA

AUTH = "provisioning.auth"
HTTPS_ONLY = "provisioning.https_only"


@dataclass(frozen=True, slots=True)
class Access:
    auth: str  # "digest", "certificate" or "either"
    https_only: bool

    @property
    def by_digest(self) -> bool:
        return self.auth != "certificate"

    @property
    def by_certificate(self) -> bool:
        return self.auth != "digest"


DEFAULT = Access(SCHEMA[AUTH].default, bool(SCHEMA[HTTPS_ONLY].default))


def access_of(estate: Estate, record: DeviceRecord | None) -> Access:
    """The device's access rules; for no device (an unknown MAC), the defaults."""
    if record is None:
        return DEFAULT
    shared: Access = estate.prepared(
        ("access", record.cluster, record.partner), _shared, estate, record.cluster, record.partner
    )
    own, account = record.settings, record.account_settings
    if not own and not account:
        return shared
    auth = _first(AUTH, own, account, shared.auth)
    https_only = _first(HTTPS_ONLY, own, account, shared.https_only)
    if auth == shared.auth and https_only == shared.https_only:
        return shared
    return Access(str(auth), bool(https_only))


def _shared(estate: Estate, cluster_name: str, partner_name: str | None) -> Access:
    cluster = estate.cluster(cluster_name).settings
    partner = estate.partner(partner_name).settings if partner_name is not None else {}
    auth = _first(AUTH, partner, cluster, estate.settings.get(AUTH, DEFAULT.auth))
    https_only = _first(
        HTTPS_ONLY, partner, cluster, estate.settings.get(HTTPS_ONLY, DEFAULT.https_only)
    )
    return Access(str(auth), bool(https_only))


def _first(key: str, lower: Mapping[str, Any], higher: Mapping[str, Any], otherwise: Any) -> Any:
    """The value of the lowest layer that sets `key`."""
    if key in lower:
        return lower[key]
    if key in higher:
        return higher[key]
    return otherwise
