"""A render problem names what went wrong and never a secret, in whatever form the
message prints it (as written, Python's repr, JSON, XML-escaped, URL-quoted)."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from markupsafe import escape

from provisioner.domain.errors import ProvisionerError
from provisioner.domain.estate import LineConfig
from provisioner.vendors.problems import MASK, render_problem
from tests.vendors.helpers import config

SECRETS = ["back\\slash-1", "quo'te\"s-2", "tab\there-3", "ünï&<x>-4", "plain-secret-5"]


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize(
    "form",
    [
        lambda s: s,
        lambda s: repr(s),
        lambda s: json.dumps(s),
        lambda s: str(escape(s)),
        lambda s: quote(s, safe=""),
    ],
    ids=["raw", "repr", "json", "xml", "url"],
)
def test_every_printed_form_of_a_password_is_masked(secret: str, form) -> None:
    device = config(
        "yealink", "T46U", "001565a00001", None, (LineConfig(1, "1001", "a", secret, "D", "L"),)
    )
    message = render_problem(ProvisionerError(f"cannot use {form(secret)} here"), device)
    assert MASK in message
    for printed in {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], quote(secret, safe="")}:
        assert printed not in message


def test_the_provisioning_password_is_masked_too() -> None:
    device = config("cisco", "CP-8841-3PCC", "00562ba00003")
    device.__dict__["provisioning_password"] = "prov\\pass-9"
    message = render_problem(ProvisionerError("rule [--pwd 'prov\\\\pass-9'] bad"), device)
    assert "prov" not in message
