"""`provisioner load` and `provisioner dump`: estate files in and out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from provisioner.cli.context import console, errors, reports_errors, state
from provisioner.domain.errors import EstateErrors
from provisioner.estate_files.dump import dump_estate
from provisioner.estate_files.load import load_estate_file, parse_estate_file

# Below this many devices a load is quick enough not to need a progress bar.
_PROGRESS_FROM = 1000


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@click.option(
    "--allow-moves",
    is_flag=True,
    help="Let the file give stored devices (by MAC) to other accounts.",
)
@click.option(
    "--allow-domain-change",
    is_flag=True,
    help="Let the file change a stored cluster's or partner's DNS domain.",
)
@reports_errors
def load(file: Path, quiet: bool, allow_moves: bool, allow_domain_change: bool) -> None:
    """Create or update everything FILE names (YAML; - for stdin), all or nothing.

    A load never moves a stored device to another account nor changes a stored domain
    unless told (--allow-moves, --allow-domain-change); `provisioner move device` moves
    one device."""
    if str(file) == "-":
        text, source = sys.stdin.read(), "stdin"
    else:
        if not file.exists():
            raise click.BadParameter(f"{file} does not exist", param_hint="FILE")
        text, source = file.read_text(encoding="utf-8"), str(file)
    estate, problems = parse_estate_file(text, source)
    if estate is None:
        raise EstateErrors(problems)
    database = state().database()
    devices = sum(len(account.devices) for account in estate.accounts)
    with Progress(
        TextColumn("loading devices"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
        disable=quiet or devices < _PROGRESS_FROM or not errors.is_terminal,
    ) as bar:
        task = bar.add_task("devices", total=devices)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = load_estate_file(
            database,
            estate,
            source=source,
            progress=progress,
            problems=problems,
            allow_moves=allow_moves,
            allow_domain_change=allow_domain_change,
        )
    if not quiet:
        console.print(f"{source}: {result.summary()} (change {result.change_id})", highlight=False)


@click.command()
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file."
)
@click.option(
    "--plaintext-secrets",
    is_flag=True,
    help="Write the passwords in clear (by default they are encrypted with the current key).",
)
@reports_errors
def dump(output: Path | None, plaintext_secrets: bool) -> None:
    """Print the whole estate as an estate file that `load` takes back.

    Its passwords are encrypted with the current secret key (PROVISIONER_SECRET_KEY or
    PROVISIONER_SECRET_KEY_FILE), so it loads back where that key is set; in clear only
    with --plaintext-secrets."""
    database = state().database()
    if output is None:
        dump_estate(database, sys.stdout, plaintext_secrets=plaintext_secrets)
        return
    # Written beside the target, readable by the owner only from the first byte (it holds
    # passwords), then moved into place: a failed dump never leaves half a file behind.
    partial = output.with_name(output.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            dump_estate(database, out, plaintext_secrets=plaintext_secrets)
        partial.replace(output)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    console.print(f"wrote {output}", highlight=False)
