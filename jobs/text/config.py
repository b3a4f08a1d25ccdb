"""Settings of the text jobs, read from ``conf/text.yaml``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jobs.settings import CONF_DIR, ConfigError, read_yaml

TEXT_CONF = CONF_DIR / "text.yaml"

REQUIRED_KEYS = ("inputs", "appeals", "cross_validation", "emerging", "regions", "cities")


@lru_cache(maxsize=4)
def load_text_settings(path: Path = TEXT_CONF) -> dict:
    """Read ``conf/text.yaml`` and check that its top-level sections are present."""
    settings = read_yaml(path)
    missing = [key for key in REQUIRED_KEYS if key not in settings]
    if missing:
        raise ConfigError(f"{path}: missing sections {missing}; see the comments in that file")
    for city in settings["cities"]:
        if city["region"] not in settings["regions"]:
            raise ConfigError(f"{path}: city {city['name']} has unknown region {city['region']}")
    return settings
