"""Adapter: the UCI "default of credit card clients" file as a normalised portfolio.

Source: UCI Machine Learning Repository dataset #350 (I-Cheng Yeh, DOI 10.24432/C55S3H;
Yeh and Lien 2009, Expert Systems with Applications 36(2):2473-2480), CC BY 4.0. 30,000 real
Taiwanese credit-card accounts observed April-September 2005. Column ``PAY_0``, ``BILL_AMT1``
and ``PAY_AMT1`` are September 2005; ``PAY_6``, ``BILL_AMT6`` and ``PAY_AMT6`` are April 2005.

The portfolio is taken as of :data:`UCI_AS_OF` (2005-09-30). The mapping (also in
``docs/uci-mapping.md``):

Borrowers (one per row)
    ``borrower_id = "B" + ID``; jurisdiction ``"TW"``, timezone ``"Asia/Taipei"``, language
    ``"zh-TW"``; no phone and no e-mail (no personal data is invented); every status flag false;
    ``opt_out_channels = ""``. ``SEX``, ``EDUCATION``, ``MARRIAGE`` and ``AGE`` are *not* put in
    the portfolio: they are sensitive attributes, exposed only through :func:`uci_labels` for
    fairness reports.
Accounts (one per row)
    ``account_id = str(ID)`` (the UCI ID value, kept); product ``"card"``; currency ``"TWD"``
    (ISO 4217 exponent 2, so NT$ x 100 = minor units); ``credit_limit = LIMIT_BAL``;
    ``balance = BILL_AMT1`` as-is (negative means a credit balance); ``principal = 0``;
    ``term_days`` null. ``opened_on`` is unknown in the source: **placeholder** 2005-04-01, the
    start of the observed window, not a real opening date.
Delinquency (reported, no installment rows)
    ``PAY_0 = k >= 1`` (k months of delay) gives ``reported_dpd = 30 * k``: 1 -> 30 (M1),
    2 -> 60 (M2) ... 6 -> 180 (M6), 7..9 -> 210..270 (M6+). ``PAY_0 <= 0`` (-2 no consumption,
    -1 paid duly, 0 revolving with minimum paid) gives ``reported_dpd = 0``. The file has no
    minimum-payment field, so ``reported_past_due`` for an account in arrears is
    ``max(BILL_AMT1, 0)``: the **statement balance** the borrower owes, not a minimum payment
    (it overstates the amount past due). It is 0 for accounts not in arrears.
Statements (six per account)
    ``BILL_AMTn`` for n = 1..6 -> ``statement_date`` = last day of September, August, July, June,
    May, April 2005; ``balance = BILL_AMTn``; ``minimum_due`` null.
Delinquency history (six cycles per account)
    ``PAY_0, PAY_2 .. PAY_6`` -> ``cycle_date`` = last day of September, August, July, June,
    May, April 2005; ``dpd = 30 * k`` for a status ``k >= 1`` and 0 for ``k <= 0`` (the same
    rule as ``reported_dpd``, so the September cycle equals the as-of DPD).
Payments
    ``PAY_AMTn > 0`` -> one payment ``payment_id = f"{ID}-P{n}"``, ``paid_on`` = last day of the
    month it belongs to (``PAY_AMT1`` September 2005 ... ``PAY_AMT6`` April 2005, as UCI
    documents "amount paid in September 2005"), ``amount = PAY_AMTn``. Zero amounts make no row.

Validation: the header must hold exactly the 25 UCI columns (any order); every value must be a
base-10 integer; ``ID`` unique and >= 1; ``LIMIT_BAL`` >= 0; ``PAY_AMTn`` >= 0; ``PAY_*`` in
-2..9; the label in {0, 1}. Anything else raises :class:`UCIFormatError` naming the file, the
line (the header is line 1, data row *i* (0-based) is line *i* + 2), the column and the reason.
"""

from __future__ import annotations

import calendar
import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from arrears.adapters.portfolio.schema import FLAG_COLUMNS, FRAME_SCHEMAS, PortfolioFrames

UCI_AS_OF = date(2005, 9, 30)
"""As-of date of the UCI portfolio: the end of the last observed month (September 2005)."""

UCI_OPENED_ON_PLACEHOLDER = date(2005, 4, 1)
"""Placeholder opening date (start of the observed window); the source has no opening date."""

UCI_CURRENCY = "TWD"
MINOR_PER_MAJOR = 100  # ISO 4217 exponent of TWD is 2

PAY_STATUS_COLUMNS: tuple[str, ...] = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
BILL_COLUMNS: tuple[str, ...] = tuple(f"BILL_AMT{n}" for n in range(1, 7))
PAY_AMT_COLUMNS: tuple[str, ...] = tuple(f"PAY_AMT{n}" for n in range(1, 7))
SENSITIVE_COLUMNS: tuple[str, ...] = ("SEX", "EDUCATION", "MARRIAGE", "AGE")
LABEL_COLUMN = "default.payment.next.month"

UCI_COLUMNS: tuple[str, ...] = (
    "ID",
    "LIMIT_BAL",
    *SENSITIVE_COLUMNS,
    *PAY_STATUS_COLUMNS,
    *BILL_COLUMNS,
    *PAY_AMT_COLUMNS,
    LABEL_COLUMN,
)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


# Index n-1 holds the month of BILL_AMTn / PAY_AMTn: September (n=1) back to April (n=6) 2005.
MONTH_ENDS: tuple[date, ...] = tuple(_month_end(2005, m) for m in (9, 8, 7, 6, 5, 4))

# (column, lowest allowed, highest allowed); None = unbounded.
_RANGES: tuple[tuple[str, int | None, int | None], ...] = (
    ("ID", 1, None),
    ("LIMIT_BAL", 0, None),
    *((c, -2, 9) for c in PAY_STATUS_COLUMNS),
    *((c, 0, None) for c in PAY_AMT_COLUMNS),
    (LABEL_COLUMN, 0, 1),
)


class UCIFormatError(ValueError):
    """The UCI file does not have the expected format.

    Attributes
    ----------
    file : str
        Path of the file.
    line : int or None
        1-based line number (header = 1); None when the problem is not tied to one line.
    column : str or None
        Column name concerned.
    reason : str
        What is wrong.
    """

    def __init__(self, file: Path | str, line: int | None, column: str | None, reason: str):
        self.file = str(file)
        self.line = line
        self.column = column
        self.reason = reason
        where = self.file
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class _Raw:
    path: Path
    frame: pl.DataFrame  # the 25 UCI columns, Int64, validated


def _ragged_line(path: Path, width: int) -> tuple[int, int] | None:
    """Slow path, only after a parse failure: first line whose field count is not ``width``."""
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if row and len(row) != width:
                return lineno, len(row)
    return None


def _read_validated(path: Path) -> _Raw:
    """Read and validate the UCI file; every column becomes ``Int64``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UCIFormatError
        For a missing, unknown or repeated column, a row with the wrong number of fields, an
        empty or non-integer value, a value out of range, or a repeated ``ID``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"UCI file not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        header_line = fh.readline()
    if not header_line.strip():
        raise UCIFormatError(path, 1, None, "file is empty (no header line)")
    header = [h.strip() for h in next(csv.reader([header_line]))]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UCIFormatError(path, 1, name, "column appears more than once in the header")
        seen.add(name)
    missing = [c for c in UCI_COLUMNS if c not in seen]
    if missing:
        raise UCIFormatError(
            path, 1, missing[0], f"required column missing from the header (missing: {missing})"
        )
    unknown = [c for c in header if c not in UCI_COLUMNS]
    if unknown:
        raise UCIFormatError(path, 1, unknown[0], f"unexpected column in the header: {unknown}")

    try:
        text = pl.read_csv(
            path,
            infer_schema=False,
            new_columns=header,
            encoding="utf8-lossy",
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        bad = _ragged_line(path, len(header))
        if bad is not None:
            raise UCIFormatError(
                path, bad[0], None, f"row has {bad[1]} fields, the header has {len(header)}"
            ) from None
        raise UCIFormatError(path, None, None, f"cannot parse as CSV: {exc}") from None
    if text.height == 0:
        raise UCIFormatError(path, 2, None, "file has a header but no data rows")

    text = text.select([pl.col(c).str.strip_chars() for c in UCI_COLUMNS])
    ints = text.select(
        [pl.col(c).cast(pl.Int64, strict=False).alias(c) for c in UCI_COLUMNS]
    ).with_row_index("_row")
    # A cell is bad when it is empty or did not parse as a base-10 integer (the cast gives null).
    first_bad: tuple[int, str] | None = None
    for c in header:
        rows = ints.get_column(c).is_null().arg_true()
        if rows.len() and (first_bad is None or int(rows[0]) < first_bad[0]):
            first_bad = (int(rows[0]), c)
    if first_bad is not None:
        row_idx, col_name = first_bad
        value = text.get_column(col_name)[row_idx]
        reason = "empty value" if not value else f"not an integer: {value!r}"
        raise UCIFormatError(path, row_idx + 2, col_name, reason)

    for col, low, high in _RANGES:
        cond = pl.lit(False)
        if low is not None:
            cond = cond | (pl.col(col) < low)
        if high is not None:
            cond = cond | (pl.col(col) > high)
        out = ints.filter(cond)
        if out.height:
            row = out.row(0, named=True)
            bounds = f">= {low}" if high is None else f"in {low}..{high}"
            raise UCIFormatError(
                path, int(row["_row"]) + 2, col, f"value {row[col]} out of range (must be {bounds})"
            )

    dup = ints.filter(~pl.col("ID").is_first_distinct())
    if dup.height:
        row = dup.row(0, named=True)
        raise UCIFormatError(path, int(row["_row"]) + 2, "ID", f"ID {row['ID']} is repeated")
    return _Raw(path, ints.drop("_row"))


def _frames(raw: pl.DataFrame) -> PortfolioFrames:
    """Vectorised mapping of validated UCI rows to normalised frames (see module docstring)."""
    account_id = pl.col("ID").cast(pl.String)
    borrower_id = pl.lit("B") + pl.col("ID").cast(pl.String)
    in_arrears = pl.col("PAY_0") >= 1

    borrowers = raw.select(
        borrower_id.alias("borrower_id"),
        pl.lit("TW").alias("jurisdiction"),
        pl.lit("Asia/Taipei").alias("timezone"),
        pl.lit("zh-TW").alias("language"),
        pl.lit(None, dtype=pl.String).alias("phone"),
        pl.lit(None, dtype=pl.String).alias("email"),
        *(pl.lit(False).alias(f) for f in FLAG_COLUMNS),
        pl.lit("").alias("opt_out_channels"),
        pl.lit(None, dtype=pl.String).alias("consent_hours"),
    )
    accounts = raw.select(
        account_id.alias("account_id"),
        borrower_id.alias("borrower_id"),
        pl.lit("card").alias("product"),
        pl.lit(UCI_CURRENCY).alias("currency"),
        pl.lit(UCI_OPENED_ON_PLACEHOLDER).alias("opened_on"),
        pl.lit(0, dtype=pl.Int64).alias("principal_minor"),
        (pl.col("LIMIT_BAL") * MINOR_PER_MAJOR).alias("credit_limit_minor"),
        (pl.col("BILL_AMT1") * MINOR_PER_MAJOR).alias("balance_minor"),
        pl.lit(None, dtype=pl.Int64).alias("term_days"),
        pl.when(in_arrears).then(pl.col("PAY_0") * 30).otherwise(0).alias("reported_dpd"),
        pl.when(in_arrears)
        .then(pl.max_horizontal(pl.col("BILL_AMT1"), pl.lit(0)) * MINOR_PER_MAJOR)
        .otherwise(0)
        .alias("reported_past_due_minor"),
    )
    statements = pl.concat(
        [
            raw.select(
                pl.col("ID"),
                account_id.alias("account_id"),
                pl.lit(MONTH_ENDS[n - 1]).alias("statement_date"),
                (pl.col(f"BILL_AMT{n}") * MINOR_PER_MAJOR).alias("balance_minor"),
                pl.lit(None, dtype=pl.Int64).alias("minimum_due_minor"),
            )
            for n in range(1, 7)
        ]
    ).sort(["ID", "statement_date"])  # ID order of the file; the ID column is dropped below
    payments = pl.concat(
        [
            raw.filter(pl.col(f"PAY_AMT{n}") > 0).select(
                pl.col("ID"),
                (account_id + pl.lit(f"-P{n}")).alias("payment_id"),
                account_id.alias("account_id"),
                pl.lit(MONTH_ENDS[n - 1]).alias("paid_on"),
                (pl.col(f"PAY_AMT{n}") * MINOR_PER_MAJOR).alias("amount_minor"),
            )
            for n in range(1, 7)
        ]
    ).sort(["ID", "paid_on"])
    history = pl.concat(
        [
            raw.select(
                pl.col("ID"),
                account_id.alias("account_id"),
                pl.lit(MONTH_ENDS[n]).alias("cycle_date"),
                pl.when(pl.col(col) >= 1).then(pl.col(col) * 30).otherwise(0).alias("dpd"),
            )
            for n, col in enumerate(PAY_STATUS_COLUMNS)
        ]
    ).sort(["ID", "cycle_date"])
    empty = {n: pl.DataFrame(schema=FRAME_SCHEMAS[n]) for n in ("installments", "contact_history")}
    return PortfolioFrames(
        borrowers=borrowers,
        accounts=accounts,
        installments=empty["installments"],
        payments=payments,
        statements=statements,
        contact_history=empty["contact_history"],
        delinquency_history=history,
    ).conformed()


def load_uci(path: Path) -> PortfolioFrames:
    """Load the UCI credit-card file as a normalised portfolio as of :data:`UCI_AS_OF`.

    Parameters
    ----------
    path : Path
        The UCI CSV (``uci_taiwan_credit_default.csv``: header + one row per account).

    Returns
    -------
    PortfolioFrames
        For N rows: N borrowers, N card accounts (TWD, minor units), no installments, 6N
        statements, one payment per ``PAY_AMTn > 0`` cell, no contact history, 6N
        delinquency-history rows. Frames follow
        ``FRAME_SCHEMAS``. The mapping is in the module docstring.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UCIFormatError
        If the header or any value is not in the UCI format (file, line, column, reason).
    """
    return _frames(_read_validated(Path(path)).frame)


def uci_labels(path: Path) -> pl.DataFrame:
    """Outcome label, repayment statuses and sensitive attributes, for training and fairness.

    These columns are deliberately kept out of the portfolio: the label is the future (October
    2005), and ``SEX``, ``EDUCATION``, ``MARRIAGE``, ``AGE`` are sensitive attributes for
    fairness reports only, never model inputs or treatment rules.

    Parameters
    ----------
    path : Path
        The UCI CSV.

    Returns
    -------
    pl.DataFrame
        One row per account: ``account_id`` (String, as in :func:`load_uci`),
        ``default_next_month`` (Int64, 1 = defaulted in October 2005), ``PAY_0``, ``PAY_2`` ..
        ``PAY_6`` (Int64 status codes, -2..9), ``SEX``, ``EDUCATION``, ``MARRIAGE``, ``AGE``
        (Int64, codes as in the source).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UCIFormatError
        As :func:`load_uci`.
    """
    raw = _read_validated(Path(path)).frame
    return raw.select(
        pl.col("ID").cast(pl.String).alias("account_id"),
        pl.col(LABEL_COLUMN).alias("default_next_month"),
        *(pl.col(c) for c in PAY_STATUS_COLUMNS),
        *(pl.col(c) for c in SENSITIVE_COLUMNS),
    )
