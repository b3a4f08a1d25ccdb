"""Land dump files from a landing sub-folder into bronze, each file exactly once.

The manifest is the bronze table's own commit history: every file lands in one commit
whose metadata carries its path and SHA-256. A file already landed with the same hash is
skipped; the same path with new content lands as a new batch. Because the manifest entry
and the rows share one commit, a crash can neither skip a file nor land it twice.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from jobs import delta_io
from jobs.ingest.bronze import BronzeResult, new_batch_id
from jobs.schemas import LOAD_METADATA
from jobs.settings import Profile
from jobs.sources import Source

logger = logging.getLogger(__name__)


class FileFormatError(ValueError):
    """A landed file cannot be read in its declared format."""


@dataclass
class DecodedText:
    text: str
    # Line numbers (1-based) that were not UTF-8 and were decoded as Windows-1251.
    cp1251_lines: set[int]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_bytes(path: Path) -> bytes:
    """Return the file's bytes, gunzipped when it ends in .gz."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            return gzip.decompress(data)
        except (EOFError, OSError, gzip.BadGzipFile) as error:
            raise FileFormatError(f"file {path} is truncated or not gzip: {error}") from error
    return data


def decode(data: bytes, encoding: str) -> DecodedText:
    """Decode UTF-8 (with or without BOM) or Windows-1251 text.

    With ``auto``, each line that is not valid UTF-8 is decoded as Windows-1251, so a file
    that mixes both keeps every Kazakh and Russian letter. Those lines are reported.
    """
    if encoding == "cp1251":
        return DecodedText(data.decode("cp1251"), set())
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return DecodedText(data.decode("utf-8"), set())
    except UnicodeDecodeError:
        if encoding == "utf-8":
            raise
    lines, fallback = [], set()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1251"))
            fallback.add(number)
    return DecodedText("\n".join(lines), fallback)


def _strings(frame):
    import pandas as pd

    frame = frame.astype(object).where(pd.notna(frame), None)
    return frame.map(lambda value: None if value is None else str(value))


def read_records(path: Path, source: Source):
    """Read one landed file into a pandas frame of text columns plus ``_record_number``."""
    import pandas as pd

    if source.format == "parquet":
        frame = _strings(pd.read_parquet(path))
    elif source.format in ("shapefile", "geojson"):
        frame = _read_outlines(path)
    else:
        decoded = decode(read_bytes(path), source.encoding)
        if source.format == "text":
            frame = pd.DataFrame({"file_name": [path.name], "text": [decoded.text]})
        elif source.format == "jsonl":
            rows = []
            for number, line in enumerate(decoded.text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as error:
                    raise FileFormatError(
                        f"file {path} line {number}: invalid JSON: {error}"
                    ) from error
            frame = _strings(pd.DataFrame(rows))
        else:
            frame = _read_csv(decoded, path, source)
        if decoded.cp1251_lines:
            logger.warning(
                "file %s: %s lines were not UTF-8 and were read as Windows-1251",
                path, len(decoded.cp1251_lines),
            )
    missing = [column for column in source.required_columns if column not in frame.columns]
    if missing:
        raise FileFormatError(
            f"file {path} lacks columns {missing}; found {list(frame.columns)[:10]}. "
            f"Check the delimiter ({source.delimiter!r}) and the header line"
        )
    frame.insert(0, "_record_number", [str(i) for i in range(1, len(frame) + 1)])
    return frame


def _read_csv(decoded: DecodedText, path: Path, source: Source):
    import csv

    import pandas as pd

    if not decoded.text.strip():
        return pd.DataFrame({column: [] for column in source.required_columns}, dtype=object)
    reader = csv.reader(io.StringIO(decoded.text), delimiter=source.delimiter)
    try:
        header = next(reader)
    except csv.Error as error:
        raise FileFormatError(f"file {path}: invalid CSV header: {error}") from error
    header = [name.strip() for name in header]
    records, flags = [], []
    first_line = reader.line_num + 1
    for row in reader:
        # A quoted field may hold line breaks, so a record spans lines first_line..line_num.
        lines = set(range(first_line, reader.line_num + 1))
        first_line = reader.line_num + 1
        if not row:
            continue
        row_flags = []
        if len(row) != len(header):
            row_flags.append(f"field_count:{len(row)}_of_{len(header)}")
            row = (row + [None] * len(header))[: len(header)]
        if lines & decoded.cp1251_lines:
            row_flags.append("cp1251_line")
        records.append(row)
        flags.append(";".join(row_flags))
    frame = pd.DataFrame(records, columns=header, dtype=object)
    frame["_parse_flag"] = flags
    return frame


def _read_outlines(path: Path):
    """Read a shapefile (zipped or not) or GeoJSON into text columns and WGS84 geometry.

    The geometry becomes ``geometry_wkt`` in WGS84 lon/lat, with its geodesic area on the
    WGS84 ellipsoid (``geometry_area_km2``) and the centroid of the lon/lat shape
    (``geometry_centroid_lat``, ``geometry_centroid_lon``). An invalid outline, such as a
    ring that touches itself, is repaired with ``GeoSeries.make_valid`` and flagged in
    ``geometry_repaired``.
    """
    import pyogrio
    import pyproj
    import shapely

    target = f"zip://{path}" if path.suffix == ".zip" else str(path)
    frame = pyogrio.read_dataframe(target)
    if frame.crs is None:
        raise FileFormatError(
            f"file {path} declares no CRS (missing .prj); add it so that the outlines "
            "can be reprojected to WGS84"
        )
    frame = frame.to_crs(4326)
    invalid = ~shapely.is_valid(frame.geometry.to_numpy())
    if invalid.any():
        logger.warning("file %s: repaired %s invalid outlines", path, int(invalid.sum()))
    frame["geometry"] = frame.geometry.make_valid()
    frame["geometry_repaired"] = invalid
    geodesic = pyproj.Geod(ellps="WGS84")
    areas = [
        None if shape is None else abs(geodesic.geometry_area_perimeter(shape)[0]) / 1e6
        for shape in frame.geometry
    ]
    # shapely, because geopandas warns about centroids in a geographic CRS.
    centroids = shapely.centroid(frame.geometry.to_numpy())
    # 9 decimals of a degree are about 0.1 mm. The default of 6 moves borders by up to 10 cm.
    frame["geometry_wkt"] = frame.geometry.to_wkt(rounding_precision=9)
    frame["geometry_area_km2"] = [None if area is None else f"{area:.6f}" for area in areas]
    frame["geometry_centroid_lat"] = shapely.get_y(centroids).round(6)
    frame["geometry_centroid_lon"] = shapely.get_x(centroids).round(6)
    return _strings(frame.drop(columns="geometry"))


def landed_files(bronze_path) -> dict[str, str]:
    """Return path -> SHA-256 of every file in the bronze table's commit history."""
    from deltalake import DeltaTable

    if not delta_io.table_exists(bronze_path):
        return {}
    files = {}
    for commit in reversed(DeltaTable(str(bronze_path)).history()):
        raw = commit.get(delta_io.STATE_KEY)
        if raw:
            state = json.loads(raw)
            if "file" in state:
                files[state["file"]] = state["sha256"]
    return files


def land_file_source(
    source: Source, profile: Profile, now: datetime | None = None
) -> list[BronzeResult]:
    """Land every new or changed file of ``source``; return one result per landed file."""
    from deltalake import write_deltalake

    folder = profile.landing / source.landing
    bronze_path = profile.table_path("bronze", source.name)
    known = landed_files(bronze_path)
    results = []
    for path in sorted(folder.glob(source.pattern)):
        if not path.is_file():
            continue
        relative = str(path.relative_to(profile.landing))
        sha = file_sha256(path)
        if known.get(relative) == sha:
            logger.info("source %s: file %s already landed, skipped", source.name, relative)
            continue
        frame = read_records(path, source)
        moment = now or datetime.now(UTC)
        batch_id = new_batch_id(source.name, moment)
        table = _bronze_table(frame, source, batch_id, moment, relative)
        state = {"batch_id": batch_id, "file": relative, "sha256": sha, "rows": len(frame)}
        if relative in known:
            state["replaces_sha256"] = known[relative]
        bronze_path.mkdir(parents=True, exist_ok=True)
        write_deltalake(
            str(bronze_path), table, mode="append", schema_mode="merge",
            commit_properties=delta_io.commit_properties(state),
        )
        version = delta_io.table_version(bronze_path)
        if len(frame) == 0:
            logger.warning("source %s: file %s has no records", source.name, relative)
        logger.info(
            "source %s: landed %s records of %s in bronze batch %s (version %s)",
            source.name, len(frame), relative, batch_id, version,
        )
        known[relative] = sha
        results.append(BronzeResult(source.name, batch_id, len(frame), version, None))
    return results


def _bronze_table(frame, source: Source, batch_id: str, moment: datetime, relative: str):
    import pyarrow as pa

    from jobs.ingest.bronze import row_hashes

    columns = [c for c in frame.columns if c != "_record_number"] + ["_record_number"]
    data = pa.Table.from_pandas(frame[columns], preserve_index=False)
    data = data.cast(pa.schema([pa.field(name, pa.string()) for name in columns]))
    size = data.num_rows
    hashed = row_hashes(data, exclude=(source.primary_key, "_record_number", "_parse_flag"))
    metadata = {
        "_batch_id": pa.array([batch_id] * size, pa.string()),
        "_loaded_at": pa.array([moment] * size, pa.timestamp("us", tz="UTC")),
        "_source": pa.array([source.name] * size, pa.string()),
        "_source_object": pa.array([relative] * size, pa.string()),
        "_row_hash": hashed,
    }
    for field in LOAD_METADATA:
        data = data.append_column(field.with_nullable(True), metadata[field.name])
    return data
