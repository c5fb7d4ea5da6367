"""Content check: what no collection message may say, in zh-Hans, zh-Hant and English.

Every regime arrears serves bans the same kinds of content in a collection message, whoever
sends it and on whatever channel: threats of arrest, prison or violence; impersonating police,
courts or government; fake legal documents; threats to tell family, employer or the public, or
to publish the debt; insults; and fees the contract does not allow. A message to a third party
(locate-only contact) may not refer to the debt at all. This module checks a text for those,
returns every finding with its rule id and the span of the original text at fault, and refuses
a template at registration when its body could break a line (``TemplateRegistry.register``).

How it matches
--------------
The text is normalised before matching, keeping a map from every normalised character back to
the original index so a finding's ``span`` is always a slice of the text given:

* NFKD per character, case-folded, combining marks and format characters (zero-width space,
  joiners) dropped: ``ＡＲＲＥＳＴ``, ``arrést`` and ``ar\\u200brest`` all read ``arrest``;
* Cyrillic and Greek look-alike letters mapped to Latin (``аrrеst`` with Cyrillic ``а``/``е``);
* traditional Chinese characters folded to simplified (``_T2S``, a table of the characters the
  patterns use and their common neighbours: ``傳票`` reads ``传票``);
* digits and symbols inside a Latin word read as letters (``4rrest``, ``j@il``, ``b!tch``), while
  amounts such as ``$500`` are left alone;
* spacing tricks collapsed: three or more single letters separated by the same spaces or
  punctuation join (``a r r e s t``, ``j.a.i.l``, ``W-A-R-R-A-N-T``), ``*``, ``.``, ``_`` and
  apostrophes inside a word vanish (``arr*est``, ``won't`` -> ``wont``), and any spacing
  between two Han characters vanishes (``坐 牢``, ``逮*捕``); clause punctuation becomes
  ``|`` so no pattern spans two clauses (the enumeration comma ``、`` does not end a clause).

Patterns are regular expressions over that text, grouped by category. A hit is dropped when a
negation governs it in the same clause (up to four words before it in English, eight characters
in Chinese: "you will **not** be arrested", "我们**不会**联系您的家人"), so lawful reassurance is
not flagged. Fee mentions are allowed when an allowed fee named by the caller covers them.

Limits
------
This is a curated lexical check, not a language model: it finds what its lists name, in the
three languages, and misses paraphrases it has no pattern for ("you'd hate for your kids to find
out"), negations further than its window, homophone substitutions it does not list, and images.
It is meant as the floor that no template or agent message may go below, with human review of
new templates on top. Figures: ``docs/content-check.md``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from arrears.domain.compliance.packs import CHANNELS

# --------------------------------------------------------------------------------------------
# Vocabulary: categories, rule ids, audiences, languages, sources
# --------------------------------------------------------------------------------------------

THREAT = "threat"
IMPERSONATION = "impersonation"
FAKE_LEGAL = "fake_legal"
SHAMING = "shaming"
INSULT = "insult"
UNAUTHORISED_FEE = "unauthorised_fee"
THIRD_PARTY_DISCLOSURE = "third_party_disclosure"

CATEGORIES: tuple[str, ...] = (
    THREAT,
    IMPERSONATION,
    FAKE_LEGAL,
    SHAMING,
    INSULT,
    UNAUTHORISED_FEE,
    THIRD_PARTY_DISCLOSURE,
)

RULE_IDS: Mapping[str, str] = {
    THREAT: "ALL.CONTENT.THREAT",
    IMPERSONATION: "ALL.CONTENT.IMPERSONATION",
    FAKE_LEGAL: "ALL.CONTENT.FAKE_LEGAL",
    SHAMING: "ALL.CONTENT.SHAMING",
    INSULT: "ALL.CONTENT.INSULT",
    UNAUTHORISED_FEE: "ALL.CONTENT.UNAUTHORISED_FEE",
    THIRD_PARTY_DISCLOSURE: "ALL.CONTENT.THIRD_PARTY_DISCLOSURE",
}

AUDIENCES: tuple[str, ...] = ("borrower", "third_party", "lawyer")
LANGUAGES: tuple[str, ...] = ("zh-Hans", "zh-Hant", "en")


@dataclass(frozen=True)
class Source:
    """One legal source of a content rule.

    Attributes
    ----------
    instrument : str
        Statute, regulation or standard (``"FDCPA, 15 U.S.C. 1692e"``).
    provision : str
        The provision, or ``"provision on X"`` where the article number is not certain.
    kind : str
        ``statute``, ``regulation``, ``national_standard``, ``self_regulatory_guideline``.
    """

    instrument: str
    provision: str
    kind: str


_FDCPA = "FDCPA, 15 U.S.C. 1692"
_REG_F = "Regulation F, 12 CFR 1006"
_CONC = "FCA Handbook, CONC 7"
_CRIM = "Criminal Law of the PRC"
_GBT = "GB/T 45251-2025"
_PIPL = "Personal Information Protection Law of the PRC (PIPL)"

RULE_SOURCES: Mapping[str, tuple[Source, ...]] = {
    "ALL.CONTENT.THREAT": (
        Source(_FDCPA, "1692d(1): use or threat of violence or other criminal means", "statute"),
        Source(_FDCPA, "1692e(4): nonpayment will result in arrest or imprisonment", "statute"),
        Source(_FDCPA, "1692e(5): threat of action that cannot legally be taken", "statute"),
        Source(
            _FDCPA, "1692e(7): false representation that the consumer committed a crime", "statute"
        ),
        Source(
            _REG_F, "1006.14: provision on use or threat of violence (harassment)", "regulation"
        ),
        Source(
            _REG_F,
            "1006.18: provision on false, deceptive or misleading representations",
            "regulation",
        ),
        Source(
            _CONC,
            "7.11.6 R: no statement that action can be taken when legally it cannot",
            "regulation",
        ),
        Source(
            _CRIM,
            "art. 293-1 (催收非法债务罪): violence, threats, intimidation in collection",
            "statute",
        ),
        Source(
            _GBT, "provision on prohibited collection conduct (威胁、恐吓)", "national_standard"
        ),
    ),
    "ALL.CONTENT.IMPERSONATION": (
        Source(_FDCPA, "1692e(1): false implication of government affiliation", "statute"),
        Source(_REG_F, "1006.18: provision on false representation of affiliation", "regulation"),
        Source(
            _CONC, "7.11.1 R and 7.11.2 G: misrepresenting authority (court bailiffs)", "regulation"
        ),
        Source(
            _CRIM, "art. 279: provision on impersonating state functionaries (招摇撞骗)", "statute"
        ),
        Source(
            _GBT, "provision on prohibited collection conduct (冒充公检法等)", "national_standard"
        ),
    ),
    "ALL.CONTENT.FAKE_LEGAL": (
        Source(_FDCPA, "1692e(9): simulated documents from a court or official", "statute"),
        Source(
            _FDCPA, "1692e(13): false representation that documents are legal process", "statute"
        ),
        Source(_REG_F, "1006.18: provision on false representation of legal process", "regulation"),
        Source(_CONC, "7.11.3 R: no official-looking documents likely to mislead", "regulation"),
        Source(
            _GBT, "provision on prohibited collection conduct (伪造法律文书)", "national_standard"
        ),
    ),
    "ALL.CONTENT.SHAMING": (
        Source(_FDCPA, "1692c(b): no communication with third parties about the debt", "statute"),
        Source(
            _FDCPA,
            "1692d(3): publication of a list of consumers who allegedly refuse to pay",
            "statute",
        ),
        Source(_REG_F, "1006.14: provision on publishing lists of consumers", "regulation"),
        Source(
            _CONC,
            "7.9.10 R: nothing publicly embarrassing; third parties not made aware",
            "regulation",
        ),
        Source(_CRIM, "art. 293-1 (催收非法债务罪) and art. 246 (侮辱罪、诽谤罪)", "statute"),
        Source(_PIPL, "art. 10 and art. 25: no unlawful disclosure or publication", "statute"),
        Source(
            _GBT,
            "provision on contacting and disclosing to unrelated third parties",
            "national_standard",
        ),
    ),
    "ALL.CONTENT.INSULT": (
        Source(_FDCPA, "1692d(2): obscene, profane or abusive language", "statute"),
        Source(_REG_F, "1006.14: provision on obscene or profane language", "regulation"),
        Source(_CONC, "7.3: provision on oppressive or aggressive practices", "regulation"),
        Source(_CRIM, "art. 293-1 (insulting in collection) and art. 246 (侮辱罪)", "statute"),
        Source(
            _GBT, "provision on prohibited collection conduct (侮辱、谩骂)", "national_standard"
        ),
    ),
    "ALL.CONTENT.UNAUTHORISED_FEE": (
        Source(_FDCPA, "1692f(1): amounts not authorised by the agreement or by law", "statute"),
        Source(
            _REG_F, "1006.22: provision on unfair or unconscionable means (amounts)", "regulation"
        ),
        Source(_CONC, "7.7: provision on interest and charges in arrears", "regulation"),
        Source(_GBT, "provision on charging only fees agreed in the contract", "national_standard"),
    ),
    "ALL.CONTENT.THIRD_PARTY_DISCLOSURE": (
        Source(
            _FDCPA,
            "1692b(2): location contact must not state that the consumer owes a debt",
            "statute",
        ),
        Source(_FDCPA, "1692c(b): no communication with third parties about the debt", "statute"),
        Source(_REG_F, "1006.10: provision on acquisition of location information", "regulation"),
        Source(_CONC, "7.9.10 R: third parties not made aware of the debt", "regulation"),
        Source(
            _PIPL, "art. 10: provision on unlawful disclosure of personal information", "statute"
        ),
        Source(
            _GBT,
            "provision on third-party contact (locate only, no disclosure)",
            "national_standard",
        ),
    ),
}

# Placeholders a locate-only (third-party) template may use: who we look for and how to call
# back. Anything else ({amount}, {creditor}, {dpd}, ...) is refused at registration.
LOCATE_ONLY_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "name",
        "borrower_name",
        "first_name",
        "last_name",
        "full_name",
        "title",
        "agent_name",
        "agent",
        "callback_number",
        "callback_phone",
        "phone",
        "reference",
        "date",
        "time",
    }
)


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One banned thing in a text.

    Attributes
    ----------
    category : str
        One of ``CATEGORIES``.
    rule_id : str
        The content rule broken (``RULE_IDS[category]``), cited in ``RULE_SOURCES``.
    span : tuple[int, int]
        ``(start, end)`` character offsets into the original text (end exclusive).
    excerpt : str
        ``text[start:end]``.
    reason : str
        Plain-language reason.
    """

    category: str
    rule_id: str
    span: tuple[int, int]
    excerpt: str
    reason: str


@dataclass(frozen=True)
class ContentVerdict:
    """Outcome of a content check.

    Attributes
    ----------
    allowed : bool
        True when there are no findings.
    findings : tuple[Finding, ...]
        Every finding, ordered by position in the text.
    """

    allowed: bool
    findings: tuple[Finding, ...]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Distinct rule ids of the findings, in order of first appearance."""
        return tuple(dict.fromkeys(f.rule_id for f in self.findings))

    @property
    def categories(self) -> frozenset[str]:
        """Distinct categories of the findings."""
        return frozenset(f.category for f in self.findings)


class TemplateError(ValueError):
    """A template that is malformed (not refused on content): bad field or bad placeholder.

    Attributes
    ----------
    template_id, field, reason : str
    """

    def __init__(self, template_id: str, field: str, reason: str) -> None:
        super().__init__(f"template {template_id!r}, field {field!r}: {reason}")
        self.template_id = template_id
        self.field = field
        self.reason = reason


class TemplateRefused(ValueError):
    """A template refused at registration because its content breaks a content rule.

    Attributes
    ----------
    template_id : str
    findings : tuple[Finding, ...]
    """

    def __init__(self, template_id: str, findings: tuple[Finding, ...]) -> None:
        details = "; ".join(f"{f.rule_id} at {f.span}: {f.reason}" for f in findings)
        super().__init__(f"template {template_id!r} refused: {details}")
        self.template_id = template_id
        self.findings = findings


@dataclass(frozen=True)
class Template:
    """A message template with ``{placeholder}`` fields.

    Attributes
    ----------
    id : str
        Unique, non-empty.
    audience : str
        ``borrower``, ``third_party`` (locate-only contact) or ``lawyer`` (the borrower's
        representative).
    channel : str
        One of ``arrears.domain.compliance.packs.CHANNELS`` (``call`` for a call script).
    language : str
        ``zh-Hans``, ``zh-Hant`` or ``en``.
    body : str
        Text with ``{identifier}`` placeholders; ``{{`` and ``}}`` are literal braces.
    allowed_fees : tuple[str, ...]
        Fees the contract allows this template to name (``("late fee",)``, ``("违约金",)``).

    Raises
    ------
    TemplateError
        On an empty id or body, or an unknown audience, channel or language.
    """

    id: str
    audience: str
    channel: str
    language: str
    body: str
    allowed_fees: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        tid = self.id or "<empty>"
        if not self.id.strip():
            raise TemplateError(tid, "id", "must not be empty")
        if self.audience not in AUDIENCES:
            raise TemplateError(tid, "audience", f"{self.audience!r} not one of {AUDIENCES}")
        if self.channel not in CHANNELS:
            raise TemplateError(tid, "channel", f"{self.channel!r} not one of {CHANNELS}")
        if self.language not in LANGUAGES:
            raise TemplateError(tid, "language", f"{self.language!r} not one of {LANGUAGES}")
        if not self.body.strip():
            raise TemplateError(tid, "body", "must not be empty")

    @property
    def placeholders(self) -> tuple[str, ...]:
        """Placeholder names in order of appearance (duplicates kept once).

        Raises
        ------
        TemplateError
            On an unbalanced brace or a placeholder that is not an identifier.
        """
        return tuple(dict.fromkeys(name for name, _ in _placeholders(self)))


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

# Traditional -> simplified, for the characters the patterns use and their common neighbours.
_T2S_PAIRS = (
    "傳传 債债 貸贷 還还 錢钱 額额 賬账 帳账 單单 違违 約约 徵征 餘余 銀银 戶户 務务 財财 "
    "費费 續续 滯滞 納纳 罰罚 訴诉 訟讼 師师 證证 錄录 訊讯 監监 獄狱 詐诈 騙骗 偵侦 報报 "
    "檢检 執执 員员 話话 電电 聯联 繫系 係系 絡络 親亲 屬属 領领 導导 闆板 鄰邻 學学 網网 "
    "開开 們们 讓让 說说 會会 請请 轉转 達达 這这 個个 為为 與与 後后 對对 將将 處处 時时 "
    "問问 題题 給给 門门 見见 點点 應应 該该 經经 過过 從从 無无 並并 沒没 絕绝 決决 嚴严 "
    "許许 兒儿 媽妈 孫孙 斷断 頭头 豬猪 東东 貨货 賤贱 臉脸 賴赖 廢废 敗败 類类 腦脑 殘残 "
    "恥耻 滾滚 獸兽 罵骂 殺杀 燒烧 險险 負负 麼么 緊紧 託托 協协 書书 緝缉 凍冻 結结 審审 "
    "勞劳 關关 進进 飯饭 佈布 貼贴 滿满 現现 醜丑 視视 頻频 總总 幣币 萬万 塊块 數数 據据 "
    "擔担 當当 機机 構构 於于 稱称 號号 碼码 擾扰 騷骚 嚇吓 脅胁 誹诽 謗谤 強强 紀纪 認认 "
    "識识 記记 願愿 傷伤 鄉乡 區区 幫帮 謝谢 聲声 撥拨 簡简 郵邮 遞递 發发 圖图 檔档 資资 "
    "隱隐 產产 業业 銷销 裡里 裏里 來来 責责 著着 內内 蓋盖 簽签 區区 社社 欄栏 體体 "
    "療疗 險险 戲戏 團团 隊队 軍军 槍枪 砍砍 黑黑 幫帮 齊齐 遲迟 期期 繳缴 龜龟 紹绍 "
    "債债 償偿 貼贴 雜杂 種种 婦妇 蟲虫 蠢蠢 呆呆 鬼鬼 窩窝 囊囊 蛋蛋 詛诅 咒咒 辦办 "
    "歡欢 專专 評评 議议 紛纷 糾纠 積积 賠赔 則则 規规 範范 條条 攜携 擬拟 營营 運运 "
    "處处 罪罪 犯犯 嫌嫌 拘拘 捕捕 獲获 綁绑 驚惊 懼惧 險险 盜盗 竊窃 訪访 陳陈 黃黄 "
    "劉刘 張张 趙赵 錯错 誤误 驗验 鎖锁 鐵铁 錄录 鬧闹 廳厅 鬥斗 嗎吗 呢呢 儘尽 盡尽 "
    "屆届 書书 寄寄 際际 暫暂 啟启 訂订 閱阅 補补 償偿 講讲 護护 創创 贖赎 贏赢 輸输 "
    "潑泼 窯窑 讀读 間间 國国 趕赶 壞坏 曉晓 誰谁 實实 縣县 夥伙 價价 懲惩 裝装 邊边 "
    "樣样 經经 齣出 寫写 貼贴 車车 廠厂 兒儿"
)
_T2S: Mapping[str, str] = {pair[0]: pair[1] for pair in _T2S_PAIRS.split()}

_HOMOGLYPHS: Mapping[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x",
}  # fmt: skip

_LEET: Mapping[str, str] = {
    "0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
    "@": "a", "$": "s", "!": "i", "|": "i", "€": "e",
}  # fmt: skip

# Punctuation that ends a clause (a negation does not carry over it).
_CLAUSE_MARKS = frozenset(".!?;:,\n\r。！？；：，…")
# Separators that vanish inside a Latin word ("arr*est", "won't").
_IN_WORD_JOINERS = frozenset("*._·•'’‘`~^")
# Separators that may be inserted between Han characters as obfuscation and vanish.
_HAN_GAP = frozenset(" \t*._-·•~^/\\|+=#'\"`．・")

_LATIN, _HAN, _DIGIT, _SEP, _OTHER = "L", "H", "D", "S", "O"


def _is_han(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FA1F
    )


@lru_cache(maxsize=8192)
def _kind(ch: str) -> str:
    if "a" <= ch <= "z":
        return _LATIN
    if _is_han(ch):
        return _HAN
    if ch.isdigit():
        return _DIGIT
    if ch.isalpha() or unicodedata.category(ch) == "Sc":  # letters of other scripts, $ £ ¥
        return _OTHER
    return _SEP


@dataclass(frozen=True)
class _Normalised:
    text: str
    origin: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        return self.origin[start], self.origin[max(start, end - 1)] + 1


def normalise(text: str) -> str:
    """Return the normalised form of ``text`` that the patterns are matched against.

    Exposed for tests and for explaining findings; see the module docstring for the steps.
    """
    return _normalise(text).text


@lru_cache(maxsize=8192)
def _fold_char(raw: str) -> str:
    out = []
    for ch in unicodedata.normalize("NFKD", raw).casefold():
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        ch = _HOMOGLYPHS.get(ch, ch)
        out.append(_T2S.get(ch, ch))
    return "".join(out)


def _fold(text: str) -> list[tuple[str, int]]:
    """NFKD + case-fold + homoglyph and traditional folding, one entry per output char."""
    out: list[tuple[str, int]] = []
    for index, raw in enumerate(text):
        folded = _fold_char(raw)
        if len(folded) == 1:
            out.append((folded, index))
        else:
            out.extend((ch, index) for ch in folded)
    return out


def _deleet(chars: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Read digits and symbols inside a Latin word as the letters they imitate."""
    kinds = [_kind(c) for c, _ in chars]
    result = list(chars)
    i, n = 0, len(chars)
    while i < n:
        if chars[i][0] not in _LEET:
            i += 1
            continue
        j = i
        while j < n and chars[j][0] in _LEET:
            j += 1
        left = kinds[i - 1] if i > 0 else _SEP
        right = kinds[j] if j < n else _SEP
        right2 = kinds[j + 1] if j + 1 < n else _SEP
        inside = left == _LATIN and right == _LATIN
        leading = left == _SEP and right == _LATIN and right2 == _LATIN
        if inside or leading:
            for k in range(i, j):
                result[k] = (_LEET[chars[k][0]], chars[k][1])
        i = j
    return result


def _normalise(text: str) -> _Normalised:
    chars = _deleet(_fold(text))
    kinds = [_kind(c) for c, _ in chars]
    # Tokens: maximal runs of non-separators, with the separator run that follows each.
    tokens: list[tuple[int, int]] = []  # [start, end) of word runs in chars
    i, n = 0, len(chars)
    while i < n:
        if kinds[i] == _SEP:
            i += 1
            continue
        j = i
        while j < n and kinds[j] != _SEP:
            j += 1
        tokens.append((i, j))
        i = j
    # Spaced-out letters: runs of >= 3 single Latin letters join into one word, when the
    # same separator spaces them all ("a w-a-r-r-a-n-t": the article stays apart).
    join_after: set[int] = set()  # token index t joins token t+1 without a separator

    def spacing(u: int) -> str:  # the separator text before token u
        return "".join(c for c, _ in chars[tokens[u - 1][1] : tokens[u][0]])

    t = 0
    while t < len(tokens):
        u = t
        while (
            u < len(tokens)
            and tokens[u][1] - tokens[u][0] == 1
            and kinds[tokens[u][0]] == _LATIN
            and (u == t or (len(spacing(u)) <= 3 and (u == t + 1 or spacing(u) == spacing(t + 1))))
        ):
            u += 1
        if u - t >= 3:
            join_after.update(range(t, u - 1))
            t = u
        else:
            t += 1
    out: list[str] = []
    origin: list[int] = []
    for t, (start, end) in enumerate(tokens):
        for k in range(start, end):
            out.append(chars[k][0])
            origin.append(chars[k][1])
        if t + 1 >= len(tokens):
            break
        gap = chars[end : tokens[t + 1][0]]
        gap_chars = {c for c, _ in gap}
        last, first_next = kinds[end - 1], kinds[tokens[t + 1][0]]
        if t in join_after:
            continue
        if last == _DIGIT and first_next == _DIGIT and len(gap) == 1 and gap[0][0] in ",.":
            out.append(gap[0][0])  # 1,200.50 stays one number
            origin.append(gap[0][1])
            continue
        if last == _HAN and first_next == _HAN and gap_chars <= _HAN_GAP:
            continue
        if (
            last == _LATIN
            and first_next == _LATIN
            and gap_chars <= _IN_WORD_JOINERS
            and not (gap_chars & {"."} and len(gap) > 1)
        ):
            continue
        out.append("|" if gap_chars & _CLAUSE_MARKS else " ")
        origin.append(gap[0][1])
    return _Normalised("".join(out), tuple(origin))


# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

_NEG_EN = re.compile(
    r"\b(not|never|no|cannot|cant|wont|dont|doesnt|didnt|isnt|arent|wouldnt|shouldnt|"
    r"nobody|none|neither|nor|without|nothing)\b"
)
_NEG_ZH = re.compile(
    r"(不会|不能|不得|不可|不是|不构成|不涉及|不属于|无权|绝不|决不|并不|从不|从未|没有人|没人|"
    r"不用担心|无需|无须|不必|不应|不再|禁止|严禁|不允许|不存在|谈不上|冒充|假冒|谨防|警惕|提防|"
    r"防范|"
    r"不$|未$|没$)"
)
_NEG_FEE_EN = re.compile(
    r"\b(free|waive\w*|zero|freeze|frozen|suspend\w*|stop\w*|remove\w*|refund\w*|reduce\w*|"
    r"cancel\w*)\b"
)
_NEG_FEE_ZH = re.compile(r"(免|无|不收|不产生|不额外|不另|零|取消|减免|豁免|没有|退还|冻结|停止)")
_NOT_HESITATE = re.compile(
    r"\b((not|never|wont|dont) (hesitate|think twice)|(dont|do not) make (us|me))\b"
)
_NOT_PAYING = re.compile(r"\b(not|never|dont|didnt|non) (paying|pay|payment|repaying)\b")
_NEG_IMPERSONATION_EN = re.compile(r"\b(scam|fake|pretend\w*|impersonat\w*|claims?|claiming)\b")
_NEG_IMPERSONATION_ZH = re.compile(r"(自称|声称|诈骗|骗子)")


@dataclass(frozen=True)
class _Rule:
    category: str
    pattern: re.Pattern[str]
    reason: str
    negatable: bool = True
    audiences: frozenset[str] = frozenset(AUDIENCES)
    han: bool = False  # the pattern needs Han characters: skipped on texts without any


def _r(
    category: str,
    pattern: str,
    reason: str,
    *,
    negatable: bool = True,
    audiences: Collection[str] = AUDIENCES,
) -> _Rule:
    needs_han = any(_is_han(ch) for ch in pattern) and not re.search(r"[a-z]{2}", pattern)
    return _Rule(category, re.compile(pattern), reason, negatable, frozenset(audiences), needs_han)


_FAMILY_EN = (
    r"(family|families|relatives|parents|mother|mom|mum|father|dad|wife|husband|spouse|partner|"
    r"kids|children|son|daughter|siblings|brother|sister|employer|boss|manager|supervisor|"
    r"coworkers|co workers|colleagues|hr|neighbou?rs?|friends|contacts|church|pastor|landlord|"
    r"school|references|workplace)"
)
_FAMILY_ZH = (
    r"(家人|家里人|家属|全家|父母|爸妈|爸爸|妈妈|老婆|老公|妻子|丈夫|配偶|子女|孩子|亲戚|亲友|"
    r"朋友|同事|领导|老板|上司|主管|上级|经理|雇主|单位|公司|人事|邻居|学校|老师|村委会|居委会|"
    r"紧急联系人|联系人|妈|爸)"
)

_RULES: tuple[_Rule, ...] = (
    # ---- threats of arrest, prison, violence, criminal prosecution
    _r(
        THREAT,
        r"\b(arrest(ed|ing)?|jail(ed)?|prison|imprison(ed|ment)?|incarcerat\w*|handcuff\w*|"
        r"behind bars|in a cell|in custody|locked away|put away|serve time|doing time|"
        r"lock(ed)? you up|(get|be|been|have you|get you) locked up|cuffed|in cuffs|cuff you|"
        r"perp walk|mug ?shot|penitentiary|state pen|time (in|behind) (jail|prison|bars)|"
        r"jail time|prison time|(picked|hauled|taken) (up|away|in) (by|in front of) )\b",
        "threat of arrest or prison",
    ),
    _r(
        THREAT,
        r"\b(criminal (charges?|case|complaint|prosecution|record|offen[cs]e|investigation|matter)|"
        r"press(ing)? charges|prosecut\w*|charged with (fraud|theft|a crime)|"
        r"(commit(ted|ting)?|guilty of) (a )?(crime|fraud|theft)|theft by deception|"
        r"(a|is) crime|check fraud|fraud charges?|(is|this is|its) (considered )?(fraud|theft)|"
        r"(report|turn) you (in )?to the (police|cops|authorities|fbi)|police report against you|"
        r"call the (police|cops) on you)\b",
        "threat of prosecution or accusation of a crime",
    ),
    _r(
        THREAT,
        r"\b((police|cops|sheriffs?|officers|deputies|marshals?) ((can|could|may|might|will|would|"
        r"are going to|gonna|is going to) )?(be at|are on (their|the) way|come|coming|show up|"
        r"knock|"
        r"visit|arrive|pick you up)|"
        r"send(ing)? (the )?(police|sheriff|cops|officers)|(police|sheriff) pick you up)\b",
        "threat of police action",
    ),
    _r(
        THREAT,
        r"\b((hurt|harm|beat|kill|shoot|stab|find) (you|your (family|kids|children|wife|husband|"
        r"parents|mother|father))|break your \w+|beat you up|burn (down )?your|"
        r"we know where (you|your \w+) (live|lives|work|works|go)|watch your back|"
        r"(you ?ll|you will|youll) regret|something bad (will|could|may|might) happen|"
        r"(wont|will not|not) be safe|hunt you down|make your life (hell|miserable)|"
        r"physical(ly)? harm|bodily harm|violence|(visit|lesson|day) you (wont|will not|"
        r"will never) "
        r"forget|people in your area|our (people|guys|boys|men) (will|can|know)|"
        r"we know where [^|]{0,40}?(live|lives|work|works|go|goes|stay|stays|park|parks|"
        r"school)|(hate|shame|pity) (for|if) (something|anything) (bad )?(to )?happen\w*|"
        r"(something|anything|nothing) (bad )?(to )?happens? to (you|your|that|the|him|her)|"
        r"accidents? (happen|can happen|could happen)|have an accident|"
        r"(nobody|no one|someone|somebody|our (guys|people|boys|men)) (\w+ )?(to )?pay you a "
        r"(little |friendly )?visit|teach you a lesson|the hard way|for your own (safety|good))\b",
        "threat of violence or harm",
    ),
    _r(
        THREAT,
        r"(逮捕|抓捕|抓你|抓人|被抓|抓走|抓起来|坐牢|蹲监狱|进监狱|送进监狱|吃牢饭|牢饭|判刑|"
        r"拘留|拘役|"
        r"刑拘|监狱|牢狱|劳改|关进去|关起来|被关|关你|判(你)?几年|够判|进去蹲|吃官司|苦窑|"
        r"大牢|坐监|监牢|牢房|踩缝纫机|铐走|戴手铐|手铐)",
        "threat of arrest or prison (逮捕/坐牢/拘留)",
    ),
    _r(
        THREAT,
        r"(刑事(责任|案件|立案|处罚|犯罪|诉讼|追诉)|(构成|涉嫌|属于|已经是|就是|就算|算是|按)"
        r"(.{0,4}?)(犯罪|诈骗|诈欺|恶意透支)|"
        r"诈骗罪|诈欺罪|恶意透支罪|拒执罪|立案侦查|移送侦办|侦办|经侦|报警抓|上门抓|报警处理|"
        r"(去|到)(警局|派出所|公安局|警察局)报案)",
        "threat of prosecution or accusation of a crime (刑事/涉嫌诈骗)",
    ),
    _r(
        THREAT,
        r"(打死|弄死|砍死|砍你|杀了你|杀你|打断你|卸你|废了你|收拾你|让你好看|人身安全|家人安全|"
        r"小心点|小心你|后果自负|后果很严重|走着瞧|等着瞧|出门小心|泼油漆|泼漆|红油漆|放火|烧你|"
        r"砸你|"
        r"砸了你|堵你|死定了|找人弄你|黑社会|不得安宁|(家门口|楼下|门口|单位门口)等你|找上门|"
        r"知道厉害|"
        r"知道你(家)?住(在)?哪|知道你家在哪|知道你在哪(里)?上班|吃不了兜着走|有你好看|"
        r"没(你的)?好果子吃|尝尝(苦头|厉害)|苦头|别怪我们不客气|对你不客气|"
        r"(你|您)(家)?住(在)?哪(里|儿)?[^|]{0,6}?(知道|清楚|明白)|"
        r"知道(你|您)的?(女儿|儿子|孩子|小孩|老婆|老公|家人|父母)[^|]{0,10}?(哪|在)|"
        r"不想[^|]{0,6}?出(什么|啥|点)?事|(泼|喷)(油)?漆|走路(小心|注意)|"
        r"注意(你的|你|您的)?(人身)?安全|小心(哪天|以后|晚上|出门|走路|你的|你家))",
        "threat of violence or harm (恐吓)",
    ),
    # ---- impersonating police, courts, government
    _r(
        IMPERSONATION,
        r"\b(this is|we are|were|i am|im|calling from|on behalf of|representing|message from|"
        r"notice from|officer from|agents? (with|from))( the)?( \w+){0,2} "
        r"(police|sheriffs?|sheriffs office|court|courts|courthouse|fbi|irs|department of justice|"
        r"doj|district attorneys?|attorney generals? office|government|federal agency|"
        r"law enforcement|state police|marshals? service|magistrate)\b",
        "presents the sender as police, a court or government",
    ),
    _r(
        IMPERSONATION,
        r"\b((this is|i am|im|my name is) (officer|detective|deputy|sergeant|agent|special agent|"
        r"judge|inspector|constable|bailiff|sheriff)|(officer|detective|deputy|sergeant|agent|"
        r"inspector|constable) \w+ (here|speaking))\b",
        "sender claims to be a police officer, agent or judge",
    ),
    _r(
        IMPERSONATION,
        r"\b((federal|state|government|national) (debt |recovery |collection |enforcement |fraud |"
        r"crimes? )+(division|bureau|agency|department|unit|office|service)|"
        r"(legal|law) enforcement (unit|division|office|department|agency)|"
        r"(enforcement|fraud|crimes?) (unit|division|bureau|department|office) of (the )?"
        r"(\w+ ){0,2}(state|county|city|government|district)|"
        r"(financial|economic|fraud|white collar|cyber) crimes? (unit|division|bureau|"
        r"department|task force|squad)|officer (is|will be|has been|gets) assigned|"
        r"court appointed|on (the )?instructions? (of|from) the courts?|"
        r"acting (for|on behalf of) "
        r"the courts?|court bailiffs?|bailiffs?|federal agent|police department|"
        r"sheriffs department)\b",
        "claims authority of a court, bailiff or government body",
    ),
    _r(
        IMPERSONATION,
        r"(我们是|我是|这里是|本人是|我方是|来自|代表|受)(.{0,8}?)(公安|警察|警方|派出所|法院|"
        r"检察|政府|"
        r"司法机关|司法部门|经侦|网警|民警|法官|检察官|执行局|执行处|纪委|银保监|金融监管|人民银行|"
        r"地检|检署|警局|警察局)",
        "presents the sender as police, a court or government (冒充公检法)",
    ),
    _r(
        IMPERSONATION,
        r"((公安局|公安|警方|派出所|法院|检察院|经侦大队|网警|执行局|公安机关|司法机关|"
        r"反诈中心)(.{0,4}?)"
        r"(通知|来电|提醒|工作人员|办案|警官|传唤|调查)|警官|民警|检察官|办案人员|执法人员|"
        r"公安干警|公检法)",
        "presents the sender as police, a court or government (冒充公检法)",
    ),
    # ---- fake legal documents
    _r(
        FAKE_LEGAL,
        r"\b(arrest warrant|warrant for (your )?arrest|bench warrant|warrant against you|"
        r"warrant (has been|was|will be|is|is being|being)( \w+)? (issued|signed|drafted|prepared|"
        r"filed|requested)|criminal complaint|notice of criminal (action|proceedings)|"
        r"notice of (intent|intention) to (arrest|prosecute|seize)|"
        r"affidavit of (fraud|criminal)|warrant.{0,40}?(issued|signed|filed) (in|under|"
        r"against) your name)\b",
        "mentions a warrant or criminal process document",
    ),
    _r(
        FAKE_LEGAL,
        r"\b(summons|subpoena\w*|court order|legal summons|you (have been|will be) served|"
        r"served (with )?papers|final court notice|court notice|writ|ccj|county court judgm?ent|"
        r"attachment of earnings|garnishment order|charging order|"
        r"(judgm?ent|order|decree)s? (has been |have been |was |were )?(granted|issued|entered|"
        r"made|obtained) against you)\b",
        "mentions court process (summons, subpoena, court order) in a collection message",
        audiences=("borrower", "third_party"),
    ),
    _r(
        FAKE_LEGAL,
        r"(传票|逮捕令|拘捕令|通缉令|协查函|协查通知|立案通知书|起诉书|法院通知书|法院公告|"
        r"开庭通知|"
        r"执行通知书|强制执行令|冻结令|司法文书|传唤|拘票|(法院|执行|检察|公安)[^|]{0,8}?公文)",
        "mentions a court or police document (传票/逮捕令/协查函)",
    ),
    _r(
        FAKE_LEGAL,
        r"(律师函.{0,12}?(法院|司法|公安|法官|强制执行)|(法院|司法|公安|法官)[^|]{0,12}?律师函)",
        "presents a lawyer's letter as from a court or police (律师函)",
    ),
    # ---- shaming: telling family, employer, the public; publishing the debt
    _r(
        SHAMING,
        r"\b(tell(ing)?|inform(ing)?|notify(ing)?|call(ing)?|contact(ing)?|text(ing)?|"
        r"email(ing)?|message|messaging|alert(ing)?|let|visit(ing)?|(speak|speaking|talk|"
        r"talking|reach|reaching) (out )?to|ring(ing)?|phon(e|ing)|writ(e|ing) to) "
        r"(all )?(of )?your " + _FAMILY_EN + r"\b",
        "threatens to tell family, employer or others about the debt",
    ),
    _r(
        SHAMING,
        r"\byour "
        + _FAMILY_EN
        + r" (will|is going to|are going to|gonna) (be )?(hear|hearing|find out|"
        r"know|get a call|receive|be told)\b|\b(tell|inform) (him|her|them) (everything|all about|"
        r"about (your|the|this) (debt|loan|account|situation))\b|\byour "
        + _FAMILY_EN
        + r" (would|might|may|will)? ?(like|love|want|care|be interested) to (hear|know|find out|"
        r"learn|see)\b|\b(the|your) whole (town|street|"
        r"neighbou?rhood|office|company|family|village|block|building)\b",
        "threatens to tell family, employer or others about the debt",
    ),
    _r(
        SHAMING,
        r"\b(show up|come|turn up) (at|to) your (work|job|workplace|office|school)\b",
        "threatens to come to the borrower's workplace",
    ),
    _r(
        SHAMING,
        r"\b(post|publish|share|put|list|expose|advertise|broadcast|display)\w*( \w+){0,4} "
        r"(online|on (your |their )?(facebook|social media|instagram|twitter|the internet|tiktok|"
        r"wechat|linkedin)|publicly|"
        r"in public|in the (newspaper|paper))\b|\b(facebook|community|neighbou?rhood|"
        r"social media|whatsapp|telegram|nextdoor|wechat|line) (group|page|board|forum|chat)\b",
        "threatens to publish the debt",
    ),
    _r(
        SHAMING,
        r"\b(wall of shame|list of (deadbeats|debtors)|deadbeat list|debtors list|shame you|"
        r"publicly shame|name and shame|everyone (in \w+ \w+ )?(will|is going to|gonna) know|"
        r"the whole (town|neighbou?rhood|office|company) will know|expose you|humiliat\w*|"
        r"embarrass you|your (phone )?(contacts|address book|contact list))\b",
        "threatens public shaming or use of the address book",
    ),
    _r(
        SHAMING,
        r"(曝光|爆光|暴光|曝你|爆你|把你[^|]{0,8}?公开|公开(你|您)的?(欠款|债务|信息|身份|照片|"
        r"名字|资料|个人|丑事)|"
        r"挂网|挂到网上|发到网上|网上公布|发朋友圈|发到朋友圈|在朋友圈|发到[^|]{0,8}?群|(脸书|"
        r"facebook|微博|抖音|网上|网络上)[^|]{0,4}?(公布|公开|发布|曝光|贴)|公布(你|您)的?|"
        r"大字报|"
        r"贴满|公布栏|让所有人|让大家都|都知道|全村|全小区|全公司|丢人现眼|身败名裂|社死|人肉|"
        r"(发|贴|传|上传|公布|挂|放)(到|在|上)[^|]{0,6}?(脸书|facebook|微博|抖音|朋友圈|网上|"
        r"网络|群里|(?<![a-z])ig(?![a-z])|instagram|(?<![a-z])line(?![a-z])|推特|论坛)|"
        r"让(你|您)的?(所有|全部)?的?(朋友|亲友|同事|家人|邻居)[^|]{0,4}?(看|知道)|横幅|传单)",
        "threatens to publish or expose the debt (曝光/公开)",
    ),
    _r(
        SHAMING,
        r"(通讯录|通迅录|通信录|(?<![a-z])txl(?![a-z])|爆通|打(给|遍|爆)(你|您)?的?(通讯录|"
        r"联系人|亲友|家人|朋友|同事))",
        "threatens to use the address book (通讯录)",
    ),
    _r(
        SHAMING,
        r"(告诉|通知|告知|联系|打给|打电话给|找|发给|发短信给|去找|上门找|拜访)(你|您)?的?"
        + _FAMILY_ZH,
        "threatens to tell family, employer or others (告诉你的家人/单位)",
    ),
    _r(
        SHAMING,
        r"(去|到|上)(你|您)的?(单位|公司|学校|工作单位)",
        "threatens to come to the borrower's workplace (去你单位)",
    ),
    _r(
        SHAMING,
        r"你的?(妈|爸|老婆|老公|父母|家人|孩子|同事|领导)[^|]{0,4}?(知道|知不知道)",
        "threatens to let family or colleagues know (让你家人知道)",
    ),
    # ---- insults
    _r(
        INSULT,
        r"\b(idiots?|stupid|morons?|imbeciles?|losers?|deadbeats?|scum|scumbags?|lowlifes?|"
        r"low life|"
        r"worthless|pathetic|bitch\w*|bastards?|assholes?|ass hole|fuck\w*|fk|fck|fcuk|fuk|phuck|"
        r"motherfuck\w*|shit\w*|bullshit|damn|dumbass|dumb|retard\w*|trash|garbage|"
        r"piece of (crap|garbage|trash|shit)|crooks?|thief|thieves|liars?|freeloaders?|parasites?|"
        r"sluts?|whores?|cunts?|jerks?|clowns?|fools?|cheats?|cheaters?|disgrace|shameless|"
        r"disgraceful|disgusting|filthy)\b",
        "insult or abusive language",
        negatable=False,
    ),
    _r(
        INSULT,
        r"(老赖|骗子|废物|垃圾人|人渣|败类|不要脸|没脸没皮|畜生|畜牲|禽兽|王八蛋|混蛋|傻逼|"
        r"傻 ?b(?![a-z])|"
        r"傻比|煞笔|(?<![a-z])sb(?![a-z])|脑残|去死|死全家|全家死|你妈的|他妈的|妈的|"
        r"(?<![a-z])tmd(?![a-z])|"
        r"(?<![a-z])nmsl(?![a-z])|操你|狗东西|狗日的|杂种|贱人|犯贱|贱货|白眼狼|猪狗不如|蠢货|蠢猪|"
        r"猪头|窝囊废|废柴|没用的东西|没皮没脸|(的|个|这|你)垃圾(?!短信|邮件|分类|桶|电话)|"
        r"不得好死|断子绝孙|孬种|滚蛋|给我滚|无赖|下贱|婊子|无耻|可耻|丢人|ㄌㄐ|ㄎㄅ|ㄍㄋㄋ|"
        r"ㄊㄇㄉ|ㄇㄉ)",
        "insult or abusive language (侮辱/谩骂)",
        negatable=False,
    ),
)

# Fee mentions (checked against the caller's allowed fees, then negation).
_FEE_EN = re.compile(
    r"\b(fees?|surcharges?|penalt(y|ies)|charges|"
    r"charge(?! (you|your|it|the card|off))|"
    r"(collection|legal|recovery|administrative|admin|processing|tracing|visit|attorney|"
    r"attorneys|court) costs)\b"
)
_FEE_EN_EXCLUDE = re.compile(
    r"\b(in charge|charged? off|charge offs?|free of charge|(will|to|may|would|can|cannot|must|"
    r"wont|not) charge)\b"
)
_FEE_ZH = re.compile(
    r"(手续费|服务费|催收费|上门费|外访费|律师费|诉讼费|违约金|滞纳金|罚息|罚金|管理费|工本费|"
    r"咨询费|"
    r"调查费|差旅费|保证金|解冻费|信息费|加收[^|]{0,4}?费|[^|]{0,2}费用)"
)

# Third-party (locate-only) messages: anything about the debt or the creditor's business.
_DISCLOSURE_EN = re.compile(
    r"\b(debts?|owe[sd]?|owing|amounts?|balances?|arrears|overdue|past due|late|delinquen\w*|"
    r"collect\w*|repay\w*|payments?|pay|paid|loans?|lend\w*|creditors?|credit|borrow\w*|bills?|"
    r"invoices?|default\w*|outstanding|financ\w*|banks?|dpd|install?ments?|mortgage|"
    r"(credit )?cards?|accounts?|account holder|charge offs?)\b"
)
_DISCLOSURE_ZH = re.compile(
    r"(欠款|欠钱|欠债|款项|贷款|还款|付款|汇款|账款|欠|债|贷|款|借款|借钱|逾期|催收|催款|还款|还钱|还清|归还|应还|待还|未还|金额|余额|本金|利息|"
    r"罚息|账单|"
    r"账户|账款|分期|信用卡|额度|违约|征信|钱|财务|银行|金融|平台|放款|白条|花呗|借呗)"
)
_AMOUNT = re.compile(
    r"([$£€¥￥]\s?\d[\d,.]*|\d[\d,.]*\s?(元|块|万|dollars?|usd|rmb|cny|twd|ntd?|gbp|eur|yuan|"
    r"pounds?|"
    r"euros?)|\b(usd|rmb|cny|twd|nt|gbp|eur)\s?\$?\s?\d|新台币\s?\d)"
)


def _negated(norm: str, start: int, category: str) -> bool:
    """True when a negation in the same clause governs the hit starting at ``start``."""
    clause_start = norm.rfind("|", 0, start) + 1
    before = norm[clause_start:start]
    before = _NOT_HESITATE.sub(" ", before)
    if category != UNAUTHORISED_FEE:  # "not paying is a crime": the negation is of paying
        before = _NOT_PAYING.sub(" ", before)
    words = before.split()
    # A negation carries over a coordination: "not be arrested or go to jail".
    reach = 8 if any(w in ("or", "nor", "and") for w in words[-4:]) else 4
    en_window = " ".join(words[-reach:])
    compact = before.replace(" ", "")
    zh_window = compact[-8:]
    if re.search(r"(或|和|及|与|、)", zh_window):  # "不会被拘留或坐牢"
        zh_window = compact[-16:]
    if _NEG_EN.search(en_window) or _NEG_ZH.search(zh_window):
        return True
    if category == UNAUTHORISED_FEE:
        return bool(_NEG_FEE_EN.search(en_window) or _NEG_FEE_ZH.search(zh_window))
    if category == IMPERSONATION:
        return bool(
            _NEG_IMPERSONATION_EN.search(" ".join(words[-8:]))
            or _NEG_IMPERSONATION_ZH.search(before.replace(" ", "")[-12:])
        )
    return False


def _finding(
    text: str, norm: _Normalised, start: int, end: int, category: str, reason: str
) -> Finding:
    span = norm.original_span(start, end)
    excerpt = text[span[0] : span[1]]
    return Finding(category, RULE_IDS[category], span, excerpt, f"{reason}: {excerpt!r}")


def _rule_findings(text: str, norm: _Normalised, audience: str) -> Iterator[Finding]:
    has_han = any(_is_han(ch) for ch in norm.text)
    for rule in _RULES:
        if audience not in rule.audiences or (rule.han and not has_han):
            continue
        for match in rule.pattern.finditer(norm.text):
            if match.end() == match.start():
                continue
            if rule.negatable and _negated(norm.text, match.start(), rule.category):
                continue
            yield _finding(text, norm, match.start(), match.end(), rule.category, rule.reason)


def _allowed_fee_spans(norm_text: str, allowed_fees: Collection[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for fee in allowed_fees:
        needle = _normalise(fee).text.strip(" |")
        if not needle:
            continue
        start = norm_text.find(needle)
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = norm_text.find(needle, start + 1)
    return spans


def _fee_findings(text: str, norm: _Normalised, allowed_fees: Collection[str]) -> Iterator[Finding]:
    covered = _allowed_fee_spans(norm.text, allowed_fees)
    excluded = [m.span() for m in _FEE_EN_EXCLUDE.finditer(norm.text)]
    for pattern in (_FEE_EN, _FEE_ZH):
        for match in pattern.finditer(norm.text):
            start, end = match.span()
            if pattern is _FEE_ZH and match.group(0).endswith("费用"):
                start = end - 2  # the generic 费用 and at most two characters naming it
                start = max(match.start(), start - 2)
            if any(s < end and start < e for s, e in excluded):
                continue
            if any(s < end and start < e for s, e in covered):
                continue
            if _negated(norm.text, start, UNAUTHORISED_FEE):
                continue
            allowed = ", ".join(sorted(allowed_fees)) or "none"
            yield _finding(
                text,
                norm,
                start,
                end,
                UNAUTHORISED_FEE,
                f"names a fee or charge the contract does not allow (allowed: {allowed})",
            )


def _disclosure_findings(text: str, norm: _Normalised) -> Iterator[Finding]:
    for pattern, reason in (
        (_DISCLOSURE_EN, "a locate-only message refers to the debt or the creditor's business"),
        (_DISCLOSURE_ZH, "a locate-only message refers to the debt or the creditor's business"),
        (_AMOUNT, "a locate-only message states an amount"),
    ):
        for match in pattern.finditer(norm.text):
            if match.end() > match.start():
                yield _finding(
                    text, norm, match.start(), match.end(), THIRD_PARTY_DISCLOSURE, reason
                )


def _dedupe(findings: list[Finding]) -> tuple[Finding, ...]:
    """Drop a finding whose span lies inside another finding of the same category."""
    ordered = sorted(findings, key=lambda f: (f.span[0], -(f.span[1] - f.span[0]), f.category))
    kept: list[Finding] = []
    for finding in ordered:
        if any(
            k.category == finding.category
            and k.span[0] <= finding.span[0]
            and finding.span[1] <= k.span[1]
            for k in kept
        ):
            continue
        kept.append(finding)
    return tuple(kept)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def check_message(
    text: str, *, audience: str = "borrower", allowed_fees: Collection[str] = ()
) -> ContentVerdict:
    """Check a free-text message (or a rendered template) for banned content.

    Parameters
    ----------
    text : str
        The message, in any mix of simplified Chinese, traditional Chinese and English.
    audience : {"borrower", "third_party", "lawyer"}
        Who receives it. ``third_party`` (locate-only contact) also bans any reference to the
        debt, an amount, arrears, collection, repayment or the creditor's business
        (``ALL.CONTENT.THIRD_PARTY_DISCLOSURE``). ``lawyer`` (the borrower's representative) may
        be told about court process (summons, court order), not about warrants.
    allowed_fees : Collection[str]
        Fee names the contract allows (``"late fee"``, ``"违约金"``). A fee or charge named in
        the text and not covered by one of these is ``ALL.CONTENT.UNAUTHORISED_FEE``. Names
        are normalised like the text (``違約金`` equals ``违约金``) and matched as phrases.

    Returns
    -------
    ContentVerdict
        ``allowed`` is True when there are no findings; each finding's ``span`` indexes ``text``.

    Raises
    ------
    ValueError
        When ``audience`` is not one of ``AUDIENCES``.
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience {audience!r} not one of {AUDIENCES}")
    norm = _normalise(text)
    findings = list(_rule_findings(text, norm, audience))
    findings.extend(_fee_findings(text, norm, allowed_fees))
    if audience == "third_party":
        findings.extend(_disclosure_findings(text, norm))
    kept = _dedupe(findings)
    return ContentVerdict(allowed=not kept, findings=kept)


_PLACEHOLDER_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_AUTHORITY_NAME = re.compile(
    r"(court|police|sheriff|judge|government|bailiff|warrant|法院|公安|警|检察|政府)"
)


def _placeholders(template: Template) -> Iterator[tuple[str, tuple[int, int]]]:
    for match in _PLACEHOLDER_TOKEN.finditer(template.body):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise TemplateError(
                template.id, "body", f"unbalanced {token!r} at offset {match.start()}"
            )
        name = match.group(1).strip()
        if not _IDENTIFIER.match(name):
            raise TemplateError(
                template.id,
                "body",
                f"placeholder {token!r} at offset {match.start()} is not an identifier",
            )
        yield name, match.span()


def check_template(template: Template) -> ContentVerdict:
    """Check a template's body and placeholders for its audience.

    The body is checked with placeholders blanked out (``check_message`` with the template's
    audience and allowed fees). Placeholders are checked by name:

    * for ``third_party`` templates, any placeholder outside ``LOCATE_ONLY_PLACEHOLDERS``
      (``{amount}``, ``{balance}``, ``{dpd}``, ``{creditor}`` ...) is
      ``ALL.CONTENT.THIRD_PARTY_DISCLOSURE``;
    * a placeholder naming a fee (``{processing_fee}``) not in the allowed fees is
      ``ALL.CONTENT.UNAUTHORISED_FEE``;
    * a placeholder naming an authority (``{court_name}``, ``{police_station}``) is
      ``ALL.CONTENT.IMPERSONATION``.

    Returns
    -------
    ContentVerdict
        Spans index ``template.body``.

    Raises
    ------
    TemplateError
        On an unbalanced brace or a placeholder that is not an identifier.
    """
    placeholders = list(_placeholders(template))
    masked = list(template.body)
    for _, (start, end) in placeholders:
        masked[start:end] = " " * (end - start)
    verdict = check_message(
        "".join(masked), audience=template.audience, allowed_fees=template.allowed_fees
    )
    findings = [
        Finding(f.category, f.rule_id, f.span, template.body[f.span[0] : f.span[1]], f.reason)
        for f in verdict.findings
    ]
    for name, span in placeholders:
        excerpt = template.body[span[0] : span[1]]
        if template.audience == "third_party" and name.lower() not in LOCATE_ONLY_PLACEHOLDERS:
            findings.append(
                Finding(
                    THIRD_PARTY_DISCLOSURE,
                    RULE_IDS[THIRD_PARTY_DISCLOSURE],
                    span,
                    excerpt,
                    f"placeholder {excerpt} is not allowed in a locate-only template "
                    f"(allowed: {', '.join(sorted(LOCATE_ONLY_PLACEHOLDERS))})",
                )
            )
        words = name.replace("_", " ")
        fee_check = check_message(words, allowed_fees=template.allowed_fees)
        if UNAUTHORISED_FEE in fee_check.categories:
            findings.append(
                Finding(
                    UNAUTHORISED_FEE,
                    RULE_IDS[UNAUTHORISED_FEE],
                    span,
                    excerpt,
                    f"placeholder {excerpt} names a fee the template does not allow",
                )
            )
        if _AUTHORITY_NAME.search(name.lower()):
            findings.append(
                Finding(
                    IMPERSONATION,
                    RULE_IDS[IMPERSONATION],
                    span,
                    excerpt,
                    f"placeholder {excerpt} names a court, police or government body",
                )
            )
    kept = _dedupe(findings)
    return ContentVerdict(allowed=not kept, findings=kept)


class TemplateRegistry:
    """Templates that passed the content check; the only source of templates for sending.

    A template is checked when it is registered, not when it is sent: a template that could
    break a content rule never enters the registry.
    """

    def __init__(self) -> None:
        self._templates: dict[str, Template] = {}

    def register(self, template: Template) -> ContentVerdict:
        """Check and register ``template``.

        Returns
        -------
        ContentVerdict
            The (allowed) verdict.

        Raises
        ------
        TemplateRefused
            When the content check finds anything; ``findings`` lists every rule id and span.
        TemplateError
            On a malformed body, or when another template with the same id is registered.
        """
        existing = self._templates.get(template.id)
        if existing is not None and existing != template:
            raise TemplateError(template.id, "id", "a different template has this id already")
        verdict = check_template(template)
        if not verdict.allowed:
            raise TemplateRefused(template.id, verdict.findings)
        self._templates[template.id] = template
        return verdict

    def get(self, template_id: str) -> Template:
        """Return the registered template ``template_id``.

        Raises
        ------
        KeyError
            When no template has that id.
        """
        try:
            return self._templates[template_id]
        except KeyError:
            raise KeyError(f"no registered template {template_id!r}") from None

    def __contains__(self, template_id: object) -> bool:
        return template_id in self._templates

    def __len__(self) -> int:
        return len(self._templates)

    def __iter__(self) -> Iterator[Template]:
        return iter(list(self._templates.values()))
