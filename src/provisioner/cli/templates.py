"""`provisioner templates`: operators' own templates for a vendor file, on a cluster,
partner or account. A template is tried on the devices it would reach before it is saved,
so its errors are reported here, not to a phone: one that fails, or whose file would lose
lines the vendor's file gives the phone, is not saved (and `list --check` does not call it
ok). An estate file's ``templates`` (see `provisioner load`) are tried the same way."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from provisioner.cli.context import console, errors, reports_errors, state
from provisioner.domain.errors import InvalidValue, ProvisionerError
from provisioner.storage.database import Database
from provisioner.storage.template_overrides import (
    LAYERS,
    Override,
    list_overrides,
    set_override,
    unset_override,
)
from provisioner.storage.template_overrides import try_override as try_override_in
from provisioner.vendors import PROFILES
from provisioner.vendors.overrides import compile_operator_template, file_kinds


def _kinds(vendor: str) -> list[str]:
    kinds = file_kinds(vendor)
    if kinds is None:
        known = ", ".join(p.name for p in PROFILES)
        raise InvalidValue("vendor", f"{vendor!r} is not one of {known}")
    return kinds


def _check_names(layer: str, vendor: str, kind: str) -> None:
    if layer not in LAYERS:
        raise InvalidValue("layer", f"{layer!r} is not one of {', '.join(LAYERS)}")
    kinds = _kinds(vendor)
    if kind not in kinds:
        raise InvalidValue("kind", f"{vendor} has no file kind {kind!r} ({', '.join(kinds)})")


def try_override(database: Database, override: Override) -> tuple[int, list[str]]:
    """Render `override` for the devices it reaches (at most `TRIED_DEVICES`): how many were
    tried, and the problems (secrets masked), a file that loses the device's lines included
    (`storage.template_overrides.try_override`)."""
    with database.read() as session:
        return try_override_in(session, override)


@click.group()
def templates() -> None:
    """Operators' templates: a cluster's, partner's or account's own file for a vendor."""


@templates.command("set")
@click.argument("layer", type=click.Choice(list(LAYERS)))
@click.argument("owner")
@click.argument("vendor")
@click.argument("kind")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def set_(layer: str, owner: str, vendor: str, kind: str, file: Path) -> None:
    """Use FILE (Jinja2, run in a sandbox) for VENDOR's KIND file of LAYER OWNER's devices.

    The template gets the variables of the vendor's own template and may extend it
    ({% extends "yealink/device.cfg.j2" %}, printing a block of the vendor's with
    {{ super() }}). It is tried on the devices it reaches first; if it fails for any, or
    its file would lose a line the vendor's file gives the phone, nothing is saved.
    """
    _check_names(layer, vendor, kind)
    source = file.read_text("utf-8")
    where = f"{layer} {owner}: {vendor} {kind}"
    compile_operator_template(source, where)
    database = state().database()
    override = Override(layer, owner, vendor, kind, source)
    tried, problems = try_override(database, override)
    if problems:
        for problem in problems:
            errors.print(f"[bold red]error:[/] {escape(problem)}", highlight=False)
        raise ProvisionerError(
            f"{where}: the template fails for {len(problems)} of {tried} devices; nothing saved"
        )
    change = set_override(database, layer, owner, vendor, kind, source)
    console.print(
        f"{escape(where)}: saved (change {change}); tried on {tried} device(s)", highlight=False
    )


@templates.command()
@click.argument("layer", type=click.Choice(list(LAYERS)))
@click.argument("owner")
@click.argument("vendor")
@click.argument("kind")
@reports_errors
def unset(layer: str, owner: str, vendor: str, kind: str) -> None:
    """Go back to the vendor's own template for LAYER OWNER's VENDOR KIND file."""
    change = unset_override(state().database(), layer, owner, vendor, kind)
    console.print(f"{layer} {owner}: {vendor} {kind}: removed (change {change})", highlight=False)


@templates.command("list")
@click.option("--check", is_flag=True, help="Try each template on the devices it reaches.")
@reports_errors
def list_(check: bool) -> None:
    """The operators' templates, and with --check whether they render."""
    database = state().database()
    table = Table("layer", "owner", "vendor", "kind", "updated", *(["check"] if check else []))
    failed = False
    for override in list_overrides(database):
        row = [
            override.layer,
            override.owner,
            override.vendor,
            override.kind,
            f"{override.updated_at:%Y-%m-%d %H:%M}" if override.updated_at else "",
        ]
        if check:
            tried, problems = try_override(database, override)
            failed |= bool(problems)
            row.append(escape("; ".join(problems)) if problems else f"ok ({tried} device(s))")
        table.add_row(*row)
    console.print(table)
    if failed:
        raise ProvisionerError("some templates fail: their phones get their previous good file")
