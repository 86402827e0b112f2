"""Saying what went wrong in a render without saying any secret: messages from templates
may quote values, so every password the device's files carry is masked first."""

from __future__ import annotations

import json
from urllib.parse import quote

from markupsafe import escape

from provisioner.domain.errors import ProvisionerError
from provisioner.domain.estate import DeviceConfig
from provisioner.domain.settings import SECRET_KEYS

MASK = "********"


def secrets_of(config: DeviceConfig | None) -> list[str]:
    if config is None:
        return []
    found = [line.password for line in config.lines]
    found.append(config.provisioning_password)  # Cisco's profile rule carries it
    found += [str(config.settings[key]) for key in SECRET_KEYS if config.settings.get(key)]
    return sorted((s for s in found if s), key=len, reverse=True)


def forms(secret: str) -> set[str]:
    """Every way a message may print `secret`: as it is, in Python's repr (a backslash
    doubled, a quote escaped), as JSON, XML-escaped and URL-quoted."""
    found = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], str(escape(secret))}
    found.add(quote(secret, safe=""))
    found.add(secret.encode("unicode_escape").decode("ascii"))
    return {form for form in found if form}


def scrub(text: str, config: DeviceConfig | None) -> str:
    written = {form for secret in secrets_of(config) for form in forms(secret)}
    for form in sorted(written, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text


def render_problem(error: BaseException, config: DeviceConfig | None) -> str:
    """One line for a log or an operator: the product's own errors with their message
    (secrets masked), anything else by its type only."""
    if isinstance(error, ProvisionerError):
        return scrub(str(error), config).replace("\n", " ")
    return type(error).__name__
