"""`provisioner render MAC`: the exact bytes a phone would get for one of its files.

The file goes to stdout untouched (secrets masked unless --show-secrets); what was rendered
and why (vendor, file kind, zone and the step that chose it, the operator template used in
place of the vendor's, the settings the vendor cannot take) goes to stderr. An operator
template (`provisioner templates`) is applied exactly as for a fetch: the account's, else
the partner's, else the cluster's, so with --show-secrets stdout is the bytes the phone is
served.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import click
from sqlalchemy import select

from provisioner.cli.context import errors, reports_errors, state
from provisioner.cli.geoip import geoip_option, open_city_database
from provisioner.domain.effective import device_config, public_provisioning_url
from provisioner.domain.errors import InvalidValue, NotFound
from provisioner.domain.estate import DeviceConfig
from provisioner.domain.mac import normalise_mac
from provisioner.domain.settings import SECRET_KEYS, EffectiveSettings, mask
from provisioner.geoip.addresses import parse_address
from provisioner.geoip.locator import ZoneLocator
from provisioner.storage import models
from provisioner.storage.locations import load_device_location
from provisioner.storage.snapshot import load_device, load_estate
from provisioner.storage.template_overrides import load_overrides
from provisioner.vendors import Delivery, RenderContext, profile
from provisioner.vendors.overrides import render_operator_template

MASK = "********"


def masked(config: DeviceConfig) -> DeviceConfig:
    """The same config with every secret (SIP passwords, secret settings) masked."""
    settings = config.settings
    values = {
        key: mask(key, settings[key]) if key in SECRET_KEYS else settings[key] for key in settings
    }
    return dataclasses.replace(
        config,
        settings=EffectiveSettings(values, {key: settings.source(key) for key in settings}),
        lines=tuple(dataclasses.replace(line, password=MASK) for line in config.lines),
    )


def default_base_url() -> str:
    """Where `provisioner serve` listens by default (PROVISIONER_HTTP, else 127.0.0.1:8080)."""
    return f"http://{os.environ.get('PROVISIONER_HTTP') or '127.0.0.1:8080'}"


@click.command()
@click.argument("mac")
@click.option(
    "--file",
    "file_name",
    metavar="NAME",
    help="A file name as the phone asks for it (y000000000000.boot, spa504G.cfg, ...). "
    "Default: the device's own file with its lines.",
)
@click.option(
    "--ip",
    "address",
    metavar="ADDRESS",
    help="Render as if the phone asked from ADDRESS (its zone is chosen by GeoIP). "
    "Default: the pinned zone, else the cluster's default zone.",
)
@click.option(
    "--url",
    "base_url",
    metavar="URL",
    help="The URL the phone fetches from (boot files point there). Default: the "
    "provisioning.url setting, else http://PROVISIONER_HTTP (127.0.0.1:8080).",
)
@click.option(
    "--firmware",
    metavar="VERSION",
    help="Render for this firmware version (Fanvil's file format depends on it). "
    "Default: the version the phone last reported, if any.",
)
@geoip_option
@click.option("--show-secrets", is_flag=True, help="Print SIP and admin passwords in clear.")
@reports_errors
def render(
    mac: str,
    file_name: str | None,
    address: str | None,
    base_url: str | None,
    firmware: str | None,
    geoip_path: Path | None,
    show_secrets: bool,
) -> None:
    """Print the file the phone with this MAC would get, byte for byte (an operator's
    template for it applied, as for the phone)."""
    try:
        mac = normalise_mac(mac)
    except ValueError as error:
        raise InvalidValue("MAC", str(error)) from None
    if address is not None and parse_address(address) is None:
        raise InvalidValue("--ip", f"{address!r} is not an IPv4 or IPv6 address")
    with state().database().read() as session:
        record = load_device(session, mac)
        if record is None:
            raise NotFound("device", mac)
        estate = load_estate(session)
        overrides = load_overrides(session)
        location = load_device_location(session, mac) if address is not None else None
        if firmware is None:
            firmware = session.scalar(
                select(models.Device.last_firmware).where(models.Device.mac == mac)
            )
    locator = ZoneLocator(open_city_database(geoip_path))
    choice = locator.choose(estate, record, address, location.zone if location else None)
    config = device_config(estate, record, choice)
    vendor = profile(record.vendor)
    name = file_name or vendor.device_files(mac, record.model)[0]
    request = vendor.match(f"/{name.lstrip('/')}")
    if request is None:
        known = ", ".join(vendor.device_files(mac, record.model))
        raise InvalidValue(
            "--file", f"{record.vendor} phones do not ask for {name!r} (its files: {known})"
        )
    if request.mac is not None and request.mac != mac:
        raise InvalidValue("--file", f"{name!r} is the file of device {request.mac}, not {mac}")
    if request.delivery is not Delivery.RENDER:
        raise InvalidValue("--file", f"{name!r} is not served: {request.delivery.value}")
    # As the server does: a device's own provisioning.url reaches its secret files only;
    # public files (boot, index, bootstrap) name the URL every MAC shares.
    device_url = config.settings["provisioning.url"] if request.secret else None
    chosen_url = base_url or device_url or public_provisioning_url(estate) or default_base_url()
    context = RenderContext(
        base_url=chosen_url.rstrip("/"),
        mac=mac,
        model=request.model or record.model,
        firmware=firmware,
    )
    shown = config if show_secrets else masked(config)
    override = overrides.for_device(record, record.vendor, request.kind)
    if override is None:
        body = vendor.render(request.kind, shown if request.secret else None, context)
    else:  # as the phones' route renders it (a failure is reported, nothing printed)
        body = render_operator_template(
            override.source, vendor, request.kind, shown, context, override.where
        )
    secrets = "in clear" if show_secrets else "masked"
    errors.print(
        f"# {name}: {record.vendor} {record.model} ({request.kind}), zone {choice.zone.name} "
        f"({choice.reason}); secrets {secrets}",
        highlight=False,
        markup=False,
    )
    if override is not None:
        errors.print(
            f"# operator template: {override.layer} {override.owner} "
            f"({override.vendor} {override.kind}), in place of the vendor's",
            highlight=False,
            markup=False,
        )
    for key, note in vendor.notes(config.settings):
        errors.print(f"# {key}: {note}", highlight=False, markup=False)
    sys.stdout.flush()
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()
