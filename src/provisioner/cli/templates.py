"""`provisioner templates`: operators' own templates for a vendor file, on a cluster,
partner or account. A template is tried on the devices it would reach before it is saved,
so its errors are reported here, not to a phone."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from provisioner.cli.context import console, errors, reports_errors, state
from provisioner.domain.effective import device_config
from provisioner.domain.errors import InvalidValue, ProvisionerError
from provisioner.storage import models
from provisioner.storage.database import Database
from provisioner.storage.snapshot import load_device, load_estate
from provisioner.storage.template_overrides import (
    LAYERS,
    Override,
    list_overrides,
    set_override,
    unset_override,
)
from provisioner.vendors import PROFILES, Delivery, RenderContext
from provisioner.vendors.overrides import compile_operator_template, render_operator_template
from provisioner.web.problems import render_problem

TRIED_DEVICES = 20  # devices a template is tried on before it is saved


def _kinds(vendor: str) -> list[str]:
    for profile in PROFILES:
        if profile.name == vendor:
            return sorted(
                {rule.kind for rule in profile.path_rules if rule.delivery is Delivery.RENDER}
            )
    raise InvalidValue("vendor", f"{vendor!r} is not one of {', '.join(p.name for p in PROFILES)}")


def _check_names(layer: str, vendor: str, kind: str) -> None:
    if layer not in LAYERS:
        raise InvalidValue("layer", f"{layer!r} is not one of {', '.join(LAYERS)}")
    kinds = _kinds(vendor)
    if kind not in kinds:
        raise InvalidValue("kind", f"{vendor} has no file kind {kind!r} ({', '.join(kinds)})")


def _devices_in_scope(database: Database, layer: str, owner: str, vendor: str) -> list[str]:
    query = (
        select(models.Device.mac)
        .join(models.Account, models.Device.account_id == models.Account.id)
        .where(models.Device.vendor == vendor)
        .order_by(models.Device.mac)
        .limit(TRIED_DEVICES)
    )
    if layer == "account":
        query = query.where(models.Account.name == owner)
    elif layer == "partner":
        query = query.join(models.Partner, models.Account.partner_id == models.Partner.id).where(
            models.Partner.name == owner
        )
    else:
        query = query.join(models.Cluster, models.Account.cluster_id == models.Cluster.id).where(
            models.Cluster.name == owner
        )
    with database.read() as session:
        return list(session.scalars(query))


def try_override(database: Database, override: Override) -> tuple[int, list[str]]:
    """Render `override` for the devices it reaches (at most TRIED_DEVICES): how many were
    tried, and the problems (secrets masked)."""
    profile = next(p for p in PROFILES if p.name == override.vendor)
    macs = _devices_in_scope(database, override.layer, override.owner, override.vendor)
    problems: list[str] = []
    with database.read() as session:
        estate = load_estate(session)
        for mac in macs:
            record = load_device(session, mac)
            if record is None:
                continue
            config = device_config(estate, record)
            context = RenderContext(base_url="http://provisioner.invalid", mac=mac, model=None)
            try:
                render_operator_template(
                    override.source, profile, override.kind, config, context, override.where
                )
            except Exception as error:
                problems.append(f"device {mac}: {render_problem(error, config)}")
    return len(macs), problems


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
    ({% extends "yealink/device.cfg.j2" %}). It is tried on the devices it reaches first;
    if it fails for any, nothing is saved.
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
