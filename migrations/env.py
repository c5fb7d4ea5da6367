"""Alembic environment of the arrears ledger.

The URL comes, in order, from ``config.attributes["url"]`` (set by
:func:`arrears.adapters.db.migrate.alembic_config`), from ``-x url=...`` on the command line, or
from ``sqlalchemy.url`` in ``alembic.ini``. SQLite runs in batch mode (``render_as_batch``),
which is why every constraint is named (see ``arrears.adapters.db.tables``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import make_url

from arrears.adapters.db.engine import create_engine
from arrears.adapters.db.tables import metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    url = config.attributes.get("url")
    if url is not None:
        return str(make_url(url).render_as_string(hide_password=False))
    x_url = context.get_x_argument(as_dictionary=True).get("url")
    if x_url:
        return x_url
    ini_url = config.get_main_option("sqlalchemy.url")
    if not ini_url:
        raise RuntimeError("no database URL: pass -x url=... or set sqlalchemy.url")
    return ini_url


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection, in one transaction."""
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # A batch migration rebuilds a table (copy, drop, rename) that other tables
                # reference: SQLite must not enforce foreign keys meanwhile. The pragma only
                # takes effect outside a transaction; the check below runs before the commit.
                raw = connection.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA foreign_keys=OFF")  # before SQLAlchemy's BEGIN
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
