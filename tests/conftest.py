"""Shared pytest fixtures. Keep each section small and self-contained."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

# --------------------------------------------------------------------------------------------
# Database backends
#
# ``db_url`` is the URL of an empty database, once per backend:
#   * sqlite   - a file in tmp_path;
#   * postgres - a fresh schema ``t_<uuid>`` in the server named by ARREARS_TEST_PG_URL
#                (search_path set through the URL's libpq ``options``), dropped afterwards.
# If PostgreSQL is unreachable its tests are skipped, unless ARREARS_REQUIRE_PG is set (to
# anything but "" or "0"; CI sets 1): then they fail, so a broken CI database cannot pass
# silently. ``ledger_engine`` is an engine on that database migrated to head.
# --------------------------------------------------------------------------------------------

PG_URL_ENV = "ARREARS_TEST_PG_URL"
PG_URL_DEFAULT = "postgresql+psycopg://root@127.0.0.1:5432/test"
REQUIRE_PG_ENV = "ARREARS_REQUIRE_PG"


def _pg_required() -> bool:
    return os.environ.get(REQUIRE_PG_ENV, "") not in ("", "0")


def _pg_schema_url() -> Iterator[str]:
    base = make_url(os.environ.get(PG_URL_ENV) or PG_URL_DEFAULT)
    admin = sa.create_engine(base, poolclass=NullPool, connect_args={"connect_timeout": 5})
    schema = f"t_{uuid.uuid4().hex}"
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL at {base.render_as_string()} unreachable ({PG_URL_ENV}): {exc}"
        if _pg_required():
            pytest.fail(f"{REQUIRE_PG_ENV} is set but {message}", pytrace=False)
        pytest.skip(message)
    try:
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.xdist_group("pg")]),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{os.fspath(tmp_path)}/ledger.db"
    else:
        yield from _pg_schema_url()


@pytest.fixture
def ledger_engine(db_url: str) -> Iterator[Engine]:
    """Engine on ``db_url`` with the ledger schema migrated to head; disposed afterwards."""
    from arrears.adapters.db.engine import create_engine
    from arrears.adapters.db.migrate import upgrade_to_head

    upgrade_to_head(db_url)
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()
