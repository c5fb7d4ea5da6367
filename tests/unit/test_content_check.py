"""Content check (ALL.CONTENT.*): labelled-set precision/recall, per-category cases, templates.

The labelled set ``tests/data/content_labelled.csv`` has five splits (see docs/content-check.md):
``dev``, ``round2`` and ``round3`` were used to write the patterns (``round3`` written by a
second author who had not seen them); ``holdout`` was written after round 2 and measured once
untuned (its misses were read since, so it is no longer clean); ``holdout2``, by that second
author, was sealed until the round-3 tuning was done and measured once: never tune on it.
Thresholds sit a little below the measured figures.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from arrears.domain.compliance.content import (
    AUDIENCES,
    CATEGORIES,
    LOCATE_ONLY_PLACEHOLDERS,
    RULE_IDS,
    RULE_SOURCES,
    Template,
    TemplateError,
    TemplateRefused,
    TemplateRegistry,
    check_message,
    check_template,
    normalise,
)

REPO = Path(__file__).resolve().parents[2]
LABELLED = REPO / "tests" / "data" / "content_labelled.csv"
DATA_DIR = Path(os.environ.get("ARREARS_DATA_DIR") or REPO.parent / "shared" / "data")
CFPB = DATA_DIR / "cfpb_debt_collection_complaints.csv"


def _rows() -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


ROWS = _rows()


def _verdict(row: dict[str, str]):  # type: ignore[no-untyped-def]
    fees = [f for f in row["allowed_fees"].split(";") if f]
    return check_message(row["text"], audience=row["audience"], allowed_fees=fees)


def _precision_recall(rows: list[dict[str, str]]) -> tuple[float, float]:
    tp = fp = fn = 0
    for row in rows:
        flagged = not _verdict(row).allowed
        banned = row["label"] == "banned"
        tp += flagged and banned
        fp += flagged and not banned
        fn += banned and not flagged
    return tp / (tp + fp), tp / (tp + fn)


# ---------------------------------------------------------------------------- labelled set


def test_labelled_set_is_large_balanced_and_well_formed() -> None:
    assert len(ROWS) >= 150
    assert len({r["id"] for r in ROWS}) == len(ROWS)
    labels = [r["label"] for r in ROWS]
    assert set(labels) == {"allowed", "banned"}
    assert 0.35 <= labels.count("allowed") / len(labels) <= 0.65
    assert {r["language"] for r in ROWS} == {"zh-Hans", "zh-Hant", "en"}
    assert {r["audience"] for r in ROWS} <= set(AUDIENCES)
    banned_categories = {r["category"] for r in ROWS if r["label"] == "banned"}
    assert banned_categories == set(CATEGORIES)
    for language in ("zh-Hans", "zh-Hant", "en"):
        for label in ("allowed", "banned"):
            assert sum(r["language"] == language and r["label"] == label for r in ROWS) >= 15


def test_precision_and_recall_on_the_rows_used_to_write_the_patterns() -> None:
    tuned = ("dev", "round2", "round3")
    precision, recall = _precision_recall([r for r in ROWS if r["split"] in tuned])
    assert precision >= 0.97  # measured 1.00
    assert recall >= 0.97  # measured 1.00


def test_precision_and_recall_on_the_untuned_holdout() -> None:
    precision, recall = _precision_recall([r for r in ROWS if r["split"] == "holdout"])
    assert precision >= 0.90  # measured 0.93 (14 of 15); 0.95 after round 3
    assert recall >= 0.40  # measured 0.44 (14 of 32); 0.56 after round 3 (misses seen by then)


def test_precision_and_recall_on_the_sealed_second_author_holdout() -> None:
    precision, recall = _precision_recall([r for r in ROWS if r["split"] == "holdout2"])
    assert precision >= 0.95  # measured once: 1.00 (41 of 41)
    assert recall >= 0.78  # measured once: 0.82 (41 of 50)


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_is_found_with_its_rule_id(category: str) -> None:
    rows = [
        r
        for r in ROWS
        if r["split"] in ("dev", "round2") and r["label"] == "banned" and r["category"] == category
    ]
    assert len(rows) >= 5
    found = sum(RULE_IDS[category] in _verdict(r).rule_ids for r in rows)
    assert found / len(rows) >= 0.95


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "en"])
def test_hard_negatives_pass_in_every_language(language: str) -> None:
    rows = [
        r
        for r in ROWS
        if r["split"] in ("dev", "round2") and r["label"] == "allowed" and r["language"] == language
    ]
    passed = sum(_verdict(r).allowed for r in rows)
    assert passed / len(rows) >= 0.97


# ---------------------------------------------------------------------------- per-category cases

CASES = [
    ("ALL.CONTENT.THREAT", "Pay today or you will be arrested.", "arrested"),
    ("ALL.CONTENT.THREAT", "再不还钱就等着坐牢吧。", "坐牢"),
    ("ALL.CONTENT.THREAT", "不還就送你進監獄。", "進監獄"),
    ("ALL.CONTENT.IMPERSONATION", "This is Officer Grant from the city police.", "This is Officer"),
    ("ALL.CONTENT.IMPERSONATION", "这里是人民法院执行局，请立即还款。", "这里是人民法院"),
    ("ALL.CONTENT.FAKE_LEGAL", "An arrest warrant has been issued.", "arrest warrant"),
    ("ALL.CONTENT.FAKE_LEGAL", "法院傳票已寄出。", "傳票"),
    ("ALL.CONTENT.SHAMING", "We will tell your employer about the debt.", "tell your employer"),
    ("ALL.CONTENT.SHAMING", "三天内不还就爆你通讯录。", "通讯录"),
    ("ALL.CONTENT.SHAMING", "不還錢就把你的欠款公開在網路上。", "把你的欠款公開"),
    ("ALL.CONTENT.INSULT", "Pay up, you deadbeat.", "deadbeat"),
    ("ALL.CONTENT.INSULT", "你這個老賴。", "老賴"),
    ("ALL.CONTENT.UNAUTHORISED_FEE", "A $45 processing fee was added.", "fee"),
    ("ALL.CONTENT.UNAUTHORISED_FEE", "请额外支付200元手续费。", "手续费"),
]


@pytest.mark.parametrize(("rule_id", "text", "excerpt"), CASES)
def test_banned_content_is_found_with_rule_id_and_original_span(
    rule_id: str, text: str, excerpt: str
) -> None:
    verdict = check_message(text)
    assert not verdict.allowed
    hits = [f for f in verdict.findings if f.rule_id == rule_id]
    assert hits, verdict.findings
    assert any(f.excerpt == excerpt for f in hits), [f.excerpt for f in hits]
    for finding in verdict.findings:
        start, end = finding.span
        assert text[start:end] == finding.excerpt
        assert finding.reason


@pytest.mark.parametrize(
    "text",
    [
        "You will be a r r e s t e d tomorrow.",  # spaced out
        "You will be a.r.r.e.s.t.e.d tomorrow.",  # dotted
        "You will be 4rr3sted tomorrow.",  # digits for letters
        "You will be ＡＲＲＥＳＴＥＤ tomorrow.",  # full width
        "You will be ar\u200brested tomorrow.",  # zero-width space
        "You will be \u0430rr\u0435sted tomorrow.",  # Cyrillic a and e
        "You will be arr*ested tomorrow.",  # symbol inside the word
    ],
)
def test_obfuscated_threats_are_found(text: str) -> None:
    verdict = check_message(text)
    assert "ALL.CONTENT.THREAT" in verdict.rule_ids
    (finding,) = [f for f in verdict.findings if f.rule_id == "ALL.CONTENT.THREAT"]
    assert finding.excerpt.startswith(text[finding.span[0]])
    assert "tomorrow" not in finding.excerpt


@pytest.mark.parametrize(
    "text", ["不还就等着坐 牢", "不还就等着坐*牢", "不還就等著坐．牢", "爆你通-讯-录"]
)
def test_chinese_spacing_tricks_and_traditional_forms_are_found(text: str) -> None:
    assert not check_message(text).allowed


def test_normalise_folds_case_width_traditional_and_spacing() -> None:
    assert normalise("Ｙｏｕ WILL be a r r e s t e d") == "you will be arrested"
    assert normalise("傳票 已 寄出") == "传票已寄出"
    assert normalise("Don't pay. Later!") == "dont pay|later"
    assert normalise("$500 owed") == "$500 owed"  # amounts are not read as letters


@pytest.mark.parametrize(
    "text",
    [
        "You will not be arrested or go to jail for this debt.",
        "Failing to pay is not a crime.",
        "We will never contact your employer or family about this account.",
        "我们不会联系您的家人、朋友或单位。",
        "您不会因为逾期而坐牢。",
        "請提防冒充警察或檢察官的詐騙電話。",
        "You can contact the court yourself to check whether a claim was filed.",
        "We may report the late payment to the credit bureau as the law allows.",
        "我们将依法向征信机构报送您的逾期信息。",
    ],
)
def test_lawful_reminders_and_reassurance_pass(text: str) -> None:
    verdict = check_message(text)
    assert verdict.allowed, verdict.findings


def test_negation_does_not_cover_a_threat_in_a_later_clause() -> None:
    verdict = check_message("We won't call again. Next time you will be arrested.")
    assert verdict.rule_ids == ("ALL.CONTENT.THREAT",)


# ---------------------------------------------------------------------------- fees


def test_allowed_fee_passes_and_other_fees_are_named() -> None:
    text = "A $25 late fee and a $40 processing fee were added."
    verdict = check_message(text, allowed_fees=["late fee"])
    assert verdict.rule_ids == ("ALL.CONTENT.UNAUTHORISED_FEE",)
    (finding,) = verdict.findings
    assert finding.span[0] > text.index("processing")
    assert check_message(text, allowed_fees=["late fee", "processing fee"]).allowed


def test_allowed_fee_names_fold_traditional_and_simplified() -> None:
    assert check_message("逾期违约金按合同计算。", allowed_fees=["違約金"]).allowed
    assert not check_message("逾期违约金按合同计算。", allowed_fees=["手续费"]).allowed


def test_waived_and_free_fees_are_not_flagged() -> None:
    assert check_message("We will waive the late fee.").allowed
    assert check_message("Setting up a plan is free of charge.").allowed
    assert check_message("本平台不收取任何手续费。").allowed
    assert not check_message("We will charge a $75 visit fee.").allowed


# ---------------------------------------------------------------------------- third parties


def test_debt_talk_is_fine_for_the_borrower_but_not_for_a_third_party() -> None:
    text = "Please ask Tom to call us about his overdue loan of $1,200."
    assert check_message(text, audience="borrower").allowed
    verdict = check_message(text, audience="third_party")
    assert verdict.rule_ids == ("ALL.CONTENT.THIRD_PARTY_DISCLOSURE",)
    excerpts = {f.excerpt for f in verdict.findings}
    assert {"overdue", "loan", "$1,200"} <= excerpts


def test_locate_only_message_passes_for_a_third_party() -> None:
    assert check_message(
        "Please ask Alex to call Jane back on 555-0100.", audience="third_party"
    ).allowed
    assert check_message(
        "您好，请问您能联系到张三吗？麻烦请他回电。", audience="third_party"
    ).allowed
    assert not check_message("请转告张三，他的贷款已经逾期。", audience="third_party").allowed


def test_unknown_audience_is_an_error() -> None:
    with pytest.raises(ValueError, match="audience 'boss'"):
        check_message("hello", audience="boss")


# ---------------------------------------------------------------------------- templates


def _template(body: str, audience: str = "borrower", **kw: object) -> Template:
    return Template(
        id=str(kw.get("id", "t1")),
        audience=audience,
        channel=str(kw.get("channel", "sms")),
        language=str(kw.get("language", "en")),
        body=body,
        allowed_fees=tuple(kw.get("allowed_fees", ())),  # type: ignore[arg-type]
    )


def test_registry_accepts_a_lawful_borrower_template() -> None:
    registry = TemplateRegistry()
    template = _template("Hi {first_name}, {amount} is due on {due_date}. Call {callback_number}.")
    assert registry.register(template).allowed
    assert "t1" in registry and len(registry) == 1
    assert registry.get("t1") is template
    assert template.placeholders == ("first_name", "amount", "due_date", "callback_number")


@pytest.mark.parametrize("placeholder", ["{amount}", "{balance}", "{dpd}", "{creditor}"])
def test_third_party_template_naming_the_debt_is_refused_at_registration(placeholder: str) -> None:
    body = f"Please ask {{name}} to call {{agent_name}}. Ref {placeholder}."
    registry = TemplateRegistry()
    with pytest.raises(TemplateRefused) as refused:
        registry.register(_template(body, audience="third_party"))
    assert refused.value.template_id == "t1"
    (finding,) = refused.value.findings
    assert finding.rule_id == "ALL.CONTENT.THIRD_PARTY_DISCLOSURE"
    assert finding.excerpt == placeholder
    assert body[finding.span[0] : finding.span[1]] == placeholder
    assert len(registry) == 0


def test_third_party_template_body_naming_the_debt_is_refused() -> None:
    with pytest.raises(TemplateRefused) as refused:
        TemplateRegistry().register(
            _template("请转告{name}尽快处理欠款。", audience="third_party", language="zh-Hans")
        )
    assert {f.excerpt for f in refused.value.findings} == {"欠款"}  # the whole word
    ok = _template("请转告{name}回电，谢谢。", audience="third_party", language="zh-Hans")
    assert TemplateRegistry().register(ok).allowed
    assert {"name", "agent_name", "callback_number"} <= LOCATE_ONLY_PLACEHOLDERS


def test_borrower_template_with_a_threat_is_refused_with_every_rule_id() -> None:
    template = _template("{name}, pay or we tell your employer and you go to jail, idiot.")
    with pytest.raises(TemplateRefused) as refused:
        TemplateRegistry().register(template)
    assert set(f.rule_id for f in refused.value.findings) == {
        "ALL.CONTENT.SHAMING",
        "ALL.CONTENT.THREAT",
        "ALL.CONTENT.INSULT",
    }
    assert "ALL.CONTENT.THREAT" in str(refused.value)


def test_placeholders_naming_fees_or_authorities_are_checked() -> None:
    fee = _template("Your balance includes {processing_fee}.")
    assert check_template(fee).rule_ids == ("ALL.CONTENT.UNAUTHORISED_FEE",)
    allowed = _template("Your balance includes {late_fee}.", allowed_fees=("late fee",))
    assert check_template(allowed).allowed
    court = _template("Notice from {court_name}: please pay.")
    assert check_template(court).rule_ids == ("ALL.CONTENT.IMPERSONATION",)


def test_lawyer_may_be_told_about_court_process_but_not_warrants() -> None:
    summons = "The summons was served on your client on 3 May."
    assert check_template(_template(summons, audience="lawyer", channel="email")).allowed
    assert not check_message(summons).allowed
    warrant = "An arrest warrant has been issued for your client."
    assert not check_template(_template(warrant, audience="lawyer", channel="email")).allowed


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"audience": "boss"}, "audience"),
        ({"channel": "pigeon"}, "channel"),
        ({"language": "fr"}, "language"),
        ({"id": " "}, "id"),
        ({"body": " "}, "body"),
    ],
)
def test_malformed_template_fields_are_errors(kwargs: dict[str, str], field: str) -> None:
    values = {"id": "t9", "audience": "borrower", "channel": "sms", "language": "en", "body": "Hi"}
    values.update(kwargs)
    with pytest.raises(TemplateError) as error:
        Template(**values)
    assert error.value.field == field


@pytest.mark.parametrize("body", ["Hi {name", "Hi name}", "Hi {first name}", "Hi {0}"])
def test_malformed_placeholders_are_errors(body: str) -> None:
    with pytest.raises(TemplateError, match="body"):
        TemplateRegistry().register(_template(body))


def test_literal_braces_are_not_placeholders() -> None:
    assert _template("Use code {{X}} for {name}.").placeholders == ("name",)


def test_a_different_template_cannot_reuse_an_id() -> None:
    registry = TemplateRegistry()
    registry.register(_template("Hello {name}."))
    registry.register(_template("Hello {name}."))  # same template again: idempotent
    with pytest.raises(TemplateError, match="id"):
        registry.register(_template("Goodbye {name}."))
    with pytest.raises(KeyError, match="t2"):
        registry.get("t2")


def test_every_rule_id_is_cited() -> None:
    assert set(RULE_SOURCES) == set(RULE_IDS.values())
    for rule_id, sources in RULE_SOURCES.items():
        assert sources, rule_id
        assert all(s.instrument and s.provision and s.kind for s in sources)
        instruments = " ".join(s.instrument for s in sources)
        assert "FDCPA" in instruments and "GB/T 45251-2025" in instruments


# ---------------------------------------------------------------------------- CFPB narratives


@pytest.fixture(scope="module")
def cfpb_narratives() -> list[dict[str, str]]:
    if not CFPB.exists():
        pytest.skip(f"{CFPB} not found (set ARREARS_DATA_DIR)")
    with CFPB.open(encoding="utf-8", newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["Consumer complaint narrative"].strip()]


def test_cfpb_arrest_and_jail_complaints_are_found(cfpb_narratives: list[dict[str, str]]) -> None:
    """Weak label: the sub-issue names an arrest/jail threat; measured recall 1 of 3.

    Two of the three narratives do not quote any threat ("they would sue me"; "I don't know
    who they are"), so 1/3 is the ceiling of a check on what the narrative says.
    """
    rows = [
        r for r in cfpb_narratives if "arrest you or take you to jail" in r["Sub-issue"].lower()
    ]
    assert len(rows) == 3
    found = [
        r["Complaint ID"]
        for r in rows
        if "ALL.CONTENT.THREAT" in check_message(r["Consumer complaint narrative"]).rule_ids
    ]
    assert len(found) / len(rows) >= 0.30
    assert "3172225" in found  # "they would press criminal charges and I would go to jail"


def test_cfpb_threat_flags_stay_rare(cfpb_narratives: list[dict[str, str]]) -> None:
    """Measured: 4 of 327 narratives flagged as threats; a jump means a pattern grew too wide."""
    flagged = sum(
        "ALL.CONTENT.THREAT" in check_message(r["Consumer complaint narrative"]).rule_ids
        for r in cfpb_narratives
    )
    assert 1 <= flagged <= 10
