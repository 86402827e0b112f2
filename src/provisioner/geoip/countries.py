"""The country of an address with no database file at all: `iptocc` ships the regional
registries' delegations (country level only) inside the package."""

from __future__ import annotations

from iptocc import country_code

from provisioner.geoip.addresses import IPAddress


def country_of(address: IPAddress) -> str | None:
    """The ISO 3166-1 alpha-2 code of the country `address` is delegated to, or None."""
    try:
        code = country_code(str(address))
    except ValueError:
        return None
    return code.upper() if code else None
