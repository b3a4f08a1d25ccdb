"""The source catalogue (conf/sources.yml), validated when loaded."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from jobs.schemas import TAXONOMY
from jobs.settings import ConfigError, Profile, load_profile, read_yaml


class Connection(BaseModel):
    """Location of a SQL source: an environment variable with a SQLAlchemy URL, or a default."""

    model_config = ConfigDict(extra="forbid")

    url_env: str | None = None
    airflow_conn_id: str | None = None
    default_url: str | None = None

    def resolve_url(self, profile: Profile) -> str:
        if self.url_env and os.environ.get(self.url_env):
            return os.environ[self.url_env]
        if self.airflow_conn_id:
            from airflow.sdk import BaseHook

            return BaseHook.get_connection(self.airflow_conn_id).get_uri()
        if self.default_url:
            return self.default_url.format(
                agency_db_dir=profile.agency_dbs, landing_dir=profile.landing
            )
        raise ConfigError(
            f"no connection URL: set {self.url_env or 'url_env'} or give default_url"
        )


class TimestampSpec(BaseModel):
    """How to build the event time: columns joined by spaces, parsed with a strptime format."""

    model_config = ConfigDict(extra="forbid")

    columns: list[str] = Field(min_length=1)
    format: str
    zone: Literal["utc", "local"]
    precision: Literal["minute", "hour", "day"]


class CoordinateSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: str
    y: str
    crs: str = "EPSG:4326"


class AreaSpec(BaseModel):
    """Bounding box in WGS84 degrees; points outside it are rejected as out_of_area."""

    model_config = ConfigDict(extra="forbid")

    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float


class CategorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str
    mapping: dict[str, str] = Field(min_length=1)

    @field_validator("mapping")
    @classmethod
    def _known_categories(cls, mapping: dict[str, str]) -> dict[str, str]:
        for raw, category in mapping.items():
            if category not in TAXONOMY:
                raise ValueError(
                    f"category {category!r} for {raw!r} is not in the taxonomy {TAXONOMY}"
                )
        return mapping


class RelativeDateSpec(BaseModel):
    """Dates written relative to the crawl ("Сегодня", "Вчера") or as "01 декабря 2025"."""

    model_config = ConfigDict(extra="forbid")

    column: str
    output: str
    # Crawl date of files whose name carries no YYYY-MM-DD date.
    crawl_date: date | None = None


class Source(BaseModel):
    """One agency database table or dump feed and how to standardise it.

    record_type ``incident`` sources become silver incident tables (time, place, category
    required); ``record`` sources, such as appeals or headlines, keep their columns as text.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["sql", "files"]
    description: str
    owner: str = "data-engineering"
    schedule: str = "@daily"
    record_type: Literal["incident", "record"] = "incident"
    connection: Connection | None = None
    table: str | None = None
    # files: sub-folder of the landing folder, glob pattern, format and text encoding.
    landing: str | None = None
    pattern: str = "*"
    format: Literal["csv", "geojson", "jsonl", "parquet", "shapefile", "text"] = "csv"
    encoding: Literal["auto", "utf-8", "cp1251"] = "auto"
    delimiter: str = ","
    required_columns: list[str] = Field(default_factory=list)
    relative_dates: RelativeDateSpec | None = None
    primary_key: str
    watermark: str | None = None
    city: str | None = None
    # Column that names each row's city; silver ``city`` falls back to ``city`` where the
    # column is empty. Sources of a whole country set it.
    city_column: str | None = None
    timezone: str = "UTC"
    timestamp: TimestampSpec | None = None
    local_hour_column: str | None = None
    coordinates: CoordinateSpec | None = None
    area: AreaSpec | None = None
    category: CategorySpec | None = None
    # Column -> treatment: pseudonymise (names, addresses), iin, phone, drop.
    personal_data: dict[str, Literal["pseudonymise", "iin", "phone", "drop"]] = Field(
        default_factory=dict
    )
    # Column -> pseudonym domain. Columns of one domain, even in different sources, get the
    # same pseudonym for the same value, so that they can be joined. A column without a
    # domain is its own domain.
    pseudonym_domains: dict[str, str] = Field(default_factory=dict)
    keep_columns: list[str] = Field(default_factory=list)
    # reject: a row whose content equals another key's row goes to rejects as
    # duplicate_content. keep: such rows are distinct events (calls from one block on one day).
    duplicate_content: Literal["reject", "keep"] = "keep"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        try:
            ZoneInfo(zone)
        except ZoneInfoNotFoundError as error:
            raise ValueError(f"unknown IANA time zone {zone!r}") from error
        return zone

    @property
    def silver_table(self) -> str:
        return self.name

    def pseudonym_domain(self, column: str) -> str:
        """Return the HMAC domain of a personal column: its pseudonym domain or its name."""
        return self.pseudonym_domains.get(column, column)


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: dict[str, Source]


def catalogue_path() -> Path:
    """Return the catalogue file: ``$BOLJAM_SOURCES``, else the active profile's sources_file."""
    if os.environ.get("BOLJAM_SOURCES"):
        return Path(os.environ["BOLJAM_SOURCES"])
    return load_profile().sources_path


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Load the source catalogue; a validation error names the source, the field and the problem.

    Without ``path`` the file is ``$BOLJAM_SOURCES``, else the active profile's
    ``sources_file`` (conf/sources.yml on the embedded default).
    """
    path = path or catalogue_path()
    raw = read_yaml(path)
    entries = raw.get("sources")
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{path}: 'sources' must be a non-empty mapping of name -> settings")
    sources = {}
    for name, body in entries.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: source {name!r} must be a mapping")
        try:
            sources[name] = Source.model_validate({"name": name, **body})
        except ValidationError as error:
            problems = "; ".join(
                f"field {'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
                for item in error.errors()
            )
            raise ConfigError(f"{path}: source {name!r} is invalid: {problems}") from error
        entry = sources[name]
        unprotected = sorted(set(entry.pseudonym_domains) - set(entry.personal_data))
        if unprotected:
            raise ConfigError(
                f"{path}: source {name!r}: pseudonym_domains names {unprotected}, which are not "
                "under personal_data; add them there or remove them"
            )
        if entry.kind == "sql" and (not entry.connection or not entry.table):
            raise ConfigError(
                f"{path}: source {name!r} is of kind sql: set 'connection' and 'table'"
            )
        if entry.kind == "files" and not entry.landing:
            raise ConfigError(
                f"{path}: source {name!r} is of kind files: set 'landing' to its sub-folder"
            )
        if entry.record_type == "incident":
            missing = [
                field
                for field in ("city", "timestamp", "coordinates", "area", "category")
                if getattr(entry, field) is None
            ]
            if missing:
                raise ConfigError(
                    f"{path}: source {name!r} is an incident source: set {', '.join(missing)}"
                    " (or set record_type: record)"
                )
    return Catalogue(sources=sources)


def get_source(name: str, catalogue: Catalogue | None = None) -> Source:
    catalogue = catalogue or load_catalogue()
    if name not in catalogue.sources:
        known = ", ".join(sorted(catalogue.sources))
        raise ConfigError(f"source {name!r} not found in the catalogue; known sources: {known}")
    return catalogue.sources[name]


__all__ = ["Catalogue", "Source", "get_source", "load_catalogue", "load_profile"]
