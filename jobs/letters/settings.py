"""Letter settings from ``conf/letters.yml``, validated when loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobs.settings import CONF_DIR, ConfigError, read_yaml

LETTERS_CONF = CONF_DIR / "letters.yml"


class RegionSettings(BaseModel):
    """One region: the agency that receives its letter and the targets the letter covers."""

    model_config = ConfigDict(extra="forbid")

    # Name of the region in the letter, such as Houston.
    name: str = Field(min_length=1)
    agency: str = Field(min_length=1)
    recipient: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    targets: list[str] = Field(min_length=1)


class RegionOutlineLetters(BaseModel):
    """Letters generated for every region of an outline file, one per region.

    Each forecast cell belongs to the region whose outline contains the cell's centre, or
    to the nearest outline when none does, so a letter lists only its region's cells.
    """

    model_config = ConfigDict(extra="forbid")

    # GeoJSON or other file GeoPandas reads, in WGS84; relative to the profile's landing
    # folder, or absolute.
    outlines: str = Field(min_length=1)
    code_field: str = "region_code"
    name_field: str = "region_name"
    # Format strings with the fields {region_code} and {region_name}.
    agency: str = Field(min_length=1)
    recipient: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    targets: list[str] = Field(min_length=1)


class LetterSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["en", "ru", "kk"] = "en"
    top_cells: int = Field(default=10, ge=1)
    hotspots_shown: int = Field(default=10, ge=0)
    sender: str = Field(default="boljam-forecasting@localhost", pattern=r"^[^@\s]+@[^@\s]+$")
    smtp_conn_id: str | None = "boljam_smtp"
    regions: dict[str, RegionSettings] = Field(default_factory=dict)
    region_outlines: RegionOutlineLetters | None = None

    @model_validator(mode="after")
    def require_recipients(self) -> LetterSettings:
        if not self.regions and self.region_outlines is None:
            raise ValueError("set regions, region_outlines or both")
        return self


def load_letter_settings(path: Path = LETTERS_CONF) -> LetterSettings:
    """Load and validate the letter settings file."""
    try:
        return LetterSettings.model_validate(read_yaml(path))
    except ValueError as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{path}: invalid letter settings: {error}") from error
