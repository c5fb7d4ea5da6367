"""Decision log: what the daily run decided per account and plan date (table ``decisions``).

Functions take a SQLAlchemy connection and never commit (the caller owns the transaction).
"""

from __future__ import annotations

import io
from datetime import date

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from arrears.adapters.db.tables import decisions

DECISION_LOG_SCHEMA: dict[str, pl.DataType] = {
    "plan_date": pl.Date(),
    "account_id": pl.String(),
    "borrower_id": pl.String(),
    "strategy": pl.String(),
    "strategy_arm": pl.String(),
    "segment": pl.String(),
    "treatment": pl.String(),
    "bucket": pl.String(),
    "dpd": pl.Int64(),
    "arrears_minor": pl.Int64(),
    "currency": pl.String(),
    "score": pl.Float64(),
}

_BATCH = 20_000


def record_decisions(conn: Connection, plan_date: date, rows: pl.DataFrame) -> int:
    """Replace the decisions of ``plan_date`` by ``rows`` and return how many were written.

    Parameters
    ----------
    rows : pl.DataFrame
        The columns of :data:`DECISION_LOG_SCHEMA` (extra columns ignored); every row's
        ``plan_date`` must be ``plan_date``.

    Raises
    ------
    ValueError
        If a column is missing or a row belongs to another plan date.
    """
    missing = [c for c in DECISION_LOG_SCHEMA if c not in rows.columns]
    if missing:
        raise ValueError(f"decisions lack columns {missing}")
    frame = rows.select([pl.col(c).cast(t) for c, t in DECISION_LOG_SCHEMA.items()])
    if frame.height and (frame["plan_date"] != plan_date).any():
        raise ValueError(f"every decision must be for plan date {plan_date.isoformat()}")
    conn.execute(sa.delete(decisions).where(decisions.c.plan_date == plan_date))
    if frame.height == 0:
        return 0
    cols = list(DECISION_LOG_SCHEMA)
    if conn.dialect.name == "postgresql":
        _copy_postgresql(conn, frame, cols)
        return frame.height
    # The driver's executemany on plain tuples: a million rows through SQLAlchemy's per-row
    # parameter processing cost about 8 s; dates go in as the ISO text SQLAlchemy stores.
    plain = frame.with_columns(pl.col("plan_date").dt.strftime("%Y-%m-%d"))
    sql = f"INSERT INTO decisions ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
    for chunk in plain.iter_slices(_BATCH):
        conn.exec_driver_sql(sql, chunk.rows())
    return frame.height


def _copy_postgresql(conn: Connection, frame: pl.DataFrame, cols: list[str]) -> None:
    """``COPY decisions FROM STDIN`` (CSV) on the connection's psycopg cursor."""
    buf = io.BytesIO()
    frame.select(cols).write_csv(buf, include_header=False, null_value="")
    sql = f"COPY decisions ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv)"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            copy.write(buf.getvalue())
    finally:
        cursor.close()


def load_decisions(conn: Connection, date_from: date, date_to: date) -> pl.DataFrame:
    """Decisions with ``date_from <= plan_date <= date_to``, as :data:`DECISION_LOG_SCHEMA`."""
    result = conn.execute(
        sa.select(*(decisions.c[c] for c in DECISION_LOG_SCHEMA))
        .where(decisions.c.plan_date.between(date_from, date_to))
        .order_by(decisions.c.plan_date, decisions.c.account_id)
    )
    rows = [tuple(r) for r in result]
    return pl.DataFrame(rows, schema=DECISION_LOG_SCHEMA, orient="row")
