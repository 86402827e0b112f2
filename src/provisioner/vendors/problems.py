"""Saying what went wrong in a render without saying any secret: messages from templates
may quote values, so every password the device's files carry is masked first."""

from __future__ import annotations

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


def scrub(text: str, config: DeviceConfig | None) -> str:
    for secret in secrets_of(config):
        text = text.replace(secret, MASK)
    return text


def render_problem(error: BaseException, config: DeviceConfig | None) -> str:
    """One line for a log or an operator: the product's own errors with their message
    (secrets masked), anything else by its type only."""
    if isinstance(error, ProvisionerError):
        return scrub(str(error), config).replace("\n", " ")
    return type(error).__name__
