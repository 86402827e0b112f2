"""Operator templates: sandboxed, same variables as the vendor's, whole file or an error."""

from __future__ import annotations

import pytest

from provisioner.domain.estate import LineConfig
from provisioner.vendors import RenderContext, profile
from provisioner.vendors.overrides import (
    MAX_OUTPUT,
    OperatorTemplateError,
    compile_operator_template,
    render_operator_template,
)
from tests.vendors.helpers import BASE_URL, config, parse_key_values, parse_xml

MAC = "001565a00001"
YEALINK = profile("yealink")
CONTEXT = RenderContext(BASE_URL, mac=MAC, model="T46U")


def render(source: str, vendor: str = "yealink", kind: str = "device") -> bytes:
    device = config(vendor, "T46U", MAC)
    return render_operator_template(
        source, profile(vendor), kind, device, CONTEXT, where="account example"
    )


def test_an_operator_template_gets_the_vendor_variables() -> None:
    source = (
        "#!version:1.0.0.1\n"
        "{% for line in lines %}account.{{ line.index }}.password = {{ line.password }}\n"
        "{% endfor %}custom.proxy = {{ lines[0].proxy_address }}\n"
    )
    values = parse_key_values(render(source).decode())
    assert values == {
        "account.1.password": "secret-1001",
        "account.2.password": "secret-1002",
        "custom.proxy": "us-east.p.example.net",
    }


def test_an_operator_template_can_extend_the_vendor_template_and_override_one_block() -> None:
    source = '{% extends "yealink/device.cfg.j2" %}{% block about %}: acme\'s own{% endblock %}'
    text = render(source).decode()
    assert "acme's own" in text
    vendor = YEALINK.render("device", config("yealink", "T46U", MAC), CONTEXT).decode()
    assert parse_key_values(text) == parse_key_values(vendor)


def test_xml_is_escaped_and_must_come_out_well_formed() -> None:
    good = (
        "<settings>{% for identity in identities %}{% for key, value in identity['values'] %}"
        '<x key="{{ key }}">{{ value }}</x>{% endfor %}{% endfor %}</settings>'
    )
    lines = (LineConfig(1, "1", "1", 'p<w>"&', 'Ann & "Bob" <x/>', "L"),)
    device = config("snom", "D785", MAC, lines=lines)
    root = parse_xml(
        render_operator_template(good, profile("snom"), "device", device, CONTEXT).decode()
    )
    values = {x.get("key"): x.text for x in root}
    assert values["user_pass"] == 'p<w>"&'
    assert values["user_realname"] == 'Ann & "Bob" <x/>'
    with pytest.raises(OperatorTemplateError, match="not well-formed XML"):
        render("<settings><x></settings>", "snom")


@pytest.mark.parametrize(
    ("source", "message", "line"),
    [
        ("a\n{% for x in lines %}\nno end", "Unexpected end of template", 3),
        ("ok\n{{ no_such_variable }}", "'no_such_variable' is undefined", 2),
        ("{{ lines[0].password.__class__.__mro__ }}", "not allowed", None),
        ("{{ ''.__class__.__subclasses__() }}", "not allowed", None),
        ("{% set _ = lines.append(1) %}", "not allowed", None),
        ("x\ny\n{{ 1 / 0 }}", "division by zero", 3),
        ('{% include "../../../etc/passwd" %}', "etc/passwd", None),
        ("{{ 'x' * 2000000 }}", "exceeds", None),
    ],
)
def test_errors_are_clear_and_nothing_is_returned(
    source: str, message: str, line: int | None
) -> None:
    with pytest.raises(OperatorTemplateError) as raised:
        render(source)
    assert message in str(raised.value)
    assert str(raised.value).startswith("account example")
    if line is not None:
        assert raised.value.line == line


def test_a_loop_that_writes_too_much_stops_at_the_cap() -> None:
    with pytest.raises(OperatorTemplateError, match=str(MAX_OUTPUT)):
        render("{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}")


def test_syntax_is_checked_when_saved() -> None:
    compile_operator_template("{{ lines }}")
    with pytest.raises(OperatorTemplateError, match="line 1"):
        compile_operator_template("{% if %}", "cluster hosted: yealink device")
