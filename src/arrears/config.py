"""Settings: the only module that reads the environment.

Every setting can be given as an environment variable with the ``ARREARS_`` prefix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arrears.domain.compliance.packs import JURISDICTION_CODE

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
    lender_jurisdictions : str
        Where the lender (and the agencies it uses) is regulated, comma-separated
        (``ARREARS_LENDER_JURISDICTIONS``, e.g. ``CN`` or ``GB,IE``); empty by default. The
        packs of these jurisdictions apply to every borrower on top of the borrower's own
        (a contact must pass all of them), in the gate and in the daily plan alike.
    """

    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    database_url: str = "sqlite:///arrears.db"
    data_dir: Path = Field(default=REPO_ROOT.parent / "shared" / "data")
    rules_dir: Path = Field(default=REPO_ROOT / "rules")
    lender_jurisdictions: str = ""

    @field_validator("lender_jurisdictions")
    @classmethod
    def _codes(cls, value: str) -> str:
        codes = [c.strip() for c in value.split(",") if c.strip()]
        for code in codes:
            if not JURISDICTION_CODE.match(code):
                raise ValueError(
                    f"{code!r} is not a jurisdiction code (two capital letters, then optional "
                    "-PARTS: CN, GB, US-NY)"
                )
        return ",".join(codes)

    @property
    def lender_codes(self) -> tuple[str, ...]:
        """``lender_jurisdictions`` as a tuple of codes (empty when unset)."""
        return tuple(c for c in self.lender_jurisdictions.split(",") if c)

    @property
    def uci_path(self) -> Path:
        """Path of the UCI credit-card default file (dataset #350)."""
        return self.data_dir / "uci_taiwan_credit_default.csv"


class SettingsError(ValueError):
    """A setting read from the environment is invalid (the message names the variable)."""


def load_settings() -> Settings:
    """Read settings from the environment.

    Raises
    ------
    SettingsError
        If a variable holds an invalid value, e.g. ``ARREARS_LENDER_JURISDICTIONS=china``.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"ARREARS_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise SettingsError(problems) from None
