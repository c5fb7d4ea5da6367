"""Run the Alembic migrations of the ledger from code.

The Alembic environment lives in ``migrations/`` at the repository root. The configuration is
built here with an absolute ``script_location``, so the functions work from any working
directory; ``alembic.ini`` at the repository root serves the ``alembic`` command line only.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from arrears.adapters.db.engine import create_engine

#: ``src/arrears/adapters/db/migrate.py`` -> repository root -> ``migrations``.
MIGRATIONS_DIR = Path(__file__).resolve().parents[4] / "migrations"


def alembic_config(url: str | URL) -> Config:
    """Return an Alembic configuration for the ledger at ``url``.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL
        Database URL; passed to ``env.py`` through ``Config.attributes["url"]`` (not through
        the ini option, so ``%`` in the URL needs no escaping).

    Returns
    -------
    alembic.config.Config

    Raises
    ------
    FileNotFoundError
        If the ``migrations`` directory is not next to ``src`` (an installed wheel does not
        ship it).
    """
    if not (MIGRATIONS_DIR / "env.py").is_file():
        raise FileNotFoundError(
            f"Alembic migrations not found at {MIGRATIONS_DIR}: run from a source checkout"
        )
    parsed = make_url(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", parsed.render_as_string(hide_password=False).replace("%", "%%")
    )
    config.attributes["url"] = parsed
    return config


def upgrade_to_head(url: str | URL) -> None:
    """Create or upgrade the ledger schema at ``url`` to the newest revision.

    Idempotent: a database already at head is left unchanged. Runs in its own transaction.

    Raises
    ------
    sqlalchemy.exc.OperationalError
        If the database cannot be reached.
    """
    command.upgrade(alembic_config(url), "head")


def downgrade_to_base(url: str | URL) -> None:
    """Undo every migration at ``url``: drops all ledger tables and their data."""
    command.downgrade(alembic_config(url), "base")


def current_revision(url: str | URL) -> str | None:
    """Return the revision the database at ``url`` is at, or None for an empty database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
