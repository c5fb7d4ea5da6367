"""Benchmark the contact gate on PostgreSQL, next to pgbench running the gate's own SQL.

1. A fresh schema with 100,000 borrowers (CN, Asia/Shanghai; the shipped rule packs).
2. ``gate``: W worker processes (default 8), each with its own connection, call
   ``ContactGate.attempt`` for random borrowers at random instants of one local day
   (08:00-22:00, so most are allowed and some hit the daily cap); per-call latency recorded.
3. ``pgbench``: the same number of clients run the gate's SQL without Python (lock the
   borrower row, read its history, lock the head of the borrower's audit chain, append an
   audit entry with the chained hash, insert a ledger row, commit) against the same tables.
   That is the floor of this machine.
4. The audit chain (gate and pgbench entries alike) is verified afterwards.
5. ``planner``: the daily planner's batch check (``pipeline.plan.plan_contacts``) on a
   generated portfolio, in contact decisions per second.

Figures go to ``docs/benchmarks.md`` ("Gate" section). Usage::

    .venv/bin/python bench/bench_gate.py [--workers 8] [--attempts 10000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from bench_daily import machine, update_doc  # noqa: E402

from arrears.adapters.clock import SystemClock  # noqa: E402
from arrears.adapters.db.engine import create_engine  # noqa: E402
from arrears.adapters.db.gate_repo import SqlAuditLog, SqlGateUnitOfWork  # noqa: E402
from arrears.adapters.db.migrate import upgrade_to_head  # noqa: E402
from arrears.adapters.db.tables import borrowers  # noqa: E402
from arrears.adapters.portfolio.schema import FLAG_COLUMNS  # noqa: E402
from arrears.adapters.rulepacks import is_public_holiday, load_packs  # noqa: E402
from arrears.domain.audit import AUDIT_CHAINS, verify_chain  # noqa: E402
from arrears.domain.compliance.engine import Attempt, BorrowerState  # noqa: E402
from arrears.services.gate import ContactGate  # noqa: E402

PG_URL = os.environ.get("ARREARS_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
N_BORROWERS = 100_000
DAY = date(2026, 12, 1)  # a Tuesday, no holiday in CN
DAY_START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
DAY_SECONDS = 14 * 3600

# The borrower's audit chain, arrears.domain.audit.chain_of in SQL.
_CHAIN_SQL = (
    "('x' || left(encode(sha256(convert_to('B' || lpad(:b::text, 6, '0'), 'UTF8')), 'hex'), 8))"
    "::bit(32)::bigint % 64"
)
PGBENCH_SQL = (
    r"""
\set b random(1, 100000)
\set m random(0, 50399)
BEGIN;
SELECT 1 FROM borrowers WHERE borrower_id = 'B' || lpad(:b::text, 6, '0') FOR NO KEY UPDATE;
SELECT attempt_at, channel, account_id, status, outcome, party, agency_id, number, conversation
  FROM contact_ledger WHERE borrower_id = 'B' || lpad(:b::text, 6, '0')
   AND status <> 'cancelled'
   AND attempt_at >= TIMESTAMPTZ '2026-10-27 00:00+00'
   AND attempt_at < TIMESTAMPTZ '2027-01-05 00:00+00';
SELECT 1 FROM audit_head WHERE chain = CHAIN FOR UPDATE;
WITH t AS (SELECT clock_timestamp() AS at),
n AS (SELECT nextval('audit_log_seq') AS s),
h AS (
  UPDATE audit_head SET seq = n.s, prev_hash = audit_head.hash,
         hash = encode(sha256(convert_to(audit_head.hash || '|' || '{"bench":"pgbench"}' || '|'
                || n.s::text || '|'
                || to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')),
                'hex')
    FROM t, n WHERE chain = CHAIN
    RETURNING audit_head.seq, audit_head.prev_hash, audit_head.hash, t.at, audit_head.chain),
a AS (
  INSERT INTO audit_log (seq, at, kind, borrower_id, payload, prev_hash, hash, chain)
  SELECT seq, at, 'decision', 'B' || lpad(:b::text, 6, '0'), '{"bench":"pgbench"}',
         prev_hash, hash, chain FROM h RETURNING seq)
INSERT INTO contact_ledger (borrower_id, account_id, channel, party, purpose, agency_id,
    number, attempt_at, status, outcome, conversation, reserved_at, completed_at,
    decision_audit_seq)
SELECT 'B' || lpad(:b::text, 6, '0'), NULL, 'sms', 'borrower', 'collection', 'pgbench', NULL,
    TIMESTAMPTZ '2026-12-01 00:00+00' + make_interval(secs => :m), 'reserved', NULL, false,
    now(), NULL, a.seq FROM a;
COMMIT;
"""
).replace("CHAIN", _CHAIN_SQL)


def _schema_url(schema: str) -> str:
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _seed(url: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    rows = [
        {
            "borrower_id": f"B{i:06d}",
            "jurisdiction": "CN",
            "timezone": "Asia/Shanghai",
            "opt_out_channels": None,
            **dict.fromkeys(FLAG_COLUMNS, False),
        }
        for i in range(1, N_BORROWERS + 1)
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 10_000):
            conn.execute(borrowers.insert(), rows[i : i + 10_000])
    engine.dispose()


def _gate_worker(args: tuple[str, int, int, float]) -> list[float]:
    url, seed, attempts, deadline = args
    # One pooled connection per worker, as a gate service process would hold (a new
    # connection per decision costs a PostgreSQL backend start each time).
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_pre_ping=False)
    packs = load_packs(REPO / "rules")
    gate = ContactGate(lambda: SqlGateUnitOfWork(engine), packs, is_public_holiday, SystemClock())
    rng = random.Random(seed)
    lat: list[float] = []
    try:
        for _ in range(attempts):
            if time.time() > deadline:
                break
            b = f"B{rng.randint(1, N_BORROWERS):06d}"
            at = DAY_START + timedelta(seconds=rng.randrange(DAY_SECONDS))
            channel = "call" if rng.random() < 0.7 else "sms"
            t0 = time.perf_counter()
            gate.attempt(Attempt(b, None, channel, at), BorrowerState(b, "CN", "Asia/Shanghai"))
            lat.append(time.perf_counter() - t0)
    finally:
        engine.dispose()
    return lat


def run_gate(url: str, workers: int, attempts: int, seconds: float) -> dict[str, float]:
    ctx = multiprocessing.get_context("fork")
    deadline = time.time() + seconds
    t0 = time.perf_counter()
    with ctx.Pool(workers) as pool:
        lats = pool.map(_gate_worker, [(url, k, attempts, deadline) for k in range(workers)])
    wall = time.perf_counter() - t0
    flat = sorted(x for part in lats for x in part)
    n = len(flat)
    return {
        "decisions": n,
        "wall_s": wall,
        "per_s": n / wall,
        "p50_ms": 1000 * flat[n // 2],
        "p99_ms": 1000 * flat[min(n - 1, int(n * 0.99))],
        "mean_ms": 1000 * statistics.fmean(flat),
    }


def run_pgbench(schema: str, clients: int, seconds: int) -> dict[str, float]:
    exe = shutil.which("pgbench") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if exe is None:
        raise SystemExit("pgbench not found (install postgresql-client)")
    u = make_url(PG_URL)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(PGBENCH_SQL)
        script = fh.name
    env = dict(os.environ, PGOPTIONS=f"-c search_path={schema}")
    logdir = tempfile.mkdtemp(prefix="pgbench_")
    cmd = [exe, "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), "-r", "-f", script]
    cmd += ["-l", "--log-prefix", str(Path(logdir) / "tx")]
    cmd += ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or "root"]
    cmd += [u.database or "postgres"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    os.unlink(script)
    # Per-transaction log lines: client_id transaction_no latency_us script_no epoch epoch_us
    lats = sorted(
        int(line.split()[2]) / 1000.0
        for f in Path(logdir).glob("tx*")
        for line in f.read_text().splitlines()
        if line.strip()
    )
    shutil.rmtree(logdir, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{proc.stdout}\n{proc.stderr}")
    tps = lat = 0.0
    for line in proc.stdout.splitlines():
        if line.startswith("tps ="):
            tps = float(line.split("=")[1].split()[0])
        if line.startswith("latency average"):
            lat = float(line.split("=")[1].split()[0])
    n = len(lats)
    p50 = lats[n // 2] if n else 0.0
    p99 = lats[min(n - 1, int(n * 0.99))] if n else 0.0
    return {"tps": tps, "latency_avg_ms": lat, "p50_ms": p50, "p99_ms": p99}


def run_planner(n_accounts: int) -> dict[str, float]:
    """Contacts checked per second by the planner's batch path (plan_contacts)."""
    import polars as pl

    from arrears.adapters.portfolio.synthetic import generate_portfolio
    from arrears.pipeline.plan import TREATMENT_CHANNELS, plan_contacts

    frames = generate_portfolio(n_accounts, DAY, seed=11)
    treatments = [t.value for t in TREATMENT_CHANNELS if TREATMENT_CHANNELS[t]]
    rng = random.Random(3)
    accounts = frames.accounts.select("account_id", "borrower_id")
    decisions = accounts.with_columns(
        pl.Series("treatment", [rng.choice(treatments) for _ in range(accounts.height)]),
        pl.Series("score", [rng.random() for _ in range(accounts.height)]),
        pl.lit(10_000, dtype=pl.Int64).alias("arrears_minor"),
    )
    packs = load_packs(REPO / "rules")
    t0 = time.perf_counter()
    contacts, blocked = plan_contacts(
        decisions, frames.borrowers, frames.contact_history, DAY, packs, is_public_holiday
    )
    wall = time.perf_counter() - t0
    n = contacts.height + blocked.height
    return {"accounts": n_accounts, "decisions": n, "wall_s": wall, "per_s": n / wall}


#: Kept under the figures each time the section is rewritten (edit it when the figures move).
READING = """
Reading (written by hand, kept by the script): each gate worker keeps one pooled connection. On
PostgreSQL a decision is two round trips, pipelined with psycopg: lock + history read, then
lock of the borrower's audit-chain head + the decision statement (audit entry chained by hash +
reservation) + COMMIT. Since migration 0006 the audit log is 64 chains by borrower: before it,
one head row serialised every transaction through its commit's WAL flush (pgbench on the gate's
SQL: 757 tps, p99 39 ms, on the slower machine below).

Two machines of the same kind (both report "AMD EPYC, 2 cores") gave very different floors, so
read the gate against the pgbench figure of the same run:
* 2026-11-30, this machine, eight runs (the last three after the gate began storing recording
  duties): gate 1,511-1,884 decisions/s, p99 7.6-10.7 ms; pgbench 2,023-2,280 tps, p99
  6.9-8.1 ms; the gate 71-87% of pgbench; the planner 371,000-562,000 contacts/s. Every target
  is met here.
* 2026-11-30, an earlier session's machine, five runs: gate 524-631 decisions/s, p99
  23.3-27.8 ms; pgbench 956-1,050 tps, p99 15.5-18.0 ms; the gate 54-62% of pgbench; the
  planner 203,000-266,000 contacts/s. There the p99 target was missed: pgbench's own p99 was
  15.5-18 ms, so the floor left the gate almost no room under 20 ms.
Where the time goes (measured one at a time on the slower machine): a decision costs the worker
about 1.1 ms of CPU (psycopg's statement handling about 0.75 ms of it, the rule engine
0.05-0.08 ms, the payload 0.02 ms) and its backend about 0.7 ms; with 8 Python workers and 8
backends on 2 cores a worker's latency is mostly waiting for a core, so p99 is about twice p50.
Tried and not kept (no gain or worse): client-side binding in one simple-protocol message per
round trip (the server then plans every statement), no pipeline (more CPU per decision), cursors
reused across decisions (within noise), and, as a bound on what a rewrite could gain, the two
round trips as two PL/pgSQL functions called from raw psycopg with no SQLAlchemy (a throwaway
harness): about 12% more decisions/s and 4 ms off p99 on the slower machine; not adopted. The
planner's batch check applies every rule kind of the engine (holds, opt-outs, lawyer-only,
rolling caps, waits, hours, caps; docs/rules.md) and is measured on a generated portfolio of
the size shown, right after PostgreSQL drops the benchmark schema. The PostgreSQL concurrency
test (`tests/integration/test_gate_concurrency.py`) runs the issue's full 16 processes x 1,000
attempts in the suite: no cap broken, the 16,000-entry log verifies.
"""


def section(
    gate: dict[str, float],
    pg: dict[str, float],
    planner: dict[str, float],
    workers: int,
    chain_ok: bool,
    entries: int,
) -> str:
    ratio = gate["per_s"] / pg["tps"] if pg["tps"] else 0.0
    return (
        "## Gate (`bench/bench_gate.py`)\n\n"
        f"Measured {date.today()} on {machine()}; PostgreSQL {_pg_version()} on the same "
        f"machine (fsync on, synchronous_commit on); load average at the end of the run "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (the benchmark's own 8 workers "
        "and PostgreSQL; no other job). "
        f"{N_BORROWERS:,} borrowers (CN, shipped "
        f"packs), random borrowers and instants within one local day, 70% calls / 30% SMS.\n"
        f"The gate and pgbench run one after the other in the same run, {workers} workers / "
        "clients each; pgbench runs the gate's SQL (lock the borrower row, read its history, "
        "lock the borrower's audit-chain head, append the chained audit entry, insert the "
        "ledger row, commit) with no Python.\n\n"
        "| measure | figure |\n|---|---:|\n"
        f"| gate decisions/s ({workers} processes) | {gate['per_s']:,.0f} |\n"
        f"| gate latency p50 / p99 (ms) | {gate['p50_ms']:.1f} / {gate['p99_ms']:.1f} |\n"
        f"| gate decisions measured | {gate['decisions']:,.0f} in {gate['wall_s']:.1f} s |\n"
        f"| pgbench transactions/s ({workers} clients) | {pg['tps']:,.0f} |\n"
        f"| pgbench latency average; p50 / p99 (ms) | {pg['latency_avg_ms']:.2f}; "
        f"{pg['p50_ms']:.1f} / {pg['p99_ms']:.1f} |\n"
        f"| gate / pgbench | {ratio:.0%} (target >= 50%) |\n"
        f"| audit chain after the run | {'verifies' if chain_ok else 'BROKEN'} "
        f"({entries:,} entries) |\n"
        f"| planner batch check (`plan_contacts`), contacts/s | {planner['per_s']:,.0f} "
        f"({planner['decisions']:,.0f} contacts of {planner['accounts']:,.0f} accounts in "
        f"{planner['wall_s']:.2f} s; target >= 200,000) |\n" + READING
    )


def _pg_version() -> str:
    eng = sa.create_engine(PG_URL, poolclass=NullPool)
    with eng.connect() as conn:
        v = str(conn.exec_driver_sql("SHOW server_version").scalar())
    eng.dispose()
    return v.split()[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--attempts", type=int, default=10_000, help="per worker (upper bound)")
    ap.add_argument("--seconds", type=float, default=20.0, help="per phase (upper bound)")
    ap.add_argument("--planner-accounts", type=int, default=200_000)
    ap.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    args = ap.parse_args()
    schema = f"bench_gate_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = _schema_url(schema)
    try:
        upgrade_to_head(url)
        _seed(url)
        print(f"seeded {N_BORROWERS:,} borrowers in schema {schema}", flush=True)
        gate = run_gate(url, args.workers, args.attempts, args.seconds)
        print("gate", gate, flush=True)
        pg = run_pgbench(schema, args.workers, int(args.seconds))
        print("pgbench", pg, flush=True)
        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            log = SqlAuditLog(conn)
            report = verify_chain(log.entries(), log.heads(), chains=AUDIT_CHAINS)
        engine.dispose()
        print("audit chain", "OK" if report.ok else report.reason, report.entries, flush=True)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
    planner = run_planner(args.planner_accounts)
    print("planner", planner, flush=True)
    text = section(gate, pg, planner, args.workers, report.ok, report.entries)
    print(text)
    if not args.no_doc:
        update_doc(text, "## Gate")


if __name__ == "__main__":
    main()
