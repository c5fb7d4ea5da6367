"""The monthly repayment status of the UCI file (PAY_6..PAY_0) as a delinquency history.

The ledger keeps the UCI statements and payments but not the lender's monthly status codes;
the portfolio report reads them from the file itself, the only place they are. Status ``<= 0``
(-2 no use, -1 paid duly, 0 revolving) is current (DPD 0); ``k >= 1`` months of delay is DPD
``30 * k``, as :mod:`arrears.adapters.portfolio.uci` maps ``PAY_0``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from arrears.adapters.portfolio.uci import MONTH_ENDS, PAY_STATUS_COLUMNS, UCIFormatError

# PAY_0 is September (MONTH_ENDS[0]); PAY_2..PAY_6 are August back to April.
_MONTH_OF = dict(zip(PAY_STATUS_COLUMNS, MONTH_ENDS, strict=True))


def uci_status_history(path: Path) -> pl.DataFrame:
    """One row per (account, month end): ``account_id, month_end, dpd``.

    Raises
    ------
    FileNotFoundError
        If the file is missing.
    UCIFormatError
        If a status column is missing or a status is not an integer in -2..9 (with the line).
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: UCI file not found")
    raw = pl.read_csv(path, infer_schema=False)
    for col in ("ID", *PAY_STATUS_COLUMNS):
        if col not in raw.columns:
            raise UCIFormatError(str(path), 1, col, "column missing from the header")
    parts = []
    for col in PAY_STATUS_COLUMNS:
        v = raw[col].str.strip_chars().cast(pl.Int64, strict=False)
        bad = v.is_null() | (v < -2) | (v > 9)
        if bad.any():
            i = int(bad.arg_true()[0])
            raise UCIFormatError(
                str(path), i + 2, col, f"repayment status {raw[col][i]!r} is not in -2..9"
            )
        parts.append(
            pl.DataFrame(
                {
                    "account_id": raw["ID"].str.strip_chars(),
                    "month_end": [_MONTH_OF[col]] * raw.height,
                    "dpd": (v.clip(0, None) * 30),
                }
            )
        )
    return pl.concat(parts).sort("account_id", "month_end")
