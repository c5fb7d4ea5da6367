"""Measure the content check on the CFPB debt-collection complaint narratives.

Runs ``check_message`` on each of the complaints that carry a consumer narrative and compares
the categories it finds with the complaint's CFPB Issue / Sub-issue, used as a *weak* label:
the narrative is the borrower's account of what happened, in the borrower's words, not the
collector's message. A narrative that says "they threatened to have me arrested" contains the
words the check looks for, but so does "I was afraid of going to jail"; a complaint filed under
"Threatened to arrest you" may not quote the threat at all. Precision and recall here say how
well the check's vocabulary lines up with what borrowers report, not how it performs on real
collection messages (the labelled set in ``tests/data/content_labelled.csv`` does that).

Usage::

    .venv/bin/python bench/measure_content.py            # print the figures
    .venv/bin/python bench/measure_content.py --write    # also update docs/content-check.md

The data file is read from ``ARREARS_DATA_DIR`` or ``../shared/data`` (never copied here).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from arrears.domain.compliance.content import (
    FAKE_LEGAL,
    IMPERSONATION,
    INSULT,
    SHAMING,
    THREAT,
    UNAUTHORISED_FEE,
    check_message,
)

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("ARREARS_DATA_DIR") or REPO.parent / "shared" / "data")
CFPB = DATA_DIR / "cfpb_debt_collection_complaints.csv"
DOC = REPO / "docs" / "content-check.md"
BEGIN, END = "<!-- cfpb-figures:begin -->", "<!-- cfpb-figures:end -->"

# Weak label: CFPB sub-issues (lower case, substring match) that correspond to each category.
WEAK_LABELS: dict[str, tuple[str, ...]] = {
    THREAT: (
        "threatened to arrest you or take you to jail",
        "indicated you were committing crime",
    ),
    IMPERSONATION: ("impersonated attorney, law enforcement, or government official",),
    SHAMING: ("contacted your employer", "talked to a third-party about your debt"),
    INSULT: ("used obscene",),
    UNAUTHORISED_FEE: ("attempted to collect wrong amount",),
    FAKE_LEGAL: (),
}
# The weak label of the "legal action" family, reported for the fake-legal hits.
LEGAL_ISSUE = re.compile(r"(negative or legal action|threatening an illegal action)", re.I)


@dataclass(frozen=True)
class Row:
    complaint_id: str
    issue: str
    sub_issue: str
    narrative: str


@dataclass(frozen=True)
class Score:
    category: str
    weak_positives: int
    flagged: int
    true_positives: int

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.flagged if self.flagged else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.weak_positives if self.weak_positives else None


def load_narratives(path: Path = CFPB) -> list[Row]:
    """Complaints with a non-empty consumer narrative, in file order."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Row(r["Complaint ID"], r["Issue"], r["Sub-issue"], r["Consumer complaint narrative"])
            for r in csv.DictReader(handle)
            if r["Consumer complaint narrative"].strip()
        ]


_PERSON = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "im": "youre",
    "ive": "youve",
    "ill": "youll",
    "id": "youd",
}
_PERSON_WORD = re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'll|i'd)\b", re.IGNORECASE)


def to_second_person(narrative: str) -> str:
    """Turn the borrower's first person into the collector's second person.

    "they threatened to call my employer" becomes "they threatened to call your employer", so
    reported speech reads like the message it reports. Offsets change; only used for scoring.
    """
    return _PERSON_WORD.sub(lambda m: _PERSON[m.group(0).lower().replace("'", "")], narrative)


def weak_categories(row: Row) -> frozenset[str]:
    """Categories the CFPB sub-issue of ``row`` points to (the weak label)."""
    sub = row.sub_issue.lower()
    return frozenset(c for c, keys in WEAK_LABELS.items() if any(k in sub for k in keys))


def score(rows: Iterable[Row], found: dict[str, frozenset[str]]) -> list[Score]:
    """Per-category precision and recall of ``found`` against the weak labels."""
    rows = list(rows)
    scores = []
    for category in WEAK_LABELS:
        positives = {r.complaint_id for r in rows if category in weak_categories(r)}
        flagged = {r.complaint_id for r in rows if category in found[r.complaint_id]}
        scores.append(Score(category, len(positives), len(flagged), len(positives & flagged)))
    return scores


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def render(
    rows: list[Row], found: dict[str, frozenset[str]], seconds: float, *, timing: bool = True
) -> str:
    """Markdown figures for one run."""
    scores = score(rows, found)
    any_flag = sum(1 for r in rows if found[r.complaint_id])
    legal_rows = [r for r in rows if LEGAL_ISSUE.search(r.issue)]
    fake_legal_hits = [r for r in rows if FAKE_LEGAL in found[r.complaint_id]]
    fake_in_legal = sum(1 for r in fake_legal_hits if LEGAL_ISSUE.search(r.issue))
    speed = f"; {seconds * 1000:.0f} ms, {len(rows) / seconds:,.0f} narratives/s" if timing else ""
    lines = [
        f"Narratives checked: {len(rows)}; flagged in at least one category: {any_flag}{speed}.",
        "",
        "| category | weak positives | flagged | both | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in scores:
        lines.append(
            f"| {s.category} | {s.weak_positives} | {s.flagged} | {s.true_positives} | "
            f"{_fmt(s.precision)} | {_fmt(s.recall)} |"
        )
    lines += [
        "",
        f"fake_legal has no CFPB sub-issue of its own: {len(fake_legal_hits)} narratives "
        f"flagged, {fake_in_legal} of them filed under a 'negative or legal action' issue "
        f"({len(legal_rows)} narratives have such an issue).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/content-check.md")
    parser.add_argument("--show", type=int, default=0, help="print N flagged excerpts per category")
    args = parser.parse_args(argv)
    if not CFPB.exists():
        print(f"{CFPB}: not found (set ARREARS_DATA_DIR)", file=sys.stderr)
        return 2
    rows = load_narratives()
    started = time.perf_counter()
    verdicts = {r.complaint_id: check_message(r.narrative) for r in rows}
    seconds = time.perf_counter() - started
    found = {cid: v.categories for cid, v in verdicts.items()}
    shifted = {r.complaint_id: check_message(to_second_person(r.narrative)) for r in rows}
    found_shifted = {cid: v.categories for cid, v in shifted.items()}
    report = "\n".join(
        [
            "**As written** (the borrower's first-person account):",
            "",
            render(rows, found, seconds),
            "",
            "**Turned into second person** (my -> your, me/I -> you), so reported speech reads "
            "like the message it reports:",
            "",
            render(rows, found_shifted, seconds, timing=False),
        ]
    )
    print(report)
    if args.show:
        shown: Counter[str] = Counter()
        for r in rows:
            for f in verdicts[r.complaint_id].findings:
                if shown[f.category] < args.show:
                    shown[f.category] += 1
                    weak = ",".join(sorted(weak_categories(r))) or "-"
                    print(f"  {f.category:<18} {r.complaint_id} weak={weak}: {f.reason}")
    if args.write:
        text = DOC.read_text(encoding="utf-8")
        if BEGIN not in text or END not in text:
            print(f"{DOC}: markers {BEGIN} / {END} missing", file=sys.stderr)
            return 2
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        DOC.write_text(f"{head}{BEGIN}\n{report}\n{END}{tail}", encoding="utf-8")
        print(f"wrote {DOC.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
