"""The one Jinja2 environment of the vendor templates (``vendors/templates/<vendor>/``).

Built once at import. XML templates (``*.xml.j2``) are autoescaped; in every template a
value is printed on one line (control characters become spaces, so a display name cannot
add a ``key = value`` line or break an element) and None prints as nothing. An undefined
variable is an error, never an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import markupsafe
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame

TEMPLATES = Path(__file__).parent / "templates"

# Control characters, and what XML cannot carry at all (surrogates, U+FFFE, U+FFFF):
# refused at validation (`domain.text`); any that got in some other way print as spaces.
_CONTROL = re.compile("[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def one_line(value: Any) -> Any:
    """How every ``{{ value }}`` is printed: None as nothing, text on one line (control
    characters become spaces, so a value cannot start a new ``key = value`` line)."""
    if type(value) is str:
        return value if value.isprintable() else _CONTROL.sub(" ", value)
    if value is None:
        return ""
    return value  # numbers; Markup (a macro's output, already one line per key) as it is


# markupsafe.escape is this C function wrapped in a Markup (a Python-level constructor that
# costs more than the escaping); a joined output needs only the text.
_escape_text: Callable[[str], str] = getattr(markupsafe, "_escape_inner", None) or (
    lambda text: str(markupsafe.escape(text))
)


def text_output(value: Any) -> str:
    """``str(one_line(value))``: what ``{{ value }}`` prints in a text file, in one call."""
    if type(value) is str:
        return value if value.isprintable() else _CONTROL.sub(" ", value)
    if type(value) is int:
        return str(value)
    if value is None:
        return ""
    return str(one_line(value))


def xml_output(value: Any) -> str:
    """The text of ``escape(one_line(value))``: what ``{{ value }}`` prints in an XML file."""
    if type(value) is str:
        return _escape_text(value if value.isprintable() else _CONTROL.sub(" ", value))
    if type(value) is int:  # digits: nothing to escape
        return str(value)
    if value is None:  # an empty element or attribute: written often, printed as nothing
        return ""
    return markupsafe.escape(one_line(value))


def is_xml(name: str | None) -> bool:
    return bool(name) and (name.endswith(".xml.j2") or name.endswith(".htm.j2"))  # type: ignore[union-attr]


ENVIRONMENT_OPTIONS: Mapping[str, Any] = {
    "autoescape": is_xml,
    "finalize": one_line,
    "undefined": jinja2.StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "auto_reload": False,
}

LOADER = jinja2.FileSystemLoader(TEMPLATES)


class _FastOutput(CodeGenerator):
    """Jinja's compiler, printing the same text with fewer steps.

    A run of text and ``{{ values }}`` between two tags is one ``yield`` of the joined
    pieces instead of one ``yield`` per piece; each value is printed by one call,
    `text_output` or `xml_output`, instead of ``str``/``escape`` around ``finalize``.
    """

    def _as_jinja(self, frame: Frame) -> bool:
        # Inside {% autoescape %}, or another finalize than the one the two functions
        # inline: print as Jinja does.
        return frame.eval_ctx.volatile or self.environment.finalize is not one_line

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self._as_jinja(frame):
            super()._output_child_pre(node, frame, finalize)
        elif frame.eval_ctx.autoescape:
            self.write("environment.xml_output(")
        else:
            self.write("environment.text_output(")

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if self._as_jinja(frame):
            super()._output_child_post(node, frame, finalize)
        else:
            self.write(")")

    def visit_Output(self, node: nodes.Output, frame: Frame) -> None:
        if frame.buffer is not None or frame.require_output_check or len(node.nodes) < 2:
            super().visit_Output(node, frame)  # macros, blocks of `set`, outside a block
            return
        finalize = self._make_finalize()
        body: list[list[str] | nodes.Expr] = []
        for child in node.nodes:  # constants folded at compile time, as Jinja's own
            try:
                if not (finalize.const or isinstance(child, nodes.TemplateData)):
                    raise nodes.Impossible()
                const = self._output_child_to_const(child, frame, finalize)
            except (nodes.Impossible, Exception):
                body.append(child)
                continue
            last = body[-1] if body else None
            if isinstance(last, list):
                last.append(const)
            else:
                body.append([const])
        if len(body) == 1 and isinstance(body[0], list):
            self.writeline("yield " + self._output_const_repr(body[0]))
            return
        self.writeline("yield concat((")
        self.indent()
        for item in body:
            if isinstance(item, list):
                self.writeline(self._output_const_repr(item) + ",")
            else:
                self.newline(item)
                self._output_child_pre(item, frame, finalize)
                self.visit(item, frame)
                self._output_child_post(item, frame, finalize)
                self.write(",")
        self.outdent()
        self.writeline("))")


class _Environment(jinja2.Environment):
    """Vendor variables are plain dicts: ``line.index`` looks up the key first (Jinja's
    default tries the attribute first, and an AttributeError per lookup is slow)."""

    code_generator_class = _FastOutput
    text_output = staticmethod(text_output)
    xml_output = staticmethod(xml_output)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


environment = _Environment(loader=LOADER, **ENVIRONMENT_OPTIONS)

# name → the compiled template and its globals as a plain dict (the files never change).
_compiled: dict[str, tuple[jinja2.Template, dict[str, Any]]] = {}


def _load(name: str) -> tuple[jinja2.Template, dict[str, Any]]:
    try:
        return _compiled[name]
    except KeyError:
        compiled = environment.get_template(name)
        return _compiled.setdefault(name, (compiled, dict(compiled.globals)))


def template(name: str) -> jinja2.Template:
    """The compiled vendor template `name` (compiled once)."""
    return _load(name)[0]


def render_template(name: str, variables: Mapping[str, Any]) -> bytes:
    """Render the vendor template `name` (``yealink/device.cfg.j2``) to UTF-8 bytes.

    What ``template.render(variables)`` does, with the context built from a plain dict of
    the globals (``Template.globals`` is a ChainMap, slow to copy on every render).
    """
    compiled, template_globals = _load(name)
    context = compiled.new_context({**template_globals, **variables}, shared=True)
    try:
        text: str = environment.concat(compiled.root_render_func(context))  # type: ignore[attr-defined]
    except Exception:
        environment.handle_exception()
    return text.encode("utf-8")
