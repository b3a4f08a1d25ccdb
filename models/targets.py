"""Forecast targets from ``conf/forecasts.yml``, validated when loaded.

Each entry under ``targets`` is merged over ``defaults`` (nested mappings merge key by
key) and validated into a :class:`TargetConfig`. Errors name the target and the field.

A target counts incidents per spatial unit and period. The unit is an H3 cell
(``unit: h3`` with ``h3_resolution``) or a region (``unit: region`` with ``region_column``,
a column of the source table). The period is a day, a Monday-Sunday week or a calendar
month. The backtest window sizes ``evaluation_periods``, ``min_history_periods`` and
``tuning_periods`` count periods. The older names ``evaluation_weeks``,
``min_history_weeks`` and ``tuning_weeks`` are accepted for weekly targets only.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from jobs.settings import CONF_DIR, ConfigError, read_yaml
from models.features import FeatureSettings

FORECASTS_FILE = CONF_DIR / "forecasts.yml"

# Offence values in silver tables are lower snake case, for example ``auto_theft``. The job
# checks that each configured offence occurs in the source table.
OFFENSE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
# A region column is a plain column name of the silver table, for example region_code.
COLUMN_PATTERN = re.compile(r"^[a-z_][a-z0-9_]*$")
PERIODS = ("day", "week", "month")
# Window sizes that count periods, with the names that count weeks (weekly targets only).
PERIOD_COUNT_FIELDS = {
    "evaluation_periods": "evaluation_weeks",
    "min_history_periods": "min_history_weeks",
    "tuning_periods": "tuning_weeks",
}


class LightGBMSettings(BaseModel):
    """LightGBM training parameters, with the Poisson or the Tweedie objective."""

    model_config = ConfigDict(extra="forbid")

    objective: Literal["poisson", "tweedie"] = "poisson"
    # Used by the Tweedie objective only: 1 is Poisson, 2 is Gamma.
    tweedie_variance_power: float = Field(1.5, gt=1, lt=2)
    num_boost_round: int = Field(200, ge=1, le=10_000)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2)
    min_data_in_leaf: int = Field(20, ge=1)
    feature_fraction: float = Field(0.9, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    bagging_freq: int = Field(1, ge=0)

    def to_params(self, seed: int) -> dict:
        """Return the LightGBM parameter dict, single-threaded and deterministic for ``seed``."""
        excluded = {"num_boost_round"}
        if self.objective != "tweedie":
            excluded.add("tweedie_variance_power")
        params = self.model_dump(exclude=excluded)
        params.update(
            seed=seed,
            deterministic=True,
            force_row_wise=True,
            num_threads=1,
            verbosity=-1,
        )
        return params


class TargetConfig(BaseModel):
    """One forecast target: which incidents to count, on which grid and period."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    source_table: str = Field(min_length=1)
    source_layer: Literal["silver"] = "silver"
    timezone: str
    offenses: Literal["all"] | list[str]
    unit: Literal["h3", "region"] = "h3"
    # Silver tables carry the cells of resolutions 7, 8 and 9 (columns h3_r7, h3_r8, h3_r9).
    # Resolution 6 cells are the parents of the h3_r7 cells. Set only when unit is h3.
    h3_resolution: Literal[6, 7, 8, 9] | None = None
    # Source column with the region code of each incident. Set only when unit is region.
    region_column: str | None = None
    period: Literal["day", "week", "month"]
    horizon: Literal[1]
    evaluation_periods: int = Field(
        ge=1, le=400, validation_alias=AliasChoices("evaluation_periods", "evaluation_weeks")
    )
    min_history_periods: int = Field(
        ge=1, le=400, validation_alias=AliasChoices("min_history_periods", "min_history_weeks")
    )
    # The study area is every unit (cell or region) with at least one incident of the target.
    study_area: Literal["cells_with_incidents"]
    hotspot_fractions: list[float] = Field(min_length=1)
    # The champion rule compares PEI* at this fraction; the backtest always computes it.
    champion_fraction: float = Field(0.01, gt=0, le=1)
    # Periods just before the evaluation window that tune the KDE bandwidth and calibrate the
    # prediction intervals (fewer when the table is short).
    tuning_periods: int = Field(
        4, ge=0, le=400, validation_alias=AliasChoices("tuning_periods", "tuning_weeks")
    )
    # Periods each fold's model, and the final model, trains on: the last N before the period
    # it forecasts. None trains on every period from min_history_periods on.
    training_window_periods: int | None = Field(None, ge=1, le=10000)
    # Share of the zero-count training rows each model keeps, weighted up by its inverse. 1
    # keeps every row. Sparse daily targets are mostly zeros, which dominate training time.
    training_zero_fraction: float = Field(1.0, gt=0, le=1)
    # Model of the study area's total per period beside the unit model.
    aggregate_model: Literal["prophet", "none"] = "prophet"
    interval_level: float = Field(gt=0, lt=1)
    seed: int
    # ISO 3166 country code, and optional subdivision code, of the public holiday calendar
    # (the ``holidays`` package). Without a country the model has no holiday feature.
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    subdivision: str | None = None
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    lightgbm: LightGBMSettings = Field(default_factory=LightGBMSettings)

    @model_validator(mode="before")
    @classmethod
    def _check_period_count_names(cls, data):
        """Reject week-named window sizes on daily and monthly targets, and double names."""
        if not isinstance(data, dict):
            return data
        for field, week_name in PERIOD_COUNT_FIELDS.items():
            if week_name not in data:
                continue
            if field in data:
                raise ValueError(f"set {field} or {week_name}, not both")
            if data.get("period") != "week":
                raise ValueError(
                    f"{week_name} counts weeks but the period is {data.get('period')!r}, so "
                    f"use {field}"
                )
        return data

    @model_validator(mode="after")
    def _check_unit(self):
        """Require h3_resolution for H3 targets and region_column for region targets."""
        if self.unit == "h3":
            if self.h3_resolution is None:
                raise ValueError("unit h3 needs h3_resolution (6, 7, 8 or 9)")
            if self.region_column is not None:
                raise ValueError(
                    "region_column is set but unit is h3: set unit: region or remove it"
                )
        else:
            if self.region_column is None:
                raise ValueError("unit region needs region_column, for example region_code")
            if not COLUMN_PATTERN.match(self.region_column):
                raise ValueError(
                    f"region_column must be a lower snake case column name, got "
                    f"{self.region_column!r}"
                )
            if self.h3_resolution is not None:
                raise ValueError("h3_resolution is set but unit is region: remove h3_resolution")
        return self

    @field_validator("offenses")
    @classmethod
    def _check_offenses(cls, value):
        if value == "all":
            return value
        if not value:
            raise ValueError("must be 'all' or a non-empty list of offences")
        invalid = [offense for offense in value if not OFFENSE_PATTERN.match(offense)]
        if invalid:
            raise ValueError(f"offences must be lower snake case like auto_theft, got {invalid}")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value):
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value

    @model_validator(mode="after")
    def _check_holiday_calendar(self):
        if self.subdivision is not None and self.country is None:
            raise ValueError("subdivision needs a country")
        if self.country is not None:
            import holidays

            try:
                holidays.country_holidays(self.country, subdiv=self.subdivision)
            except NotImplementedError as error:
                raise ValueError(
                    f"the holidays package has no calendar for country {self.country!r} "
                    f"and subdivision {self.subdivision!r}: {error}"
                ) from error
        return self

    @field_validator("hotspot_fractions")
    @classmethod
    def _check_fractions(cls, value):
        bad = [fraction for fraction in value if not 0 < fraction <= 1]
        if bad:
            raise ValueError(f"fractions must be in (0, 1], got {bad}")
        return value


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def targets_path() -> Path:
    """Return the active profile's forecast target file (conf/forecasts.yml by default)."""
    from jobs.settings import load_profile

    return load_profile().forecasts_path


def load_targets(path: Path | None = None) -> dict[str, TargetConfig]:
    """Load every target of ``path``, raising ConfigError that names the target and field.

    Without ``path`` the file is the active profile's ``forecasts_file``.
    """
    path = path or targets_path()
    data = read_yaml(path)
    defaults = data.get("defaults") or {}
    targets = data.get("targets")
    if not isinstance(targets, dict) or not targets:
        raise ConfigError(f"{path}: expected a non-empty mapping under 'targets'")
    loaded = {}
    for name, entry in targets.items():
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: target {name}: expected a mapping")
        try:
            loaded[name] = TargetConfig.model_validate(_merge(defaults, entry) | {"name": name})
        except ValidationError as error:
            problems = "; ".join(
                f"field {'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
                for item in error.errors()
            )
            raise ConfigError(f"{path}: target {name}: {problems}") from error
    return loaded


def get_target(name: str, path: Path | None = None) -> TargetConfig:
    """Return the target ``name`` of ``path``, raising ConfigError when it is not defined."""
    path = path or targets_path()
    targets = load_targets(path)
    if name not in targets:
        raise ConfigError(f"{path}: target {name!r} not found; defined: {sorted(targets)}")
    return targets[name]
