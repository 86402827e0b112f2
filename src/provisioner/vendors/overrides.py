"""Operator templates: a cluster's, partner's or account's own template for a vendor file.

They run in Jinja2's sandbox (`ImmutableSandboxedEnvironment`: no access to Python
internals, no changing the variables) with exactly the variables the vendor's own template
gets, and may ``{% extends %}`` or ``{% include %}`` the vendor templates (``yealink/device.cfg.j2``)
to override a single block. A template is rendered to the end, then checked (XML files must
be well-formed) before anything is returned: an error raises `OperatorTemplateError`, which
names the template and the line, and no half-rendered file ever leaves this module.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from provisioner.domain.errors import ProvisionerError
from provisioner.domain.estate import DeviceConfig
from provisioner.vendors.base import RenderContext, VendorProfile
from provisioner.vendors.rendering import ENVIRONMENT_OPTIONS, LOADER, is_xml

MAX_OUTPUT = 1 << 20  # characters: a phone file is a few kilobytes
_TEMPLATE_FILE = "<template>"

# An operator's source has no file name to choose escaping by: one sandbox per kind of file.
_SANDBOXES = {
    xml: ImmutableSandboxedEnvironment(loader=LOADER, **{**ENVIRONMENT_OPTIONS, "autoescape": xml})
    for xml in (True, False)
}


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
    any phone asks)."""
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
