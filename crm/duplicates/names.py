"""Comparing names: the normal forms, the blocking keys and the similarity score.

A name is reduced to what identifies the organisation or person, so that
"Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd" and
"SINO-BRITISH EKOO NETWORK TECHNOLOGY LIMITED" meet:

- width and case are folded and punctuation becomes spaces (`crm.text.normalize`);
- legal forms are dropped (Co., Ltd, Limited, LLC, Inc, GmbH, 有限公司, 股份有限公司, 集团 ...);
- a bracketed place ("(Shenzhen)", "（深圳）") is dropped; a bracketed acronym ("(UKIIC)")
  becomes a name of its own;
- word order does not count (the score sorts the words);
- a Chinese name also gives its pinyin, so "Liu Xian" meets 刘贤.

Each record's names become `Form`s; records are compared form by form with rapidfuzz
(character similarity of the sorted words, averaged with how much of the words' length
both sides share, so "robotics"/"photonics" is not scored as a typo). A few rules know
what a plain ratio cannot: different numbers ("Branch 1" / "Branch 2") mean different
records; a name that is another plus more words is usually a unit of it
("... Committee" / "Organization Department of the ... Committee") unless the extra words
are generic ("UKIIC" / "UKIIC Accelerator"); the same bracketed place supports a match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz

from crm.text import normalize, pinyin

# Pairs scoring at least this are "likely duplicates" (page and guard alike).
THRESHOLD = 80
# The most a person's name alone can score; the same email scores 100.
PERSON_NAME_CAP = 90

# Legal forms dropped wherever they stand.
LEGAL_ANYWHERE = {
    "ltd",
    "limited",
    "llc",
    "inc",
    "incorporated",
    "gmbh",
    "plc",
    "corp",
    "corporation",
}
# Legal forms (and "group") dropped at the end of a name only: elsewhere they may be words.
LEGAL_TRAILING = {
    "co",
    "company",
    "group",
    "holding",
    "holdings",
    "ag",
    "sa",
    "asa",
    "ab",
    "as",
    "bv",
    "nv",
    "kk",
    "oy",
    "pte",
    "pty",
    "sas",
    "sarl",
    "srl",
    "spa",
    "llp",
    "lp",
}
# "Co" and "Company" are legal forms before these (Co., Ltd / Company Limited / Co., Inc.).
_CO_BEFORE = {"ltd", "limited", "inc", "llc", "plc"}
STOP_WORDS = {"the", "of", "and", "for", "in", "at", "und", "et"}
HONORIFICS = {"dr", "prof", "professor", "mr", "mrs", "ms", "miss", "sir", "dame", "madam"}
SPELLINGS = {
    "centre": "center",
    "centres": "centers",
    "organisation": "organization",
    "organisations": "organizations",
    "programme": "program",
    "intl": "international",
}
# Words that describe rather than name: "UKIIC" and "UKIIC Accelerator" are one body.
GENERIC = {
    "accelerator",
    "incubator",
    "center",
    "hub",
    "lab",
    "labs",
    "laboratory",
    "platform",
    "international",
    "global",
    "technology",
    "technologies",
    "tech",
    "network",
    "networks",
    "information",
    "services",
    "service",
    "solutions",
    "consulting",
    "consultancy",
    "trading",
    "development",
    "innovation",
    "enterprise",
    "enterprises",
    "china",
    "sino",
    "uk",
    "british",
    "municipal",
    "city",
}
# Chinese legal forms, longest first.
LEGAL_HAN = (
    "集团股份有限公司",
    "集团有限责任公司",
    "集团有限公司",
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "集团",
    "公司",
)
GENERIC_HAN = (
    "加速器",
    "孵化器",
    "中心",
    "科技",
    "技术",
    "网络",
    "信息",
    "国际",
    "创新",
    "服务",
    "咨询",
    "发展",
    "实业",
    "贸易",
    "控股",
    "中国",
)
# Places that appear in brackets after Chinese company names, in pinyin and English.
_CHINESE_PLACES = (
    "北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 "
    "湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门 "
    "深圳 广州 杭州 宁波 温州 台州 绍兴 嘉兴 湖州 金华 苏州 无锡 常州 南京 合肥 厦门 福州 "
    "泉州 青岛 济南 烟台 大连 沈阳 长春 哈尔滨 成都 武汉 长沙 郑州 西安 昆明 南宁 贵阳 "
    "珠海 东莞 佛山 中山 惠州 南昌 太原 石家庄 兰州 银川 西宁 乌鲁木齐 拉萨 海口 三亚"
)
_OTHER_PLACES = {
    "china",
    "prc",
    "uk",
    "gb",
    "britain",
    "england",
    "scotland",
    "wales",
    "london",
    "usa",
    "us",
    "hong kong",
    "hk",
    "macau",
    "macao",
    "taiwan",
    "chongqing",
    "shaanxi",
    "xian",
    "xi an",
    "inner mongolia",
    # Cities that often qualify an organisation's name abroad.
    "manchester",
    "cambridge",
    "oxford",
    "edinburgh",
    "glasgow",
    "cardiff",
    "bristol",
    "leeds",
    "birmingham",
    "liverpool",
    "belfast",
    "sheffield",
    "nottingham",
    "newcastle",
    "southampton",
    "new york",
    "paris",
    "berlin",
    "munich",
    "tokyo",
    "seoul",
    "singapore",
    "sydney",
    "melbourne",
    "toronto",
    "dubai",
}
_BRACKETS = re.compile(r"[(\[【〔]([^()\[\]【】〔〕]*)[)\]】〕]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_HAN_OR_NOT = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+|[^\u3400-\u9fff\uf900-\ufaff]+")
_NUMBER = re.compile(r"\d+")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9&]{1,11}$")


@lru_cache(maxsize=1)
def _places() -> frozenset[str]:
    """Known places, as joined lowercase Latin ("shenzhen", "zhejiang", "unitedkingdom")."""
    from babel import Locale

    places = {p.replace(" ", "") for p in _OTHER_PLACES}
    for zh in _CHINESE_PLACES.split():
        places.add(pinyin(zh).replace(" ", ""))
    for locale in ("en", "zh_Hans"):
        for name in Locale.parse(locale).territories.values():
            places.add(normalize(name).replace(" ", ""))
    return frozenset(places)


def is_place(text: str, also: frozenset[str] = frozenset()) -> bool:
    """Whether bracketed text names a place: any Chinese text, a known place name, or one
    of `also` (the record's own city)."""
    if _HAN.search(text):
        return True
    joined = normalize(text).replace(" ", "")
    return joined in _places() or joined in also


def _own_places(cities) -> frozenset[str]:
    """A record's city field ("Taizhou, Zhejiang") as joined place names."""
    found = set()
    for city in cities:
        for part in re.split(r"[,，、/]", city or ""):
            joined = normalize(part).replace(" ", "")
            if joined:
                found.add(joined)
    return frozenset(found)


@dataclass(frozen=True)
class Form:
    """One comparable form of one name: script "latin", "han", "pinyin" or "email"."""

    script: str
    text: str
    source: str  # the name as entered, to show why two records look alike

    @property
    def tokens(self) -> list[str]:
        return self.text.split()


@dataclass
class Profile:
    """Everything compared about one record."""

    forms: list[Form] = field(default_factory=list)
    numbers: set[str] = field(default_factory=set)
    places: set[str] = field(default_factory=set)

    def to_json(self) -> dict:
        return {
            "forms": [[f.script, f.text, f.source] for f in self.forms],
            "numbers": sorted(self.numbers),
            "places": sorted(self.places),
        }

    @classmethod
    def from_json(cls, data: dict) -> Profile:
        return cls(
            forms=[Form(*f) for f in data.get("forms", [])],
            numbers=set(data.get("numbers", [])),
            places=set(data.get("places", [])),
        )


def latin_tokens(text: str, *, person: bool = False) -> list[str]:
    """Normalised words of a Latin name, legal forms, stop words and honorifics dropped."""
    words = [SPELLINGS.get(w, w) for w in normalize(text).split()]
    kept = []
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else None
        if word in LEGAL_ANYWHERE or word in STOP_WORDS:
            continue
        if word in ("co", "company") and (following is None or following in _CO_BEFORE):
            continue
        if person and word in HONORIFICS:
            continue
        kept.append(word)
    # Trailing legal forms go, also before a trailing number ("... Group 2").
    while True:
        words = [i for i, w in enumerate(kept) if not w.isdigit()]
        if len(words) > 1 and kept[words[-1]] in LEGAL_TRAILING:
            del kept[words[-1]]
        else:
            return kept


def han_core(text: str) -> str:
    """A Chinese name without legal forms, spaces or punctuation (digits kept)."""
    folded = normalize(text).replace(" ", "")
    for legal in LEGAL_HAN:
        folded = folded.replace(legal, "")
    return folded


def profile_of(
    names: list[str | None],
    *,
    emails: list[str | None] = (),
    cities: list[str | None] = (),
    person: bool = False,
) -> Profile:
    """The comparable forms of a record's names (English, Chinese, other names); `cities`
    (the record's city field) also count as places when bracketed in a name."""
    profile = Profile()
    own_places = _own_places(cities)
    seen: set[tuple[str, str]] = set()

    def add(script: str, text: str, source: str) -> None:
        if text and (script, text) not in seen:
            seen.add((script, text))
            profile.forms.append(Form(script, text, source))

    for raw in names:
        if not raw or not raw.strip():
            continue
        name = unicodedata.normalize("NFKC", raw).strip()
        rest = name
        extra: list[str] = []
        han_name = bool(_HAN.search(_BRACKETS.sub("", name)))
        for match in _BRACKETS.finditer(name):
            inner = match.group(1).strip()
            if not inner:
                continue
            if is_place(inner, own_places):
                profile.places.add(
                    pinyin(inner).replace(" ", "")
                    if _HAN.search(inner)
                    else normalize(inner).replace(" ", "")
                )
                rest = rest.replace(match.group(0), " ")
            elif _ACRONYM.match(inner) or (han_name and not _HAN.search(inner)):
                extra.append(inner)
                rest = rest.replace(match.group(0), " ")
        profile.numbers.update(_NUMBER.findall(normalize(rest)))
        if _HAN.search(rest):
            core = han_core(rest)
            add("han", core, raw)
            spoken = " ".join(
                pinyin(part) if _HAN.search(part) else part for part in _HAN_OR_NOT.findall(core)
            )
            add("pinyin", " ".join(spoken.split()), raw)
        else:
            add("latin", " ".join(latin_tokens(rest, person=person)), raw)
        for inner in extra:
            add("latin", " ".join(latin_tokens(inner, person=person)), raw)
    for email in emails:
        if email and "@" in email:
            add("email", email.strip().casefold(), email)
    return profile


# --- blocking keys ------------------------------------------------------------------------


def keys_of(profile: Profile) -> set[str]:
    """The blocking keys of a record: records are compared only when they share one.

    Each distinctive word ("w:ekoo"), the sorted words run together ("j:liuxian", so
    "Liu Xian", "Xian Liu", "Liuxian" and 刘贤 share it), pairs of Chinese characters
    ("h:艺库") and the whole Chinese core ("hj:中英艺库网络科技"), and emails.
    """
    keys: set[str] = set()
    for form in profile.forms:
        if form.script in ("latin", "pinyin"):
            tokens = form.tokens
            keys.add("j:" + "".join(sorted(tokens))[:120])
            if form.script == "latin":
                keys.update(
                    "w:" + t[:60] for t in tokens if len(t) >= 3 or (t.isdigit() and len(t) >= 2)
                )
        elif form.script == "han":
            text = form.text
            keys.add("hj:" + text[:120])
            keys.update("h:" + text[i : i + 2] for i in range(len(text) - 1))
        elif form.script == "email":
            keys.add("e:" + form.text[:200])
    return keys


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """Why two records look alike: the score and the two names that met."""

    score: int
    how: str  # "same", "similar", "generic", "pinyin", "email"
    a: str
    b: str
    place: str = ""

    def to_json(self) -> dict:
        return {"how": self.how, "a": self.a, "b": self.b, "place": self.place}


def _token_share(a: list[str], b: list[str]) -> float:
    """How much of both sides' word length is shared (typo-level word matches count)."""
    total = sum(map(len, a)) + sum(map(len, b))
    if not total:
        return 0.0
    unused = list(b)
    shared = 0.0
    for word in sorted(a, key=len, reverse=True):
        best, best_i = 0.0, -1
        for i, other in enumerate(unused):
            ratio = 100.0 if word == other else fuzz.ratio(word, other)
            if ratio > best:
                best, best_i = ratio, i
        if best >= 80:
            shared += (len(word) + len(unused[best_i])) * best / 100
            unused.pop(best_i)
    return 100 * shared / total


def _only_generic(words: list[str]) -> bool:
    return bool(words) and all(w in GENERIC for w in words)


def _han_only_generic(text: str) -> bool:
    if not text:
        return False
    rest = text
    for word in GENERIC_HAN:
        rest = rest.replace(word, "")
    return not rest


def _latin_score(a: Form, b: Form) -> tuple[float, str]:
    ta, tb = a.tokens, b.tokens
    if not ta or not tb:
        return 0.0, ""
    if sorted(ta) == sorted(tb) or "".join(sorted(ta)) == "".join(sorted(tb)):
        return 100.0, "same"
    sa, sb = set(ta), set(tb)
    if sa < sb or sb < sa:
        extra = list((sb - sa) if sa < sb else (sa - sb))
        if _only_generic(extra):
            return 95.0, "generic"
        # One name plus more words: usually a unit of the other, not the same body.
        cap = 75.0
    else:
        cap = 100.0
    score = (fuzz.token_sort_ratio(a.text, b.text) + _token_share(ta, tb)) / 2
    return min(score, cap), "similar"


def _han_score(a: Form, b: Form) -> tuple[float, str]:
    x, y = a.text, b.text
    if x == y:
        return 100.0, "same"
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    if short and short in long_:
        extra = long_.replace(short, "", 1)
        if _han_only_generic(extra):
            return 95.0, "generic"
        return min(fuzz.ratio(x, y), 75.0), "similar"
    return fuzz.ratio(x, y), "similar"


def compare(pa: Profile, pb: Profile, *, person: bool = False) -> Match | None:
    """The best match between two records' names, or None when they are clearly apart."""
    if pa.numbers and pb.numbers and not (pa.numbers & pb.numbers):
        return None  # "Branch 1" and "Branch 2", "Wang Wei 12" and "Wang Wei 57"
    best: tuple[float, str, Form, Form] | None = None
    for fa in pa.forms:
        for fb in pb.forms:
            scripts = {fa.script, fb.script}
            if scripts == {"email"}:
                score, how = (100.0, "email") if fa.text == fb.text else (0.0, "")
            elif "email" in scripts or "han" in scripts and scripts != {"han"}:
                continue
            elif scripts == {"han"}:
                score, how = _han_score(fa, fb)
            elif scripts == {"pinyin"}:
                # The same sounds written with other characters: often a typing slip.
                score, how = _latin_score(fa, fb)
                score, how = min(score, 85.0), "pinyin"
            else:
                score, how = _latin_score(fa, fb)
                if "pinyin" in scripts and how == "same":
                    how = "pinyin"
            if best is None or score > best[0]:
                best = (score, how, fa, fb)
    if best is None or best[0] <= 0:
        return None
    score, how, fa, fb = best
    place = ""
    shared_places = pa.places & pb.places
    if shared_places and how == "similar":
        place = sorted(shared_places)[0]
        score = min(100.0, score + 5)
    if person and how != "email":
        # Many people share a name (张敏, Wang Wei): a name alone never makes it certain,
        # and two different addresses make it less likely still.
        score = min(score, PERSON_NAME_CAP)
        emails_a = {f.text for f in pa.forms if f.script == "email"}
        emails_b = {f.text for f in pb.forms if f.script == "email"}
        if emails_a and emails_b and not emails_a & emails_b:
            score -= 10
    return Match(round(score), how, fa.source, fb.source, place)
