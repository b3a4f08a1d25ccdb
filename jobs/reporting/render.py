"""Render the report templates under ``templates/`` with Jinja."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

# A reference that a browser or PDF renderer would try to fetch.
_EXTERNAL_REFERENCE = re.compile(r"https?://", re.IGNORECASE)


class ExternalReferenceError(ValueError):
    """Rendered report text references a network resource, so it would not work offline."""


def render_html(context: dict[str, Any]) -> str:
    """Render the HTML report and check that it references nothing outside the file."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    html = environment.get_template("report.html.j2").render(context)
    check_self_contained(html)
    return html


def check_self_contained(html: str) -> None:
    """Raise ExternalReferenceError when ``html`` contains an http:// or https:// reference."""
    match = _EXTERNAL_REFERENCE.search(html)
    if match:
        start = max(match.start() - 60, 0)
        raise ExternalReferenceError(
            f"report references a network resource near {html[start : match.end() + 60]!r}; "
            "inline the resource or remove the reference"
        )
