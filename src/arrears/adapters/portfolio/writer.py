"""Write normalised portfolio frames as a canonical portfolio folder (CSV or Parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from arrears.adapters.portfolio.schema import (
    CHANNELS,
    TABLES,
    Kind,
    PortfolioFrames,
)
from arrears.domain.money import MINOR_UNITS


def amount_text(minor: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    """Polars expression: integer minor units and a per-row exponent -> plain decimal string.

    ``(123456, 2) -> "1234.56"``, ``(-5, 2) -> "-0.05"``, ``(700, 0) -> "700"``. Nulls stay null.
    """
    scale = pl.lit(10, dtype=pl.Int64).pow(exponent.cast(pl.Int64))
    absval = minor.abs()
    whole = (absval // scale).cast(pl.String)
    # zero-padded to each row's own exponent: 10**e + remainder has e + 1 digits; drop the 1
    frac = (scale + absval % scale).cast(pl.String).str.slice(1)
    sign = pl.when(minor < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    text = pl.when(exponent == 0).then(sign + whole).otherwise(sign + whole + pl.lit(".") + frac)
    return pl.when(minor.is_null()).then(None).otherwise(text)


def _exponents(accounts: pl.DataFrame) -> pl.DataFrame:
    return accounts.select(
        "account_id",
        pl.col("currency")
        .replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64)
        .alias("_exp"),
    )


def to_file_frame(name: str, frame: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Turn one normalised frame into its file form (column names and text encodings).

    Amount columns become decimal strings in major units of the account's currency; dates
    ISO ``YYYY-MM-DD``; instants ISO 8601 with ``+00:00``; booleans ``true``/``false``.
    """
    table = next(t for t in TABLES if t.name == name)
    df = frame
    has_amounts = any(c.kind is Kind.AMOUNT for c in table.columns)
    if has_amounts:
        if name == "accounts":
            df = df.with_columns(
                pl.col("currency")
                .replace_strict(MINOR_UNITS, default=2, return_dtype=pl.Int64)
                .alias("_exp")
            )
        else:
            df = df.join(_exponents(accounts), on="account_id", how="left")
    cols: list[pl.Expr] = []
    for c in table.columns:
        if c.kind is Kind.AMOUNT:
            cols.append(amount_text(pl.col(f"{c.name}_minor"), pl.col("_exp")).alias(c.name))
        elif c.kind is Kind.DATE:
            cols.append(pl.col(c.name).dt.strftime("%Y-%m-%d").alias(c.name))
        elif c.kind is Kind.INSTANT:
            cols.append(pl.col(c.name).dt.strftime("%Y-%m-%dT%H:%M:%S%.f%:z").alias(c.name))
        elif c.kind is Kind.BOOL:
            cols.append(
                pl.when(pl.col(c.name))
                .then(pl.lit("true"))
                .otherwise(pl.lit("false"))
                .alias(c.name)
            )
        elif c.kind is Kind.CHANNELS:
            cols.append(pl.col(c.name).fill_null("").alias(c.name))
        else:
            cols.append(pl.col(c.name).cast(pl.String).alias(c.name))
    return df.select(cols)


def write_portfolio(
    frames: PortfolioFrames, out_dir: Path, fmt: Literal["csv", "parquet"] = "csv"
) -> list[Path]:
    """Write ``frames`` to ``out_dir`` as ``<table>.csv`` (UTF-8, no BOM) or ``<table>.parquet``.

    Optional tables with no rows are not written. Returns the paths written.

    Raises
    ------
    ValueError
        If ``fmt`` is not ``csv`` or ``parquet``.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"unknown portfolio file format {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    conformed = frames.conformed()
    for table in TABLES:
        frame = conformed.table(table.name)
        if not table.required and frame.height == 0:
            continue
        file_frame = to_file_frame(table.name, frame, conformed.accounts)
        path = out_dir / f"{table.name}.{fmt}"
        if fmt == "csv":
            file_frame.write_csv(path)
        else:
            file_frame.write_parquet(path)
        written.append(path)
    return written


__all__ = ["CHANNELS", "amount_text", "to_file_frame", "write_portfolio"]
