"""`provisioner settings`: a device's effective settings, and changing one layer."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from provisioner.cli.context import console, reports_errors, state
from provisioner.domain.effective import effective_settings, pinned_or_default_zone
from provisioner.domain.errors import InvalidValue, NotFound
from provisioner.domain.mac import normalise_mac
from provisioner.domain.settings import SCHEMA, Layer, as_text, mask, parse_assignments
from provisioner.storage.layers import change_layer, describe
from provisioner.storage.snapshot import load_device, load_estate
from provisioner.vendors import profile


class _ShowByDefault(click.Group):
    """`provisioner settings MAC` is short for `provisioner settings show MAC`."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["show", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_ShowByDefault)
def settings() -> None:
    """Effective settings of a device (settings MAC), and the layers they come from."""


@settings.command()
@click.argument("mac")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@click.option("--show-secrets", is_flag=True, help="Show secret values instead of ********.")
@reports_errors
def show(mac: str, as_json: bool, show_secrets: bool) -> None:
    """Print a device's effective settings and, for each key, the layer that set it."""
    try:
        mac = normalise_mac(mac)
    except ValueError as error:
        raise InvalidValue("MAC", str(error)) from None
    database = state().database()
    with database.read() as session:
        record = load_device(session, mac)
        if record is None:
            raise NotFound("device", mac)
        estate = load_estate(session)
    choice = pinned_or_default_zone(estate, record)
    effective = effective_settings(estate, record, choice)
    vendor = profile(record.vendor)
    not_taken = dict(vendor.cannot_take(effective, defaults=True))
    notes = vendor.notes(effective)

    def shown(key: str) -> Any:
        value = effective[key]
        value = value if show_secrets else mask(key, value)
        return list(value) if isinstance(value, tuple) else value

    if as_json:
        document = {
            "mac": record.mac,
            "vendor": record.vendor,
            "model": record.model,
            "account": record.account,
            "zone": {"name": choice.zone.name, "reason": choice.reason},
            "settings": {
                key: {
                    "value": shown(key),
                    "source": str(effective.source(key)),
                    **({"not_taken": not_taken[key]} if key in not_taken else {}),
                }
                for key in effective
            },
            "notes": [{"key": key, "note": note} for key, note in notes],
        }
        click.echo(json.dumps(document, indent=2))
        return
    table = Table(
        title=f"{record.mac} ({record.vendor} {record.model}, account {record.account}, "
        f"zone {choice.zone.name}: {choice.reason})",
        title_justify="left",
    )
    table.add_column("key", no_wrap=True)
    table.add_column("value", overflow="fold", min_width=24)  # a host name on one line
    table.add_column("set by")
    for key in effective:
        source = str(effective.source(key))
        if key in not_taken:
            source += f" · not taken by {record.vendor}"
        table.add_row(key, as_text(shown(key)), source)
    console.print(table)
    for key, note in notes:
        console.print(f"{key}: {note}", highlight=False, markup=False)


def _layer_options(function: Any) -> Any:
    options = [
        click.option("--global", "global_", is_flag=True, help="The global layer."),
        click.option("--cluster", metavar="NAME", help="A cluster's layer."),
        click.option("--partner", metavar="NAME", help="A hosted partner's layer."),
        click.option("--account", metavar="NAME", help="An account's layer."),
        click.option("--device", metavar="MAC", help="A device's layer."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _chosen_layer(
    global_: bool, cluster: str | None, partner: str | None, account: str | None, device: str | None
) -> tuple[Layer, str | None]:
    chosen: list[tuple[Layer, str | None]] = [(Layer.GLOBAL, None)] if global_ else []
    chosen += [
        (layer, owner)
        for layer, owner in (
            (Layer.CLUSTER, cluster),
            (Layer.PARTNER, partner),
            (Layer.ACCOUNT, account),
            (Layer.DEVICE, device),
        )
        if owner is not None
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "name exactly one layer: --global, --cluster C, --partner P, --account A or --device MAC"
        )
    return chosen[0]


@settings.command(name="set")
@_layer_options
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@reports_errors
def set_(
    global_: bool,
    cluster: str | None,
    partner: str | None,
    account: str | None,
    device: str | None,
    assignments: tuple[str, ...],
) -> None:
    """Set keys in one layer (validated; nothing changes if any value is wrong)."""
    layer, owner = _chosen_layer(global_, cluster, partner, account, device)
    values = parse_assignments(assignments, describe(layer, owner))
    change = change_layer(state().database(), layer, owner, set_values=values)
    shown = ", ".join(f"{key}={as_text(mask(key, value))}" for key, value in values.items())
    console.print(f"{describe(layer, owner)}: set {shown} (change {change})", highlight=False)


@settings.command()
@_layer_options
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@reports_errors
def unset(
    global_: bool,
    cluster: str | None,
    partner: str | None,
    account: str | None,
    device: str | None,
    keys: tuple[str, ...],
) -> None:
    """Remove keys from one layer, so the layer above decides again."""
    layer, owner = _chosen_layer(global_, cluster, partner, account, device)
    change = change_layer(state().database(), layer, owner, unset_keys=keys)
    console.print(
        f"{describe(layer, owner)}: unset {', '.join(keys)} (change {change})", highlight=False
    )


@settings.command()
def keys() -> None:
    """List every settings key, its type and default."""
    table = Table()
    table.add_column("key", no_wrap=True)
    table.add_column("type")
    table.add_column("default")
    table.add_column("meaning")
    for key in SCHEMA.values():
        default = key.default
        default = ", ".join(default) if isinstance(default, tuple) else default
        table.add_row(key.name, key.kind, "" if default is None else str(default), key.description)
    console.print(table)
