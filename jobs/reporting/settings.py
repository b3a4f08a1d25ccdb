"""Report settings from ``conf/reports.yml``, validated when loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from jobs.settings import CONF_DIR, ConfigError, read_yaml

REPORTS_CONF = CONF_DIR / "reports.yml"


class DistrictLayer(BaseModel):
    """A file of area outlines drawn under the hexagons where it overlaps the map."""

    model_config = ConfigDict(extra="forbid")

    # Path relative to the profile's folder named by `folder`, or absolute. Zipped
    # shapefiles and GeoJSON files work.
    path: str
    # real_data: the profile's real data folder. landing: its landing folder, where the kz
    # profile's synth dumps are.
    folder: Literal["real_data", "landing"] = "real_data"
    # Kind of outline, which sets its hover title and legend entry.
    kind: Literal["district", "region"] = "district"
    # Attribute shown as the name of each outline.
    name_field: str
    # CRS of the file when its .prj is missing, such as EPSG:2913.
    crs: str | None = None


class TargetReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Model whose forecast rows the map shows when a run contains several models.
    model: str | None = None


class ReportSettings(BaseModel):
    """Content and language of the forecast report."""

    model_config = ConfigDict(extra="forbid")

    language: Literal["en", "ru", "kk"] = "en"
    pdf: bool = True
    top_cells: int = Field(default=20, ge=1)
    interval_level: float = Field(default=0.8, gt=0, lt=1)
    contributions_shown: int = Field(default=3, ge=0)
    metrics: list[str] = Field(default_factory=list)
    # Metrics of the per-fold table. When none of them is in the backtests, all are shown.
    fold_metrics: list[str] = Field(default_factory=list)
    trend_metrics: list[str] = Field(default_factory=list)
    district_layers: list[DistrictLayer] = Field(default_factory=list)
    targets: dict[str, TargetReportSettings] = Field(default_factory=dict)

    def order_metrics(self, names: list[str]) -> list[str]:
        """Return the configured metrics found in ``names``, in configured order.

        The backtests hold more metrics than fit as columns on an A4 page, so only
        the configured ones are shown. When none of them is found, every name is returned,
        sorted.
        """
        configured = [metric for metric in self.metrics if metric in names]
        return configured or sorted(set(names))

    def model_for(self, target: str) -> str | None:
        settings = self.targets.get(target)
        return settings.model if settings else None


def load_report_settings(path: Path = REPORTS_CONF) -> ReportSettings:
    """Load and validate the report settings file."""
    try:
        return ReportSettings.model_validate(read_yaml(path))
    except ValueError as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{path}: invalid report settings: {error}") from error
