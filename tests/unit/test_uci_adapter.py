"""UCI credit-card adapter: mapping checked against the real file, read independently with csv."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from arrears.adapters.portfolio.schema import FLAG_COLUMNS, FRAME_SCHEMAS, PortfolioFrames
from arrears.adapters.portfolio.uci import (
    UCI_AS_OF,
    UCIFormatError,
    load_uci,
    uci_labels,
)

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(os.environ.get("ARREARS_DATA_DIR", REPO / ".." / "shared" / "data"))
UCI_FILE = DATA_DIR / "uci_taiwan_credit_default.csv"

MONTH_END = {
    1: date(2005, 9, 30),
    2: date(2005, 8, 31),
    3: date(2005, 7, 31),
    4: date(2005, 6, 30),
    5: date(2005, 5, 31),
    6: date(2005, 4, 30),
}


@pytest.fixture(scope="module")
def frames() -> PortfolioFrames:
    return load_uci(UCI_FILE)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    """The real file read with the csv module only (the independent oracle)."""
    with UCI_FILE.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_as_of_is_end_of_september_2005() -> None:
    assert date(2005, 9, 30) == UCI_AS_OF


def test_frames_follow_the_normalised_schema(frames: PortfolioFrames) -> None:
    for name, schema in FRAME_SCHEMAS.items():
        assert dict(frames.table(name).schema) == schema, name
    assert frames.installments.height == 0
    assert frames.contact_history.height == 0


def test_one_borrower_and_one_card_per_row(
    frames: PortfolioFrames, rows: list[dict[str, str]]
) -> None:
    assert len(rows) == 30_000
    assert frames.accounts.height == 30_000
    assert frames.borrowers.height == 30_000
    ids = [r["ID"] for r in rows]
    assert frames.accounts.get_column("account_id").to_list() == ids
    assert frames.accounts.get_column("borrower_id").to_list() == ["B" + i for i in ids]
    assert set(frames.borrowers.get_column("borrower_id")) == {"B" + i for i in ids}
    acc = frames.accounts
    assert set(acc.get_column("product")) == {"card"}
    assert set(acc.get_column("currency")) == {"TWD"}
    assert set(acc.get_column("opened_on")) == {date(2005, 4, 1)}
    assert set(acc.get_column("principal_minor")) == {0}
    assert acc.get_column("term_days").null_count() == 30_000


def test_borrowers_carry_no_personal_or_sensitive_data(frames: PortfolioFrames) -> None:
    b = frames.borrowers
    assert set(b.get_column("jurisdiction")) == {"TW"}
    assert set(b.get_column("timezone")) == {"Asia/Taipei"}
    assert set(b.get_column("language")) == {"zh-TW"}
    assert b.get_column("phone").null_count() == b.height
    assert b.get_column("email").null_count() == b.height
    for flag in FLAG_COLUMNS:
        assert not b.get_column(flag).any(), flag
    assert set(b.get_column("opt_out_channels")) == {""}
    all_columns = {c.lower() for _, f in frames.items() for c in f.columns}
    for sensitive in ("sex", "education", "marriage", "age"):
        assert sensitive not in all_columns


def test_in_arrears_count_matches_an_independent_count(
    frames: PortfolioFrames, rows: list[dict[str, str]]
) -> None:
    independent = sum(1 for r in rows if int(r["PAY_0"]) >= 1)
    assert independent == 6_818  # the figure the data README states
    assert frames.accounts.filter(pl.col("reported_dpd") > 0).height == independent


def test_reported_dpd_and_past_due_follow_pay_0(
    frames: PortfolioFrames, rows: list[dict[str, str]]
) -> None:
    got = {
        r["account_id"]: (r["reported_dpd"], r["reported_past_due_minor"], r["balance_minor"])
        for r in frames.accounts.iter_rows(named=True)
    }
    for r in rows:
        status, bill = int(r["PAY_0"]), int(r["BILL_AMT1"])
        dpd = 30 * status if status >= 1 else 0
        past_due = max(bill, 0) * 100 if status >= 1 else 0
        assert got[r["ID"]] == (dpd, past_due, bill * 100), r["ID"]


def test_dpd_scale_reaches_the_higher_buckets(frames: PortfolioFrames) -> None:
    dpds = set(frames.accounts.get_column("reported_dpd"))
    # PAY_0 in the file goes up to 8 months of delay.
    assert dpds == {0, 30, 60, 90, 120, 150, 180, 210, 240}


def test_id_1_maps_to_60_dpd_and_its_balance_in_minor_units(frames: PortfolioFrames) -> None:
    row = frames.accounts.filter(pl.col("account_id") == "1").row(0, named=True)
    assert row["borrower_id"] == "B1"
    assert row["reported_dpd"] == 60  # PAY_0 = 2 months of delay
    assert row["balance_minor"] == 391_300  # NT$ 3,913.00
    assert row["credit_limit_minor"] == 2_000_000  # NT$ 20,000.00
    assert row["reported_past_due_minor"] == 391_300  # statement balance, no minimum in file


def test_negative_statement_balance_is_kept_but_past_due_is_not_negative(
    frames: PortfolioFrames, rows: list[dict[str, str]]
) -> None:
    negative = [r["ID"] for r in rows if int(r["BILL_AMT1"]) < 0]
    assert negative, "the real file has credit balances"
    acc = frames.accounts.filter(pl.col("account_id").is_in(negative))
    assert (acc.get_column("balance_minor") < 0).all()
    assert (acc.get_column("reported_past_due_minor") == 0).all()


def test_six_statements_per_account_at_month_ends(
    frames: PortfolioFrames, rows: list[dict[str, str]]
) -> None:
    st = frames.statements
    assert st.height == 6 * 30_000
    per_account = st.group_by("account_id").agg(pl.col("statement_date").sort())
    expected_dates = sorted(MONTH_END.values())
    assert all(d == expected_dates for d in per_account.get_column("statement_date").to_list())
    assert st.get_column("minimum_due_minor").null_count() == st.height
    one = {
        r["statement_date"]: r["balance_minor"]
        for r in st.filter(pl.col("account_id") == "1").iter_rows(named=True)
    }
    assert one == {MONTH_END[n]: int(rows[0][f"BILL_AMT{n}"]) * 100 for n in range(1, 7)}
    total = sum(int(r[f"BILL_AMT{n}"]) for r in rows for n in range(1, 7)) * 100
    assert st.get_column("balance_minor").sum() == total


def test_payments_match_positive_pay_amt_cells(
    frames: PortfolioFrames, rows: list[dict[str, str]]
) -> None:
    cells = {
        f"{r['ID']}-P{n}": (r["ID"], MONTH_END[n], int(r[f"PAY_AMT{n}"]) * 100)
        for r in rows
        for n in range(1, 7)
        if int(r[f"PAY_AMT{n}"]) > 0
    }
    p = frames.payments
    assert p.height == len(cells)
    assert p.get_column("payment_id").n_unique() == p.height
    got = {
        r["payment_id"]: (r["account_id"], r["paid_on"], r["amount_minor"])
        for r in p.iter_rows(named=True)
    }
    assert got == cells
    # ID 1 paid NT$ 689 in August 2005 only.
    assert [k for k in got if k.startswith("1-")] == ["1-P2"]
    assert got["1-P2"] == ("1", date(2005, 8, 31), 68_900)


def test_labels_hold_outcome_statuses_and_sensitive_attributes(
    rows: list[dict[str, str]],
) -> None:
    labels = uci_labels(UCI_FILE)
    assert labels.columns == [
        "account_id",
        "default_next_month",
        "PAY_0",
        "PAY_2",
        "PAY_3",
        "PAY_4",
        "PAY_5",
        "PAY_6",
        "SEX",
        "EDUCATION",
        "MARRIAGE",
        "AGE",
    ]
    assert labels.height == 30_000
    defaults = sum(int(r["default.payment.next.month"]) for r in rows)
    assert defaults == 6_636
    assert labels.get_column("default_next_month").sum() == defaults
    first = labels.row(0, named=True)
    assert first["account_id"] == "1"
    assert (first["PAY_0"], first["AGE"], first["default_next_month"]) == (2, 24, 1)


# --- broken files -------------------------------------------------------------------------


def _write(tmp_path: Path, rows: list[list[str]], name: str = "broken.csv") -> Path:
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


@pytest.fixture
def sample(rows: list[dict[str, str]]) -> list[list[str]]:
    """Header and the first four real rows, as lists of text."""
    header = list(rows[0].keys())
    return [header, *([r[c] for c in header] for r in rows[:4])]


def test_small_valid_sample_loads(tmp_path: Path, sample: list[list[str]]) -> None:
    frames = load_uci(_write(tmp_path, sample))
    assert frames.accounts.get_column("account_id").to_list() == ["1", "2", "3", "4"]


def test_missing_column_names_line_1_and_the_column(
    tmp_path: Path, sample: list[list[str]]
) -> None:
    col = sample[0].index("BILL_AMT3")
    broken = [[v for i, v in enumerate(r) if i != col] for r in sample]
    path = _write(tmp_path, broken)
    with pytest.raises(UCIFormatError) as err:
        load_uci(path)
    assert (err.value.line, err.value.column) == (1, "BILL_AMT3")
    assert str(path) in str(err.value)
    assert "line 1" in str(err.value) and "column BILL_AMT3" in str(err.value)
    assert "missing" in err.value.reason


def test_renamed_column_is_refused(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[0] = ["PAY_1" if c == "PAY_0" else c for c in sample[0]]
    with pytest.raises(UCIFormatError) as err:
        uci_labels(_write(tmp_path, sample))
    assert (err.value.line, err.value.column) == (1, "PAY_0")


def test_extra_column_is_refused(tmp_path: Path, sample: list[list[str]]) -> None:
    broken = [[*r, "x"] for r in sample]
    broken[0][-1] = "PHONE"
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, broken))
    assert (err.value.line, err.value.column) == (1, "PHONE")


def test_non_number_names_line_and_column(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[3][sample[0].index("BILL_AMT2")] = "12x4"  # data row 3 -> line 4
    path = _write(tmp_path, sample)
    with pytest.raises(UCIFormatError) as err:
        load_uci(path)
    assert (err.value.line, err.value.column) == (4, "BILL_AMT2")
    assert "not an integer" in err.value.reason and "12x4" in err.value.reason
    assert f"{path}, line 4, column BILL_AMT2" in str(err.value)


def test_decimal_amount_is_not_an_integer(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[2][sample[0].index("LIMIT_BAL")] = "20000.5"
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample))
    assert (err.value.line, err.value.column) == (3, "LIMIT_BAL")


def test_empty_value_is_refused(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[1][sample[0].index("PAY_AMT6")] = ""
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample))
    assert (err.value.line, err.value.column, err.value.reason) == (2, "PAY_AMT6", "empty value")


def test_earliest_bad_line_is_reported(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[4][sample[0].index("ID")] = "oops"
    sample[2][sample[0].index("AGE")] = "old"
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample))
    assert (err.value.line, err.value.column) == (3, "AGE")


def test_status_out_of_range_is_refused(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[2][sample[0].index("PAY_0")] = "10"
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample))
    assert (err.value.line, err.value.column) == (3, "PAY_0")
    assert "out of range" in err.value.reason


def test_negative_payment_is_refused(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[1][sample[0].index("PAY_AMT1")] = "-5"
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample))
    assert (err.value.line, err.value.column) == (2, "PAY_AMT1")


def test_repeated_id_is_refused(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[4][0] = sample[2][0]
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample))
    assert (err.value.line, err.value.column) == (5, "ID")
    assert "repeated" in err.value.reason


def test_row_with_too_many_fields_names_its_line(tmp_path: Path, sample: list[list[str]]) -> None:
    sample[3].append("7")
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample))
    assert err.value.line == 4
    assert "26 fields" in err.value.reason


def test_header_only_file_is_refused(tmp_path: Path, sample: list[list[str]]) -> None:
    with pytest.raises(UCIFormatError) as err:
        load_uci(_write(tmp_path, sample[:1]))
    assert "no data rows" in err.value.reason


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(UCIFormatError) as err:
        load_uci(path)
    assert err.value.line == 1


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_uci(tmp_path / "nope.csv")
