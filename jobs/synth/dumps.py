"""Dump files of the synthetic world: daily weather, road lines and the 2022 gazetteer."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from jobs.synth import geography, regions
from jobs.synth import world as w
from jobs.synth.sqlite_out import FAKE_NOTICE


def _csv(path: Path, header: list[str], rows, world: w.World) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(f"# {FAKE_NOTICE}; seed={world.seed} incidents={world.incidents}\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_dumps(world: w.World, out: Path) -> dict[str, int]:
    """Write the weather, road, gazetteer and region outline dumps under ``out/dumps``."""
    dumps = out / "dumps"
    weather = world.weather
    dates = [str(d) for d in world.calendar.dates]
    counts = {}
    counts["weather_daily.csv"] = _csv(
        dumps / "weather_daily.csv",
        [
            "region_code",
            "date",
            "temperature_c",
            "precipitation_mm",
            "is_rain",
            "is_snow",
            "is_ice",
        ],
        (
            (
                code,
                dates[d],
                f"{weather.temperature_c[r, d]:.1f}",
                f"{weather.precipitation_mm[r, d]:.1f}",
                int(weather.is_rain[r, d]),
                int(weather.is_snow[r, d]),
                int(weather.is_ice[r, d]),
            )
            for r, code in enumerate(world.region_codes)
            for d in range(len(dates))
        ),
        world,
    )
    roads = world.roads
    features = [
        {
            "type": "Feature",
            "properties": {"road_id": i + 1, "road_name": name, "road_kind": kind},
            "geometry": {
                "type": "LineString",
                "coordinates": [[round(lon, 6), round(lat, 6)] for lat, lon in line],
            },
        }
        for i, (name, kind, line) in enumerate(
            zip(roads.road_names, roads.road_kind, roads.road_lines, strict=True)
        )
    ]
    collection = {
        "type": "FeatureCollection",
        "metadata": {"fake": True, "notice": FAKE_NOTICE, "seed": world.seed},
        "features": features,
    }
    (dumps / "roads.geojson").write_text(
        json.dumps(collection, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
    )
    counts["roads.geojson"] = len(features)
    names = {code: name for code, name, _ in geography.REGIONS_2022}
    places = world.places
    counts["gazetteer.csv"] = _csv(
        dumps / "gazetteer.csv",
        [
            "place_name",
            "region_code",
            "region_name",
            "latitude",
            "longitude",
            "population",
            "timezone",
        ],
        (
            (
                places.name[i],
                places.region[i],
                names[places.region[i]],
                f"{places.lat[i]:.6f}",
                f"{places.lon[i]:.6f}",
                int(places.population[i]),
                geography.REGION_TIMEZONES.get(places.region[i], "Asia/Almaty"),
            )
            for i in range(len(places.name))
        ),
        world,
    )
    counts.update(regions.write_region_outlines(places, dumps / "regions", world.seed))
    return counts
