"""Calendar, time profiles, near-repeat expectations and weather of the synthetic world.

Time runs in whole local hours from the Monday ``start_date`` 00:00; hour h falls on day
h // 24 and in week h // 168.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

HOURS_PER_WEEK = 168


@dataclass
class Calendar:
    """Days of the generated period with their weekday, season and holiday flags."""

    start: dt.date
    weeks: int
    dates: np.ndarray
    weekday: np.ndarray
    season: np.ndarray
    is_holiday: np.ndarray

    @property
    def days(self) -> int:
        return self.weeks * 7

    @property
    def hours(self) -> int:
        return self.days * 24


def build_calendar(start: dt.date, weeks: int, settings) -> Calendar:
    """Build the calendar; holidays are Kazakhstan's public holidays from `holidays`."""
    import holidays

    dates = np.datetime64(start, "D") + np.arange(weeks * 7)
    years = sorted({int(y) for y in dates.astype("datetime64[Y]").astype(int) + 1970})
    public = holidays.country_holidays("KZ", years=years)
    is_holiday = np.array([d in public for d in dates.astype(dt.date).tolist()])
    day_of_year = (dates - dates.astype("datetime64[Y]")).astype(int) + 1
    season = 1 + settings.seasonal_amplitude * np.cos(
        2 * np.pi * (day_of_year - settings.seasonal_peak_day) / 365.25
    )
    weekday = (np.arange(weeks * 7) + start.weekday()) % 7
    return Calendar(start, weeks, dates, weekday, season, is_holiday)


def day_weights(calendar: Calendar, weekday_factors, holiday_factor: float) -> np.ndarray:
    """Relative rate of each day: season x weekday factor x holiday factor, summing to one."""
    weights = (
        calendar.season
        * np.asarray(weekday_factors)[calendar.weekday]
        * np.where(calendar.is_holiday, holiday_factor, 1.0)
    )
    return weights / weights.sum()


def hour_probabilities(profile) -> np.ndarray:
    values = np.asarray(profile, dtype=float)
    return values / values.sum()


def background_by_hour(day_weight: np.ndarray, hour_probability: np.ndarray) -> np.ndarray:
    """Expected background events per hour for one expected event in the whole period."""
    return (day_weight[:, None] * hour_probability[None, :]).ravel()


def expected_with_offspring(
    background: np.ndarray, branching: float, lag_ratio: float
) -> np.ndarray:
    """Expected events per hour of a self-exciting process with geometric lags.

    Every event has Poisson(branching) offspring, each ``L`` hours later with
    P(L = j) = (1 - r) r^(j-1), j >= 1, r = ``lag_ratio``. The expectation then solves
    E_h = B_h + branching * S_h with S_h = r S_(h-1) + (1 - r) E_(h-1); offspring that fall
    after the period are not counted, as the generator drops them.
    """
    expected = np.empty_like(background)
    carried = 0.0
    previous = 0.0
    for h, value in enumerate(background.tolist()):
        carried = lag_ratio * carried + (1 - lag_ratio) * previous
        previous = value + branching * carried
        expected[h] = previous
    return expected


def weekly_sums(hourly: np.ndarray) -> np.ndarray:
    return hourly.reshape(-1, HOURS_PER_WEEK).sum(axis=1)


@dataclass
class Weather:
    """Daily weather per region (region x day arrays)."""

    temperature_c: np.ndarray
    precipitation_mm: np.ndarray
    is_rain: np.ndarray
    is_snow: np.ndarray
    is_ice: np.ndarray


def draw_weather(rng: np.random.Generator, calendar: Calendar, region_lat: np.ndarray) -> Weather:
    """Draw daily weather: a seasonal temperature by latitude with AR(1) anomalies.

    Precipitation falls on a quarter of days. It is snow below 0 C and rain otherwise, and
    ice is flagged on precipitation days between -4 C and +1 C.
    """
    day_of_year = (calendar.dates - calendar.dates.astype("datetime64[Y]")).astype(int) + 1
    mean = (
        9.0
        - 0.8 * (region_lat[:, None] - 43.0)
        - 17.0 * np.cos(2 * np.pi * (day_of_year[None, :] - 20) / 365.25)
    )
    anomaly = np.zeros_like(mean)
    shocks = rng.normal(0.0, 2.5, size=mean.shape)
    for day in range(1, mean.shape[1]):
        anomaly[:, day] = 0.8 * anomaly[:, day - 1] + shocks[:, day]
    temperature = np.round(mean + anomaly, 1)
    wet = rng.random(mean.shape) < 0.25
    precipitation = np.where(wet, np.round(rng.gamma(1.2, 3.0, size=mean.shape), 1), 0.0)
    wet = precipitation > 0
    return Weather(
        temperature_c=temperature,
        precipitation_mm=precipitation,
        is_rain=wet & (temperature >= 0),
        is_snow=wet & (temperature < 0),
        is_ice=wet & (temperature >= -4) & (temperature <= 1),
    )


def weather_multiplier(weather: Weather, effects: dict[str, float]) -> np.ndarray:
    """Road-accident rate multiplier exp(sum of effect x flag) per region and day."""
    exponent = (
        effects.get("rain", 0.0) * weather.is_rain
        + effects.get("snow", 0.0) * weather.is_snow
        + effects.get("ice", 0.0) * weather.is_ice
    )
    return np.exp(exponent)


def hour_text_table(calendar: Calendar) -> pa.StringArray:
    """'YYYY-MM-DD HH:' for every hour of the period and 200 days after, as an Arrow array.

    The extra days cover registration and update times that fall after the period.
    """
    hours = np.datetime64(calendar.start, "h") + np.arange(calendar.hours + 24 * 200)
    text = np.datetime_as_string(hours, unit="h")
    return pa.array([value.replace("T", " ") + ":" for value in text.tolist()], pa.string())


MINUTE_SECOND_TEXT = pa.array(
    [f"{second // 60:02d}:{second % 60:02d}" for second in range(3600)], pa.string()
)
