"""Single-decision cost of the compliance engine (``evaluate``), one process, no database.

Prints decisions per second for allowed attempts (known zone, short history) and for blocked
attempts that search for ``next_allowed_at`` (unknown US zone: seven candidate zones).
Run: ``.venv/bin/python bench/bench_engine.py``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from arrears.adapters.rulepacks import is_public_holiday, load_packs
from arrears.domain.compliance.engine import Attempt, BorrowerState, PastContact, evaluate

PACKS = load_packs(Path(__file__).resolve().parents[1] / "rules")


def _rate(n: int, make) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        make(i)
    return n / (time.perf_counter() - t0)


def main() -> None:
    base = datetime(2026, 6, 10, 6, tzinfo=UTC)  # 14:00 in Shanghai
    hist = [
        PastContact(base - timedelta(days=k, hours=3), "call", "A1", "no_answer")
        for k in range(1, 6)
    ]
    cn = BorrowerState("B1", "CN", "Asia/Shanghai")
    us = BorrowerState("B1", "US", None)

    def allowed(i: int) -> None:
        d = evaluate(
            Attempt("B1", "A1", "sms", base + timedelta(seconds=i)),
            hist,
            cn,
            PACKS,
            is_public_holiday,
        )
        assert d.allowed

    def blocked(i: int) -> None:
        at = datetime(2026, 3, 8, 3, tzinfo=UTC) + timedelta(seconds=i)
        d = evaluate(Attempt("B1", "A1", "call", at), hist, us, PACKS, is_public_holiday)
        assert not d.allowed and d.next_allowed_at is not None

    a = _rate(3000, allowed)
    b = _rate(300, blocked)
    print(f"allowed decisions/s (CN, 5 past contacts): {a:,.0f}")
    print(f"blocked decisions/s with next_allowed_at (US, zone unknown): {b:,.0f}")


if __name__ == "__main__":
    main()
