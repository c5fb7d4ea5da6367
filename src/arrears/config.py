"""Settings: the only module that reads the environment.

Every setting can be given as an environment variable with the ``ARREARS_`` prefix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# src/arrears/config.py -> repository root (for an editable install or a source checkout)
REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """arrears settings.

    Attributes
    ----------
    database_url : str
        SQLAlchemy URL of the ledger (``ARREARS_DATABASE_URL``). Default: a SQLite file
        ``arrears.db`` in the working directory. PostgreSQL:
        ``postgresql+psycopg://user@host:5432/db``.
    data_dir : Path
        Folder holding the bundled real data (``ARREARS_DATA_DIR``); default ``../shared/data``
        beside the checkout.
    rules_dir : Path
        Folder of rule packs (``ARREARS_RULES_DIR``); default ``rules/`` in the checkout.
    """

    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    database_url: str = "sqlite:///arrears.db"
    data_dir: Path = Field(default=REPO_ROOT.parent / "shared" / "data")
    rules_dir: Path = Field(default=REPO_ROOT / "rules")

    @property
    def uci_path(self) -> Path:
        """Path of the UCI credit-card default file (dataset #350)."""
        return self.data_dir / "uci_taiwan_credit_default.csv"


def load_settings() -> Settings:
    """Read settings from the environment."""
    return Settings()
