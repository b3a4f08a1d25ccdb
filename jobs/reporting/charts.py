"""Line charts as inline SVG geometry: axes, ticks and one polyline per series."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# Qualitative palette (ColorBrewer Dark2, 8 classes). The first colour marks the model.
SERIES_COLOURS = (
    "#1b9e77",
    "#d95f02",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#e6ab02",
    "#a6761d",
    "#666666",
)

# Maximum number of x-axis labels, so that dates do not overlap.
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Series:
    name: str
    # One value per x position. None or NaN leaves a gap in the line.
    values: Sequence[float | None]
    emphasis: bool = False


def nice_step(span: float, target_ticks: int = 5) -> float:
    """Return a tick step of 1, 2 or 5 times a power of ten giving about ``target_ticks``."""
    raw = span / target_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def is_missing(value: float | None) -> bool:
    return value is None or not math.isfinite(value)


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    format_number: Callable[[float, int], str],
    value_digits: int = 2,
    width: float = 640.0,
    height: float = 220.0,
) -> dict[str, Any]:
    """Lay out a line chart whose y axis starts at zero.

    ``format_number(value, digits)`` writes the tick labels, with as many decimals as the
    tick step needs, and the marker tooltips, with ``value_digits`` decimals. Returns the
    SVG size, the plot frame, tick positions with labels and, per series, the polyline
    segments between gaps and the markers with their tooltips.
    """
    left, right, top, bottom = 56.0, 24.0, 10.0, 28.0
    plot_width = width - left - right
    plot_height = height - top - bottom
    present = [v for s in series for v in s.values if not is_missing(v)]
    top_value = max(present, default=0.0)
    step = nice_step(top_value) if top_value > 0 else 1.0
    y_max = step * math.ceil(top_value / step) if top_value > 0 else 1.0

    def x_at(index: int) -> float:
        if len(x_labels) == 1:
            return left + plot_width / 2
        return left + plot_width * index / (len(x_labels) - 1)

    def y_at(value: float) -> float:
        return top + plot_height * (1 - value / y_max)

    tick_count = round(y_max / step)
    tick_digits = max(0, -math.floor(math.log10(step)))
    y_ticks = [
        {"y": f"{y_at(i * step):.1f}", "label": format_number(i * step, tick_digits)}
        for i in range(tick_count + 1)
    ]
    label_every = max(1, math.ceil(len(x_labels) / MAX_X_LABELS))
    x_ticks = [
        {"x": f"{x_at(i):.1f}", "label": label}
        for i, label in enumerate(x_labels)
        if i % label_every == 0
    ]

    laid_out = []
    for number, item in enumerate(series):
        segments: list[list[str]] = [[]]
        markers = []
        for index, value in enumerate(item.values):
            if is_missing(value):
                segments.append([])
                continue
            x, y = x_at(index), y_at(value)
            segments[-1].append(f"{x:.1f},{y:.1f}")
            label = format_number(value, value_digits)
            markers.append(
                {
                    "x": f"{x:.1f}",
                    "y": f"{y:.1f}",
                    "title": f"{item.name}, {x_labels[index]}: {label}",
                }
            )
        laid_out.append(
            {
                "name": item.name,
                "colour": SERIES_COLOURS[number % len(SERIES_COLOURS)],
                "stroke_width": "2.5" if item.emphasis else "1.5",
                "segments": [" ".join(points) for points in segments if points],
                "markers": markers,
            }
        )

    return {
        "width": f"{width:.0f}",
        "height": f"{height:.0f}",
        "left": f"{left:.1f}",
        "right": f"{width - right:.1f}",
        "top": f"{top:.1f}",
        "bottom": f"{top + plot_height:.1f}",
        "label_y": f"{height - 8:.1f}",
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "series": laid_out,
    }
