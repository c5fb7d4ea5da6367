"""Ledger repository: bulk import and load of portfolio frames, import batches, daily runs.

Every function takes a SQLAlchemy :class:`~sqlalchemy.engine.Connection` and never commits:
the caller owns the transaction (``with engine.begin() as conn: ...``), so an import either
lands completely or not at all.

Bulk paths, chosen by dialect (both measured against plain ``conn.execute(stmt, dicts)``):

* SQLite: ``INSERT ... ON CONFLICT DO UPDATE`` through the driver's ``executemany`` with values
  pre-encoded by Polars in SQLAlchemy's SQLite storage formats (dates ``YYYY-MM-DD``, instants
  ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, booleans 0/1), so rows written here read back
  identically through SQLAlchemy Core. Load: ``fetchall`` into a Polars frame.
* PostgreSQL: ``COPY`` (CSV written by Polars) into a temporary staging table, then one
  ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` per table. Load: ``COPY (SELECT ...) TO STDOUT``
  read by Polars' CSV reader (dates as day numbers, instants as epoch microseconds).

Upserts only rewrite rows whose values changed (``WHERE ... IS DISTINCT FROM``). Rows absent
from a later snapshot are kept: an import never deletes.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from arrears.adapters.db.tables import (
    FRAME_TABLES,
    daily_runs,
    import_batches,
    metadata,
)
from arrears.adapters.portfolio.schema import (
    FRAME_SCHEMAS,
    TABLES_BY_NAME,
    UTC_DT,
    PortfolioFrames,
)

#: Rows sent to the database per round (executemany batch or COPY chunk).
BATCH_ROWS = 50_000

_SHA256 = re.compile(r"[0-9a-f]{64}")
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"  # SQLAlchemy's SQLite DATETIME storage format


@dataclass(frozen=True)
class ImportResult:
    """Outcome of :func:`import_frames`.

    Attributes
    ----------
    batch_id : int
        Id of the ``import_batches`` row (the earlier one when ``already_imported``).
    already_imported : bool
        True when a batch with the same SHA-256 existed; nothing was written then.
    counts : dict of str to int
        Rows per table in the snapshot (as recorded with the batch).
    """

    batch_id: int
    already_imported: bool
    counts: dict[str, int]


@dataclass(frozen=True)
class ImportBatch:
    """One recorded import: ``imported_at`` is UTC-aware; ``counts`` rows per table."""

    id: int
    sha256: str
    source: str
    imported_at: datetime
    counts: dict[str, int]


def _key(name: str) -> tuple[str, ...]:
    return TABLES_BY_NAME[name].key


def _check_frames(frames: PortfolioFrames) -> PortfolioFrames:
    conformed = frames.conformed()
    for name, frame in conformed.items():
        key = list(_key(name))
        if frame.height and frame.select(key).is_duplicated().any():
            dup = frame.filter(frame.select(key).is_duplicated()).select(key).row(0)
            raise ValueError(f"frame {name}: duplicate key {dict(zip(key, dup, strict=True))}")
        nulls = [c for c in key if frame[c].null_count()]
        if nulls:
            raise ValueError(f"frame {name}: null values in key column(s) {nulls}")
    return conformed


def import_frames(
    conn: Connection,
    frames: PortfolioFrames,
    *,
    sha256: str,
    source: str,
    imported_at: datetime,
    batch_rows: int = BATCH_ROWS,
) -> ImportResult:
    """Upsert a portfolio snapshot into the ledger and record the import batch.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        SQLite or PostgreSQL connection; the caller commits or rolls back.
    frames : PortfolioFrames
        Normalised frames (``FRAME_SCHEMAS``); extra columns are ignored.
    sha256 : str
        Lower-case hex SHA-256 of the snapshot (64 characters); identifies the batch.
    source : str
        Where the snapshot came from (a path or a description), kept for the audit trail.
    imported_at : datetime
        Time zone-aware instant of the import; stored in UTC.
    batch_rows : int, default 50 000
        Rows per executemany batch or COPY chunk.

    Returns
    -------
    ImportResult
        ``already_imported=True`` (and nothing written) when ``sha256`` was imported before.

    Raises
    ------
    ValueError
        Malformed ``sha256``, naive ``imported_at``, a frame lacking a column, a duplicate or
        null key within a frame.
    sqlalchemy.exc.IntegrityError
        A row breaks a database constraint (e.g. an installment of an unknown account). The
        transaction is then unusable; the caller's rollback leaves the ledger unchanged.
    NotImplementedError
        For dialects other than SQLite and PostgreSQL.
    """
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"sha256 must be 64 lower-case hex characters, got {sha256!r}")
    if imported_at.tzinfo is None or imported_at.utcoffset() is None:
        raise ValueError("imported_at must be time zone-aware")
    existing = conn.execute(
        sa.select(import_batches.c.id, import_batches.c.row_counts).where(
            import_batches.c.sha256 == sha256
        )
    ).first()
    if existing is not None:
        return ImportResult(int(existing.id), True, _int_counts(existing.row_counts))

    checked = _check_frames(frames)
    dialect = conn.dialect.name
    for name, frame in checked.items():
        if frame.height == 0:
            continue
        if dialect == "sqlite":
            _upsert_sqlite(conn, name, frame, batch_rows)
        elif dialect == "postgresql":
            _upsert_postgresql(conn, name, frame, batch_rows)
        else:
            raise NotImplementedError(f"bulk import is not implemented for {dialect}")

    row_counts = {name: frame.height for name, frame in checked.items()}
    batch_id = conn.execute(
        import_batches.insert()
        .values(sha256=sha256, source=source, imported_at=imported_at, row_counts=row_counts)
        .returning(import_batches.c.id)
    ).scalar_one()
    return ImportResult(int(batch_id), False, row_counts)


def _upsert_statement(name: str, dialect: str) -> Any:
    table = FRAME_TABLES[name]
    key = _key(name)
    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    stmt = insert(table).values({c: sa.bindparam(c) for c in FRAME_SCHEMAS[name]})
    others = [c for c in FRAME_SCHEMAS[name] if c not in key]
    return stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={c: stmt.excluded[c] for c in others},
        where=sa.or_(*(table.c[c].is_distinct_from(stmt.excluded[c]) for c in others)),
    )


def _upsert_sqlite(conn: Connection, name: str, frame: pl.DataFrame, batch_rows: int) -> None:
    compiled = _upsert_statement(name, "sqlite").compile(dialect=conn.dialect)
    order = list(compiled.positiontup or ())
    encoded = frame.select([_sqlite_encode(c, t) for c, t in FRAME_SCHEMAS[name].items()]).select(
        order
    )
    sql = str(compiled)
    for chunk in encoded.iter_slices(batch_rows):
        conn.exec_driver_sql(sql, chunk.rows())


def _sqlite_encode(column: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(column)
    if dtype == pl.Date():
        return col.dt.strftime("%Y-%m-%d")
    if dtype == UTC_DT:
        return col.dt.convert_time_zone("UTC").dt.strftime(_SQLITE_DATETIME)
    if dtype == pl.Boolean():
        return col.cast(pl.Int64)
    return col


def _upsert_postgresql(conn: Connection, name: str, frame: pl.DataFrame, batch_rows: int) -> None:
    table = FRAME_TABLES[name]
    columns = list(FRAME_SCHEMAS[name])
    stage = f"_arrears_stage_{name}"
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in columns)
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE {stage} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {stage} ({quoted}) FROM STDIN WITH (FORMAT csv)") as copy:
            for chunk in frame.select(columns).iter_slices(batch_rows):
                copy.write(chunk.write_csv(include_header=False))
    finally:
        cursor.close()
    key = _key(name)
    others = [c for c in columns if c not in key]
    insert = postgresql.insert(table).from_select(
        columns, sa.table(stage, *map(sa.column, columns))
    )
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=list(key),
            set_={c: insert.excluded[c] for c in others},
            where=sa.or_(*(table.c[c].is_distinct_from(insert.excluded[c]) for c in others)),
        )
    )
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def load_frames(conn: Connection, *, tables: Iterable[str] | None = None) -> PortfolioFrames:
    """Read the ledger back as normalised frames.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
    tables : iterable of str, optional
        Names of the tables to read (``"accounts"``, ``"installments"`` ...); the others come
        back as empty frames. Default: all six.

    Returns
    -------
    PortfolioFrames
        Frames with exactly the columns and dtypes of ``FRAME_SCHEMAS`` (instants
        ``Datetime("us", "UTC")``), sorted by each table's key.

    Raises
    ------
    KeyError
        If ``tables`` names an unknown table.
    NotImplementedError
        For dialects other than SQLite and PostgreSQL.
    """
    wanted = list(FRAME_SCHEMAS) if tables is None else list(tables)
    unknown = [t for t in wanted if t not in FRAME_SCHEMAS]
    if unknown:
        raise KeyError(f"unknown ledger table(s) {unknown}; known: {list(FRAME_SCHEMAS)}")
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"bulk load is not implemented for {dialect}")
    out = {n: pl.DataFrame(schema=s) for n, s in FRAME_SCHEMAS.items()}

    def load(name: str) -> pl.DataFrame:
        raw = _load_sqlite(conn, name) if dialect == "sqlite" else _load_postgresql(conn, name)
        return raw.select([_decode(c, t, dialect) for c, t in FRAME_SCHEMAS[name].items()]).sort(
            list(_key(name))
        )

    if _connectorx_path(conn):
        # connectorx opens its own read-only connections and releases the GIL: tables are read
        # side by side (about 1.6x faster on 2 cores than one after the other).
        workers = max(1, min(len(wanted), os.cpu_count() or 1, 4))
        with ThreadPoolExecutor(workers) as pool:
            for name, frame in zip(wanted, pool.map(load, wanted), strict=True):
                out[name] = frame
    else:
        for name in wanted:
            out[name] = load(name)
    return PortfolioFrames(**out)


def _connectorx_path(conn: Connection) -> bool:
    """True when SQLite tables can be read by connectorx: a file database, read outside any
    transaction (connectorx cannot see this connection's uncommitted writes)."""
    if conn.dialect.name != "sqlite":
        return False
    database = conn.engine.url.database
    return bool(database) and database != ":memory:" and not conn.in_transaction()


def _raw_dtype(dtype: pl.DataType, dialect: str) -> pl.DataType:
    """Dtype of a column as fetched, before :func:`_decode`."""
    if dtype == pl.Boolean():
        return pl.Int64() if dialect == "sqlite" else pl.String()
    if dtype == pl.Date():
        return pl.String() if dialect == "sqlite" else pl.Int32()
    if dtype == UTC_DT:
        return pl.String() if dialect == "sqlite" else pl.Int64()
    return dtype


def _decode(column: str, dtype: pl.DataType, dialect: str) -> pl.Expr:
    col = pl.col(column)
    if dtype == pl.Boolean():
        return (col != 0 if dialect == "sqlite" else col == "t").alias(column)
    if dtype == pl.Date():
        if dialect == "sqlite":
            return col.str.to_date("%Y-%m-%d")
        return col.cast(pl.Date())
    if dtype == UTC_DT:
        if dialect == "sqlite":
            return col.str.to_datetime(_SQLITE_DATETIME, time_unit="us", time_zone="UTC")
        return col.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    return col.cast(dtype)


def _load_sqlite(conn: Connection, name: str) -> pl.DataFrame:
    schema = {c: _raw_dtype(t, "sqlite") for c, t in FRAME_SCHEMAS[name].items()}
    quoted = ", ".join(conn.dialect.identifier_preparer.quote(c) for c in schema)
    database = conn.engine.url.database
    if database and _connectorx_path(conn):
        # A file database read outside a write transaction: connectorx reads it straight into
        # Arrow, about 2.5x faster than fetching Python tuples. Text columns are cast in SQL so
        # the raw dtypes are the same as on the cursor path.
        # connectorx infers SQLite types from the values, so a NULL can never reach it: each
        # column comes with an IS NULL flag and a non-null stand-in, and nulls are put back.
        # Columns declared NOT NULL need neither.
        q = conn.dialect.identifier_preparer.quote
        table = metadata.tables[name]
        parts = []
        nullable = []
        for c, t in schema.items():
            cast = "TEXT" if t == pl.String() else "INTEGER"
            if not table.c[c].nullable:
                parts.append(f"CAST({q(c)} AS {cast}) AS {c}")
                continue
            blank = "''" if t == pl.String() else "0"
            parts.append(f"COALESCE(CAST({q(c)} AS {cast}), {blank}) AS {c}")
            parts.append(f"({q(c)} IS NULL) AS {c}__null")
            nullable.append(c)
        frame = pl.read_database_uri(
            f"SELECT {', '.join(parts)} FROM {name}",
            f"sqlite://{Path(database).resolve()}",
            engine="connectorx",
        )
        if frame.height == 0:
            return pl.DataFrame(schema=schema)
        return frame.select(
            [
                pl.when(pl.col(f"{c}__null") != 0).then(None).otherwise(pl.col(c).cast(t)).alias(c)
                if c in nullable
                else pl.col(c).cast(t)
                for c, t in schema.items()
            ]
        )
    result = conn.exec_driver_sql(f"SELECT {quoted} FROM {name}")
    try:
        # The DBAPI cursor's plain tuples: skips building SQLAlchemy Row objects (~35% faster).
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _load_postgresql(conn: Connection, name: str) -> pl.DataFrame:
    schema = {c: _raw_dtype(t, "postgresql") for c, t in FRAME_SCHEMAS[name].items()}
    exprs = []
    for c, t in FRAME_SCHEMAS[name].items():
        q = conn.dialect.identifier_preparer.quote(c)
        if t == pl.Date():
            exprs.append(f"{q} - DATE '1970-01-01'")  # days since the epoch
        elif t == UTC_DT:
            exprs.append(f"(EXTRACT(EPOCH FROM {q}) * 1000000)::bigint")  # exact (numeric)
        else:
            exprs.append(q)
    buf = io.BytesIO()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        sql = f"COPY (SELECT {', '.join(exprs)} FROM {name}) TO STDOUT WITH (FORMAT csv)"
        with cursor.copy(sql) as copy:
            for data in copy:
                buf.write(data)
    finally:
        cursor.close()
    if buf.tell() == 0:
        return pl.DataFrame(schema=schema)
    buf.seek(0)
    # Polars reads an unquoted empty field as null and a quoted "" as "", as PostgreSQL
    # writes them, so null and empty text survive the round trip.
    return pl.read_csv(buf, has_header=False, schema=schema)


def record_daily_run(
    conn: Connection,
    *,
    plan_date: date,
    started_at: datetime,
    finished_at: datetime | None,
    input_sha256: str | None,
    counts: Mapping[str, int],
    out_dir: str | None,
) -> int:
    """Record one run of the daily job and return its id.

    Parameters
    ----------
    plan_date : date
        Calendar date the plan is for.
    started_at, finished_at : datetime
        Time zone-aware instants (stored in UTC); ``finished_at`` None while running.
    input_sha256 : str or None
        SHA-256 of the portfolio snapshot the run read.
    counts : mapping of str to int
        Figures of the run (accounts assessed, contacts planned, ...).
    out_dir : str or None
        Folder the run wrote its files to.

    Raises
    ------
    ValueError
        If an instant is naive.
    """
    run_id = conn.execute(
        daily_runs.insert()
        .values(
            plan_date=plan_date,
            started_at=started_at,
            finished_at=finished_at,
            input_sha256=input_sha256,
            counts=dict(counts),
            out_dir=out_dir,
        )
        .returning(daily_runs.c.id)
    ).scalar_one()
    return int(run_id)


def last_import(conn: Connection) -> ImportBatch | None:
    """Return the most recent import batch (by ``imported_at``, then id), or None."""
    row = conn.execute(
        sa.select(import_batches)
        .order_by(import_batches.c.imported_at.desc(), import_batches.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return ImportBatch(
        id=int(row.id),
        sha256=row.sha256,
        source=row.source,
        imported_at=row.imported_at,
        counts=_int_counts(row.row_counts),
    )


def counts(conn: Connection) -> dict[str, int]:
    """Rows per ledger table (every table of the metadata), e.g. ``{"accounts": 4, ...}``."""
    return {
        name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
        for name, table in metadata.tables.items()
    }


def _int_counts(raw: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in dict(raw).items()}
