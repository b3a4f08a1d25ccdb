"""Letters per region of an outline file: which region each forecast cell belongs to."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jobs.letters.settings import LetterSettings, RegionOutlineLetters, RegionSettings
    from jobs.settings import Profile

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    # shapely Polygon or MultiPolygon in lon/lat.
    outline: object


@dataclass(frozen=True)
class LetterRegion:
    """A region to write a letter for, and the cells its letter may list per target.

    ``cells`` is None for a region written by hand in the settings, whose letter lists
    every cell of its targets.
    """

    settings: RegionSettings
    cells: dict[str, set[str]] | None = None


def read_regions(path: Path, code_field: str, name_field: str) -> list[Region]:
    """Read the region outlines of ``path`` in WGS84, in file order."""
    import geopandas as gpd

    if not path.exists():
        raise FileNotFoundError(f"region outline file not found: {path}; fix region_outlines")
    frame = gpd.read_file(path)
    for field in (code_field, name_field):
        if field not in frame.columns:
            raise KeyError(
                f"region outline file {path} has no column {field!r}; "
                f"its columns are {list(frame.columns)}"
            )
    if frame.crs is not None:
        frame = frame.to_crs(4326)
    return [
        Region(code=str(code), name=str(name), outline=geometry)
        for code, name, geometry in zip(
            frame[code_field], frame[name_field], frame.geometry, strict=True
        )
        if geometry is not None and not geometry.is_empty
    ]


def assign_cells(cells: list[str], regions: list[Region]) -> dict[str, str]:
    """Map each H3 cell to the code of the region whose outline contains the cell centre.

    A centre outside every outline, such as a border cell past a generated outline, goes
    to the region with the nearest outline.
    """
    import h3
    import shapely

    if not regions:
        raise ValueError("no region outlines to assign cells to")
    outlines = [region.outline for region in regions]
    tree = shapely.STRtree(outlines)
    assigned = {}
    for cell in sorted(set(cells)):
        lat, lng = h3.cell_to_latlng(cell)
        centre = shapely.Point(lng, lat)
        containing = [index for index in tree.query(centre) if outlines[index].covers(centre)]
        index = min(containing) if containing else int(tree.nearest(centre))
        assigned[cell] = regions[index].code
    return assigned


def target_cells(profile: Profile, target: str) -> tuple[str, list[str]]:
    """Return the unit of a target's latest forecast (h3 or region) and the ids to assign:
    the forecast's cells or region codes, then the target's hot spot cells."""
    from jobs.hotspots.job import read_hotspots
    from jobs.letters.build import latest_forecast
    from jobs.reporting.data import ReportDataError

    cells = list(read_hotspots(profile, target)["h3_cell"])
    unit = "h3"
    try:
        forecast = latest_forecast(profile, target)
    except ReportDataError as error:
        logger.warning("no forecast cells of target %s to assign to regions: %s", target, error)
        return unit, cells
    if "unit" in forecast.columns and not forecast.empty:
        unit = str(forecast["unit"].iloc[0])
    return unit, cells + list(forecast["h3_cell"])


def match_region_codes(codes: list[str], regions: list[Region], target: str) -> dict[str, str]:
    """Map each region code of a region target to the outline with the same code.

    Codes without an outline are left out, with a warning, because no letter can list them.
    """
    known = {region.code for region in regions}
    missing = sorted(set(codes) - known)
    if missing:
        logger.warning(
            "region codes %s of target %s have no outline in the letter regions; "
            "no letter lists them",
            missing,
            target,
        )
    return {code: code for code in set(codes) if code in known}


def outline_regions(profile: Profile, spec: RegionOutlineLetters) -> dict[str, LetterRegion]:
    """Return one letter region per outline, keyed by region code, with its cells."""
    from jobs.letters.settings import RegionSettings

    path = profile.landing / spec.outlines
    regions = read_regions(path, spec.code_field, spec.name_field)
    cells_by_region: dict[str, dict[str, set[str]]] = {
        region.code: {target: set() for target in spec.targets} for region in regions
    }
    for target in spec.targets:
        unit, cells = target_cells(profile, target)
        if unit == "region":
            assigned = match_region_codes(cells, regions, target)
        else:
            assigned = assign_cells(cells, regions)
        for cell, code in assigned.items():
            cells_by_region[code][target].add(cell)
    letter_regions = {}
    for region in regions:
        fields = {"region_code": region.code, "region_name": region.name}
        settings = RegionSettings(
            name=region.name,
            agency=spec.agency.format(**fields),
            recipient=spec.recipient.format(**fields),
            targets=spec.targets,
        )
        letter_regions[region.code] = LetterRegion(settings, cells_by_region[region.code])
    return letter_regions


def letter_regions(profile: Profile, settings: LetterSettings) -> dict[str, LetterRegion]:
    """Return the hand-written regions of ``settings`` and those of its outline file."""
    regions = {name: LetterRegion(region) for name, region in settings.regions.items()}
    if settings.region_outlines is not None:
        generated = outline_regions(profile, settings.region_outlines)
        clashing = sorted(set(generated) & set(regions))
        if clashing:
            raise ValueError(
                f"regions {clashing} are both written in the letter settings and in "
                f"{settings.region_outlines.outlines}; rename the written ones"
            )
        regions.update(generated)
    return regions
