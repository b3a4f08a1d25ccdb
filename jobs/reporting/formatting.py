"""Numbers and dates written in the report's locale (CLDR data through Babel)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal, format_percent

# Shown in place of a missing or non-finite number.
MISSING = "–"


class Formatter:
    """Formats numbers and dates for one language (``en``, ``ru``, ``kk``)."""

    def __init__(self, language: str) -> None:
        self.locale = Locale.parse(language)

    def number(self, value: float | None, digits: int = 2) -> str:
        if value is None or not math.isfinite(value):
            return MISSING
        pattern = "#,##0." + "0" * digits if digits else "#,##0"
        return format_decimal(value, format=pattern, locale=self.locale)

    def signed(self, value: float, digits: int = 2) -> str:
        """Format with an explicit sign, as for a feature contribution."""
        if not math.isfinite(value):
            return MISSING
        text = self.number(abs(value), digits)
        return ("−" if value < 0 else "+") + text

    def percent(self, fraction: float) -> str:
        """Format a share as a percentage with up to two decimals, as 80% or 2.5%."""
        pattern = self.locale.percent_formats[None].pattern.replace("#,##0", "#,##0.##", 1)
        return format_percent(fraction, format=pattern, locale=self.locale)

    def date(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    def short_date(self, value: date) -> str:
        """Format day and abbreviated month in the locale's order, as for chart axes."""
        return format_skeleton("MMMd", value, locale=self.locale)

    def datetime_utc(self, value: datetime) -> str:
        """Format a moment as long date and 24-hour UTC time; a naive value is taken as UTC."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        day = format_date(value.date(), format="long", locale=self.locale)
        return f"{day}, {value:%H:%M} UTC"
