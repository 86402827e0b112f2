"""Which schema key reaches which vendor, read from the vendor modules' own maps.

Each vendor module declares `SETTINGS`: for every schema key either `Writes` (the vendor
keys it is written to, and how) or `Unavailable` (why not). This module only reads those
maps: the README's table (`markdown_table`, checked by ``tests/test_readme.py``) and
``provisioner vendors settings`` are made from them, so neither can drift from the code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from provisioner.domain.settings import SCHEMA
from provisioner.vendors import PROFILES
from provisioner.vendors.base import SettingReach, Unavailable, VendorProfile, Writes


@dataclass(frozen=True)
class Reach:
    vendor: str
    setting: str
    reach: SettingReach | None  # None: the vendor module does not say (a bug: a test fails)

    @property
    def written(self) -> bool:
        return isinstance(self.reach, Writes)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.reach.keys if isinstance(self.reach, Writes) else ()

    @property
    def how(self) -> str:
        if isinstance(self.reach, Writes):
            return self.reach.how
        if isinstance(self.reach, Unavailable):
            return f"not available: {self.reach.why}"
        return "not declared by the vendor module"


def reaches(vendors: tuple[VendorProfile, ...] = PROFILES) -> Iterator[Reach]:
    """Every (vendor, schema key) pair, in schema order then vendor order."""
    for setting in SCHEMA:
        for vendor in vendors:
            yield Reach(vendor.name, setting, vendor.settings_map.get(setting))


def undeclared(vendor: VendorProfile) -> list[str]:
    """Schema keys the vendor's map leaves out, then keys it names that the schema lacks."""
    missing = [key for key in SCHEMA if key not in vendor.settings_map]
    unknown = [key for key in vendor.settings_map if key not in SCHEMA]
    return missing + unknown


def _cell(reach: Reach) -> str:
    if not reach.written:
        return "—"
    first, *rest = reach.keys
    more = f" +{len(rest)}" if rest else ""
    return f"`{first}`{more}".replace("|", "\\|")


def markdown_table(vendors: tuple[VendorProfile, ...] = PROFILES) -> str:
    """The README's table: one row per schema key, the first vendor key each vendor writes
    it to (+n: n more keys), or — where the vendor cannot take it."""
    header = "| setting | " + " | ".join(vendor.name for vendor in vendors) + " |"
    rule = "|---" * (len(vendors) + 1) + "|"
    rows = [header, rule]
    by_setting: dict[str, list[Reach]] = {}
    for reach in reaches(vendors):
        by_setting.setdefault(reach.setting, []).append(reach)
    for setting, found in by_setting.items():
        rows.append(f"| `{setting}` | " + " | ".join(_cell(r) for r in found) + " |")
    return "\n".join(rows) + "\n"
