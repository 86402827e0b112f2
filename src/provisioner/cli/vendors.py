"""`provisioner vendors`: which setting reaches which vendor, and the models each knows."""

from __future__ import annotations

import json

import click
from rich.table import Table

from provisioner.cli.context import console, reports_errors
from provisioner.domain.errors import InvalidValue
from provisioner.vendors import PROFILES, VendorProfile, profile
from provisioner.vendors.coverage import markdown_table, reaches


def _chosen(vendor: str | None) -> tuple[VendorProfile, ...]:
    if vendor is None:
        return PROFILES
    try:
        return (profile(vendor.lower()),)
    except KeyError as error:
        raise InvalidValue("VENDOR", str(error.args[0])) from None


@click.group()
def vendors() -> None:
    """What each vendor's files carry: settings and models."""


@vendors.command("settings")
@click.argument("vendor", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@reports_errors
def settings_reach(vendor: str | None, as_json: bool) -> None:
    """Each schema key and the vendor keys it is written to, or why a vendor cannot take it."""
    found = list(reaches(_chosen(vendor)))
    if as_json:
        document = [
            {
                "vendor": r.vendor,
                "setting": r.setting,
                "written": r.written,
                "keys": list(r.keys),
                "how": r.how,
            }
            for r in found
        ]
        click.echo(json.dumps(document, indent=2))
        return
    table = Table(title="Settings → vendor keys ({n}: the line number)", title_justify="left")
    table.add_column("setting", no_wrap=True)
    table.add_column("vendor", no_wrap=True)
    table.add_column("vendor keys", overflow="fold")
    table.add_column("how", overflow="fold")
    for r in found:
        table.add_row(r.setting, r.vendor, "\n".join(r.keys) or "—", r.how)
    console.print(table)


@vendors.command("models")
@click.argument("vendor", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")
@reports_errors
def models(vendor: str | None, as_json: bool) -> None:
    """The models each vendor module knows (lines, file format) and what it does for others."""
    rows = []
    for chosen in _chosen(vendor):
        table = chosen.models
        if table is None:
            continue
        for model in table.models:
            rows.append((chosen.name, model.name, model.lines, model.file_format, True))
        unknown = table.unknown
        rows.append((chosen.name, "(any other)", unknown.lines, unknown.file_format, False))
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"vendor": v, "model": m, "lines": n, "file_format": f, "known": k}
                    for v, m, n, f, k in rows
                ],
                indent=2,
            )
        )
        return
    shown = Table(title="Models (lines past the estate's are written disabled)")
    for column in ("vendor", "model", "lines", "file format"):
        shown.add_column(column)
    for v, m, n, f, _known in rows:
        shown.add_row(v, m, str(n), f or "—")
    console.print(shown)


@vendors.command("table")
def table() -> None:
    """The README's table of which setting reaches which vendor, as Markdown."""
    click.echo(markdown_table(), nl=False)
