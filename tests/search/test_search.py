"""Search: English, Chinese, pinyin, other names, emails; ranking; the index kept current;
a fixed number of statements. Runs on SQLite and on PostgreSQL (CRM_TEST_DATABASE_URL)."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from crm.activities.models import Activity
from crm.db import db
from crm.partners.models import Partner, PartnerName
from crm.search.queries import KINDS, clean_query, search, search_kind
from crm.text import like_pattern
from tests.factories import make_agreement, make_contact, make_partner, make_project
from tests.querycount import count_statements


def make_activity(title, location=None):
    activity = Activity(
        title=title, kind="meeting", location=location, occurred_at=datetime(2021, 5, 6, tzinfo=UTC)
    )
    activity.refresh_derived()
    db.session.add(activity)
    db.session.flush()
    return activity


@pytest.fixture
def records(app):
    taizhou = make_partner(
        "Taizhou Bay New Area Administrative Committee", name_zh="台州湾新区管理委员会"
    )
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心")
    ukiic.other_names.append(
        PartnerName(name="British International Innovation Center", kind="translation")
    )
    ukiic.refresh_derived()
    other = make_partner("Zhejiang University", name_zh="浙江大学")
    liu_xian = make_contact("Sharon X.", name_zh="刘贤", email="sharon@tzbay.example")
    liu_ming = make_contact("M. Liu", name_zh="刘明")
    chen = make_contact("Chen Wei", name_zh="陈伟")
    mou = make_agreement("Memorandum of Understanding on Innovation", title_zh="创新合作备忘录")
    project = make_project("Talent Exchange Programme", name_zh="人才交流项目")
    meeting = make_activity("Signing ceremony in Taizhou", location="台州")
    db.session.commit()
    return {
        "taizhou": taizhou,
        "ukiic": ukiic,
        "other": other,
        "liu_xian": liu_xian,
        "liu_ming": liu_ming,
        "chen": chen,
        "mou": mou,
        "project": project,
        "meeting": meeting,
    }


def found(query, limit=20):
    """{kind key: [record ids]} for a raw query, every kind listed."""
    return {g.kind.key: [r.id for r in g.records] for g in search(clean_query(query), limit)}


def ids(query, key, limit=20):
    return found(query, limit).get(key, [])


# --- matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["Taizhou Bay", "administrative", "TAIZHOU BAY", "taizhou-bay!", "Bay New"]
)
def test_english_names_any_case_and_punctuation(records, query):
    assert ids(query, "partners") == [records["taizhou"].id]


@pytest.mark.parametrize("query", ["ＵＫＩＩＣ", "ukiic", "UkIiC", "ＵＫＩＩＣ!!"])
def test_full_width_and_case(records, query):
    assert ids(query, "partners") == [records["ukiic"].id]


def test_other_names(records):
    assert ids("British International", "partners") == [records["ukiic"].id]
    assert ids("innovation center", "partners") == [records["ukiic"].id]


def test_chinese_one_character_returns_exactly_the_records_containing_it(records):
    assert sorted(ids("刘", "contacts")) == sorted([records["liu_xian"].id, records["liu_ming"].id])
    result = found("刘")
    assert all(not v for k, v in result.items() if k != "contacts")


def test_chinese_two_characters(records):
    result = found("台州")
    assert result["partners"] == [records["taizhou"].id]
    assert result["activities"] == [records["meeting"].id]
    assert result["contacts"] == result["agreements"] == result["projects"] == []
    assert ids("刘贤", "contacts") == [records["liu_xian"].id]
    assert ids("创新", "agreements") == [records["mou"].id]
    # 创新 is also in UKIIC's Chinese name.
    assert ids("创新", "partners") == [records["ukiic"].id]


def test_chinese_three_and_more_characters(records):
    assert ids("管理委员会", "partners") == [records["taizhou"].id]
    assert ids("台州湾新区管理委员会", "partners") == [records["taizhou"].id]
    assert ids("人才交流", "projects") == [records["project"].id]
    assert ids("英国国际", "partners") == [records["ukiic"].id]
    assert ids("英国国际创新中心x", "partners") == []


@pytest.mark.parametrize("query", ["taizhou", "tai zhou", "TaiZhou", "taizhouwan"])
def test_pinyin_finds_chinese_names(records, query):
    assert ids(query, "partners") == [records["taizhou"].id]


@pytest.mark.parametrize("query", ["liu xian", "liuxian", "Liu Xian", "LIUXIAN"])
def test_pinyin_spaced_and_joined_find_a_contact(records, query):
    assert ids(query, "contacts") == [records["liu_xian"].id]


def test_email_and_parts_of_words(records):
    assert ids("sharon@tzbay.example", "contacts") == [records["liu_xian"].id]
    assert ids("tzbay", "contacts") == [records["liu_xian"].id]
    assert ids("ndersta", "agreements") == [records["mou"].id]
    assert ids("xchang", "projects") == [records["project"].id]
    assert ids("ceremony", "activities") == [records["meeting"].id]


def test_short_latin_queries_use_the_plain_path(records):
    assert ids("uk", "partners") == [records["ukiic"].id]
    assert sorted(ids("w", "contacts")) == [records["chen"].id]  # "chen wei"


def test_prefix_ranks_above_inside_a_word(app):
    inside = make_partner("Airport Services")
    word = make_partner("Tilbury Port Authority")
    prefix = make_partner("Portsmouth Council")
    exact = make_partner("Port")
    db.session.commit()
    assert ids("port", "partners") == [exact.id, prefix.id, word.id, inside.id]
    assert ids("po", "partners") == [exact.id, prefix.id, word.id, inside.id]


def test_archived_records_are_excluded(records, users):
    records["taizhou"].archive(users["staff"])
    records["liu_xian"].archive(users["staff"])
    db.session.commit()
    assert ids("taizhou", "partners") == []
    assert ids("台州", "partners") == []
    assert ids("刘", "contacts") == [records["liu_ming"].id]
    assert ids("liu xian", "contacts") == []
    records["taizhou"].restore(users["staff"])
    db.session.commit()
    assert ids("taizhou", "partners") == [records["taizhou"].id]


def test_no_match_and_odd_queries(records):
    for query in ["", "   ", "!!!", "zzzzzz", 'a"b', "AND OR NOT", "NEAR(a b)", "%_%", "x" * 500]:
        result = found(query)
        assert all(not v for v in result.values()), query


# --- the index kept current -------------------------------------------------------------


def test_index_follows_an_update(records):
    partner = records["other"]
    partner.name_en = "Ningbo Polytechnic"
    partner.name_zh = "宁波职业技术学院"
    partner.refresh_derived()
    db.session.commit()
    assert ids("zhejiang", "partners") == []
    assert ids("浙江大学", "partners") == []
    assert ids("polytechnic", "partners") == [partner.id]
    assert ids("ningbo", "partners") == [partner.id]
    assert ids("职业技术", "partners") == [partner.id]


def test_index_follows_a_delete(app):
    partner = make_partner("Ephemeral Holdings")
    db.session.commit()
    assert ids("ephemeral", "partners") == [partner.id]
    db.session.delete(partner)
    db.session.commit()
    assert ids("ephemeral", "partners") == []


def like_ids(model, q):
    """The reference answer: a plain LIKE on the base table, live records only."""
    return set(
        db.session.scalars(
            select(model.id).where(
                model.archived_at.is_(None),
                model.search_text.like(like_pattern(q), escape="\\"),
            )
        )
    )


def test_bulk_insert_is_indexed_and_agrees_with_like(app, users):
    result = app.test_cli_runner().invoke(args=["demo", "--scale", "50"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    partner = db.session.scalars(select(Partner).order_by(Partner.id.desc())).first()
    assert partner.id in ids(partner.name_en, "partners")
    # Archive one through the ORM; it leaves the results, the rest stay.
    archived = db.session.scalars(select(Partner).order_by(Partner.id)).first()
    archived.archive(users["staff"])
    db.session.commit()
    queries = ["partners", "tech", "university", "zhou", "shen zhen", "深圳", "科技", "大学"]
    queries += ["有限公司", "ukiic", "英国", "liu", "innovation", "台州", "ho", "an"]
    for q in queries:
        q = clean_query(q)
        for kind in KINDS:
            got = {r.id for r in search_kind(kind, q, limit=10_000).records}
            assert got == like_ids(kind.model, q), (q, kind.key)
            assert archived.id not in got or kind.key != "partners"


# --- the page ---------------------------------------------------------------------------


def test_results_page_groups_and_links(staff_client, records):
    response = staff_client.get("/search?q=taizhou")
    assert response.status_code == 200
    html = response.text
    assert 'id="search-partners"' in html and 'id="search-activities"' in html
    assert f'href="/partners/{records["taizhou"].id}"' in html
    assert f'href="/activities/{records["meeting"].id}"' in html
    assert 'id="search-contacts"' not in html
    response = staff_client.get("/search?q=liuxian")
    assert f'href="/contacts/{records["liu_xian"].id}"' in response.text
    response = staff_client.get("/search?q=memorandum")
    assert f'href="/agreements/{records["mou"].id}"' in response.text
    response = staff_client.get("/search?q=talent")
    assert f'href="/projects/{records["project"].id}"' in response.text


def test_more_link_when_a_group_is_full(staff_client, app):
    for i in range(21):
        make_partner(f"Harbour Trust {i}")
    db.session.commit()
    html = staff_client.get("/search?q=harbour").text
    assert len(re.findall(r'href="/partners/\d+"', html)) == 20
    assert 'href="/partners/?q=harbour"' in html


def test_query_html_is_escaped(staff_client, records):
    response = staff_client.get("/search", query_string={"q": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


@pytest.mark.parametrize("query", ["", " ", "x" * 500, "台" * 500, '"', "*", "%", "'; --"])
def test_odd_queries_never_error(staff_client, records, query):
    assert staff_client.get("/search", query_string={"q": query}).status_code == 200


def test_statement_count_is_fixed(app, staff_client, records):
    staff_client.get("/search?q=warmup")
    counts = {}
    for query in ["taizhou", "台州", "刘", "zzzzzz", "partner"]:
        with count_statements(app) as log:
            assert staff_client.get("/search", query_string={"q": query}).status_code == 200
        counts[query] = log.count
        # One statement per kind reads the tiers (search_key, the trigram index, or the
        # bounded scan); one more per kind with results loads them.
        searching = [s for s in log.statements if "anon_1.rank" in s]
        assert len(searching) == len(KINDS), log
    for query in ["taizhou", "刘"]:
        kinds_found = sum(bool(ids) for ids in found(query).values())
        assert counts[query] == counts["zzzzzz"] + kinds_found, (query, counts)
    # More matching records: the same statements.
    after = []
    for batch in range(2):
        for i in range(30):
            make_partner(f"Partner extra {batch} {i}")
        db.session.commit()
        with count_statements(app) as log:
            staff_client.get("/search?q=partner")
        after.append(log.count)
    assert after == [counts["zzzzzz"] + 1] * 2, (after, counts)


def test_requires_sign_in(client, users):
    response = client.get("/search?q=x")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_navbar_search_box(staff_client, client, users):
    html = staff_client.get("/").text
    assert "data-search-box" in html and 'action="/search"' in html
    assert "data-search-box" not in client.get("/login").text


def test_paths_trigram_for_three_characters_keys_for_one_or_two_chinese(app, staff_client, records):
    dialect = db.engine.dialect.name
    with count_statements(app) as long_query:
        staff_client.get("/search?q=taizhou")
    with count_statements(app) as short_query:
        staff_client.get("/search?q=台州")
    with count_statements(app) as latin_query:
        staff_client.get("/search?q=ta")
    if dialect == "sqlite":
        assert sum("_fts MATCH" in s for s in long_query.statements) == len(KINDS)
    else:
        assert sum("LIKE" in s for s in long_query.statements) == len(KINDS)
    assert not any("MATCH" in s or "LIKE" in s for s in short_query.statements)
    assert sum("search_key" in s for s in short_query.statements) == len(KINDS)
    assert sum("LIMIT" in s and "LIKE" in s for s in latin_query.statements) == len(KINDS)


# Exact results and order, the same on SQLite and PostgreSQL: rank by whole name, then a
# name starting with the query (by name), then a later word starting with it, then any
# match (by id).
EXPECTED = [
    ("Taizhou Bay", {"partners": ["taizhou"]}),
    ("taizhou", {"partners": ["taizhou"], "activities": ["meeting"]}),
    ("TaiZhou", {"partners": ["taizhou"], "activities": ["meeting"]}),
    ("台州", {"partners": ["taizhou"], "activities": ["meeting"]}),
    ("台", {"partners": ["taizhou"], "activities": ["meeting"]}),
    ("台州湾新区管理委员会", {"partners": ["taizhou"]}),
    ("管理委员会", {"partners": ["taizhou"]}),
    # 刘明 sorts before 刘贤 (U+660E < U+8D24); "liu ming" before "liu xian".
    ("刘", {"contacts": ["liu_ming", "liu_xian"]}),
    # The project's pinyin "ren cai jiao liu xiang mu" holds "liu" and "liu xian" too.
    ("liu", {"contacts": ["liu_ming", "liu_xian"], "projects": ["project"]}),
    ("liu xian", {"contacts": ["liu_xian"], "projects": ["project"]}),
    ("LiuXian", {"contacts": ["liu_xian"], "projects": ["project"]}),
    ("刘贤", {"contacts": ["liu_xian"]}),
    ("创新", {"partners": ["ukiic"], "agreements": ["mou"]}),
    ("innovation", {"partners": ["ukiic"], "agreements": ["mou"]}),
    ("British International", {"partners": ["ukiic"]}),
    ("ＵＫＩＩＣ", {"partners": ["ukiic"]}),
    ("u.k.i.i.c", {}),  # punctuation becomes a space: "u k i i c" is in no name
    ("ukiic!!", {"partners": ["ukiic"]}),
    ("ndersta", {"agreements": ["mou"]}),
    ("sharon@tzbay.example", {"contacts": ["liu_xian"]}),
    ("tzbay", {"contacts": ["liu_xian"]}),
    ("人才", {"projects": ["project"]}),
    # A whole name starting with "zh" (zhejiang university), then the words "zhong xin"
    # (UKIIC's pinyin) and "zhou wan ..." (Taizhou's), by key.
    ("zh", {"partners": ["other", "ukiic", "taizhou"], "activities": ["meeting"]}),
    ("陈伟", {"contacts": ["chen"]}),
    # Words starting with w: "wan xin qu ..." (pinyin), "wei", "wang lu" (pinyin).
    ("w", {"partners": ["taizhou"], "contacts": ["chen"], "agreements": ["mou"]}),
]


@pytest.mark.parametrize(("query", "expected"), EXPECTED)
def test_exact_results_and_order(records, query, expected):
    result = found(query)
    wanted = {key: [records[name].id for name in names] for key, names in expected.items()}
    assert {k: v for k, v in result.items() if v} == wanted
