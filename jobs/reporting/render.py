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


def render_html(context: dict[str, Any], for_pdf: bool = False) -> str:
    """Render the HTML report and check that it references nothing outside the file.

    With ``for_pdf`` the page leaves out hover styles and the hover hint.
    """
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    html = environment.get_template("report.html.j2").render(context, for_pdf=for_pdf)
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


def write_pdf(html: str, path: Path) -> None:
    """Write ``html`` as a PDF with WeasyPrint, failing on any attempt to fetch a resource."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class OfflineFetchError(FatalURLFetchingError):
        """The report tried to load a resource, but a report must render offline."""

    class OfflineFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            raise OfflineFetchError(f"report PDF requested {url!r}; reports load no resources")

    check_self_contained(html)
    HTML(string=html, base_url=None, url_fetcher=OfflineFetcher()).write_pdf(path)
