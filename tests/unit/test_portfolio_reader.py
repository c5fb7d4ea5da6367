"""Tests of the canonical portfolio reader: round trip, every kind of bad input, encodings."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from arrears.adapters.portfolio.errors import InputError, PortfolioInvalid
from arrears.adapters.portfolio.reader import portfolio_sha256, read_portfolio
from arrears.adapters.portfolio.schema import (
    FRAME_SCHEMAS,
    PortfolioFrames,
    parse_consent,
    parse_hours,
)
from arrears.adapters.portfolio.writer import write_portfolio

S = FRAME_SCHEMAS
UTC = dt.UTC


def sample_frames() -> PortfolioFrames:
    """Two borrowers (one with a Chinese id), a TWD loan and a JPY card, every table filled."""
    return PortfolioFrames(
        borrowers=pl.DataFrame(
            {
                "borrower_id": ["王小明", "B2"],
                "jurisdiction": ["TW", "US-CA"],
                "timezone": ["Asia/Taipei", None],
                "language": ["zh-TW", None],
                "phone": ["+886912345678", None],
                "email": [None, "b2@example.com"],
                "cease_communication": [False, True],
                "dispute_open": [False, False],
                "deceased": [False, False],
                "bankrupt": [False, True],
                "represented": [False, False],
                "vulnerable": [True, False],
                "complaint_open": [False, True],
                "hardship_pause": [False, False],
                "no_workplace_contact": [True, False],
                "validation_sent": [False, False],
                "opt_out_channels": ["", "sms|call"],
                "consent_hours": [None, "07:00-23:00"],
            },
            schema=S["borrowers"],
        ),
        accounts=pl.DataFrame(
            {
                "account_id": ["A1", "A2"],
                "borrower_id": ["王小明", "B2"],
                "product": ["loan", "card"],
                "currency": ["TWD", "JPY"],
                "opened_on": [dt.date(2024, 1, 5), dt.date(2023, 6, 1)],
                "principal_minor": [1_000_000, None],
                "credit_limit_minor": [None, 500_000],
                "balance_minor": [-550, 12_345],
                "term_days": [90, None],
                "reported_dpd": [None, 35],
                "reported_past_due_minor": [None, 3_000],
            },
            schema=S["accounts"],
        ),
        installments=pl.DataFrame(
            {
                "account_id": ["A1", "A1", "A1"],
                "seq": [1, 2, 3],
                "due_date": [dt.date(2024, 2, 5), dt.date(2024, 3, 5), dt.date(2024, 4, 5)],
                "principal_minor": [333_333, 333_333, 333_334],
                "interest_minor": [1_234, 0, 7],
                "fees_minor": [0, 5, 0],
            },
            schema=S["installments"],
        ),
        payments=pl.DataFrame(
            {
                "payment_id": ["P1", "P2", "P3"],
                "account_id": ["A1", "A2", "A1"],
                "paid_on": [dt.date(2024, 2, 5), dt.date(2024, 2, 1), dt.date(2024, 3, 1)],
                "amount_minor": [334_567, 700, 1],
            },
            schema=S["payments"],
        ),
        statements=pl.DataFrame(
            {
                "account_id": ["A2", "A2"],
                "statement_date": [dt.date(2024, 1, 31), dt.date(2024, 2, 29)],
                "balance_minor": [-12, 12_345],
                "minimum_due_minor": [None, 1_000],
            },
            schema=S["statements"],
        ),
        contact_history=pl.DataFrame(
            {
                "contact_id": ["C1", "C2"],
                "borrower_id": ["B2", "王小明"],
                "account_id": [None, "A1"],
                "channel": ["sms", "call"],
                "direction": ["outbound", "inbound"],
                "started_at": [
                    dt.datetime(2024, 2, 2, 1, 30, tzinfo=UTC),
                    dt.datetime(2024, 2, 3, 9, 0, 5, tzinfo=UTC),
                ],
                "outcome": ["delivered", "rpc"],
                "agent_id": [None, "agency-7"],
            },
            schema=S["contact_history"],
        ),
    )


def assert_same(a: PortfolioFrames, b: PortfolioFrames) -> None:
    for name, frame in a.items():
        assert_frame_equal(frame, b.table(name), check_dtypes=True)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    out = tmp_path / "snapshot"
    write_portfolio(sample_frames(), out)
    return out


def errors_of(folder: Path, encoding: str | None = None) -> list[InputError]:
    with pytest.raises(PortfolioInvalid) as info:
        read_portfolio(folder, encoding=encoding)
    assert info.value.errors, "PortfolioInvalid must carry errors"
    return info.value.errors


def where(errors: list[InputError]) -> list[tuple[str, int, str]]:
    return [(e.file, e.line, e.column) for e in errors]


def set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Overwrite one cell (0-based data row) of ``<table>.csv``, keeping everything as text."""
    path = folder / f"{table}.csv"
    frame = pl.read_csv(path, infer_schema=False)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value))
        .otherwise(pl.col(column))
        .alias(column)
    )
    frame.write_csv(path)


# --- round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_written_portfolio_reads_back_equal(tmp_path: Path, fmt: str) -> None:
    frames = sample_frames()
    write_portfolio(frames, tmp_path, fmt)  # type: ignore[arg-type]
    assert_same(read_portfolio(tmp_path), frames.conformed())


def test_output_conforms_to_frame_schemas(folder: Path) -> None:
    frames = read_portfolio(folder)
    for name, frame in frames.items():
        assert dict(frame.schema) == S[name], name


def test_optional_tables_and_columns_may_be_absent(tmp_path: Path) -> None:
    (tmp_path / "borrowers.csv").write_text("borrower_id,jurisdiction\nB1,TW\n", encoding="utf-8")
    (tmp_path / "accounts.csv").write_text(
        "account_id,borrower_id,product,currency,opened_on\nA1,B1,loan,TWD,2024-01-01\n",
        encoding="utf-8",
    )
    (tmp_path / "installments.csv").write_text(
        "account_id,seq,due_date,principal\nA1,1,2024-02-01,100.5\n", encoding="utf-8"
    )
    (tmp_path / "payments.csv").write_text(
        "payment_id,account_id,paid_on,amount\n", encoding="utf-8"
    )
    (tmp_path / "notes.txt").write_text("not a table, ignored", encoding="utf-8")
    frames = read_portfolio(tmp_path)
    b = frames.borrowers.row(0, named=True)
    assert b["timezone"] is None and b["language"] is None
    assert b["opt_out_channels"] == ""
    assert b["cease_communication"] is False and b["vulnerable"] is False
    i = frames.installments.row(0, named=True)
    assert (i["principal_minor"], i["interest_minor"], i["fees_minor"]) == (10050, 0, 0)
    assert frames.accounts.row(0, named=True)["principal_minor"] is None
    assert frames.payments.height == 0
    assert frames.statements.height == 0 and frames.contact_history.height == 0
    for name, frame in frames.items():
        assert dict(frame.schema) == S[name], name


def test_values_are_normalised(folder: Path) -> None:
    set_cell(folder, "borrowers", 0, "vulnerable", " YES ")
    set_cell(folder, "borrowers", 1, "cease_communication", "0")
    set_cell(folder, "borrowers", 1, "opt_out_channels", " email | letter ")
    set_cell(folder, "borrowers", 0, "consent_hours", " 06:30 - 24:00 ")
    set_cell(folder, "borrowers", 0, "timezone", "")
    set_cell(folder, "payments", 0, "amount", "3345.670")  # trailing zero beyond TWD's 2 places
    set_cell(folder, "contact_history", 0, "started_at", "2024-02-02 09:30+08:00")
    set_cell(folder, "contact_history", 1, "started_at", "2024-02-03T09:00:05.25Z")
    frames = read_portfolio(folder)
    b = frames.borrowers
    assert b["vulnerable"].to_list() == [True, False]
    assert b["cease_communication"].to_list() == [False, False]
    assert b["opt_out_channels"].to_list() == ["", "email|letter"]
    assert b["consent_hours"].to_list() == ["06:30-00:00", "07:00-23:00"]  # 24:00 = midnight
    assert [parse_hours(h) for h in b["consent_hours"]] == [
        (dt.time(6, 30), dt.time(0)),
        (dt.time(7), dt.time(23)),
    ]
    assert b["timezone"].to_list() == [None, None]
    assert frames.payments["amount_minor"].to_list()[0] == 334_567
    assert frames.contact_history["started_at"].to_list() == [
        dt.datetime(2024, 2, 2, 1, 30, tzinfo=UTC),
        dt.datetime(2024, 2, 3, 9, 0, 5, 250_000, tzinfo=UTC),
    ]


# --- one bad value, one error at the right place ------------------------------------------

BAD_VALUES = [
    # table, row, column, value, fragment of the reason
    ("payments", 1, "payment_id", "", "required value is empty"),
    ("payments", 1, "payment_id", "P" * 65, "65 characters long; at most 64"),
    ("payments", 1, "payment_id", "P\x01X", "control character"),
    ("installments", 2, "seq", "three", "not a whole number"),
    ("installments", 2, "seq", "0", "must be at least 1"),
    ("installments", 2, "seq", "99999999999999999999", "out of range"),
    ("accounts", 0, "term_days", "0", "must be at least 1"),
    ("accounts", 1, "reported_dpd", "-1", "must be at least 0"),
    ("accounts", 0, "principal", "10,000.00", "not a plain decimal amount"),
    ("accounts", 0, "principal", "1e4", "not a plain decimal amount"),
    ("accounts", 0, "principal", "10000.001", "more decimal places than TWD allows (2)"),
    ("accounts", 1, "credit_limit", "500000.5", "more decimal places than JPY allows (0)"),
    ("accounts", 0, "principal", "123456789012345678", "too large"),
    ("payments", 1, "amount", "7.5", "more decimal places than JPY allows (0)"),
    ("statements", 0, "balance", "-0.12", "more decimal places than JPY allows (0)"),
    ("installments", 0, "interest", "12.345", "more decimal places than TWD allows (2)"),
    ("payments", 0, "amount", "0", "greater than 0"),
    ("payments", 0, "amount", "-5.00", "greater than 0"),
    ("installments", 1, "principal", "-1.00", "must not be negative"),
    ("installments", 1, "fees", "-0.01", "must not be negative"),
    ("accounts", 0, "opened_on", "2024-02-30", "not a real calendar date"),
    ("accounts", 0, "opened_on", "2024/01/05", "YYYY-MM-DD"),
    ("payments", 2, "paid_on", "", "required value is empty"),
    ("contact_history", 0, "started_at", "2024-02-02T09:30:00", "time has no UTC offset"),
    ("contact_history", 0, "started_at", "2024-02-02", "not an ISO 8601 date-time"),
    ("contact_history", 1, "started_at", "2024-02-30T09:30:00+08:00", "not a real date-time"),
    ("borrowers", 1, "deceased", "maybe", "not a boolean"),
    ("accounts", 1, "product", "mortgage", "'mortgage' is not one of"),
    ("contact_history", 0, "channel", "fax", "'fax' is not one of"),
    ("contact_history", 0, "direction", "Outbound", "is not one of"),
    ("borrowers", 0, "timezone", "Asia/Taipeh", "unknown IANA time zone"),
    ("borrowers", 0, "jurisdiction", "tw", "not a jurisdiction code"),
    ("borrowers", 1, "jurisdiction", "USA-CA", "not a jurisdiction code"),
    ("borrowers", 1, "jurisdiction", "", "required value is empty"),
    ("accounts", 1, "currency", "YEN", "unknown ISO 4217 currency 'YEN'"),
    ("borrowers", 1, "opt_out_channels", "sms|fax", "unknown channel(s) 'fax'"),
    ("borrowers", 1, "consent_hours", "7:00-23:00", "not hours in HH:MM-HH:MM form"),
    ("borrowers", 1, "consent_hours", "07:00", "not hours in HH:MM-HH:MM form"),
    ("borrowers", 1, "consent_hours", "08:00-25:00", "not hours in HH:MM-HH:MM form"),
    ("borrowers", 1, "consent_hours", "22:00-08:00", "must start before they end"),
    ("borrowers", 1, "consent_hours", "09:00-09:00", "must start before they end"),
    ("borrowers", 1, "consent_hours", "08:00-00:00", "write midnight as 24:00"),
    ("borrowers", 1, "consent_hours", "visit=08:00-22:00", "keeps the statutory hours"),
    ("borrowers", 1, "consent_hours", "fax=08:00-22:00", "unknown channel 'fax'"),
    ("borrowers", 1, "consent_hours", "call=08:00-22:00|call=09:00-21:00", "call given twice"),
    ("borrowers", 1, "consent_hours", "08:00-22:00|09:00-21:00", "every channel given twice"),
    ("borrowers", 1, "consent_hours", "sms=22:00-08:00", "must start before they end"),
    ("borrowers", 1, "consent_hours", "call=08:00-22:00|", "not hours in HH:MM-HH:MM form"),
    ("borrowers", 1, "consent_hours", "00:00-00:00", "write midnight as 24:00"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "fragment"), BAD_VALUES)
def test_bad_value_is_reported_at_its_file_line_and_column(
    folder: Path, table: str, row: int, column: str, value: str, fragment: str
) -> None:
    set_cell(folder, table, row, column, value)
    errors = errors_of(folder)
    assert where(errors) == [(f"{table}.csv", row + 2, column)]
    assert fragment in errors[0].reason


@pytest.mark.parametrize(
    ("text", "row", "minor"),
    [
        ("12", 0, 1200),  # TWD, 2 decimal places
        ("12.5", 0, 1250),
        ("-12.05", 0, -1205),
        ("+0.01", 0, 1),
        ("-0", 0, 0),
        ("007.10", 0, 710),
        ("12.500", 0, 1250),  # extra decimal places are fine when they are zeros
        ("9999999999999999.99", 0, 999_999_999_999_999_999),
        ("1000.00", 1, 1000),  # JPY, no decimal places
        ("-3", 1, -3),
    ],
)
def test_amounts_become_exact_minor_units(folder: Path, text: str, row: int, minor: int) -> None:
    set_cell(folder, "accounts", row, "balance", text)
    assert read_portfolio(folder).accounts["balance_minor"].to_list()[row] == minor


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (".5", "not a plain decimal"),
        ("5.", "not a plain decimal"),
        ("-.5", "not a plain decimal"),
        ("1.2.3", "not a plain decimal"),
        ("NT$12", "not a plain decimal"),
        ("1 000", "not a plain decimal"),
        ("NaN", "not a plain decimal"),
        ("１２", "not a plain decimal"),  # full-width digits
        ("0.001", "more decimal places than TWD allows (2)"),
        ("0.0000000000000000000000001", "more decimal places than TWD allows (2)"),
        ("10000000000000000.00", "too large"),
        ("99999999999999999999999", "too large"),
    ],
)
def test_malformed_amounts_are_refused(folder: Path, text: str, fragment: str) -> None:
    set_cell(folder, "accounts", 0, "balance", text)
    errors = errors_of(folder)
    assert where(errors) == [("accounts.csv", 2, "balance")]
    assert fragment in errors[0].reason


def test_amount_precision_uses_the_accounts_currency_when_all_share_one(tmp_path: Path) -> None:
    frames = sample_frames()
    frames.accounts = frames.accounts.with_columns(currency=pl.lit("TWD"))
    write_portfolio(frames, tmp_path)
    set_cell(tmp_path, "payments", 1, "amount", "7.001")
    set_cell(tmp_path, "installments", 0, "account_id", "A9")
    set_cell(tmp_path, "installments", 0, "principal", "1.001")
    errors = errors_of(tmp_path)
    assert where(errors) == [
        ("installments.csv", 2, "account_id"),
        ("installments.csv", 2, "principal"),
        ("payments.csv", 3, "amount"),
    ]
    assert "more decimal places than the account's currency allows (2)" in errors[1].reason
    assert "more decimal places than TWD allows (2)" in errors[2].reason


def test_every_bad_row_in_every_file_is_reported_in_order(folder: Path) -> None:
    set_cell(folder, "payments", 2, "amount", "abc")
    set_cell(folder, "payments", 0, "paid_on", "05/02/2024")
    set_cell(folder, "installments", 0, "due_date", "2024-13-01")
    set_cell(folder, "installments", 2, "principal", "1.234")
    set_cell(folder, "borrowers", 1, "timezone", "Mars/Olympus")
    set_cell(folder, "contact_history", 1, "outcome", "shouted")
    errors = errors_of(folder)
    assert where(errors) == [
        ("borrowers.csv", 3, "timezone"),
        ("installments.csv", 2, "due_date"),
        ("installments.csv", 4, "principal"),
        ("payments.csv", 2, "paid_on"),
        ("payments.csv", 4, "amount"),
        ("contact_history.csv", 3, "outcome"),
    ]


def test_several_bad_cells_in_one_row_are_each_reported(folder: Path) -> None:
    set_cell(folder, "accounts", 1, "product", "lease")
    set_cell(folder, "accounts", 1, "opened_on", "yesterday")
    set_cell(folder, "accounts", 1, "balance", "12.3.4")
    errors = errors_of(folder)
    assert where(errors) == [
        ("accounts.csv", 3, "product"),
        ("accounts.csv", 3, "opened_on"),
        ("accounts.csv", 3, "balance"),
    ]


# --- keys and references --------------------------------------------------------------------


def test_each_duplicate_key_line_is_reported(folder: Path) -> None:
    set_cell(folder, "payments", 2, "payment_id", "P1")
    errors = errors_of(folder)
    assert where(errors) == [("payments.csv", 2, "payment_id"), ("payments.csv", 4, "payment_id")]
    assert all("duplicate payment_id 'P1': on lines 2, 4" in e.reason for e in errors)


def test_duplicate_account_is_reported_on_every_line(folder: Path) -> None:
    set_cell(folder, "accounts", 1, "account_id", "A1")
    errors = errors_of(folder)
    dup = [e for e in errors if e.file == "accounts.csv"]
    assert where(dup) == [("accounts.csv", 2, "account_id"), ("accounts.csv", 3, "account_id")]
    # Rows that pointed at the renamed account now dangle, and are reported too.
    assert ("payments.csv", 3, "account_id") in where(errors)
    assert ("statements.csv", 2, "account_id") in where(errors)


def test_installment_seq_must_be_unique_per_account(folder: Path) -> None:
    set_cell(folder, "installments", 2, "seq", "02")  # same number as row 1, written differently
    errors = errors_of(folder)
    assert where(errors) == [("installments.csv", 3, "seq"), ("installments.csv", 4, "seq")]
    assert "account_id 'A1', seq '2'" in errors[0].reason


def test_same_seq_on_different_accounts_is_fine(tmp_path: Path) -> None:
    frames = sample_frames()
    frames.installments = pl.concat(
        [frames.installments, frames.installments.head(1).with_columns(account_id=pl.lit("A2"))]
    )
    write_portfolio(frames, tmp_path)
    assert read_portfolio(tmp_path).installments.height == 4


def test_references_to_missing_rows_are_reported(folder: Path) -> None:
    set_cell(folder, "accounts", 1, "borrower_id", "B9")
    set_cell(folder, "installments", 0, "account_id", "A9")
    set_cell(folder, "payments", 2, "account_id", "A8")
    set_cell(folder, "statements", 1, "account_id", "A7")
    set_cell(folder, "contact_history", 0, "borrower_id", "B8")
    set_cell(folder, "contact_history", 1, "account_id", "A6")
    errors = errors_of(folder)
    assert where(errors) == [
        ("accounts.csv", 3, "borrower_id"),
        ("installments.csv", 2, "account_id"),
        ("payments.csv", 4, "account_id"),
        ("statements.csv", 3, "account_id"),
        ("contact_history.csv", 2, "borrower_id"),
        ("contact_history.csv", 3, "account_id"),
    ]
    assert errors[0].reason == "borrower_id 'B9' not found in borrowers"
    assert errors[1].reason == "account_id 'A9' not found in accounts"


# --- folder, files and headers ----------------------------------------------------------------


def test_unknown_column_is_refused_with_a_suggestion(folder: Path) -> None:
    path = folder / "payments.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("paid_on", "paid_om"), "utf-8")
    errors = errors_of(folder)
    assert where(errors) == [("payments.csv", 1, "paid_om"), ("payments.csv", 1, "paid_on")]
    assert "unknown column 'paid_om'; did you mean 'paid_on'?" in errors[0].reason
    assert errors[1].reason == "required column is missing"


def test_extra_column_is_refused_even_if_required_ones_are_there(folder: Path) -> None:
    frame = pl.read_csv(folder / "accounts.csv", infer_schema=False)
    frame.with_columns(notes=pl.lit("x")).write_csv(folder / "accounts.csv")
    assert where(errors_of(folder)) == [("accounts.csv", 1, "notes")]


def test_duplicated_header_column_is_refused(tmp_path: Path, folder: Path) -> None:
    path = folder / "payments.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [line + "," + line.split(",")[-1] for line in lines]
    lines[0] = "payment_id,account_id,paid_on,amount,amount"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = errors_of(folder)
    assert where(errors) == [("payments.csv", 1, "amount")]
    assert "more than once" in errors[0].reason


def test_missing_folder_and_missing_tables(tmp_path: Path, folder: Path) -> None:
    errors = errors_of(tmp_path / "nope")
    assert where(errors) == [(str(tmp_path / "nope"), 0, "")]
    assert "does not exist" in errors[0].reason

    (folder / "payments.csv").unlink()
    (folder / "installments.csv").rename(folder / "installments.xlsx")
    errors = errors_of(folder)
    assert where(errors) == [("installments", 0, ""), ("payments", 0, "")]
    assert "required table installments is missing" in errors[0].reason
    assert "found installments.xlsx" in errors[0].reason


def test_csv_and_parquet_of_one_table_is_an_error(folder: Path) -> None:
    pl.read_csv(folder / "payments.csv", infer_schema=False).write_parquet(
        folder / "payments.parquet"
    )
    errors = errors_of(folder)
    assert where(errors) == [("payments", 0, "")]
    assert "payments.csv and payments.parquet" in errors[0].reason


def test_row_with_too_many_fields_is_located(folder: Path) -> None:
    path = folder / "payments.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] += ",extra"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = errors_of(folder)
    assert where(errors) == [("payments.csv", 3, "")]
    assert "5 fields; the header has 4" in errors[0].reason


def test_blank_lines_are_skipped_but_counted(folder: Path) -> None:
    path = folder / "payments.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(2, "")
    lines[3] = lines[3].replace("2024-02-01", "2024-02-31")
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    assert where(errors_of(folder)) == [("payments.csv", 4, "paid_on")]


def test_line_break_inside_a_field_is_refused(folder: Path) -> None:
    set_cell(folder, "borrowers", 1, "email", "a@b.c\nsecond line")
    errors = errors_of(folder)
    assert where(errors) == [("borrowers.csv", 3, "")]
    assert "line break" in errors[0].reason


def test_empty_file_is_refused(folder: Path) -> None:
    (folder / "payments.csv").write_bytes(b"")
    errors = errors_of(folder)
    assert where(errors) == [("payments.csv", 0, "")]
    assert "empty" in errors[0].reason


# --- encodings ------------------------------------------------------------------------------

CHINESE_BORROWERS = (
    "borrower_id,jurisdiction,timezone,language\n"
    "王小明,TW,Asia/Taipei,zh-TW\n"
    "陳大文,TW,Asia/Taipei,zh-TW\n"
)


def chinese_folder(tmp_path: Path, encoding: str) -> Path:
    """A small portfolio whose borrowers.csv is encoded in ``encoding``; the rest is ASCII."""
    (tmp_path / "borrowers.csv").write_bytes(CHINESE_BORROWERS.encode(encoding))
    (tmp_path / "accounts.csv").write_text(
        "account_id,borrower_id,product,currency,opened_on\nA1,B,loan,TWD,2024-01-01\n".replace(
            ",B,", ",王小明,"
        ),
        encoding="utf-8" if encoding == "utf-8" else encoding,
    )
    (tmp_path / "installments.csv").write_text(
        "account_id,seq,due_date,principal\nA1,1,2024-02-01,100\n", encoding="ascii"
    )
    (tmp_path / "payments.csv").write_text(
        "payment_id,account_id,paid_on,amount\n", encoding="ascii"
    )
    return tmp_path


def test_utf8_with_bom_is_read(tmp_path: Path) -> None:
    folder = chinese_folder(tmp_path, "utf-8")
    path = folder / "borrowers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    frames = read_portfolio(folder)
    assert frames.borrowers["borrower_id"].to_list() == ["王小明", "陳大文"]
    assert frames.accounts["borrower_id"].to_list() == ["王小明"]


@pytest.mark.parametrize(("encoding", "label"), [("gb18030", "GB18030"), ("big5", "Big5")])
def test_chinese_encoding_is_refused_without_encoding_and_named(
    tmp_path: Path, encoding: str, label: str
) -> None:
    folder = chinese_folder(tmp_path, encoding)
    errors = errors_of(folder)
    assert where(errors) == [("borrowers.csv", 2, ""), ("accounts.csv", 2, "")]
    for error in errors:
        assert "not UTF-8" in error.reason
        assert f"looks like {label}" in error.reason
        assert f"--encoding {encoding}" in error.reason


@pytest.mark.parametrize("encoding", ["gb18030", "big5", "GB18030", "Big5"])
def test_chinese_encoding_is_read_with_encoding(tmp_path: Path, encoding: str) -> None:
    folder = chinese_folder(tmp_path, encoding.lower())
    frames = read_portfolio(folder, encoding=encoding)
    assert frames.borrowers["borrower_id"].to_list() == ["王小明", "陳大文"]
    assert frames.accounts["borrower_id"].to_list() == ["王小明"]


def test_undecodable_byte_with_given_encoding_names_its_line(tmp_path: Path) -> None:
    folder = chinese_folder(tmp_path, "utf-8")
    # In GB18030, 陳 is EA 90; 0x90 cannot follow a lead byte in Big5.
    (folder / "borrowers.csv").write_bytes(
        b"borrower_id,jurisdiction\nB1,TW\n" + "陳五,TW\n".encode("gb18030")
    )
    (folder / "accounts.csv").write_text(
        "account_id,borrower_id,product,currency,opened_on\nA1,B1,loan,TWD,2024-01-01\n",
        encoding="ascii",
    )
    errors = errors_of(folder, encoding="big5")
    assert where(errors) == [("borrowers.csv", 3, "")]
    assert "cannot be decoded as big5" in errors[0].reason


def test_utf8_file_with_a_legacy_encoding_given_is_refused(tmp_path: Path) -> None:
    folder = chinese_folder(tmp_path, "utf-8")
    errors = errors_of(folder, encoding="gb18030")
    assert where(errors) == [("borrowers.csv", 0, ""), ("accounts.csv", 0, "")]
    assert "file is UTF-8, not gb18030" in errors[0].reason


def test_unknown_encoding_name_is_refused(folder: Path) -> None:
    errors = errors_of(folder, encoding="klingon-8")
    assert where(errors) == [("--encoding", 0, "")]


# --- parquet --------------------------------------------------------------------------------


def test_parquet_errors_use_row_number_plus_one(tmp_path: Path) -> None:
    write_portfolio(sample_frames(), tmp_path, "parquet")
    path = tmp_path / "payments.parquet"
    frame = pl.read_parquet(path)
    frame.with_columns(
        amount=pl.when(pl.int_range(pl.len()) == 1).then(pl.lit("x")).otherwise("amount")
    ).write_parquet(path)
    assert where(errors_of(tmp_path)) == [("payments.parquet", 3, "amount")]


def test_typed_parquet_columns_are_accepted(tmp_path: Path) -> None:
    write_portfolio(sample_frames(), tmp_path, "parquet")
    inst = pl.read_parquet(tmp_path / "installments.parquet").with_columns(
        pl.col("seq").cast(pl.Int32), pl.col("due_date").str.to_date()
    )
    inst.write_parquet(tmp_path / "installments.parquet")
    ch = pl.read_parquet(tmp_path / "contact_history.parquet").with_columns(
        pl.col("started_at").str.to_datetime(time_zone="UTC")
    )
    ch.write_parquet(tmp_path / "contact_history.parquet")
    pay = pl.read_parquet(tmp_path / "payments.parquet").with_columns(
        pl.col("amount").cast(pl.Decimal(12, 2))  # 700 JPY becomes "700.00": still exact
    )
    pay.write_parquet(tmp_path / "payments.parquet")
    assert_same(read_portfolio(tmp_path), sample_frames())


def test_parquet_float_amounts_and_naive_times_are_refused(tmp_path: Path) -> None:
    write_portfolio(sample_frames(), tmp_path, "parquet")
    pl.read_parquet(tmp_path / "payments.parquet").with_columns(
        pl.col("amount").cast(pl.Float64)
    ).write_parquet(tmp_path / "payments.parquet")
    pl.read_parquet(tmp_path / "contact_history.parquet").with_columns(
        pl.col("started_at").str.slice(0, 19).str.to_datetime()
    ).write_parquet(tmp_path / "contact_history.parquet")
    errors = errors_of(tmp_path)
    assert where(errors) == [
        ("payments.parquet", 1, "amount"),
        ("contact_history.parquet", 2, "started_at"),
        ("contact_history.parquet", 3, "started_at"),
    ]
    assert "floating point" in errors[0].reason
    assert "time has no UTC offset" in errors[1].reason


# --- error object and snapshot digest -------------------------------------------------------


def test_portfolio_invalid_renders_first_errors_and_a_count() -> None:
    errors = [InputError("payments.csv", n, "amount", "bad") for n in range(2, 30)]
    text = str(PortfolioInvalid(errors, shown=3))
    assert text.splitlines() == [
        "portfolio is invalid: 28 errors",
        "  payments.csv:2 [amount]: bad",
        "  payments.csv:3 [amount]: bad",
        "  payments.csv:4 [amount]: bad",
        "  ... and 25 more",
    ]
    assert PortfolioInvalid(errors).errors == errors


def test_portfolio_sha256_recognises_the_same_snapshot(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write_portfolio(sample_frames(), a)
    write_portfolio(sample_frames(), b)
    (b / "README.txt").write_text("ignored", encoding="utf-8")
    digest = portfolio_sha256(a)
    assert len(digest) == 64
    assert portfolio_sha256(b) == digest
    set_cell(b, "payments", 0, "amount", "3345.68")
    assert portfolio_sha256(b) != digest
    (a / "payments.csv").rename(a / "payments.csv.bak")
    assert portfolio_sha256(a) != digest


def test_documented_examples_are_a_valid_portfolio(tmp_path: Path) -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "portfolio-format.md"
    blocks = re.findall(
        r"`(\w+\.csv)`(?: \(optional\))?\n\n```csv\n(.*?)```", doc.read_text("utf-8"), re.S
    )
    assert sorted(name for name, _ in blocks) == sorted(f"{n}.csv" for n in S)
    for name, body in blocks:
        (tmp_path / name).write_text(body, encoding="utf-8")
    frames = read_portfolio(tmp_path)
    assert frames.accounts["balance_minor"].to_list() == [2_000_000, 123_456]
    assert frames.contact_history["started_at"].to_list()[0] == dt.datetime(
        2024, 3, 1, 15, 15, tzinfo=UTC
    )


# --- time zone against jurisdiction -----------------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "zone"),
    [
        ("US-WA", "Asia/Tokyo"),
        ("TW", "Europe/London"),
        ("US-AZ", "America/New_York"),
        ("US-HI", "America/New_York"),  # every state has its own zones, not any US zone
        ("US-GU", "America/New_York"),
    ],
)
def test_a_zone_of_another_place_is_refused_at_its_line(
    folder: Path, jurisdiction: str, zone: str
) -> None:
    """A typo in the zone would move every contact window (09:00 Tokyo is 16:00 in Seattle)."""
    set_cell(folder, "borrowers", 1, "jurisdiction", jurisdiction)
    set_cell(folder, "borrowers", 1, "timezone", zone)
    (err,) = errors_of(folder)
    assert (err.file, err.line, err.column) == ("borrowers.csv", 3, "timezone")
    assert f"'{zone}' is not one of jurisdiction {jurisdiction}" in err.reason


@pytest.mark.parametrize(
    ("jurisdiction", "zone"),
    [
        ("US-WA", "US/Pacific"),  # an alias keeps the same clock
        ("US-MI", "America/Detroit"),
        ("US-AZ", "America/Denver"),  # the Navajo Nation keeps daylight saving time
        ("US-PR", "America/Puerto_Rico"),  # territories: their own zones
        ("US-GU", "Pacific/Guam"),
        ("US-IN", "America/Indiana/Indianapolis"),
        ("US-AK", "America/Adak"),
        ("CN", "PRC"),  # an alias of Asia/Shanghai
        ("CN", "Asia/Urumqi"),  # Xinjiang's own clock (Beijing time is judged beside it)
    ],
)
def test_zones_that_keep_the_jurisdictions_clock_are_accepted(
    folder: Path, jurisdiction: str, zone: str
) -> None:
    set_cell(folder, "borrowers", 1, "jurisdiction", jurisdiction)
    set_cell(folder, "borrowers", 1, "timezone", zone)
    got = read_portfolio(folder).borrowers.row(1, named=True)
    assert (got["jurisdiction"], got["timezone"]) == (jurisdiction, zone)


def test_consent_hours_per_channel_are_read_and_parsed(folder: Path) -> None:
    set_cell(folder, "borrowers", 1, "consent_hours", " 09:00-21:00 | call = 07:30-24:00 ")
    cell = read_portfolio(folder).borrowers["consent_hours"][1]
    assert cell == "09:00-21:00|call=07:30-00:00"
    every, per = parse_consent(cell)
    assert every == (dt.time(9), dt.time(21))
    assert per == (("call", dt.time(7, 30), dt.time(0)),)


@pytest.mark.parametrize(
    ("jurisdiction", "fragment"),
    [
        ("US-NYC", "US-NYC is not an ISO 3166-2 subdivision code"),  # NYC's cap would be lost
        ("XX", "XX is not an ISO 3166-1 country code"),
        ("US-NY-BRX", "no local jurisdiction of that name (known: US-NY-NYC)"),
        ("CN-TW", "write TW"),  # valid ISO 3166-2, but TW's own rules would be lost
        ("PR", "write US-PR"),
    ],
)
def test_an_unknown_jurisdiction_is_refused_at_its_line(
    folder: Path, jurisdiction: str, fragment: str
) -> None:
    """A typo must not silently drop an overlay's rules."""
    set_cell(folder, "borrowers", 1, "jurisdiction", jurisdiction)
    set_cell(folder, "borrowers", 1, "timezone", "")
    (err,) = errors_of(folder)
    assert (err.file, err.line, err.column) == ("borrowers.csv", 3, "jurisdiction")
    assert "unknown jurisdiction" in err.reason and fragment in err.reason


def test_iso_subdivisions_without_their_own_pack_are_accepted(folder: Path) -> None:
    set_cell(folder, "borrowers", 1, "jurisdiction", "GB-SCT")
    set_cell(folder, "borrowers", 1, "timezone", "Europe/London")
    assert read_portfolio(folder).borrowers["jurisdiction"][1] == "GB-SCT"


def test_us_minor_outlying_islands_need_a_zone_too(folder: Path) -> None:
    set_cell(folder, "borrowers", 1, "jurisdiction", "US-UM")
    set_cell(folder, "borrowers", 1, "timezone", "")
    (err,) = errors_of(folder)
    assert err.column == "timezone" and "UTC-11 to UTC+10" in err.reason


def test_a_us_borrower_needs_a_state_or_a_zone(folder: Path) -> None:
    """ "US" alone could be Guam (UTC+10) or American Samoa (UTC-11): no local day in common."""
    set_cell(folder, "borrowers", 1, "jurisdiction", "US")
    set_cell(folder, "borrowers", 1, "timezone", "")
    (err,) = errors_of(folder)
    assert (err.line, err.column) == (3, "timezone") and "give the state or territory" in err.reason
    set_cell(folder, "borrowers", 1, "timezone", "America/Chicago")
    assert read_portfolio(folder).borrowers["timezone"][1] == "America/Chicago"
