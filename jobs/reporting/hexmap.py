"""Inline SVG geometry of H3 hexagons: projection, colour classes and outlines."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import h3

# Sequential yellow-orange-red ramp (ColorBrewer YlOrRd, 5 classes), low to high.
COLOUR_RAMP = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")

LatLng = tuple[float, float]


class Projection:
    """Equirectangular projection of latitude and longitude onto SVG user units.

    Longitudes are scaled by the cosine of the middle latitude of the bounding box, so
    that shapes keep their proportions at city scale. The result fits inside
    ``max_width`` by ``max_height`` with ``margin`` units on each side.
    """

    def __init__(
        self,
        points: Iterable[LatLng],
        max_width: float = 800.0,
        max_height: float = 600.0,
        margin: float = 10.0,
    ) -> None:
        lats, lons = zip(*points, strict=True)
        self.min_lat, self.max_lat = min(lats), max(lats)
        self.min_lon, self.max_lon = min(lons), max(lons)
        self.margin = margin
        self.lon_factor = math.cos(math.radians((self.min_lat + self.max_lat) / 2))

        span_x = (self.max_lon - self.min_lon) * self.lon_factor
        span_y = self.max_lat - self.min_lat
        if span_x <= 0 or span_y <= 0:
            raise ValueError(
                f"bounding box has no area: lat {self.min_lat}..{self.max_lat}, "
                f"lon {self.min_lon}..{self.max_lon}"
            )
        self.scale = min((max_width - 2 * margin) / span_x, (max_height - 2 * margin) / span_y)
        self.width = span_x * self.scale + 2 * margin
        self.height = span_y * self.scale + 2 * margin

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Bounding box as (min_lat, min_lon, max_lat, max_lon)."""
        return self.min_lat, self.min_lon, self.max_lat, self.max_lon

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        x = self.margin + (lon - self.min_lon) * self.lon_factor * self.scale
        y = self.margin + (self.max_lat - lat) * self.scale
        return x, y

    def points_attribute(self, ring: Sequence[LatLng]) -> str:
        """Return a ring as the ``points`` attribute of an SVG polygon."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (self.project(*p) for p in ring))

    def path_data(self, lines: Iterable[Sequence[LatLng]], closed: bool = True) -> str:
        """Return lines as the ``d`` attribute of one SVG path, one subpath each.

        With ``closed`` each subpath ends with Z, as for cell rings.
        """
        parts = []
        for line in lines:
            coords = [self.project(*p) for p in line]
            head = f"M{coords[0][0]:.1f},{coords[0][1]:.1f}"
            tail = "".join(f"L{x:.1f},{y:.1f}" for x, y in coords[1:])
            parts.append(head + tail + ("Z" if closed else ""))
        return "".join(parts)


def cell_ring(cell: str) -> tuple[LatLng, ...]:
    """Return the boundary of an H3 cell as (lat, lng) pairs."""
    if not h3.is_valid_cell(cell):
        raise ValueError(f"invalid H3 cell id: {cell!r}")
    return h3.cell_to_boundary(cell)


@dataclass(frozen=True)
class ColourClass:
    lower: float
    upper: float
    colour: str


def colour_classes(values: Sequence[float], count: int = len(COLOUR_RAMP)) -> list[ColourClass]:
    """Split the range of ``values`` into ``count`` equal intervals, each with a ramp colour.

    ``count`` is capped at the ramp length. A single class is returned when all values
    are equal.
    """
    low, high = min(values), max(values)
    if high <= low:
        return [ColourClass(low, high, COLOUR_RAMP[-1])]
    count = max(1, min(count, len(COLOUR_RAMP)))
    step = (high - low) / count
    colours = COLOUR_RAMP[-count:]
    return [
        ColourClass(low + i * step, high if i == count - 1 else low + (i + 1) * step, colour)
        for i, colour in enumerate(colours)
    ]


def colour_for(value: float, classes: Sequence[ColourClass]) -> str:
    """Return the colour of the class that contains ``value``. Upper bounds are inclusive."""
    for colour_class in classes:
        if value <= colour_class.upper:
            return colour_class.colour
    return classes[-1].colour
