"""Parameters of the synthetic world, read from conf/synth.yaml and validated when loaded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from jobs.settings import CONF_DIR, ConfigError, read_yaml

DEFAULT_PATH = CONF_DIR / "synth.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _check_profile(values: list[float], length: int, name: str) -> list[float]:
    if len(values) != length or min(values) < 0 or sum(values) <= 0:
        raise ValueError(f"{name} needs {length} non-negative values with a positive sum")
    return values


def _check_hours(values: list[float]) -> list[float]:
    return _check_profile(values, 24, "hour_profile")


# Relative rate for each hour of the day 0..23, local time.
HourProfile = Annotated[list[float], AfterValidator(_check_hours)]


class PersonPoolSettings(Strict):
    per_incident: float
    min: int
    max: int


class GeographySettings(Strict):
    default_population: int
    populations: dict[str, int]
    people_per_hotspot: int
    max_hotspots: int
    hotspot_sigma_m: tuple[float, float]
    city_radius_m_per_sqrt_person: float


class CalendarSettings(Strict):
    weekday_factors: list[float]
    seasonal_amplitude: float = Field(ge=0, lt=1)
    seasonal_peak_day: int

    @field_validator("weekday_factors")
    @classmethod
    def _seven(cls, value: list[float]) -> list[float]:
        return _check_profile(value, 7, "weekday_factors")


class CrimeType(Strict):
    share: float = Field(gt=0)
    category: str
    article: str
    branching: float = Field(ge=0, lt=0.9)
    street: bool
    holiday_factor: float = Field(gt=0)


class CrimeSettings(Strict):
    near_repeat_mean_lag_hours: float = Field(gt=1)
    types: dict[str, CrimeType]
    hour_profile: HourProfile
    registration_delay_hours: tuple[int, int]


class CallSettings(Strict):
    call_probability_per_crime: float = Field(ge=0, le=1)
    hour_profile: HourProfile
    holiday_factor: float
    categories: dict[str, float]


class RoadSettings(Strict):
    urban_share: float = Field(ge=0, le=1)
    point_spacing_m: float = Field(gt=10)
    holiday_factor: float
    weather_effects: dict[str, float]
    hour_profile: HourProfile


class EmergingScheme(Strict):
    scheme: str
    start_week: int = Field(ge=0)
    regions: list[str]
    initial_share: float = Field(gt=0)
    weekly_growth: float = Field(gt=0)


class FraudSettings(Strict):
    hour_profile: HourProfile
    holiday_factor: float
    schemes: dict[str, float]
    median_loss_kzt: dict[str, float]
    bank_report_probability: float = Field(ge=0, le=1)
    operator_report_probability: float = Field(ge=0, le=1)
    emerging: EmergingScheme
    registration_gap_default: float = Field(ge=0, le=1)
    registration_gap: dict[str, float]

    @model_validator(mode="after")
    def _losses(self) -> FraudSettings:
        missing = set(self.schemes) | {self.emerging.scheme}
        missing -= set(self.median_loss_kzt)
        if missing:
            raise ValueError(f"median_loss_kzt has no value for schemes {sorted(missing)}")
        return self


class Article(Strict):
    title: str
    max_fine_mrp: int = Field(gt=0)
    share: float = Field(gt=0)


class AdminPlanted(Strict):
    penalty_above_maximum: float = Field(ge=0, lt=1)
    decision_after_limitation: float = Field(ge=0, lt=1)
    duplicate_penalty: float = Field(ge=0, lt=1)


class AdminSettings(Strict):
    limitation_days: int
    decision_delay_days: tuple[int, int]
    articles: dict[str, Article]
    mrp_kzt: dict[int, int]
    planted: AdminPlanted

    @model_validator(mode="after")
    def _delay_within_limit(self) -> AdminSettings:
        if self.decision_delay_days[1] >= self.limitation_days:
            raise ValueError("decision_delay_days must end before limitation_days")
        return self


class ProbationPlanted(Strict):
    missed_without_warning: float = Field(ge=0, le=1)
    checkin_after_sentence_end: float = Field(ge=0, le=1)


class ProbationSettings(Strict):
    checkin_interval_days: int = Field(gt=0)
    sentence_weeks: tuple[int, int]
    missed_checkin_probability: float = Field(ge=0, le=1)
    planted: ProbationPlanted


class PrecursorPlanted(Strict):
    volume_spikes_per_1000_holders: float = Field(ge=0)
    volume_spike_factor: tuple[float, float]
    movement_without_licence: float = Field(ge=0, lt=1)


class PrecursorSettings(Strict):
    substances: list[str]
    licences_per_movement: float = Field(gt=0)
    quantity_kg_median: float = Field(gt=0)
    planted: PrecursorPlanted


class SynthSettings(Strict):
    start_date: dt.date
    weeks: int = Field(gt=0)
    incident_shares: dict[str, float]
    calls_112_background_per_incident: float = Field(ge=0)
    admin_offences_per_incident: float = Field(ge=0)
    probation_persons_per_incident: float = Field(ge=0)
    precursor_movements_per_incident: float = Field(ge=0)
    batch_rows: int = Field(gt=0)
    person_pool: PersonPoolSettings
    geography: GeographySettings
    calendar: CalendarSettings
    crime: CrimeSettings
    calls_112: CallSettings
    road: RoadSettings
    fraud: FraudSettings
    admin_offences: AdminSettings
    probation: ProbationSettings
    precursor: PrecursorSettings

    @field_validator("start_date")
    @classmethod
    def _monday(cls, value: dt.date) -> dt.date:
        if value.weekday() != 0:
            raise ValueError(f"start_date must be a Monday, got {value} ({value:%A})")
        return value

    @field_validator("incident_shares")
    @classmethod
    def _shares(cls, value: dict[str, float]) -> dict[str, float]:
        if set(value) != {"crime", "fraud", "road"}:
            raise ValueError(f"incident_shares needs crime, fraud and road, got {sorted(value)}")
        return value


def load_synth_settings(path: Path | None = None) -> SynthSettings:
    """Load and validate the synthetic-world parameters (default conf/synth.yaml)."""
    path = path or DEFAULT_PATH
    try:
        return SynthSettings.model_validate(read_yaml(path))
    except ValueError as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{path}: invalid synthetic-world settings: {error}") from error
