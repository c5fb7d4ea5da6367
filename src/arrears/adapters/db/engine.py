"""Engine creation for the ledger database (SQLite or PostgreSQL).

SQLite connections get ``PRAGMA foreign_keys=ON`` (SQLite ignores foreign keys otherwise),
``journal_mode=WAL`` (readers do not block the writer), ``synchronous=NORMAL`` (safe with WAL) and a
``busy_timeout``. The pysqlite driver's own transaction handling is switched off and SQLAlchemy
emits ``BEGIN`` itself, so that ``with engine.begin():`` is one real transaction covering reads and
writes alike (the recipe in SQLAlchemy's SQLite dialect documentation).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url

#: Milliseconds a SQLite connection waits for a lock before failing with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the settings the ledger relies on.

    Parameters
    ----------
    url : str or sqlalchemy.engine.URL
        ``sqlite:///path/to/arrears.db`` or ``postgresql+psycopg://user@host:5432/db``. A
        PostgreSQL URL may carry libpq options, e.g. ``?options=-csearch_path%3Dmyschema``.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine` (``echo``, ``connect_args``, ...).

    Returns
    -------
    sqlalchemy.engine.Engine
        For SQLite, every new connection has had its pragmas set.

    Raises
    ------
    sqlalchemy.exc.ArgumentError
        If the URL cannot be parsed.
    """
    parsed = make_url(url)
    engine = sa.create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Disable pysqlite's implicit BEGIN/COMMIT; SQLAlchemy emits BEGIN in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # ``conn.execution_options(sqlite_begin="IMMEDIATE")`` takes the write lock at BEGIN
        # (the contact gate serialises writers this way); the default is a deferred BEGIN.
        mode = conn.get_execution_options().get("sqlite_begin", "")
        if mode not in ("", "DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
            raise ValueError(f"sqlite_begin must be DEFERRED, IMMEDIATE or EXCLUSIVE, not {mode!r}")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())
