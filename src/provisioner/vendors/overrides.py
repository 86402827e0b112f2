"""Operator templates: a cluster's, partner's or account's own template for a vendor file.

They run in Jinja2's sandbox (`ImmutableSandboxedEnvironment`: no access to Python
internals, no changing the variables) with exactly the variables the vendor's own template
gets, and may ``{% extends %}`` or ``{% include %}`` the vendor templates (``yealink/device.cfg.j2``)
to override a single block. A template is rendered to the end, then checked (XML files must
be well-formed) before anything is returned: an error raises `OperatorTemplateError`, which
names the template and the line, and no half-rendered file ever leaves this module.
`lost_lines` says which of the device's lines a rendered file no longer gives the phone.

Values are printed on one line, as in the vendor templates (``rendering.one_line``: a display
name cannot add a ``key = value`` line). What the template's own source wrote is not a value:
the output of ``{{ super() }}``, ``{{ self.body() }}``, a macro, ``{{ caller() }}`` or a
recursive ``{{ loop(...) }}`` keeps its lines (`TemplateText`), so a template that extends
the vendor's and prints its block with ``super()`` gives the phone the vendor's lines intact.
Only that output printed directly keeps its lines: once it is combined with anything else
(``super() ~ name``, a filter) it is an ordinary value again and goes on one line, so no
value a user controls can reach the file with a line break. (``{% include %}`` and
``{% call %}`` output is never a value: it is written as it is.) In a text file a value
marked safe (``|safe``) goes on one line too; in an XML file it is written as it is, as
Jinja2 means it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import jinja2
import markupsafe
from jinja2.runtime import BlockReference, Context, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner.domain.errors import ProvisionerError
from provisioner.domain.estate import DeviceConfig, LineConfig
from provisioner.vendors import PROFILES
from provisioner.vendors.base import Delivery, RenderContext, VendorProfile
from provisioner.vendors.rendering import ENVIRONMENT_OPTIONS, LOADER, is_xml, one_line

MAX_OUTPUT = 1 << 20  # characters: a phone file is a few kilobytes
MAX_SOURCE = 1 << 18  # characters of an operator's source
_TEMPLATE_FILE = "<template>"

_WRITES_TEMPLATE_TEXT = (Macro, BlockReference, LoopContext)


class TemplateText(str):
    """Text written by a template's own source (a block, a macro, a recursive loop), whose
    values were each already printed on one line: printed as it is, line breaks and all.

    Only `_Sandbox.call` makes one. Any operation on it (``~``, ``+``, a filter, a method)
    gives a plain ``str``, which is printed on one line like any other value.
    """

    __slots__ = ()


def _one_line_in_text(value: Any) -> Any:
    """How the sandbox prints ``{{ value }}`` in a text file: `TemplateText` as it is, any
    other value on one line (`rendering.one_line`), a value marked safe included."""
    if type(value) is TemplateText:
        return value
    if isinstance(value, markupsafe.Markup):
        return one_line(str(value))
    return one_line(value)


def _one_line_in_xml(value: Any) -> Any:
    """How the sandbox prints ``{{ value }}`` in an XML file, before escaping: `TemplateText`
    and Markup (a block's or macro's output, already escaped; a value marked safe) as they
    are, any other value on one line."""
    if type(value) is TemplateText:
        return value  # a str: escaped where escaping is on, like any text that is not Markup
    return one_line(value)


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja2's immutable sandbox, where the output of a block, macro or recursive loop
    called from the template is `TemplateText` (kept on its lines), not a value."""

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        result = super().call(__context, __obj, *args, **kwargs)
        if type(result) is str and isinstance(__obj, _WRITES_TEMPLATE_TEXT):
            return TemplateText(result)
        return result


# An operator's source has no file name to choose escaping by: one sandbox per kind of file.
_SANDBOXES = {
    xml: _Sandbox(
        loader=LOADER,
        **{
            **ENVIRONMENT_OPTIONS,
            "autoescape": xml,
            "finalize": _one_line_in_xml if xml else _one_line_in_text,
        },
    )
    for xml in (True, False)
}


def file_kinds(vendor: str) -> list[str] | None:
    """The kinds of file of `vendor` that are rendered (so an operator may give one its own
    template), sorted; None for an unknown vendor."""
    for profile in PROFILES:
        if profile.name == vendor:
            return sorted(
                {rule.kind for rule in profile.path_rules if rule.delivery is Delivery.RENDER}
            )
    return None


class OperatorTemplateError(ProvisionerError):
    """An operator template that cannot be used; `where` names it, `line` its line."""

    def __init__(self, where: str, message: str, line: int | None = None) -> None:
        self.where = where
        self.message = message
        self.line = line
        at = f" line {line}" if line else ""
        super().__init__(f"{where}{at}: {message}" if where else f"template{at}: {message}")


def _template_line(traceback: TracebackType | None) -> int | None:
    """The line of the operator's source where rendering failed (the innermost one)."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _TEMPLATE_FILE:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def compile_operator_template(
    source: str, where: str = "", *, xml: bool = False
) -> jinja2.Template:
    """The compiled template (values XML-escaped if `xml`); a syntax error raises
    `OperatorTemplateError` (for checking an operator's template when it is saved, before
    any phone asks), as is a source longer than `MAX_SOURCE`."""
    if len(source) > MAX_SOURCE:
        raise OperatorTemplateError(where, f"the template exceeds {MAX_SOURCE} characters")
    try:
        return _SANDBOXES[xml].from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise OperatorTemplateError(where, error.message or "syntax error", error.lineno) from None


def render_source(
    source: str, variables: Mapping[str, Any], *, xml: bool, where: str = ""
) -> bytes:
    """Render an operator's `source` with `variables`, completely, then check it."""
    template = compile_operator_template(source, where, xml=xml)
    chunks: list[str] = []
    size = 0
    try:
        for chunk in template.generate(dict(variables)):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise OperatorTemplateError(where, f"output exceeds {MAX_OUTPUT} characters")
            chunks.append(chunk)
    except OperatorTemplateError:
        raise
    except jinja2.TemplateSyntaxError as error:  # in an extended or included template
        raise OperatorTemplateError(where, error.message or "syntax error", error.lineno) from None
    except Exception as error:  # undefined names, sandbox refusals, errors inside expressions
        message = str(error) or type(error).__name__
        if isinstance(error, jinja2.exceptions.SecurityError):
            message = f"not allowed in a template: {message}"
        raise OperatorTemplateError(where, message, _template_line(error.__traceback__)) from None
    text = "".join(chunks)
    if xml:
        try:
            ElementTree.fromstring(text.encode("utf-8"))
        except ElementTree.ParseError as error:
            line = error.position[0] if error.position else None
            raise OperatorTemplateError(
                where, f"the result is not well-formed XML ({error})", line
            ) from None
    return text.encode("utf-8")


def render_operator_template(
    source: str,
    profile: VendorProfile,
    kind: str,
    config: DeviceConfig | None,
    context: RenderContext,
    where: str = "",
) -> bytes:
    """The file of `kind` rendered from an operator's `source` instead of the vendor template.

    Same inputs as `VendorProfile.render`, same variables for the template. `where` names
    the override in errors (``account acme-bakery: yealink device``). Raises
    `OperatorTemplateError` (and `RenderError` for an unknown kind or a missing config).
    """
    name, variables = profile.template_variables(kind, config, context)
    where = where or f"{profile.name} {kind} template"
    return render_source(source, variables, xml=is_xml(name), where=where)


def _values(text: str, xml: bool) -> set[str]:
    """Every value a phone reads from a file: an XML file's attribute values and element
    texts, a text file's ``key = value`` values (comment lines left out)."""
    found: set[str] = set()
    if xml:
        try:
            root = ElementTree.fromstring(text.encode("utf-8"))
        except ElementTree.ParseError:
            return found
        for element in root.iter():
            found.update(value.strip() for value in element.attrib.values())
            if element.text:
                found.add(element.text.strip())
        return found
    for row in text.splitlines():
        key, equals, value = row.partition("=")
        if equals and not key.lstrip().startswith("#"):
            found.add(value.strip())
    return found


def lost_lines(
    rendered: bytes,
    profile: VendorProfile,
    kind: str,
    config: DeviceConfig | None,
    context: RenderContext,
) -> list[LineConfig]:
    """The device's lines that the vendor's own file of `kind` gives the phone (its SIP user
    is a value there: ``account.1.user_name = 1001``, ``reg.1.address="1001"``) and the
    `rendered` file does not: a phone served `rendered` would lose them. A file whose lines
    were flattened onto a comment line has lost them all."""
    if config is None or not config.lines:
        return []
    try:
        own = profile.render(kind, config, context)
    except Exception:
        return []
    xml = is_xml(profile.template_for(kind, config.model))
    given = _values(own.decode("utf-8"), xml)
    served = _values(rendered.decode("utf-8", "replace"), xml)
    return [line for line in config.lines if line.sip_user in given and line.sip_user not in served]
