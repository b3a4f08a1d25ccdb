"""Profile settings: lake paths, Spark, MLflow and dbt options, validated when loaded.

The profile is chosen by ``BOLJAM_PROFILE`` (default ``embedded``) and read from
``conf/profiles/<name>.yaml``. Relative paths resolve against the project root, and
``${VAR}`` placeholders take their value from the environment.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = PROJECT_ROOT / "conf"

_PLACEHOLDER = re.compile(r"\$\{([A-Z0-9_]+)\}")


class ConfigError(ValueError):
    """A configuration file is missing, malformed or fails validation."""


class SparkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    master: str = "local[2]"
    conf: dict[str, str] = Field(default_factory=dict)


class MlflowSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_uri: str
    artifact_root: str


class DbtSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = "duckdb"
    duckdb_path: str = "var/marts/boljam.duckdb"
    # Project variables passed with --vars, and the node selection (--select) of build, run
    # and test commands that select nothing themselves. Empty: dbt's defaults.
    vars: dict[str, str | int | float | bool] = Field(default_factory=dict)
    select: list[str] = Field(default_factory=list)


class SynthSettings(BaseModel):
    """The synthetic country that ``boljam demo`` generates in place of seeding real data."""

    model_config = ConfigDict(extra="forbid")

    seed: int
    incidents: int = Field(ge=1000)
    # Folder that receives agencies/, dumps/ and truth/; agency_db_dir should be its agencies/.
    out_dir: str
    # Another parameter file for `boljam synth --config`; None uses conf/synth.yaml.
    config: str | None = None
    # Forecast target -> truth file (relative to out_dir) whose intensities rank the same
    # cells; the demo compares these targets with the oracle after the forecasts.
    oracle_targets: dict[str, str] = Field(default_factory=dict)


class Profile(BaseModel):
    """One deployment profile: where the lake lives and how the engines are reached."""

    model_config = ConfigDict(extra="forbid")

    name: str
    lake_dir: str
    agency_db_dir: str
    landing_dir: str
    var_dir: str
    real_data_dir: str
    # Source catalogue and forecast targets of this profile; BOLJAM_SOURCES overrides the first.
    sources_file: str = "conf/sources.yml"
    forecasts_file: str = "conf/forecasts.yml"
    # Recipients of the letters to agencies, with the targets each letter lists.
    letters_file: str = "conf/letters.yml"
    # When set, the demo generates this synthetic country instead of seeding the real data.
    synth: SynthSettings | None = None
    # Forecast targets that `boljam demo` runs; None keeps the demo's own default.
    demo_targets: list[str] | None = None
    spark: SparkSettings = Field(default_factory=SparkSettings)
    mlflow: MlflowSettings
    dbt: DbtSettings = Field(default_factory=DbtSettings)

    def path(self, value: str) -> Path:
        """Resolve a profile path against the project root."""
        candidate = Path(value)
        return candidate if candidate.is_absolute() else PROJECT_ROOT / candidate

    @property
    def lake(self) -> Path:
        return self.path(self.lake_dir)

    @property
    def var(self) -> Path:
        return self.path(self.var_dir)

    @property
    def agency_dbs(self) -> Path:
        return self.path(self.agency_db_dir)

    @property
    def landing(self) -> Path:
        return self.path(self.landing_dir)

    @property
    def sources_path(self) -> Path:
        return self.path(self.sources_file)

    @property
    def forecasts_path(self) -> Path:
        return self.path(self.forecasts_file)

    @property
    def letters_path(self) -> Path:
        return self.path(self.letters_file)

    @property
    def real_data(self) -> Path:
        override = os.environ.get("BOLJAM_REAL_DATA")
        return Path(override) if override else self.path(self.real_data_dir)

    def table_path(self, layer: str, name: str) -> Path:
        """Return the folder of the Delta table ``name`` in ``layer`` (bronze, silver, gold)."""
        return self.lake / layer / name

    @property
    def mlflow_tracking_uri(self) -> str:
        uri = self.mlflow.tracking_uri
        prefix = "sqlite:///"
        if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
            return prefix + str(self.path(uri[len(prefix) :]))
        return uri

    @property
    def mlflow_artifact_root(self) -> str:
        root = self.mlflow.artifact_root
        if "://" in root:
            return root
        return self.path(root).as_uri()


def expand_placeholders(text: str, source: Path) -> str:
    """Replace ``${VAR}`` with the environment value, raising when a variable is unset."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"{source}: environment variable {name} is not set; export it")
        return os.environ[name]

    return _PLACEHOLDER.sub(replace, text)


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping with ``${VAR}`` placeholders expanded."""
    if not path.exists():
        raise ConfigError(f"configuration file not found: {path}")
    data = yaml.safe_load(expand_placeholders(path.read_text(encoding="utf-8"), path))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_profile(name: str | None = None) -> Profile:
    """Load and validate the active profile.

    ``$BOLJAM_PROFILE_FILE`` names a profile file directly, which tests use to point at a
    temporary lake. Otherwise the file is ``conf/profiles/<name>.yaml``, with ``name``
    defaulting to ``$BOLJAM_PROFILE`` and then to ``embedded``.
    """
    if name is None and os.environ.get("BOLJAM_PROFILE_FILE"):
        return _load_profile_file(Path(os.environ["BOLJAM_PROFILE_FILE"]))
    name = name or os.environ.get("BOLJAM_PROFILE", "embedded")
    return _load_profile_file(CONF_DIR / "profiles" / f"{name}.yaml")


@lru_cache(maxsize=8)
def _load_profile_file(path: Path) -> Profile:
    try:
        return Profile.model_validate(read_yaml(path))
    except ValueError as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{path}: invalid profile: {error}") from error
