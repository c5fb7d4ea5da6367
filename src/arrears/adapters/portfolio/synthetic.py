"""Seeded, reproducible synthetic portfolios: borrowers, loans and cards, schedules, payments.

:func:`generate_portfolio` builds a whole portfolio as normalised frames (see
:mod:`arrears.adapters.portfolio.schema`) with NumPy (``np.random.default_rng(seed)``) and Polars,
vectorised over accounts: a million accounts take seconds, not minutes. The same arguments give
identical frames; another seed gives another portfolio.

Nothing in it is about a real person
------------------------------------
* **Phone numbers** come only from ranges set aside for fiction and testing:

  - US (NANP): ``+1 NXX 555 0100`` .. ``+1 NXX 555 0199``. NANPA reserves 555-0100 through
    555-0199 for fictitious use in every area code; the area codes used are real ones of the
    borrower's state (212, 415, 617, ...), so numbers look local but never ring anyone.
  - GB (Ofcom, "Telephone numbers for drama purposes"): mobile ``+44 7700 900000`` ..
    ``+44 7700 900999``.
  - IE, CN, TW: no reserved range could be confirmed from a documented source (ComReg's drama
    range could not be verified; China and Taiwan publish none), so these borrowers have **no
    phone number** (null). Contact history may still show calls and SMS to them: the lender has a
    number, the synthetic data just does not invent one.

* **E-mail addresses** use only the RFC 2606 reserved domains ``example.com``, ``example.net``
  and ``example.org`` (``b0000123@example.net``).
* Identifiers: ``SB...`` borrowers, ``SA...`` accounts (zero padded to the number of digits of
  ``n_accounts``), ``SP...`` payments and ``SC...`` contacts (padded to the digits of their count).

Borrowers
---------
About 0.9 borrowers per account: ``round(0.9 * n)`` borrowers each hold one account and the other
accounts go to distinct random borrowers, so about 11 % of borrowers hold two. Jurisdictions (share
of borrowers), time zone, language, currency:

=============  ======  ===================  ========  ========
jurisdiction   share   time zone            language  currency
=============  ======  ===================  ========  ========
CN             24 %    Asia/Shanghai        zh-CN     CNY
TW             16 %    Asia/Taipei          zh-TW     TWD
GB             14 %    Europe/London        en-GB     GBP
IE              5 %    Europe/Dublin        en-IE     EUR
US-CA          12 %    America/Los_Angeles  en-US     USD
US-NY           5 %    America/New_York     en-US     USD
US-NY-NYC       6 %    America/New_York     en-US     USD
US-MA           4 %    America/New_York     en-US     USD
US-WA           4 %    America/Los_Angeles  en-US     USD
US-TX           7 %    America/Chicago      en-US     USD
US-AZ           3 %    America/Phoenix      en-US     USD
=============  ======  ===================  ========  ========

1 % of US borrowers have an unknown time zone (null); 10 % of US borrowers prefer ``es-US``.
3 % of the borrowers who could have a phone have none on file, 8 % have no e-mail address.

Status flags are independent Bernoulli draws at assumed, order-of-magnitude rates (they are
assumptions, not measurements; the references only say the order is plausible):
``cease_communication`` 0.5 %, ``dispute_open`` 1 %, ``deceased`` 0.1 % (annual adult mortality in
the populations concerned is roughly 0.5-1 %, fewer among borrowers of short-term credit),
``bankrupt`` 0.3 % (US non-business bankruptcy filings are ~0.2 % of adults a year, England and
Wales individual insolvencies ~0.2-0.3 %), ``represented`` 0.3 %, ``vulnerable`` 3 % (the FCA's
Financial Lives survey finds about half of UK adults have a characteristic of vulnerability; the
3 % here are the ones a lender has *recorded* as vulnerable). 2 % of borrowers opted out of
``sms``, ``call`` or both.

Products
--------
Shares of accounts: 15 % 7-day and 15 % 14-day single-repayment loans (one installment due
``term_days`` after opening), 15 % 3-month, 20 % 6-month and 15 % 12-month monthly installment
loans, 20 % cards (about 5 installments per account on average).

* Monthly loans: the first due date is :func:`~arrears.domain.delinquency.add_months` (opened, 1),
  installment ``k`` (0-based) falls on ``add_months(first_due, k)``, so days 29-31 and 29 February
  occur as they do in real schedules. Principal is split equally in minor units, the last
  installment absorbing the remainder. Interest is a monthly rate (0.50-2.50 %, drawn in whole
  basis points) on the principal outstanding before the installment, rounded half to even to minor
  units with integer arithmetic. Single-repayment loans pay ``rate * term_days / 30`` on the
  principal, same rounding. A quarter of loans carry a small service fee on their first installment
  (5 USD/GBP/EUR, 20 CNY, 100 TWD).
* Cards: six monthly statements up to the as-of date, anchored on the opening day. Balances follow
  a random walk of the utilisation (in whole per mille of the limit, integer arithmetic).
  ``minimum_due = min(balance, max(5 % of balance rounded half to even, floor))`` with floors of
  25 USD, 5 GBP/EUR, 50 CNY, 1,000 TWD; one installment per statement (principal = minimum due)
  falls due 25 days after the statement date, so DPD comes from installments like a loan's.
* Opening dates are uniform over every day of the calendar (so due days 29-31 and 29 February
  arise naturally). 80 % of loans are opened within their contractual term before the as-of date
  (monthly loans: ``30 * count`` days; single-repayment loans: the term plus 60 days), so some
  schedules lie wholly in the future and most straddle the as-of date; the other 20 % matured up
  to 240 days before it (old loans still on the book). Cards were opened 190 to 2,500 days before.
* ``balance``: for loans, everything scheduled (principal, interest, fees) minus everything paid;
  for cards, the last statement balance. ``reported_dpd``/``reported_past_due`` stay null.

Payment behaviour
-----------------
A Markov chain over delinquency states (``current``, 1, 2, 3, 4, 5, 6+ months past due), estimated
from the month-to-month transitions of the UCI "default of credit card clients" data (Yeh and Lien
2009, doi 10.1016/j.eswa.2007.12.020, CC BY 4.0) by :func:`uci_transition_matrix` and shipped as
:data:`DEFAULT_TRANSITIONS`, runs for every account (vectorised over accounts) at each due date
before the as-of date, and monthly after the last one. Accounts start in a state drawn from the
UCI cross-section of its last month (the borrower's standing: 77 % current). The chain's state is a
target number of months behind, which the account follows as far as its schedule allows:

* state 0: everything due is paid (on time, or a cure that pays all the arrears);
* a roll forward (higher state): nothing is paid, or, for a quarter of them (5 % into 6+), a
  partial payment of 10-60 % of the oldest unpaid installment;
* the same state ``s > 0``: one installment is paid, keeping the account ``s`` months behind,
  while installments still fall due; after the last due date, and at 6+, nothing is paid;
* a lower state ``s > 0`` (partial cure): the oldest installments are paid until the account is
  ``s`` months behind (after maturity that can clear it).

An account falls at most one installment further behind a month even when the chain jumps (the
UCI data often goes from current straight to 2). Payments fall a few days around the due date
(-5..+3 days when on time, +-10 days for cures and partial payments), never before opening nor after
the as-of date, so :func:`arrears.domain.delinquency.assess` on the as-of date sees the simulated
arrears. A quirk of the UCI data carries over: status 1 occurs almost only in the last month
(PAY_0), so state 1 is absorbing in the estimated matrix; such accounts stay one installment behind
while installments fall due and keep the last one unpaid after maturity.

With the defaults the as-of DPD buckets come out at about 76 % current, 15 % M1 (1-30 days), 5 % M2,
and 0.4-1 % each in M3, M4, M5, M6 and beyond 180 days (see the tests for the bounds held).

Delinquency history
-------------------
At each monthly checkpoint of the chain before the as-of date (each due date of the schedule, then
monthly after the last one) the generator records one ``delinquency_history`` row: the cycle end
is the checkpoint and ``dpd`` the days from the oldest installment still unpaid after that month's
payments to the checkpoint (0 when everything due by then is paid; an installment unpaid on its
own due date is not yet past due). Recording it draws no random numbers, so a seed gives the same
portfolio as before the table existed.

Contact history
---------------
Each account past due on the as-of date gets 1-7 outbound contacts (1 + Poisson(2), capped) on the
14 days before it, unless the borrower is flagged cease-communication, deceased, bankrupt or
represented. Channels: CN call 45 %, SMS 35 %, WeChat 20 %; TW call 50 %, SMS 40 %, e-mail 10 %;
elsewhere call 45 %, SMS 30 %, e-mail 25 %; contacts on an opted-out channel, and e-mails to
borrowers without an address, are dropped. Local start times are 09:00-19:59 (messages 09:00-18:59)
in the borrower's zone (the jurisdiction's zone when unknown), stored in UTC. Call outcomes: RPC
14 %, PTP 6 %, connected (not the borrower) 5 %, no answer 38 %, busy 7 %, voicemail 22 %, wrong
number 3 %, refused 5 %; messages: delivered 94 %, failed 6 %. Calls carry an agent id
``A001``-``A120``; messages are automated (agent null).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from arrears.adapters.portfolio.schema import FLAG_COLUMNS, PortfolioFrames
from arrears.domain.money import MINOR_UNITS

IntArray = npt.NDArray[np.int64]
DateArray = npt.NDArray[np.datetime64]
BoolArray = npt.NDArray[np.bool_]

STATES: tuple[str, ...] = ("current", "1", "2", "3", "4", "5", "6+")
"""Delinquency states of the UCI chain: current, then months past due (6+ = six or more)."""

UCI_PAY_COLUMNS: tuple[str, ...] = ("PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0")
"""UCI repayment-status columns from April (PAY_6) to September 2005 (PAY_0)."""


@dataclass(frozen=True)
class TransitionMatrix:
    """A row-stochastic month-to-month transition matrix between delinquency states.

    Attributes
    ----------
    states : tuple of str, length n >= 2
        State names; index 0 is current, index ``i`` means ``i`` months past due and the last
        state is open-ended (``i`` or more).
    probabilities : tuple of n tuples of n floats
        ``probabilities[i][j]`` is the probability of moving from state ``i`` to state ``j`` in one
        month. Each row sums to 1 (within 1e-9).
    initial : tuple of n floats, optional
        Distribution of the state accounts start in before their first due date (the borrower's
        standing); None means every account starts current. Sums to 1 (within 1e-9).

    Raises
    ------
    ValueError
        If there are fewer than two states, the matrix is not n x n, ``initial`` does not have n
        entries, an entry is negative or not finite, or a row (or ``initial``) does not sum to 1.
    """

    states: tuple[str, ...]
    probabilities: tuple[tuple[float, ...], ...]
    initial: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.states)
        if n < 2:
            raise ValueError(f"a transition matrix needs at least 2 states, got {n}")
        if len(self.probabilities) != n or any(len(r) != n for r in self.probabilities):
            raise ValueError(f"transition matrix must be {n} x {n} to match states {self.states}")
        for i, row in enumerate(self.probabilities):
            for j, p in enumerate(row):
                if not math.isfinite(p) or p < 0:
                    raise ValueError(
                        f"transition probability {self.states[i]} -> {self.states[j]} is {p}; "
                        "must be finite and >= 0"
                    )
            total = math.fsum(row)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"row {self.states[i]!r} sums to {total}, not 1")
        if self.initial is not None:
            if len(self.initial) != n:
                raise ValueError(f"initial distribution needs {n} entries, got {len(self.initial)}")
            if any(not math.isfinite(p) or p < 0 for p in self.initial):
                raise ValueError(f"initial distribution {self.initial} has a negative entry")
            total = math.fsum(self.initial)
            if abs(total - 1.0) > 1e-9:
                raise ValueError(f"initial distribution sums to {total}, not 1")

    def as_array(self) -> npt.NDArray[np.float64]:
        """Return the matrix as an ``(n, n)`` float64 array."""
        return np.array(self.probabilities, dtype=np.float64)


def uci_transition_matrix(path: str | Path) -> TransitionMatrix:
    """Estimate the monthly delinquency transition matrix from the UCI credit-card data.

    Each of the 30,000 accounts contributes five transitions, PAY_6 -> PAY_5 -> PAY_4 -> PAY_3 ->
    PAY_2 -> PAY_0 (April to September 2005). A status ``<= 0`` (-2 no use, -1 paid duly, 0
    revolving) is ``current``, 1-5 are that many months past due, ``>= 6`` is ``6+``. Each row is
    the observed transition counts divided by the row total (maximum-likelihood estimate). The
    initial distribution is the cross-section of the last month (PAY_0, September 2005): the
    delinquency mix of a seasoned card book, 22.7 % of it past due.

    Parameters
    ----------
    path : str or Path
        The UCI CSV (``uci_taiwan_credit_default.csv``) with columns PAY_0 and PAY_2..PAY_6.

    Returns
    -------
    TransitionMatrix
        7 x 7, states :data:`STATES`, with ``initial`` set.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If a PAY column is missing, a status is not an integer in -2..9 (the message names file,
        line and column), or a state never occurs as the origin of a transition.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: UCI credit-card file not found")
    frame = pl.read_csv(p, infer_schema=False)
    missing = [c for c in UCI_PAY_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{p}: missing column(s) {', '.join(missing)}")
    codes: list[IntArray] = []
    for col in UCI_PAY_COLUMNS:
        raw = frame.get_column(col)
        values = raw.str.strip_chars().cast(pl.Int64, strict=False)
        bad = values.is_null() | (values < -2) | (values > 9)
        if bad.any():
            row = int(bad.arg_true()[0])
            raise ValueError(
                f"{p}, line {row + 2}, column {col}: repayment status {raw[row]!r} is not an "
                "integer in -2..9"
            )
        codes.append(np.clip(values.to_numpy().astype(np.int64), 0, len(STATES) - 1))
    n = len(STATES)
    counts = np.zeros((n, n), dtype=np.int64)
    for before, after in itertools.pairwise(codes):
        np.add.at(counts, (before, after), 1)
    rows: list[tuple[float, ...]] = []
    for i in range(n):
        total = int(counts[i].sum())
        if total == 0:
            raise ValueError(f"{p}: state {STATES[i]!r} never occurs before another month")
        rows.append(tuple(int(c) / total for c in counts[i]))
    last = np.bincount(codes[-1], minlength=n)
    initial = tuple(int(c) / int(last.sum()) for c in last)
    return TransitionMatrix(STATES, tuple(rows), initial)


# Computed by uci_transition_matrix("../shared/data/uci_taiwan_credit_default.csv"); a unit test
# recomputes it from the file when the file is there.
DEFAULT_TRANSITIONS = TransitionMatrix(
    STATES,
    (
        (0.9387747359475537, 0.01411314799077334, 0.04711211606167294, 0.0, 0.0, 0.0, 0.0),
        (0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        (
            0.25342087500767013,
            0.10284101368350003,
            0.5804749340369393,
            0.06326317727189053,
            0.0,
            0.0,
            0.0,
        ),
        (
            0.1588447653429603,
            0.0983754512635379,
            0.3267148014440433,
            0.1588447653429603,
            0.2572202166064982,
            0.0,
            0.0,
        ),
        (
            0.042440318302387266,
            0.08488063660477453,
            0.22546419098143236,
            0.07692307692307693,
            0.28116710875331563,
            0.2891246684350133,
            0.0,
        ),
        (
            0.05405405405405406,
            0.06306306306306306,
            0.16216216216216217,
            0.06306306306306306,
            0.0990990990990991,
            0.10810810810810811,
            0.45045045045045046,
        ),
        (
            0.0071174377224199285,
            0.014234875444839857,
            0.2277580071174377,
            0.010676156583629894,
            0.0071174377224199285,
            0.010676156583629894,
            0.7224199288256228,
        ),
    ),
    (
        0.7727333333333334,
        0.12293333333333334,
        0.0889,
        0.010733333333333333,
        0.002533333333333333,
        0.0008666666666666666,
        0.0013,
    ),
)
"""UCI month-to-month delinquency transitions (30,000 accounts x 5 transitions, April-Sept 2005)."""


@dataclass(frozen=True)
class _Jurisdiction:
    code: str
    weight: float
    timezone: str
    language: str
    currency: str
    phone_plan: str  # "nanp", "gb" or "" (no reserved fictional range: phone left null)
    area_codes: tuple[str, ...] = ()
    channel_weights: tuple[tuple[str, float], ...] = (
        ("call", 0.45),
        ("sms", 0.30),
        ("email", 0.25),
    )


_JURISDICTIONS: tuple[_Jurisdiction, ...] = (
    _Jurisdiction(
        "CN",
        0.24,
        "Asia/Shanghai",
        "zh-CN",
        "CNY",
        "",
        (),
        (("call", 0.45), ("sms", 0.35), ("wechat", 0.20)),
    ),
    _Jurisdiction(
        "TW",
        0.16,
        "Asia/Taipei",
        "zh-TW",
        "TWD",
        "",
        (),
        (("call", 0.50), ("sms", 0.40), ("email", 0.10)),
    ),
    _Jurisdiction("GB", 0.14, "Europe/London", "en-GB", "GBP", "gb"),
    _Jurisdiction("IE", 0.05, "Europe/Dublin", "en-IE", "EUR", ""),
    _Jurisdiction(
        "US-CA",
        0.12,
        "America/Los_Angeles",
        "en-US",
        "USD",
        "nanp",
        ("213", "310", "415", "619", "916"),
    ),
    _Jurisdiction(
        "US-NY", 0.05, "America/New_York", "en-US", "USD", "nanp", ("315", "518", "585", "716")
    ),
    _Jurisdiction(
        "US-NY-NYC",
        0.06,
        "America/New_York",
        "en-US",
        "USD",
        "nanp",
        ("212", "646", "718", "917"),
    ),
    _Jurisdiction("US-MA", 0.04, "America/New_York", "en-US", "USD", "nanp", ("413", "508", "617")),
    _Jurisdiction(
        "US-WA", 0.04, "America/Los_Angeles", "en-US", "USD", "nanp", ("206", "253", "509")
    ),
    _Jurisdiction(
        "US-TX", 0.07, "America/Chicago", "en-US", "USD", "nanp", ("210", "214", "512", "713")
    ),
    _Jurisdiction("US-AZ", 0.03, "America/Phoenix", "en-US", "USD", "nanp", ("480", "520", "602")),
)

JURISDICTION_TIMEZONES: dict[str, str] = {j.code: j.timezone for j in _JURISDICTIONS}
"""Time zone the generator gives the borrowers of each jurisdiction (when known)."""

JURISDICTION_CURRENCIES: dict[str, str] = {j.code: j.currency for j in _JURISDICTIONS}
"""Currency of the accounts of each jurisdiction's borrowers."""


@dataclass(frozen=True)
class _CurrencyTerms:
    """Amount ranges in major units: (low, high, step)."""

    single: tuple[int, int, int]
    monthly: tuple[int, int, int]
    card_limit: tuple[int, int, int]
    card_floor: int
    fee: int


_CURRENCY_TERMS: dict[str, _CurrencyTerms] = {
    "CNY": _CurrencyTerms((500, 5000, 100), (2000, 30000, 500), (5000, 50000, 1000), 50, 20),
    "TWD": _CurrencyTerms(
        (3000, 30000, 1000), (10000, 150000, 5000), (20000, 300000, 10000), 1000, 100
    ),
    "GBP": _CurrencyTerms((100, 800, 50), (300, 4000, 100), (500, 8000, 500), 5, 5),
    "EUR": _CurrencyTerms((100, 800, 50), (300, 4000, 100), (500, 8000, 500), 5, 5),
    "USD": _CurrencyTerms((100, 1000, 50), (500, 5000, 100), (500, 10000, 500), 25, 5),
}
_CURRENCIES: tuple[str, ...] = tuple(_CURRENCY_TERMS)


@dataclass(frozen=True)
class _Product:
    weight: float
    kind: str  # "single", "monthly" or "card"
    count: int  # installments (statements for cards)
    term_days: int  # single-repayment loans only


_PRODUCTS: tuple[_Product, ...] = (
    _Product(0.15, "single", 1, 7),
    _Product(0.15, "single", 1, 14),
    _Product(0.15, "monthly", 3, 0),
    _Product(0.20, "monthly", 6, 0),
    _Product(0.15, "monthly", 12, 0),
    _Product(0.20, "card", 6, 0),
)

FLAG_RATES: dict[str, float] = {
    "cease_communication": 0.005,
    "dispute_open": 0.01,
    "deceased": 0.001,
    "bankrupt": 0.003,
    "represented": 0.003,
    "vulnerable": 0.03,
}
"""Share of borrowers carrying each status flag (independent draws; see the module docstring)."""

OPT_OUT_RATE = 0.02
_OPT_OUTS: tuple[tuple[str, float], ...] = (("sms", 0.45), ("call", 0.40), ("call|sms", 0.15))

_TAIL_DAYS = 240
_TAIL_SHARE = 0.2
_SINGLE_EXTRA_DAYS = 60  # how far past the contractual end opening dates may reach
_CARD_OPENED_DAYS = (190, 2500)  # cards opened this many days before the as-of date
_CARD_DUE_DAYS = 25  # a statement's minimum payment falls due this many days later
_CARD_MIN_PERCENT = 5
_MONTHLY_RATE_BP = (50, 250)  # interest, basis points per month, inclusive
_FEE_SHARE = 0.25
_PARTIAL_SHARE = 0.25
_PARTIAL_SHARE_LAST = 0.05
_ON_TIME_OFFSETS = (-5, -4, -3, -2, -1, 0, 1, 2, 3)
_ON_TIME_WEIGHTS = (0.04, 0.05, 0.07, 0.10, 0.14, 0.35, 0.12, 0.08, 0.05)
_LATE_OFFSET_DAYS = 10
_CONTACT_DAYS = 14
_CONTACT_MEAN_EXTRA = 2.0
_CONTACT_MAX = 7
_CONTACT_BLOCKING_FLAGS = ("cease_communication", "deceased", "bankrupt", "represented")
_AGENTS = 120
_CALL_OUTCOMES: tuple[tuple[str, float], ...] = (
    ("rpc", 0.14),
    ("ptp", 0.06),
    ("connected", 0.05),
    ("no_answer", 0.38),
    ("busy", 0.07),
    ("voicemail", 0.22),
    ("wrong_number", 0.03),
    ("refused", 0.05),
)
_MESSAGE_OUTCOMES: tuple[tuple[str, float], ...] = (("delivered", 0.94), ("failed", 0.06))


_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _ymd(dates: DateArray) -> tuple[IntArray, IntArray, IntArray]:
    """Civil (year, month 1-12, day 1-31) of ``datetime64[D]`` dates, integer arithmetic.

    H. Hinnant's ``civil_from_days`` (proleptic Gregorian calendar), vectorised; much faster than
    converting through ``datetime64[M]``.
    """
    z = dates.astype("datetime64[D]").view(np.int64) + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _from_ymd(year: IntArray, month: IntArray, day: IntArray) -> DateArray:
    """``datetime64[D]`` dates from civil year, month and day (Hinnant's ``days_from_civil``)."""
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146_097 + doe - 719_468
    out: DateArray = days.astype(np.int64).view("datetime64[D]")
    return out


def _month_length(year: IntArray, month: IntArray) -> IntArray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    out: IntArray = _MONTH_DAYS[month - 1] + ((month == 2) & leap)
    return out


def _shift_months(
    year: IntArray, month: IntArray, day: IntArray, months: IntArray | int
) -> DateArray:
    total = month - 1 + np.asarray(months, dtype=np.int64)
    y = year + total // 12
    m = total % 12 + 1
    return _from_ymd(y, m, np.minimum(day, _month_length(y, m)))


def add_months_array(anchor: DateArray, months: IntArray | int) -> DateArray:
    """Vectorised :func:`arrears.domain.delinquency.add_months` over ``datetime64[D]`` arrays.

    Parameters
    ----------
    anchor : ndarray of datetime64[D], shape (n,)
    months : int or ndarray of int64, shape (n,)
        Calendar months to add (may be negative).

    Returns
    -------
    ndarray of datetime64[D], shape (n,)
        The date ``months`` months after each anchor on the anchor's day of month, or on the last
        day of the target month when it is shorter.
    """
    year, month, day = _ymd(anchor)
    return _shift_months(year, month, day, months)


def _months_between(later: np.datetime64, earlier: DateArray) -> IntArray:
    """Whole calendar months from each ``earlier``'s month to ``later``'s month."""
    ly, lm, _ = _ymd(np.array([later], dtype="datetime64[D]"))
    ey, em, _ = _ymd(earlier)
    out: IntArray = (ly[0] - ey) * 12 + (lm[0] - em)
    return out


def _div_half_even(num: IntArray, den: int) -> IntArray:
    """``num / den`` rounded half to even, for ``num >= 0`` and ``den > 0`` (exact integers)."""
    q, r = np.divmod(num, den)
    twice = 2 * r
    up = (twice > den) | ((twice == den) & (q % 2 == 1))
    result: IntArray = q + up.astype(np.int64)
    return result


def _ids(prefix: str, count: int, width: int) -> pl.Series:
    """``prefix`` + 1..count zero padded to ``width`` digits."""
    return pl.select(
        (
            pl.lit(prefix)
            + pl.int_range(1, count + 1, dtype=pl.Int64).cast(pl.String).str.zfill(width)
        ).alias("id")
    ).to_series()


def _pick(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> IntArray:
    """Draw ``size`` indices with the given weights (normalised)."""
    p = np.asarray(weights, dtype=np.float64)
    out: IntArray = rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int64)
    return out


def _sample_rows(
    rng: np.random.Generator, cumulative: npt.NDArray[np.float64], rows: IntArray
) -> IntArray:
    """For each ``rows[i]`` draw a column from the cumulative row ``cumulative[rows[i]]``."""
    u = rng.random(size=(rows.shape[0],))
    out: IntArray = (cumulative[rows] <= u[:, None]).sum(axis=1).astype(np.int64)
    return np.minimum(out, cumulative.shape[1] - 1)


def _cumulative(matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    cum = np.cumsum(matrix / matrix.sum(axis=1, keepdims=True), axis=1)
    cum[:, -1] = 1.0
    out: npt.NDArray[np.float64] = cum
    return out


def generate_portfolio(
    n_accounts: int,
    as_of: date,
    seed: int = 7,
    transitions: TransitionMatrix | None = None,
) -> PortfolioFrames:
    """Generate a synthetic collections portfolio as normalised frames.

    Parameters
    ----------
    n_accounts : int
        Number of accounts (>= 1). Borrowers number ``round(0.9 * n_accounts)``; installments
        about 5 per account; payments about 2.9 per account; contacts about 0.7 per account.
    as_of : date
        Snapshot date: schedules straddle it, payments are booked on or before it, contacts fall
        on the 14 days before it.
    seed : int, default 7
        Seed of ``numpy.random.default_rng``. The same arguments give identical frames.
    transitions : TransitionMatrix, optional
        Monthly delinquency transitions driving payment behaviour; default
        :data:`DEFAULT_TRANSITIONS` (estimated from the UCI data). Any n x n matrix with n >= 2
        works: state ``i`` means ``i`` months behind, the last state is open-ended.

    Returns
    -------
    PortfolioFrames
        Frames typed exactly as ``FRAME_SCHEMAS`` (``frames.conformed()`` holds); amounts in
        integer minor units. See the module docstring for distributions and assumptions.

    Raises
    ------
    ValueError
        If ``n_accounts < 1``.
    TypeError
        If ``as_of`` is a datetime rather than a date, or ``n_accounts``/``seed`` is not an int.
    """
    if isinstance(n_accounts, bool) or not isinstance(n_accounts, int):
        raise TypeError(f"n_accounts must be an int, got {type(n_accounts).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise TypeError(f"as_of must be a date (not a datetime), got {type(as_of).__name__}")
    if n_accounts < 1:
        raise ValueError(f"n_accounts must be at least 1, got {n_accounts}")
    tm = transitions if transitions is not None else DEFAULT_TRANSITIONS
    rng = np.random.default_rng(seed)
    asof = np.datetime64(as_of, "D")
    width = len(str(n_accounts))

    n_b = max(1, round(0.9 * n_accounts))
    borrowers, b_jur, b_flags, b_optout, b_has_email = _borrowers(rng, n_b, width)
    b_ids = borrowers.get_column("borrower_id")

    extra = rng.choice(n_b, size=n_accounts - n_b, replace=False).astype(np.int64)
    owner = rng.permutation(np.concatenate([np.arange(n_b, dtype=np.int64), extra]))
    acc = _accounts(rng, owner, b_jur, asof)
    sim = _simulate(rng, acc, tm, asof)

    a_ids = _ids("SA", n_accounts, width)
    accounts = _accounts_frame(acc, sim, a_ids, b_ids)
    installments, statements = _schedule_frames(acc, a_ids)
    payments = _payments_frame(sim, a_ids)
    contacts = _contacts(rng, acc, sim, owner, b_jur, b_flags, b_optout, b_has_email, asof)
    contact_history = _contacts_frame(contacts, a_ids, b_ids)
    frames = PortfolioFrames(
        borrowers=borrowers,
        accounts=accounts,
        installments=installments,
        payments=payments,
        statements=statements,
        contact_history=contact_history,
        delinquency_history=_history_frame(sim, a_ids),
    )
    return frames.conformed()


def _borrowers(
    rng: np.random.Generator, n_b: int, width: int
) -> tuple[pl.DataFrame, IntArray, dict[str, BoolArray], dict[str, BoolArray], BoolArray]:
    jur = _pick(rng, tuple(j.weight for j in _JURISDICTIONS), n_b)
    is_us = np.array([j.code.startswith("US-") for j in _JURISDICTIONS])[jur]
    tz_unknown = is_us & (rng.random(n_b) < 0.01)
    spanish = is_us & (rng.random(n_b) < 0.10)
    plan = np.array([j.phone_plan for j in _JURISDICTIONS])[jur]
    no_phone = rng.random(n_b) < 0.03
    area_flat = [a for j in _JURISDICTIONS for a in j.area_codes]
    area_count = np.array([len(j.area_codes) for j in _JURISDICTIONS], dtype=np.int64)
    area_start = np.concatenate([[0], np.cumsum(area_count)[:-1]]).astype(np.int64)
    area_pick = rng.integers(0, 1 << 30, n_b) % np.maximum(area_count[jur], 1)
    area_idx = np.where(area_count[jur] > 0, area_start[jur] + area_pick, 0)
    line = rng.integers(0, 1000, n_b)
    has_email = rng.random(n_b) >= 0.08
    domain = rng.integers(0, 3, n_b)
    flags = {f: rng.random(n_b) < rate for f, rate in FLAG_RATES.items()}
    opt = rng.random(n_b) < OPT_OUT_RATE
    opt_kind = _pick(rng, tuple(w for _, w in _OPT_OUTS), n_b)
    opt_text = np.where(opt, np.array([t for t, _ in _OPT_OUTS])[opt_kind], "")
    optout = {
        ch: opt & np.array([ch in t.split("|") for t, _ in _OPT_OUTS])[opt_kind]
        for ch in ("sms", "call")
    }

    raw = pl.DataFrame(
        {
            "_jur": jur,
            "_tz_unknown": tz_unknown,
            "_spanish": spanish,
            "_plan": plan,
            "_no_phone": no_phone,
            "_area": area_idx,
            "_line": line,
            "_has_email": has_email,
            "_domain": domain,
            "_opt": opt_text,
            **flags,
        }
    )
    codes = pl.Series([j.code for j in _JURISDICTIONS])
    zones = pl.Series([j.timezone for j in _JURISDICTIONS])
    langs = pl.Series([j.language for j in _JURISDICTIONS])
    areas = pl.Series(area_flat or [""], dtype=pl.String)
    domains = pl.Series(["example.com", "example.net", "example.org"])
    number = pl.int_range(1, n_b + 1, dtype=pl.Int64).cast(pl.String).str.zfill(width)
    nanp = pl.concat_str(
        pl.lit("+1"),
        pl.col("_area").map_batches(lambda s: areas.gather(s), return_dtype=pl.String),
        pl.lit("55501"),
        (pl.col("_line") % 100).cast(pl.String).str.zfill(2),
    )
    gb = pl.lit("+447700900") + pl.col("_line").cast(pl.String).str.zfill(3)
    frame = raw.select(
        (pl.lit("SB") + number).alias("borrower_id"),
        pl.col("_jur")
        .map_batches(lambda s: codes.gather(s), return_dtype=pl.String)
        .alias("jurisdiction"),
        pl.when(pl.col("_tz_unknown"))
        .then(pl.lit(None, dtype=pl.String))
        .otherwise(pl.col("_jur").map_batches(lambda s: zones.gather(s), return_dtype=pl.String))
        .alias("timezone"),
        pl.when(pl.col("_spanish"))
        .then(pl.lit("es-US"))
        .otherwise(pl.col("_jur").map_batches(lambda s: langs.gather(s), return_dtype=pl.String))
        .alias("language"),
        pl.when(pl.col("_no_phone"))
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("_plan") == "nanp")
        .then(nanp)
        .when(pl.col("_plan") == "gb")
        .then(gb)
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("phone"),
        pl.when(pl.col("_has_email"))
        .then(
            pl.lit("b")
            + number
            + pl.lit("@")
            + pl.col("_domain").map_batches(lambda s: domains.gather(s), return_dtype=pl.String)
        )
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("email"),
        *(pl.col(f) if f in FLAG_RATES else pl.lit(False).alias(f) for f in FLAG_COLUMNS),
        pl.col("_opt").alias("opt_out_channels"),
        pl.lit(None, dtype=pl.String).alias("consent_hours"),
    )
    return frame, jur, flags, optout, has_email


@dataclass
class _Accounts:
    """Per-account arrays (shape (n,)) and the flat schedule (shape (rows,))."""

    n: int
    owner: IntArray
    currency: IntArray
    kind: npt.NDArray[np.str_]
    count: IntArray
    term_days: IntArray
    opened: DateArray
    first_due: DateArray
    principal: IntArray  # 0 for cards
    credit_limit: IntArray  # 0 for loans
    offsets: IntArray  # shape (n + 1,)
    row_account: IntArray
    row_seq0: IntArray
    due: DateArray
    row_principal: IntArray
    row_interest: IntArray
    row_fees: IntArray
    row_statement: DateArray  # cards: statement date; NaT otherwise
    row_balance: IntArray  # cards: statement balance; 0 otherwise

    @property
    def is_card(self) -> BoolArray:
        out: BoolArray = self.kind == "card"
        return out


def _accounts(
    rng: np.random.Generator, owner: IntArray, b_jur: IntArray, asof: np.datetime64
) -> _Accounts:
    n = owner.shape[0]
    jur_currency = np.array([_CURRENCIES.index(j.currency) for j in _JURISDICTIONS])
    currency = jur_currency[b_jur[owner]]
    product = _pick(rng, tuple(p.weight for p in _PRODUCTS), n)
    kind = np.array([p.kind for p in _PRODUCTS])[product]
    count = np.array([p.count for p in _PRODUCTS], dtype=np.int64)[product]
    term = np.array([p.term_days for p in _PRODUCTS], dtype=np.int64)[product]
    single, monthly, card = kind == "single", kind == "monthly", kind == "card"
    scale = np.array([10 ** MINOR_UNITS[c] for c in _CURRENCIES], dtype=np.int64)[currency]

    # Most loans are opened so that as_of falls inside the schedule; a tail reaches up to
    # _TAIL_DAYS past the contractual end (matured loans still on the book).
    length = np.where(single, term + _SINGLE_EXTRA_DAYS, count * 30)
    in_tail = rng.random(n) < _TAIL_SHARE
    back = np.where(
        card,
        rng.integers(_CARD_OPENED_DAYS[0], _CARD_OPENED_DAYS[1] + 1, n),
        np.where(
            in_tail,
            length + rng.integers(1, _TAIL_DAYS + 1, n),
            rng.integers(0, length + 1),
        ),
    )
    opened = asof - back.astype("timedelta64[D]")
    first_due = np.where(
        single, opened + term.astype("timedelta64[D]"), add_months_array(opened, 1)
    )

    def amount(which: str) -> IntArray:
        spec = [getattr(_CURRENCY_TERMS[c], which) for c in _CURRENCIES]
        low, high, step = (np.array(x, dtype=np.int64)[currency] for x in zip(*spec, strict=True))
        steps = rng.integers(0, (high - low) // step + 1)
        out: IntArray = (low + step * steps) * scale
        return out

    single_amt, monthly_amt, limit_amt = amount("single"), amount("monthly"), amount("card_limit")
    principal = np.where(single, single_amt, np.where(monthly, monthly_amt, 0))
    credit_limit = np.where(card, limit_amt, 0)
    rate_bp = rng.integers(_MONTHLY_RATE_BP[0], _MONTHLY_RATE_BP[1] + 1, size=(n,))
    has_fee = ~card & (rng.random(n) < _FEE_SHARE)
    fee = np.array([_CURRENCY_TERMS[c].fee for c in _CURRENCIES], dtype=np.int64)[currency] * scale
    floor = (
        np.array([_CURRENCY_TERMS[c].card_floor for c in _CURRENCIES], dtype=np.int64)[currency]
        * scale
    )

    # Cards: the six statements up to as_of, anchored on the opening day of month.
    months_open = _months_between(asof, opened)
    last_stmt = months_open - (add_months_array(opened, months_open) > asof).astype(np.int64)
    util = np.clip(
        rng.integers(150, 951, size=(n,))[:, None]
        + np.cumsum(rng.integers(-60, 61, (n, 6)), axis=1),
        50,
        1000,
    )

    offsets = np.concatenate([[0], np.cumsum(count)]).astype(np.int64)
    rows = int(offsets[-1])
    ra = np.repeat(np.arange(n, dtype=np.int64), count)
    j = np.arange(rows, dtype=np.int64) - offsets[ra]
    r_single, r_monthly, r_card = single[ra], monthly[ra], card[ra]

    # Civil dates are computed per account once and shifted per row, on the rows that need it.
    statement = np.full(rows, np.datetime64("NaT"), dtype="datetime64[D]")
    due = first_due[ra]
    for rows_of, anchor, months in (
        (r_card, opened, last_stmt - 5),
        (r_monthly, first_due, np.zeros(n, dtype=np.int64)),
    ):
        sel = np.flatnonzero(rows_of)
        y, mo, d = _ymd(anchor)
        owner_of = ra[sel]
        shifted = _shift_months(y[owner_of], mo[owner_of], d[owner_of], months[owner_of] + j[sel])
        if rows_of is r_card:
            statement[sel] = shifted
            due[sel] = shifted + np.timedelta64(_CARD_DUE_DAYS, "D")
        else:
            due[sel] = shifted
    p = principal[ra]
    base = p // count[ra]
    last = j == count[ra] - 1
    loan_principal = np.where(last, p - base * (count[ra] - 1), base)
    outstanding = p - base * j
    interest = np.where(
        r_single,
        _div_half_even(p * rate_bp[ra] * term[ra], 300_000),
        np.where(r_monthly, _div_half_even(outstanding * rate_bp[ra], 10_000), 0),
    )
    balance = np.where(r_card, credit_limit[ra] * util[ra, np.minimum(j, 5)] // 1000, 0)
    minimum = np.minimum(
        balance, np.maximum(_div_half_even(balance * _CARD_MIN_PERCENT, 100), floor[ra])
    )
    return _Accounts(
        n=n,
        owner=owner,
        currency=currency,
        kind=kind,
        count=count,
        term_days=np.where(
            single,
            term,
            np.where(
                monthly,
                (add_months_array(first_due, count - 1) - opened).astype(np.int64),
                0,
            ),
        ),
        opened=opened,
        first_due=first_due,
        principal=principal,
        credit_limit=credit_limit,
        offsets=offsets,
        row_account=ra,
        row_seq0=j,
        due=due,
        row_principal=np.where(r_card, minimum, loan_principal),
        row_interest=interest,
        row_fees=np.where(has_fee[ra] & (j == 0), fee[ra], 0),
        row_statement=statement,
        row_balance=balance,
    )


@dataclass
class _Simulation:
    paid: IntArray  # per account: total paid, minor units
    paid_installments: IntArray  # per account: installments fully paid (oldest first)
    dpd: IntArray  # per account, on as_of
    pay_account: IntArray
    pay_date: DateArray
    pay_amount: IntArray
    hist_account: IntArray  # delinquency history: one row per account and cycle end
    hist_date: DateArray
    hist_dpd: IntArray


def _simulate(
    rng: np.random.Generator, acc: _Accounts, tm: TransitionMatrix, asof: np.datetime64
) -> _Simulation:
    n = acc.n
    last_state = len(tm.states) - 1
    cum = _cumulative(tm.as_array())
    totals = acc.row_principal + acc.row_interest + acc.row_fees
    prefix = np.concatenate([[0], np.cumsum(totals)]).astype(np.int64)
    start = acc.offsets[:-1]
    card = acc.is_card
    latent = np.zeros(n, dtype=np.int64) if tm.initial is None else _pick(rng, tm.initial, n)
    k = np.zeros(n, dtype=np.int64)
    partial = np.zeros(n, dtype=np.int64)
    paid = np.zeros(n, dtype=np.int64)
    on_time_cum = np.cumsum(np.asarray(_ON_TIME_WEIGHTS) / sum(_ON_TIME_WEIGHTS))
    on_time_cum[-1] = 1.0
    out_acc: list[IntArray] = []
    out_date: list[DateArray] = []
    out_amt: list[IntArray] = []
    h_acc: list[IntArray] = []
    h_date: list[DateArray] = []
    h_dpd: list[IntArray] = []
    loan_months = _months_between(asof, acc.first_due[~card])
    fy, fm, fd = _ymd(acc.first_due)
    steps = int(max(loan_months.max(initial=0) + 2, 6))
    for m in range(steps):
        checkpoint = np.where(
            card,
            acc.due[start + np.minimum(m, acc.count - 1)],
            _shift_months(fy, fm, fd, m),
        )
        valid = checkpoint < asof
        if m >= 6:
            valid &= ~card
        idx = np.flatnonzero(valid)
        if idx.size == 0:
            continue
        due_now = np.minimum(m + 1, acc.count[idx])
        before = latent[idx]
        after = _sample_rows(rng, cum, before)
        k0 = k[idx]
        cure_to = np.clip(m + 1 - after, k0, due_now)
        keeps_arrears = (after == before) & ((m >= acc.count[idx]) | (after == last_state))
        target = np.where(
            after == 0,
            due_now,
            np.where((after > before) | keeps_arrears, k0, cure_to),
        )
        full = target > k0
        off = start[idx]
        amount = np.where(full, prefix[off + target] - prefix[off] - paid[idx], 0)
        oldest = off + np.minimum(k0, acc.count[idx] - 1)
        remaining = totals[oldest] - partial[idx]
        share = np.where(after == last_state, _PARTIAL_SHARE_LAST, _PARTIAL_SHARE)
        is_partial = ~full & (k0 < due_now) & (rng.random(idx.size) < share)
        part_amount = remaining * rng.integers(10, 61, idx.size) // 100
        amount = np.where(is_partial, part_amount, amount)
        on_time = full & (k0 >= m)
        offset = np.where(
            on_time,
            np.asarray(_ON_TIME_OFFSETS)[np.searchsorted(on_time_cum, rng.random(idx.size))],
            rng.integers(-_LATE_OFFSET_DAYS, _LATE_OFFSET_DAYS + 1, idx.size),
        )
        when = np.clip(checkpoint[idx] + offset.astype("timedelta64[D]"), acc.opened[idx], asof)
        pays = amount > 0
        out_acc.append(idx[pays])
        out_date.append(when[pays])
        out_amt.append(amount[pays])
        partial[idx] = np.where(full, 0, partial[idx] + np.where(is_partial, part_amount, 0))
        paid[idx] += amount
        k[idx] = target
        latent[idx] = after
        # Cycle-end DPD: days from the oldest unpaid installment's due date to the checkpoint
        # (0 when everything due by the checkpoint is paid). No random draws: seeds unchanged.
        oldest_now = acc.due[off + np.minimum(target, acc.count[idx] - 1)]
        h_acc.append(idx)
        h_date.append(checkpoint[idx])
        h_dpd.append(
            np.where(
                target < due_now,
                np.maximum((checkpoint[idx] - oldest_now).astype(np.int64), 0),
                0,
            )
        )

    past_due = np.bincount(acc.row_account[acc.due < asof], minlength=n).astype(np.int64)
    behind = k < past_due
    oldest_due = acc.due[start + np.minimum(k, acc.count - 1)]
    dpd = np.where(behind, (asof - oldest_due).astype(np.int64), 0)
    return _Simulation(
        paid=paid,
        paid_installments=k,
        dpd=dpd,
        pay_account=np.concatenate(out_acc) if out_acc else np.zeros(0, dtype=np.int64),
        pay_date=np.concatenate(out_date) if out_date else np.zeros(0, dtype="datetime64[D]"),
        pay_amount=np.concatenate(out_amt) if out_amt else np.zeros(0, dtype=np.int64),
        hist_account=np.concatenate(h_acc) if h_acc else np.zeros(0, dtype=np.int64),
        hist_date=np.concatenate(h_date) if h_date else np.zeros(0, dtype="datetime64[D]"),
        hist_dpd=np.concatenate(h_dpd) if h_dpd else np.zeros(0, dtype=np.int64),
    )


def _accounts_frame(
    acc: _Accounts, sim: _Simulation, a_ids: pl.Series, b_ids: pl.Series
) -> pl.DataFrame:
    card = acc.is_card
    totals = acc.row_principal + acc.row_interest + acc.row_fees
    scheduled = np.add.reduceat(totals, acc.offsets[:-1]) if totals.size else totals
    last_statement = acc.row_balance[acc.offsets[1:] - 1]
    balance = np.where(card, last_statement, scheduled - sim.paid)
    currencies = pl.Series(list(_CURRENCIES))
    raw = pl.DataFrame(
        {
            "_card": card,
            "_cur": acc.currency,
            "opened_on": acc.opened,
            "_principal": acc.principal,
            "_limit": acc.credit_limit,
            "balance_minor": balance,
            "_term": acc.term_days,
        }
    )
    null_int = pl.lit(None, dtype=pl.Int64)
    return raw.select(
        pl.lit(a_ids).alias("account_id"),
        pl.lit(b_ids.gather(acc.owner)).alias("borrower_id"),
        pl.when(pl.col("_card")).then(pl.lit("card")).otherwise(pl.lit("loan")).alias("product"),
        pl.col("_cur")
        .map_batches(lambda s: currencies.gather(s), return_dtype=pl.String)
        .alias("currency"),
        pl.col("opened_on"),
        pl.when(pl.col("_card"))
        .then(null_int)
        .otherwise(pl.col("_principal"))
        .alias("principal_minor"),
        pl.when(pl.col("_card"))
        .then(pl.col("_limit"))
        .otherwise(null_int)
        .alias("credit_limit_minor"),
        pl.col("balance_minor"),
        pl.when(pl.col("_card")).then(null_int).otherwise(pl.col("_term")).alias("term_days"),
        null_int.alias("reported_dpd"),
        null_int.alias("reported_past_due_minor"),
    )


def _schedule_frames(acc: _Accounts, a_ids: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    installments = pl.DataFrame(
        {
            "account_id": a_ids.gather(acc.row_account),
            "seq": acc.row_seq0 + 1,
            "due_date": acc.due,
            "principal_minor": acc.row_principal,
            "interest_minor": acc.row_interest,
            "fees_minor": acc.row_fees,
        }
    )
    cards = np.flatnonzero(acc.is_card[acc.row_account])
    statements = pl.DataFrame(
        {
            "account_id": a_ids.gather(acc.row_account[cards]),
            "statement_date": acc.row_statement[cards],
            "balance_minor": acc.row_balance[cards],
            "minimum_due_minor": acc.row_principal[cards],
        }
    )
    return installments, statements


def _history_frame(sim: _Simulation, a_ids: pl.Series) -> pl.DataFrame:
    order = np.lexsort((sim.hist_date, sim.hist_account))  # by account, then cycle date
    return pl.DataFrame(
        {
            "account_id": a_ids.gather(sim.hist_account[order]),
            "cycle_date": sim.hist_date[order],
            "dpd": sim.hist_dpd[order],
        }
    )


def _payments_frame(sim: _Simulation, a_ids: pl.Series) -> pl.DataFrame:
    order = np.lexsort((sim.pay_account, sim.pay_date))  # stable: by date, then account
    raw = pl.DataFrame(
        {
            "_acc": sim.pay_account[order],
            "paid_on": sim.pay_date[order],
            "amount_minor": sim.pay_amount[order],
        }
    )
    count = raw.height
    return raw.select(
        pl.lit(_ids("SP", count, len(str(count)))).alias("payment_id"),
        pl.lit(a_ids.gather(raw.get_column("_acc"))).alias("account_id"),
        pl.col("paid_on"),
        pl.col("amount_minor"),
    )


@dataclass
class _Contacts:
    account: IntArray
    borrower: IntArray
    channel: IntArray  # index into _CHANNEL_NAMES
    local: npt.NDArray[np.datetime64]  # naive local wall time, datetime64[us]
    zone: IntArray  # index into _JURISDICTIONS (its time zone)
    outcome: IntArray  # index into _OUTCOME_NAMES
    agent: IntArray  # 0 = none (automated)


_CHANNEL_NAMES: tuple[str, ...] = ("call", "sms", "email", "wechat")
_OUTCOME_NAMES: tuple[str, ...] = tuple(o for o, _ in _CALL_OUTCOMES + _MESSAGE_OUTCOMES)


def _contacts(
    rng: np.random.Generator,
    acc: _Accounts,
    sim: _Simulation,
    owner: IntArray,
    b_jur: IntArray,
    b_flags: dict[str, BoolArray],
    b_optout: dict[str, BoolArray],
    b_has_email: BoolArray,
    asof: np.datetime64,
) -> _Contacts:
    blocked = np.zeros(b_jur.shape[0], dtype=bool)
    for f in _CONTACT_BLOCKING_FLAGS:
        blocked |= b_flags[f]
    eligible = np.flatnonzero((sim.dpd > 0) & ~blocked[owner])
    per = np.minimum(1 + rng.poisson(_CONTACT_MEAN_EXTRA, eligible.size), _CONTACT_MAX)
    account = np.repeat(eligible, per)
    borrower = owner[account]
    jur = b_jur[borrower]
    size = account.size
    weights = np.zeros((len(_JURISDICTIONS), len(_CHANNEL_NAMES)))
    for i, j in enumerate(_JURISDICTIONS):
        for name, w in j.channel_weights:
            weights[i, _CHANNEL_NAMES.index(name)] = w
    channel = _sample_rows(rng, _cumulative(weights), jur)
    is_call = channel == 0
    days_back = rng.integers(1, _CONTACT_DAYS + 1, size)
    hour = np.where(is_call, rng.integers(9, 20, size), rng.integers(9, 19, size))
    second = rng.integers(0, 3600, size)
    local = (asof - days_back.astype("timedelta64[D]")).astype("datetime64[us]") + (
        (hour * 3600 + second) * 1_000_000
    ).astype("timedelta64[us]")
    n_call = len(_CALL_OUTCOMES)
    call_outcome = _pick(rng, tuple(w for _, w in _CALL_OUTCOMES), size)
    message_outcome = n_call + _pick(rng, tuple(w for _, w in _MESSAGE_OUTCOMES), size)
    outcome = np.where(is_call, call_outcome, message_outcome)
    agent = np.where(is_call, rng.integers(1, _AGENTS + 1, size), 0)
    keep = ~(
        (is_call & b_optout["call"][borrower])
        | ((channel == 1) & b_optout["sms"][borrower])
        | ((channel == 2) & ~b_has_email[borrower])
    )
    return _Contacts(
        account=account[keep],
        borrower=borrower[keep],
        channel=channel[keep],
        local=local[keep],
        zone=jur[keep],
        outcome=outcome[keep],
        agent=agent[keep],
    )


def _contacts_frame(c: _Contacts, a_ids: pl.Series, b_ids: pl.Series) -> pl.DataFrame:
    channels = pl.Series(list(_CHANNEL_NAMES))
    outcomes = pl.Series(list(_OUTCOME_NAMES))
    zones = sorted({j.timezone for j in _JURISDICTIONS})
    zone_of_jur = np.array([zones.index(j.timezone) for j in _JURISDICTIONS], dtype=np.int64)
    raw = pl.DataFrame(
        {
            "_acc": c.account,
            "_bor": c.borrower,
            "_channel": c.channel,
            "_local": c.local,
            "_zone": zone_of_jur[c.zone] if c.zone.size else c.zone,
            "_outcome": c.outcome,
            "_agent": c.agent,
        }
    )
    started = pl.coalesce(
        *(
            pl.when(pl.col("_zone") == i).then(
                pl.col("_local")
                .dt.replace_time_zone(z, ambiguous="earliest", non_existent="null")
                .dt.convert_time_zone("UTC")
            )
            for i, z in enumerate(zones)
        )
    )
    raw = raw.with_columns(started.alias("started_at")).sort(
        ["started_at", "_bor", "_acc"], maintain_order=True
    )
    count = raw.height
    return raw.select(
        pl.lit(_ids("SC", count, len(str(count)))).alias("contact_id"),
        pl.lit(b_ids.gather(raw.get_column("_bor"))).alias("borrower_id"),
        pl.lit(a_ids.gather(raw.get_column("_acc"))).alias("account_id"),
        pl.col("_channel")
        .map_batches(lambda s: channels.gather(s), return_dtype=pl.String)
        .alias("channel"),
        pl.lit("outbound").alias("direction"),
        pl.col("started_at"),
        pl.col("_outcome")
        .map_batches(lambda s: outcomes.gather(s), return_dtype=pl.String)
        .alias("outcome"),
        pl.when(pl.col("_agent") > 0)
        .then(pl.lit("A") + pl.col("_agent").cast(pl.String).str.zfill(3))
        .otherwise(pl.lit(None, dtype=pl.String))
        .alias("agent_id"),
    )


__all__ = [
    "DEFAULT_TRANSITIONS",
    "FLAG_RATES",
    "JURISDICTION_CURRENCIES",
    "JURISDICTION_TIMEZONES",
    "STATES",
    "TransitionMatrix",
    "add_months_array",
    "generate_portfolio",
    "uci_transition_matrix",
]
