"""Operator templates: sandboxed, same variables as the vendor's, whole file or an error."""

from __future__ import annotations

import pytest

from provisioner.domain.estate import LineConfig
from provisioner.vendors import RenderContext, profile
from provisioner.vendors.overrides import (
    MAX_OUTPUT,
    OperatorTemplateError,
    compile_operator_template,
    lost_lines,
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


# --- super(), macros and blocks keep their lines; values stay on one line ---

SUPER_YEALINK = (
    '{% extends "yealink/device.cfg.j2" %}{% block body %}{{ super() }}\nfeature.x = 1\n'
    "{% endblock %}"
)
HOSTILE = (LineConfig(1, "1001", "auth-1001", "pw-1", "Evil\naccount.9.enable = 1", "L\rx = 1"),)


def hostile(vendor: str = "yealink", model: str = "T46U") -> bytes:
    return YEALINK.render("device", config(vendor, model, MAC, lines=HOSTILE), CONTEXT)


def render_hostile(source: str) -> str:
    device = config("yealink", "T46U", MAC, lines=HOSTILE)
    return render_operator_template(source, YEALINK, "device", device, CONTEXT).decode()


def test_super_prints_the_vendor_block_with_its_lines() -> None:
    text = render(SUPER_YEALINK).decode()
    vendor = YEALINK.render("device", config("yealink", "T46U", MAC), CONTEXT).decode()
    assert text == vendor + "\nfeature.x = 1\n"  # the vendor's block, then the template's text
    rows = text.splitlines()
    assert "account.1.enable = 1" in rows
    assert "account.2.user_name = 1002" in rows
    assert parse_key_values(text) == {**parse_key_values(vendor), "feature.x": "1"}


@pytest.mark.parametrize(
    ("vendor", "model", "extra"),
    [
        ("poly", "VVX450", "<!-- acme -->\n"),
        ("cisco", "CP-8841-3PCC", '<Extra_Setting ua="na">1</Extra_Setting>\n'),
        ("snom", "D785", ""),
    ],
)
def test_super_in_an_xml_file_keeps_the_elements(vendor: str, model: str, extra: str) -> None:
    source = (
        f'{{% extends "{vendor}/device.xml.j2" %}}{{% block body %}}{{{{ super() }}}}{extra}'
        "{% endblock %}"
    )
    device = config(vendor, model, MAC)
    context = RenderContext(BASE_URL, mac=MAC, model=model)
    text = render_operator_template(source, profile(vendor), "device", device, context).decode()
    own = profile(vendor).render("device", device, context).decode()
    parse_xml(text)
    assert text.replace(extra, "", 1) == own
    assert len(text.splitlines()) == len(own.splitlines()) + extra.count("\n")
    if vendor == "cisco":
        assert '  <User_ID_1_ ua="na">1001</User_ID_1_>' in text.splitlines()


def test_self_blocks_macros_callers_and_recursive_loops_keep_their_lines() -> None:
    assert (
        render("{% block x %}a = 1\nb = 2\n{% endblock %}{{ self.x() }}") == b"a = 1\nb = 2\n" * 2
    )
    assert render("{% macro m() %}a = 1\nb = 2\n{% endmacro %}{{ m() }}") == b"a = 1\nb = 2\n"
    vendor = YEALINK.render("device", config("yealink", "T46U", MAC), CONTEXT)
    included = '{% macro m() %}{% include "yealink/device.cfg.j2" %}{% endmacro %}{{ m() }}'
    assert render(included) == render('{% include "yealink/device.cfg.j2" %}') == vendor
    assert (
        render(
            "{% macro m() %}{{ caller() }}c = 3\n{% endmacro %}{% call m() %}a = 1\n{% endcall %}"
        )
        == b"a = 1\nc = 3\n"
    )
    assert (
        render(
            "{% for i in [[1, [2]], 3] recursive %}{% if i is iterable %}{{ loop(i) }}"
            "{% else %}v{{ i }} = 1\n{% endif %}{% endfor %}"
        )
        == b"v1 = 1\nv2 = 1\nv3 = 1\n"
    )


@pytest.mark.parametrize(
    "source",
    [
        SUPER_YEALINK,  # the vendor's own values, printed by the vendor template
        "{% macro m(v) %}a = {{ v }}\n{% endmacro %}{{ m(lines[0].display_name) }}",
        '{% import "yealink/keys.j2" as k %}{{ k.set("a", lines[0].display_name) }}\n',
        '{% extends "yealink/device.cfg.j2" %}{% block body %}'
        "{{ super() ~ lines[0].display_name }}{% endblock %}",
        '{% extends "yealink/device.cfg.j2" %}{% block body %}'
        '{{ super() | replace("Evil", lines[0].display_name) }}{% endblock %}',
        "{{ lines[0].display_name | safe }}\n{{ lines[0].label | safe }}",
        "{% set x %}{{ lines[0].display_name }}\n{% endset %}{{ x }}",
        "{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}a = {{ lines[0].label }}"
        "{% endcall %}",
    ],
)
def test_no_value_reaches_the_file_with_a_line_break(source: str) -> None:
    text = render_hostile(source)
    rows = text.splitlines()
    assert not any(row.startswith(("account.9.enable = 1", "x = 1")) for row in rows), text
    assert "\r" not in text


def test_a_file_whose_lines_were_flattened_has_lost_them() -> None:
    device = config("yealink", "T46U", MAC)
    own = YEALINK.render("device", device, CONTEXT)
    assert lost_lines(own, YEALINK, "device", device, CONTEXT) == []
    assert lost_lines(render(SUPER_YEALINK), YEALINK, "device", device, CONTEXT) == []
    flattened = own.split(b"\n", 2)
    flattened[2] = flattened[2].replace(b"\n", b" ")
    lost = lost_lines(b"\n".join(flattened), YEALINK, "device", device, CONTEXT)
    assert [line.index for line in lost] == [1, 2]
    only_first = render("#!version:1.0.0.1\naccount.1.user_name = {{ lines[0].user_name }}\n")
    assert [line.index for line in lost_lines(only_first, YEALINK, "device", device, CONTEXT)] == [
        2
    ]
    cisco, model = profile("cisco"), "CP-8841-3PCC"
    xml_device = config("cisco", model, MAC)
    xml_context = RenderContext(BASE_URL, mac=MAC, model=model)
    assert lost_lines(b"<flat-profile/>", cisco, "device", xml_device, xml_context)
    assert not lost_lines(
        cisco.render("device", xml_device, xml_context), cisco, "device", xml_device, xml_context
    )
    assert lost_lines(b"", YEALINK, "boot", None, CONTEXT) == []  # no lines to lose
