"""The one Jinja2 environment of the vendor templates (``vendors/templates/<vendor>/``).

Built once at import. XML templates (``*.xml.j2``) are autoescaped; in every template a
value is printed on one line (control characters become spaces, so a display name cannot
add a ``key = value`` line or break an element) and None prints as nothing. An undefined
variable is an error, never an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line(value: Any) -> Any:
    """How every ``{{ value }}`` is printed: None as nothing, text on one line (control
    characters become spaces, so a value cannot start a new ``key = value`` line)."""
    if type(value) is str:
        return value if value.isprintable() else _CONTROL.sub(" ", value)
    if value is None:
        return ""
    return value  # numbers; Markup (a macro's output, already one line per key) as it is


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


class _Environment(jinja2.Environment):
    """Vendor variables are plain dicts: ``line.index`` looks up the key first (Jinja's
    default tries the attribute first, and an AttributeError per lookup is slow)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


environment = _Environment(loader=LOADER, **ENVIRONMENT_OPTIONS)


def render_template(name: str, variables: Mapping[str, Any]) -> bytes:
    """Render the vendor template `name` (``yealink/device.cfg.j2``) to UTF-8 bytes."""
    return environment.get_template(name).render(variables).encode("utf-8")
