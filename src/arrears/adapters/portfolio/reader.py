"""Read and validate a canonical portfolio folder into normalised frames.

The reader is the inverse of :mod:`arrears.adapters.portfolio.writer`. It is all-or-nothing:
every file is checked completely, every problem is collected as an :class:`InputError`
(file, line, column, reason), and if there is any, :class:`PortfolioInvalid` is raised with all
of them and no frames are returned.

Validation is vectorised with Polars: CSV files are read with every column as text, a line
number column is added, and each check is an expression over whole columns. No Python loop
runs over rows except to build the list of errors found (and to locate rows with too many
fields, which Polars refuses to parse).

Line numbers
    For CSV, ``line`` is the physical line, the header being line 1, so the first data row is
    line 2 (``line = row index + 2``). Line breaks inside quoted fields are refused because
    they would shift every following line number. Blank lines are skipped but still counted.
    For Parquet, ``line`` is the 1-based row number plus 1, so the first row is line 2 as it
    would be in the same table written as CSV.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import functools
import hashlib
import io
import re
import zoneinfo
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
from charset_normalizer import from_bytes

from arrears.adapters.portfolio.errors import InputError, PortfolioInvalid
from arrears.adapters.portfolio.schema import (
    CHANNELS,
    FRAME_SCHEMAS,
    TABLES,
    TABLES_BY_NAME,
    Column,
    Kind,
    PortfolioFrames,
    Table,
    consent_problem,
    normalise_consent,
)
from arrears.adapters.portfolio.zones import expected_zones, jurisdiction_problem, zone_fits
from arrears.domain.money import MINOR_UNITS

MAX_ID_LENGTH = 64
JURISDICTION_PATTERN = r"^[A-Z]{2}(-[A-Z0-9]{1,3}){0,2}$"
BOOL_TEXT: dict[str, bool] = {
    "true": True,
    "1": True,
    "yes": True,
    "false": False,
    "0": False,
    "no": False,
}
# Amount sign rules that the file format adds to the syntax of an amount.
POSITIVE_AMOUNTS = frozenset({("payments", "amount")})
NON_NEGATIVE_AMOUNTS = frozenset(
    {("installments", "principal"), ("installments", "interest"), ("installments", "fees")}
)
# Optional amounts that default to 0 (rather than null) when the column or value is empty.
ZERO_DEFAULT_AMOUNTS = frozenset({("installments", "interest"), ("installments", "fees")})
# Referential integrity: (child table, column, parent table, parent column).
REFERENCES: tuple[tuple[str, str, str, str], ...] = (
    ("accounts", "borrower_id", "borrowers", "borrower_id"),
    ("installments", "account_id", "accounts", "account_id"),
    ("payments", "account_id", "accounts", "account_id"),
    ("statements", "account_id", "accounts", "account_id"),
    ("contact_history", "borrower_id", "borrowers", "borrower_id"),
    ("contact_history", "account_id", "accounts", "account_id"),
    ("delinquency_history", "account_id", "accounts", "account_id"),
)
FILE_SUFFIXES = (".csv", ".parquet")

# charset-normalizer's names -> the --encoding we suggest, and how to name it to people.
_SUGGESTED_ENCODING = {
    "gb18030": "gb18030",
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "hz": "gb18030",
    "big5": "big5",
    "big5hkscs": "big5",
    "cp950": "big5",
}
_ENCODING_LABEL = {"gb18030": "GB18030", "big5": "Big5"}
# Stands for the encoding hint until every file is read: one guess over all non-UTF-8 files.
_HINT_PLACEHOLDER = "\x00hint\x00"

_LINE = "__arrears_line__"
_ERR = "__err__"
_VAL = "__val__"
_EXP = "__exp__"
_CUR = "__cur__"
_CODE = "__code__"
_MAX_LINES_LISTED = 10
_MAX_AMOUNT_DIGITS = 18  # digits of an amount in minor units; Int64 holds 18 safely
_CHANNELS_PATTERN = r"^(" + "|".join(CHANNELS) + r")(\s*\|\s*(" + "|".join(CHANNELS) + r"))*$"
_AMOUNT_PATTERN = r"^[+-]?[0-9]+(\.[0-9]+)?$"
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_INSTANT_PATTERN = (
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2})(:[0-9]{2}(?:[.,][0-9]{1,9})?)?"
    r"(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)
_INT_PATTERN = r"^[+-]?[0-9]+$"
_DUPLICATED_HEADER = re.compile(r"^(.*)_duplicated_[0-9]+$")


@functools.cache
def _time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


@dataclass
class _Loaded:
    """One table file read as text: every column String, plus the line number column."""

    table: Table
    file: str
    frame: pl.DataFrame
    usable: bool  # False when the header is wrong: its rows are not checked


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def read_portfolio(folder: Path, encoding: str | None = None) -> PortfolioFrames:
    """Read, validate and normalise the portfolio in ``folder``.

    Parameters
    ----------
    folder : Path
        Folder holding one file per table, ``<table>.csv`` or ``<table>.parquet`` (see
        ``docs/portfolio-format.md``). Required tables: borrowers, accounts, installments,
        payments; optional: statements, contact_history, delinquency_history. Other files
        are ignored.
    encoding : str, optional
        Text encoding of the CSV files (``"utf-8"``, ``"gb18030"``, ``"big5"``, any name Python
        knows). Without it, files must be UTF-8 (a byte-order mark is allowed and removed).
        Decoding is strict: an undecodable byte is an error, never a replacement character.

    Returns
    -------
    PortfolioFrames
        One frame per table, exactly as in ``FRAME_SCHEMAS``: amounts as ``Int64`` minor
        units in ``<name>_minor`` columns, dates as ``Date``, instants as
        ``Datetime("us", "UTC")``, flags as ``Boolean``. Rows keep file order. Missing optional
        columns become nulls, except ``interest``/``fees`` (0), the flags (false) and
        ``opt_out_channels`` (``""``). Absent optional tables are empty frames.

    Raises
    ------
    PortfolioInvalid
        With every problem found: a missing folder or required table (line 0), both a CSV
        and a Parquet file for one table, a file that is not UTF-8 (with a hint of the likely
        encoding) or not decodable with ``encoding``, unknown, duplicated or missing required
        columns (line 1), bad values (the line of each bad row), duplicate keys (each
        duplicate line) and references to rows that do not exist.
    """
    folder = Path(folder)
    codec = _check_encoding(encoding)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise PortfolioInvalid([InputError(str(folder), 0, "", f"portfolio folder {what}")])

    problems: list[InputError] = []
    loaded: dict[str, _Loaded] = {}
    undecoded: list[bytes] = []  # files that are not UTF-8, pooled for one encoding guess
    for table in TABLES:
        path, errs = _locate(folder, table)
        problems.extend(errs)
        if path is None:
            continue
        frame, errs = (
            _read_csv(path, codec) if path.suffix == ".csv" else _read_parquet(path, table)
        )
        problems.extend(errs)
        if any(_HINT_PLACEHOLDER in e.reason for e in errs):
            undecoded.append(path.read_bytes())
        if frame is None:
            continue
        header_errors = _check_header(table, path.name, frame)
        problems.extend(header_errors)
        loaded[table.name] = _Loaded(table, path.name, frame, usable=not header_errors)
    if undecoded:
        hint = "; " + _encoding_hint(b"\n".join(undecoded))
        problems = [replace(e, reason=e.reason.replace(_HINT_PLACEHOLDER, hint)) for e in problems]

    error_frames: list[pl.DataFrame] = []
    parsed: dict[str, pl.DataFrame] = {}
    exponents: pl.DataFrame | None = None
    for table in TABLES:  # parents first: accounts are parsed before the tables with amounts
        item = loaded.get(table.name)
        if item is None or not item.usable:
            continue
        typed, value_errors = _parse(table, item.frame, exponents)
        parsed[table.name] = typed
        error_frames.append(_located(table, item.file, value_errors))
        error_frames.append(_located(table, item.file, _duplicate_keys(table, typed)))
        if table.name == "accounts":
            exponents = _account_exponents(typed)

    if "borrowers" in parsed:
        for wrong in (
            _zones_off_jurisdiction(parsed["borrowers"]),
            _too_wide_without_zone(parsed["borrowers"]),
        ):
            error_frames.append(
                _located(TABLES_BY_NAME["borrowers"], loaded["borrowers"].file, wrong)
            )

    for child, column, parent, parent_column in REFERENCES:
        if child in parsed and parent in parsed:
            dangling = _dangling(parsed[child], column, parsed[parent], parent_column, parent)
            error_frames.append(_located(TABLES_BY_NAME[child], loaded[child].file, dangling))

    errors = _sorted_errors(problems, error_frames)
    if errors:
        raise PortfolioInvalid(errors)

    out = {}
    for name, schema in FRAME_SCHEMAS.items():
        frame = parsed.get(name)
        if frame is None:
            out[name] = pl.DataFrame(schema=schema)
        else:
            out[name] = frame.select([pl.col(c).cast(t) for c, t in schema.items()])
    return PortfolioFrames(**out)


def portfolio_sha256(folder: Path) -> str:
    """SHA-256 (hex) of a portfolio's table files, to recognise a re-import of one snapshot.

    The digest covers every ``<table>.csv`` / ``<table>.parquet`` of a known table, sorted by
    file name; for each, the name and the bytes (each prefixed with its length, so no two
    different folders hash alike by shifting bytes between files). Other files are ignored.

    Raises
    ------
    PortfolioInvalid
        If ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PortfolioInvalid([InputError(str(folder), 0, "", "portfolio folder does not exist")])
    digest = hashlib.sha256()
    files = sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_file() and p.suffix in FILE_SUFFIXES and p.stem in TABLES_BY_NAME
        ),
        key=lambda p: p.name,
    )
    for path in files:
        name = path.name.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Files: finding, decoding, reading, headers
# --------------------------------------------------------------------------------------------


def _check_encoding(encoding: str | None) -> str | None:
    if encoding is None:
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise PortfolioInvalid(
            [InputError("--encoding", 0, "", f"unknown text encoding {encoding!r}")]
        ) from None


def _locate(folder: Path, table: Table) -> tuple[Path | None, list[InputError]]:
    candidates = [folder / f"{table.name}{s}" for s in FILE_SUFFIXES]
    present = [p for p in candidates if p.is_file()]
    if len(present) > 1:
        return None, [
            InputError(
                table.name,
                0,
                "",
                f"both {present[0].name} and {present[1].name} exist; keep only one",
            )
        ]
    if present:
        return present[0], []
    if not table.required:
        return None, []
    near = sorted(p.name for p in folder.iterdir() if p.stem.lower() == table.name and p.is_file())
    hint = f" (found {', '.join(near)}: only .csv and .parquet are read)" if near else ""
    return None, [
        InputError(
            table.name,
            0,
            "",
            f"required table {table.name} is missing: expected {table.name}.csv or "
            f"{table.name}.parquet{hint}",
        )
    ]


def _encoding_hint(data: bytes) -> str:
    """Name the likely encoding of ``data`` (charset-normalizer's guess) and the option to use.

    A guess that cannot decode ``data`` strictly is not offered.
    """
    best = from_bytes(data).best()
    if best is not None:
        suggested = _SUGGESTED_ENCODING.get(best.encoding, best.encoding)
        try:
            data.decode(suggested, errors="strict")
        except (UnicodeDecodeError, LookupError):
            best = None
    if best is None:
        return "its encoding was not recognised: convert it to UTF-8 or re-run with --encoding"
    label = _ENCODING_LABEL.get(suggested, suggested)
    return f"it looks like {label}: re-run with --encoding {suggested}"


def _decode(data: bytes, name: str, codec: str | None) -> tuple[bytes | None, InputError | None]:
    """Return the file's text as UTF-8 bytes without a BOM, or the decoding error."""
    if codec is None or codec in ("utf-8", "utf-8-sig"):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            return None, InputError(
                name,
                line,
                "",
                f"file is not UTF-8 (byte 0x{data[exc.start]:02X} at offset {exc.start} is "
                f"invalid){_HINT_PLACEHOLDER}",
            )
        return data.removeprefix(codecs.BOM_UTF8), None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return None, InputError(
                name,
                0,
                "",
                f"file is UTF-8, not {codec}: re-run without --encoding (or convert the file)",
            )
    try:
        text = data.decode(codec, errors="strict")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, InputError(
            name,
            line,
            "",
            f"byte 0x{data[exc.start]:02X} at offset {exc.start} cannot be decoded as {codec}",
        )
    return text.removeprefix("\ufeff").encode("utf-8"), None


def _ragged_rows(text: str, name: str, width: int) -> list[InputError]:
    """Locate rows with more fields than the header (error path only)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    return [
        InputError(name, reader.line_num, "", f"row has {len(row)} fields; the header has {width}")
        for row in reader
        if len(row) > width
    ]


def _read_csv(path: Path, codec: str | None) -> tuple[pl.DataFrame | None, list[InputError]]:
    name = path.name
    body, err = _decode(path.read_bytes(), name, codec)
    if err is not None or body is None:
        return None, [err] if err else []
    if not body.strip():
        return None, [InputError(name, 0, "", "file is empty: it needs at least a header line")]
    try:
        frame = pl.read_csv(io.BytesIO(body), infer_schema=False, has_header=True)
    except pl.exceptions.PolarsError as exc:
        text = body.decode("utf-8")
        width = len(next(csv.reader(io.StringIO(text, newline="")), []))
        ragged = _ragged_rows(text, name, width)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, ragged or [InputError(name, 0, "", f"cannot parse CSV: {first}")]
    columns = frame.columns
    if _LINE in columns:
        return None, [InputError(name, 1, _LINE, "reserved column name")]
    frame = frame.with_row_index(_LINE, offset=2).with_columns(pl.col(_LINE).cast(pl.Int64))
    if columns and b'"' in body:
        broken = frame.filter(
            pl.any_horizontal(pl.col(c).str.contains(r"[\r\n]").fill_null(False) for c in columns)
        )
        if broken.height:
            line = broken.item(0, _LINE)
            return None, [
                InputError(
                    name,
                    line,
                    "",
                    "a quoted field contains a line break; line breaks inside fields are not "
                    "supported (remove them)",
                )
            ]
    if columns:  # skip blank lines (every field empty); they still count as lines
        frame = frame.filter(
            ~pl.all_horizontal((pl.col(c).is_null() | (pl.col(c) == "")) for c in columns)
        )
    return frame, []


def _read_parquet(path: Path, table: Table) -> tuple[pl.DataFrame | None, list[InputError]]:
    name = path.name
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        return None, [InputError(name, 0, "", f"cannot read Parquet file: {exc}")]
    kinds = {c.name: c.kind for c in table.columns}
    errors: list[InputError] = []
    if _LINE in frame.columns:
        return None, [InputError(name, 1, _LINE, "reserved column name")]
    columns: list[pl.Expr] = []
    for col, dtype in frame.schema.items():
        expr = pl.col(col)
        if dtype == pl.String:
            columns.append(expr)
        elif isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:  # naive: formatted without offset, then refused per row
                columns.append(expr.dt.strftime("%Y-%m-%dT%H:%M:%S%.f"))
            else:
                columns.append(
                    expr.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")
                )
        elif dtype == pl.Date:
            columns.append(expr.dt.strftime("%Y-%m-%d"))
        elif dtype.is_float() and kinds.get(col) is Kind.AMOUNT:
            errors.append(
                InputError(
                    name,
                    1,
                    col,
                    "amounts must not be floating point: store them as decimal strings "
                    "or a Decimal column",
                )
            )
        elif dtype.is_numeric() or dtype in (pl.Boolean, pl.Null):
            columns.append(expr.cast(pl.String))
        else:
            errors.append(InputError(name, 1, col, f"unsupported Parquet column type {dtype}"))
    if errors:
        return None, errors
    out = frame.select(columns).with_row_index(_LINE, offset=2)
    return out.with_columns(pl.col(_LINE).cast(pl.Int64)), []


def _check_header(table: Table, file: str, frame: pl.DataFrame) -> list[InputError]:
    known = [c.name for c in table.columns]
    present = [c for c in frame.columns if c != _LINE]
    errors: list[InputError] = []
    reported_dup: set[str] = set()
    for col in present:
        dup = _DUPLICATED_HEADER.match(col)
        if dup and dup.group(1) in present:
            base = dup.group(1)
            if base not in reported_dup:
                reported_dup.add(base)
                errors.append(InputError(file, 1, base, "column appears more than once"))
        elif col == "":
            errors.append(InputError(file, 1, "", "empty column name in the header"))
        elif col not in known:
            close = difflib.get_close_matches(col, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            errors.append(
                InputError(
                    file,
                    1,
                    col,
                    f"unknown column {col!r}{hint} (columns of {table.name}: {', '.join(known)})",
                )
            )
    for col in table.required_columns:
        if col not in present:
            errors.append(InputError(file, 1, col, "required column is missing"))
    return errors


# --------------------------------------------------------------------------------------------
# Values: how each column is parsed and checked
# --------------------------------------------------------------------------------------------


@dataclass
class _Check:
    """How one column is parsed and checked, as expressions over the working frame.

    The working frame holds, for a column ``c``, its cleaned text ``__s__c`` and the helper
    columns made by ``prep``. ``value`` is the normalised value (computed on every row, kept
    only where there is no problem); ``cases`` are (condition, message) pairs, the first true
    condition naming the problem. Conditions run on every row (they may use the value as
    ``__val__c``); messages are only built for the few rows that have a problem.
    """

    prep: list[pl.Expr]
    value: pl.Expr
    cases: list[tuple[pl.Expr, pl.Expr | str]]
    default: pl.Expr  # the value of an empty cell (when empty is allowed)


def _text(name: str) -> str:
    return f"__s__{name}"


def _helper(name: str, part: str) -> str:
    return f"__{part}__{name}"


def _quoted(s: pl.Expr) -> pl.Expr:
    return pl.format("'{}'", s.str.slice(0, 60))


def _clean(col: Column) -> pl.Expr:
    """Cell text: null becomes ""; surrounding spaces are removed except in ids and text."""
    raw = pl.col(col.name).fill_null("")
    return raw if col.kind in (Kind.ID, Kind.TEXT) else raw.str.strip_chars()


def _check(table: Table, col: Column) -> _Check:
    name = col.name
    s = pl.col(_text(name))
    v = pl.col(_VAL + name)
    q = _quoted(s)
    kind = col.kind
    prep: list[pl.Expr] = []
    cases: list[tuple[pl.Expr, pl.Expr | str]] = []
    default: pl.Expr = pl.lit(None)
    value: pl.Expr = s

    if kind is Kind.ID:
        length = s.str.len_chars()
        cases = [
            (
                length > MAX_ID_LENGTH,
                pl.format(f"identifier is {{}} characters long; at most {MAX_ID_LENGTH}", length),
            ),
            (s.str.contains(r"\p{Cc}"), "identifier contains a control character"),
        ]
    elif kind is Kind.INT:
        value = s.cast(pl.Int64, strict=False)  # only [+-]?[0-9]+ casts
        cases = [
            (
                v.is_null(),
                pl.when(s.str.contains(_INT_PATTERN))
                .then(pl.format("whole number out of range: {}", q))
                .otherwise(pl.format("not a whole number: {}", q)),
            ),
        ]
        if col.minimum is not None:
            cases.append((v < col.minimum, f"must be at least {col.minimum}"))
    elif kind is Kind.AMOUNT:
        prep, value, cases = _amount(table, col, s, q)
        if (table.name, name) in ZERO_DEFAULT_AMOUNTS:
            default = pl.lit(0, dtype=pl.Int64)
    elif kind is Kind.DATE:
        value = s.str.to_date("%Y-%m-%d", strict=False)
        cases = [
            (~s.str.contains(_DATE_PATTERN), pl.format("not a date in YYYY-MM-DD form: {}", q)),
            (v.is_null(), pl.format("not a real calendar date: {}", q)),
        ]
    elif kind is Kind.INSTANT:
        prep, value, cases = _instant(name, s, q)
    elif kind is Kind.BOOL:
        value = s.str.to_lowercase().replace_strict(
            BOOL_TEXT, default=None, return_dtype=pl.Boolean
        )
        cases = [(v.is_null(), pl.format("not a boolean (true/false, 1/0, yes/no): {}", q))]
        default = pl.lit(False)
    elif kind is Kind.ENUM:
        cases = [(~s.is_in(col.choices), pl.format(f"{{}} is not one of {col.choices}", q))]
    elif kind is Kind.TIMEZONE:
        cases = [
            (~s.is_in(_time_zones()), pl.format("unknown IANA time zone {} (e.g. Asia/Taipei)", q))
        ]
    elif kind is Kind.JURISDICTION:
        unknown = s.map_elements(jurisdiction_problem, return_dtype=pl.String, skip_nulls=True)
        cases = [
            (
                ~s.str.contains(JURISDICTION_PATTERN),
                pl.format(
                    "not a jurisdiction code {} (CC or CC-SUB in capitals: TW, US-CA, US-NY-NYC)",
                    q,
                ),
            ),
            (unknown.is_not_null(), pl.format("unknown jurisdiction {}", unknown)),
        ]
    elif kind is Kind.CURRENCY:
        cases = [
            (
                ~s.is_in(list(MINOR_UNITS)),
                pl.format(f"unknown ISO 4217 currency {{}} (known: {', '.join(MINOR_UNITS)})", q),
            )
        ]
    elif kind is Kind.CHANNELS:
        value = s.str.replace_all(r"\s*\|\s*", "|")
        items = s.str.split("|").list.eval(pl.element().str.strip_chars())
        bad = items.list.eval(pl.element().filter(~pl.element().is_in(CHANNELS)))
        cases = [
            (
                ~s.str.contains(_CHANNELS_PATTERN),
                pl.format(
                    f"unknown channel(s) {{}} (choices: {'|'.join(CHANNELS)})",
                    bad.list.eval(pl.format("'{}'", pl.element())).list.join(", "),
                ),
            )
        ]
        default = pl.lit("")
    elif kind is Kind.HOURS:
        # "[CHANNEL=]HH:MM-HH:MM|..." (schema.consent_problem); stored with 24:00 as 00:00
        problem = s.map_elements(consent_problem, return_dtype=pl.String, skip_nulls=True)
        value = s.map_elements(normalise_consent, return_dtype=pl.String, skip_nulls=True)
        cases = [(problem.is_not_null(), problem)]
    elif kind is not Kind.TEXT:  # pragma: no cover - every Kind is handled above
        raise AssertionError(kind)
    return _Check(prep, value, cases, default)


def _amount(
    table: Table, col: Column, s: pl.Expr, q: pl.Expr
) -> tuple[list[pl.Expr], pl.Expr, list[tuple[pl.Expr, pl.Expr | str]]]:
    """Amount: plain decimal text in major units -> Int64 minor units of the row's currency.

    Integer arithmetic only: ``"-12.5"`` is the integer -125 with one decimal place; with the
    currency's exponent 2 that is -125 * 10**(2 - 1) = -1250 minor units. More decimal places
    than the exponent are allowed only when the extra ones are zeros (as
    :func:`arrears.domain.money.parse_minor` does).
    """
    dot_name, digits_name = _helper(col.name, "dot"), _helper(col.name, "digits")
    prep = [
        s.str.find(".", literal=True).alias(dot_name),
        # Polars casts only [+-]?[0-9]+ to an integer: this also checks the syntax.
        s.str.replace(".", "", literal=True, n=1).cast(pl.Int64, strict=False).alias(digits_name),
    ]
    dot, digits, exp = pl.col(dot_name), pl.col(digits_name), pl.col(_EXP)
    sign_length = (s.str.starts_with("-") | s.str.starts_with("+")).cast(pl.Int64)
    length = s.str.len_bytes().cast(pl.Int64)
    decimals = pl.when(dot.is_null()).then(0).otherwise(length - dot.cast(pl.Int64) - 1)
    shift = exp - decimals
    up = pl.lit(10, dtype=pl.Int64).pow(shift.clip(0, _MAX_AMOUNT_DIGITS))
    down = pl.lit(10, dtype=pl.Int64).pow((-shift).clip(0, _MAX_AMOUNT_DIGITS))
    value = pl.when(shift >= 0).then(digits * up).otherwise(digits // down)
    misplaced_dot = dot.is_not_null() & (
        (dot.cast(pl.Int64) <= sign_length) | (dot.cast(pl.Int64) >= length - 1)
    )
    v = pl.col(_VAL + col.name)
    currency = pl.coalesce(pl.col(_CUR), pl.lit("the account's currency"))
    cases: list[tuple[pl.Expr, pl.Expr | str]] = [
        (
            digits.is_null() | misplaced_dot,
            pl.when(s.str.contains(_AMOUNT_PATTERN))
            .then(pl.format("amount is too large: {}", q))
            .otherwise(
                pl.format(
                    "not a plain decimal amount: {} (digits with an optional '.' and "
                    "decimals; no thousands separators, currency signs or exponent)",
                    q,
                )
            ),
        ),
        (
            (shift < 0) & (digits % down != 0),
            pl.format("{} has more decimal places than {} allows ({})", q, currency, exp),
        ),
        (
            (shift >= 0) & (digits.abs() >= pl.lit(10**_MAX_AMOUNT_DIGITS, dtype=pl.Int64) // up),
            pl.format("amount is too large: {}", q),
        ),
    ]
    if (table.name, col.name) in POSITIVE_AMOUNTS:
        cases.append((v <= 0, "amount must be greater than 0"))
    if (table.name, col.name) in NON_NEGATIVE_AMOUNTS:
        cases.append((v < 0, "amount must not be negative"))
    return prep, value, cases


def _instant(
    name: str, s: pl.Expr, q: pl.Expr
) -> tuple[list[pl.Expr], pl.Expr, list[tuple[pl.Expr, pl.Expr | str]]]:
    """Instant: ISO 8601 date-time with a UTC offset -> Datetime("us", "UTC")."""
    parts_name = _helper(name, "parts")
    prep = [s.str.extract_groups(_INSTANT_PATTERN).alias(parts_name)]
    parts = pl.col(parts_name).struct
    date, hours_minutes = parts.field("1"), parts.field("2")
    seconds = parts.field("3").fill_null(":00").str.replace(",", ".", literal=True)
    offset = parts.field("4")
    offset_norm = (
        pl.when(offset.str.to_uppercase() == "Z")
        .then(pl.lit("+00:00"))
        .when(offset.str.len_chars() == 3)
        .then(offset + pl.lit(":00"))
        .when(offset.str.len_chars() == 5)
        .then(offset.str.slice(0, 3) + pl.lit(":") + offset.str.slice(3))
        .otherwise(offset)
    )
    text = date + pl.lit("T") + hours_minutes + seconds + offset_norm
    value = text.str.to_datetime(
        "%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC", strict=False
    )
    cases: list[tuple[pl.Expr, pl.Expr | str]] = [
        (
            date.is_null(),
            pl.format(
                "not an ISO 8601 date-time with UTC offset (2024-05-01T09:30:00+08:00): {}", q
            ),
        ),
        (
            offset.is_null(),
            pl.format("time has no UTC offset: {} (add Z or an offset such as +08:00)", q),
        ),
        (pl.col(_VAL + name).is_null(), pl.format("not a real date-time: {}", q)),
    ]
    return prep, value, cases


def _out_name(col: Column) -> str:
    return f"{col.name}_minor" if col.kind is Kind.AMOUNT else col.name


def _account_exponents(accounts: pl.DataFrame) -> pl.DataFrame:
    """account_id -> (currency, exponent) for valid accounts, first row of a duplicate id."""
    return (
        accounts.filter(pl.col("account_id").is_not_null() & pl.col("currency").is_not_null())
        .unique(subset="account_id", keep="first", maintain_order=True)
        .select(
            "account_id",
            pl.col("currency").alias(_CUR),
            pl.col("currency")
            .replace_strict(MINOR_UNITS, default=None, return_dtype=pl.Int64)
            .alias(_EXP),
        )
    )


def _parse(
    table: Table, text: pl.DataFrame, exponents: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse a text frame: (typed frame with the line column, errors ``line, column, reason``).

    Works in layers over whole columns: cleaned text, helper columns, values, problem codes
    (the index of the first failing case, 0 for an empty required cell). Messages are built
    only for the rows with a problem.
    """
    columns = table.columns
    absent = [c.name for c in columns if c.name not in text.columns]
    df = text.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in absent)
    df = df.select(_LINE, *(_clean(c).alias(_text(c.name)) for c in columns))
    has_amounts = any(c.kind is Kind.AMOUNT for c in columns)
    # The exponent of each row's currency (the currency itself is only needed for messages).
    if has_amounts and table.name == "accounts":
        cur = pl.col(_text("currency"))
        df = df.with_columns(
            cur.alias(_CUR),
            cur.replace_strict(MINOR_UNITS, default=None, return_dtype=pl.Int64).alias(_EXP),
        )
    elif has_amounts and exponents is not None:
        distinct = exponents.get_column(_EXP).unique()
        if distinct.len() == 1:  # one exponent for every account: no join needed
            df = df.with_columns(pl.lit(distinct.item(), dtype=pl.Int64).alias(_EXP))
        else:
            df = df.join(
                exponents.select(pl.col("account_id").alias(_text("account_id")), _EXP),
                on=_text("account_id"),
                how="left",
                maintain_order="left",
            )
    elif has_amounts:
        df = df.with_columns(pl.lit(None, dtype=pl.Int64).alias(_EXP))
    checks = [(c, _check(table, c)) for c in columns]
    prep = [e for _, ch in checks for e in ch.prep]
    if prep:
        df = df.with_columns(prep)
    df = df.with_columns(ch.value.alias(_VAL + c.name) for c, ch in checks)

    def empty(c: Column) -> pl.Expr:
        s = pl.col(_text(c.name))
        return (s.str.strip_chars() if c.kind is Kind.ID else s) == ""

    def code(c: Column, ch: _Check) -> pl.Expr:
        first = pl.coalesce(
            [pl.when(cond).then(pl.lit(i, pl.Int8)) for i, (cond, _) in enumerate(ch.cases, 1)]
            + [pl.lit(None, pl.Int8)]
        )
        if_empty = pl.lit(0 if c.required else None, pl.Int8)
        return pl.when(empty(c)).then(if_empty).otherwise(first).alias(_CODE + c.name)

    df = df.with_columns(code(c, ch) for c, ch in checks)
    typed = df.select(
        _LINE,
        *(
            pl.when(pl.col(_CODE + c.name).is_not_null())
            .then(None)
            .when(empty(c))
            .then(ch.default)
            .otherwise(pl.col(_VAL + c.name))
            .alias(_out_name(c))
            for c, ch in checks
        ),
    )
    bad = df.filter(pl.any_horizontal(pl.col(_CODE + c.name).is_not_null() for c, _ in checks))
    if has_amounts and table.name != "accounts":
        if exponents is not None:
            bad = bad.join(
                exponents.select(pl.col("account_id").alias(_text("account_id")), _CUR),
                on=_text("account_id"),
                how="left",
                maintain_order="left",
            )
        else:
            bad = bad.with_columns(pl.lit(None, dtype=pl.String).alias(_CUR))

    def reason(c: Column, ch: _Check) -> pl.Expr:
        k = pl.col(_CODE + c.name)
        messages = [(0, "required value is empty")] + [
            (i, msg) for i, (_, msg) in enumerate(ch.cases, 1)
        ]
        return pl.coalesce(
            [pl.when(k == i).then(pl.lit(m) if isinstance(m, str) else m) for i, m in messages]
            + [pl.lit(None, pl.String)]
        ).alias(_ERR + c.name)

    err_cols = [_ERR + c.name for c in columns]
    errors = (
        bad.select(_LINE, *(reason(c, ch) for c, ch in checks))
        .unpivot(index=_LINE, on=err_cols, variable_name="column", value_name="reason")
        .drop_nulls("reason")
        .select(
            pl.col(_LINE).alias("line"),
            pl.col("column").str.strip_prefix(_ERR),
            pl.col("reason"),
        )
    )
    return typed, errors


# --------------------------------------------------------------------------------------------
# Keys and references
# --------------------------------------------------------------------------------------------


def _duplicate_keys(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """One error per line whose key (``table.key``) also occurs on another line."""
    keys = list(table.key)
    valid = frame.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
    dup = valid.filter(pl.struct(keys).is_duplicated()).select(_LINE, *keys)
    if dup.height == 0:
        return pl.DataFrame(schema={"line": pl.Int64, "column": pl.String, "reason": pl.String})
    lines = dup.group_by(keys).agg(
        pl.col(_LINE).sort().head(_MAX_LINES_LISTED).cast(pl.String).str.join(", ").alias("_l"),
        pl.len().alias("_n"),
    )
    dup = dup.join(lines, on=keys, how="left", maintain_order="left")
    key_text = pl.concat_str(
        [pl.format(f"{k} '{{}}'", pl.col(k).cast(pl.String)) for k in keys], separator=", "
    )
    more = pl.when(pl.col("_n") > _MAX_LINES_LISTED).then(pl.lit(", ...")).otherwise(pl.lit(""))
    return dup.select(
        pl.col(_LINE).alias("line"),
        pl.lit(keys[-1]).alias("column"),
        pl.format("duplicate {}: on lines {}{}", key_text, pl.col("_l"), more).alias("reason"),
    )


#: Jurisdictions too wide to be judged without a time zone: a borrower coded ``US`` (no state)
#: could be anywhere from American Samoa (UTC-11) to Guam (UTC+10), with no local day common
#: to all; a state code (``US-CA``, ``US-PR``...) or a zone is needed. ``US-UM``, the minor
#: outlying islands, spans as wide.
NEEDS_ZONE_OR_STATE = ("US", "US-UM")


def _too_wide_without_zone(borrowers: pl.DataFrame) -> pl.DataFrame:
    """One error per borrower of a :data:`NEEDS_ZONE_OR_STATE` jurisdiction with no zone."""
    wrong = borrowers.filter(
        pl.col("jurisdiction").is_in(list(NEEDS_ZONE_OR_STATE)) & pl.col("timezone").is_null()
    )
    return wrong.select(
        pl.col(_LINE).alias("line"),
        pl.lit("timezone").alias("column"),
        pl.format(
            "jurisdiction {} with no time zone could be anywhere from UTC-11 to UTC+10: give "
            "the state or territory (US-CA, US-PR...) or the time zone",
            pl.col("jurisdiction"),
        ).alias("reason"),
    )


def _zones_off_jurisdiction(borrowers: pl.DataFrame) -> pl.DataFrame:
    """One error per borrower whose ``timezone`` keeps another clock than its ``jurisdiction``
    (:func:`arrears.adapters.portfolio.zones.zone_fits`): contact hours would be computed for
    the wrong place."""
    rows = borrowers.filter(pl.col("timezone").is_not_null() & pl.col("jurisdiction").is_not_null())
    pairs = rows.select("jurisdiction", "timezone").unique().rows()
    bad = [(j, z) for j, z in pairs if not zone_fits(j, z)]
    expected = {j: " or ".join(expected_zones(j)[:4]) for j, _ in bad}
    wrong = rows.join(
        pl.DataFrame(bad, schema={"jurisdiction": pl.String, "timezone": pl.String}, orient="row"),
        on=["jurisdiction", "timezone"],
        how="semi",
        maintain_order="left",
    )
    return wrong.select(
        pl.col(_LINE).alias("line"),
        pl.lit("timezone").alias("column"),
        pl.format(
            "time zone {} is not one of jurisdiction {} (e.g. {}): contact hours would be "
            "computed for the wrong place. The jurisdiction is where the borrower lives: if "
            "they live elsewhere, give that jurisdiction (the lender's own apply through "
            "ARREARS_LENDER_JURISDICTIONS)",
            _quoted(pl.col("timezone")),
            pl.col("jurisdiction"),
            pl.col("jurisdiction").replace_strict(expected, default="", return_dtype=pl.String),
        ).alias("reason"),
    )


def _dangling(
    child: pl.DataFrame, column: str, parent: pl.DataFrame, parent_column: str, parent_name: str
) -> pl.DataFrame:
    """One error per child row whose ``column`` names no row of the parent."""
    keys = parent.select(pl.col(parent_column).alias(column)).drop_nulls().unique()
    missing = child.filter(pl.col(column).is_not_null()).join(
        keys, on=column, how="anti", maintain_order="left"
    )
    return missing.select(
        pl.col(_LINE).alias("line"),
        pl.lit(column).alias("column"),
        pl.format(f"{column} {{}} not found in {parent_name}", _quoted(pl.col(column))).alias(
            "reason"
        ),
    )


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def _located(table: Table, file: str, errors: pl.DataFrame) -> pl.DataFrame:
    order = {c.name: i for i, c in enumerate(table.columns)}
    return errors.select(
        pl.lit(file).alias("file"),
        pl.col("line").cast(pl.Int64),
        pl.col("column"),
        pl.col("reason"),
        pl.lit(TABLES.index(table), dtype=pl.Int64).alias("_t"),
        pl.col("column").replace_strict(order, default=-1, return_dtype=pl.Int64).alias("_c"),
    )


def _sorted_errors(problems: list[InputError], frames: list[pl.DataFrame]) -> list[InputError]:
    table_of_file = {t.name: i for i, t in enumerate(TABLES)}
    for t in TABLES:
        for s in FILE_SUFFIXES:
            table_of_file[f"{t.name}{s}"] = TABLES.index(t)
    head = pl.DataFrame(
        {
            "file": [p.file for p in problems],
            "line": [p.line for p in problems],
            "column": [p.column for p in problems],
            "reason": [p.reason for p in problems],
            "_t": [table_of_file.get(p.file, -1) for p in problems],
            "_c": [-1] * len(problems),
        },
        schema={
            "file": pl.String,
            "line": pl.Int64,
            "column": pl.String,
            "reason": pl.String,
            "_t": pl.Int64,
            "_c": pl.Int64,
        },
    )
    every = pl.concat([head, *frames], how="vertical").sort(
        ["_t", "line", "_c"], maintain_order=True
    )
    return [
        InputError(file, line, column, reason)
        for file, line, column, reason in every.select(
            "file", "line", "column", "reason"
        ).iter_rows()
    ]


__all__ = [
    "REFERENCES",
    "InputError",
    "PortfolioInvalid",
    "portfolio_sha256",
    "read_portfolio",
]
