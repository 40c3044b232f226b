"""The bounded-cost search index: results and order equal a reference computed in Python
over every row; `search_key` equals its recomputation after every kind of write (ORM,
bulk Core inserts, imports, archive, restore, merge, delete); each tier is read from an
index. Runs on SQLite and on PostgreSQL (CRM_TEST_DATABASE_URL)."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import insert, select, text, update

from crm import create_app
from crm.db import db, utcnow
from crm.partners.models import Partner, PartnerName
from crm.search.index import (
    KEY_TABLE,
    TIER_NAME,
    TIER_WORD,
    WORD_KEY,
    search_keys,
    table_number,
)
from crm.search.queries import KINDS, clean_query, hits_statement, query_path, search_kind
from crm.text import search_blob
from tests.duplicates.story import split_ekoo_story
from tests.duplicates.test_merge import merge_now
from tests.factories import make_contact, make_partner
from tests.imports import flow
from tests.querycount import count_statements
from tests.test_migrations import MIGRATIONS, scratch_url  # noqa: F401  (fixture)

from .test_search import make_activity


def expected_keys() -> set[tuple]:
    """search_key as it should be: the keys of every live row, recomputed in Python."""
    keys = set()
    for kind in KINDS:
        model = kind.model
        t = table_number(model.__tablename__)
        rows = db.session.execute(
            select(model.id, model.search_text).where(model.archived_at.is_(None))
        )
        for record_id, search_text in rows:
            keys.update((t, tier, key, record_id) for tier, key in search_keys(search_text))
    return keys


def stored_keys() -> set[tuple]:
    rows = db.session.execute(text(f"SELECT tbl, tier, key, record_id FROM {KEY_TABLE}"))  # noqa: S608
    return {tuple(row) for row in rows}


def assert_keys_current():
    db.session.expire_all()
    expected, stored = expected_keys(), stored_keys()
    assert stored == expected, (sorted(stored - expected)[:10], sorted(expected - stored)[:10])


def reference(model, q: str, limit: int) -> list[int]:
    """The ranking, by brute force over every live row: contains q; best of (whole name
    starting with q, by name), (later word starting with q, by its key), anywhere; id."""
    ranked = []
    rows = db.session.execute(
        select(model.id, model.search_text).where(model.archived_at.is_(None))
    )
    for record_id, search_text in rows:
        if q not in search_text:
            continue
        best = (2, "")
        for tier, key in search_keys(search_text):
            read = tier == TIER_NAME or (tier == TIER_WORD and len(q) <= WORD_KEY)
            if read and key.startswith(q):
                best = min(best, (tier, key))
        ranked.append((*best, record_id))
    return [row[-1] for row in sorted(ranked)[:limit]]


@pytest.fixture
def synthetic(app, users):
    """`flask demo --scale 60` (bulk Core inserts) plus a few hand-made records."""
    result = app.test_cli_runner().invoke(args=["demo", "--scale", "60"])
    assert result.exit_code == 0, result.output
    port = make_partner("Port", name_zh="港口")
    make_partner("Portsmouth Council")
    make_partner("Tilbury Port Authority")
    make_partner("Airport Services", name_zh="机场服务")
    # One record holding many names with the same prefix (the tier LIMIT must not lose
    # the records behind it).
    for i in range(12):
        port.other_names.append(PartnerName(name=f"Port {i}", kind="alias"))
    port.refresh_derived()
    make_contact("Liu Xian", name_zh="刘贤", email="sharon@tzbay.example")
    make_activity("Signing ceremony in Taizhou", location="台州")
    db.session.commit()


QUERIES = [
    # English words, parts of words, several words, long queries.
    "port",
    "po",
    "p",
    "taizhou",
    "tai",
    "zh",
    "university",
    "ersit",
    "technology co ltd",
    "smart manufacturing technology co ltd",  # longer than a word key
    "partners",
    "1",
    "12",
    "qx",
    # pinyin, spaced and joined
    "liu xian",
    "liuxian",
    "shen zhen",
    "zhineng",
    # Chinese: one, two, three and more characters
    "刘",
    "州",
    "台州",
    "科技",
    "有限公司",
    "研究院",
    "港口",
    # case, width and punctuation
    "ＰＯＲＴ",
    "Port-Authority!",
    "sharon@tzbay.example",
]


@pytest.mark.parametrize("limit", [1, 3, 20])
def test_results_and_order_equal_the_brute_force_reference(synthetic, limit):
    for raw in QUERIES:
        q = clean_query(raw)
        for kind in KINDS:
            group = search_kind(kind, q, limit)
            expected = reference(kind.model, q, limit + 1)
            assert [r.id for r in group.records] == expected[:limit], (raw, kind.key)
            assert group.more == (len(expected) > limit), (raw, kind.key)


def test_one_and_two_chinese_characters_return_exactly_the_records_containing_them(synthetic):
    for q in ["刘", "州", "台州", "科技", "港", "机场", "服"]:
        for kind in KINDS:
            model = kind.model
            got = {r.id for r in search_kind(kind, q, limit=100_000).records}
            containing = set(
                db.session.scalars(
                    select(model.id).where(
                        model.archived_at.is_(None), model.search_text.contains(q)
                    )
                )
            )
            assert got == containing, (q, kind.key)
    assert search_kind(KINDS[0], "州", limit=100_000).records  # the demo data has some


def test_keys_follow_bulk_inserts_orm_writes_archive_restore_and_delete(synthetic, users):
    assert_keys_current()
    partner = db.session.scalars(select(Partner).order_by(Partner.id)).first()
    partner.name_zh = "宁波职业技术学院"
    partner.other_names.append(PartnerName(name="NBPT Polytechnic", kind="abbreviation"))
    partner.refresh_derived()
    db.session.commit()
    assert_keys_current()
    assert [r.id for r in search_kind(KINDS[0], "职业", 5).records] == [partner.id]
    partner.archive(users["staff"])
    db.session.commit()
    assert_keys_current()
    assert search_kind(KINDS[0], "职业", 5).records == []
    partner.restore(users["staff"])
    db.session.commit()
    assert_keys_current()
    # A Core update and a bulk Core insert, bypassing the ORM.
    db.session.execute(
        update(Partner.__table__)
        .where(Partner.id == partner.id)
        .values(search_text=search_blob(["Quokka Holdings", "袋鼠控股"]))
    )
    db.session.execute(
        insert(Partner.__table__),
        [
            {
                "name_en": f"Bulk {i}",
                "kind": "company",
                "status": "active",
                "sort_name": f"bulk {i}",
                "search_text": search_blob([f"Bulk Wombat {i}", "袋熊"]),
                "version_id": 1,
                "created_at": partner.created_at,
                "updated_at": partner.created_at,
            }
            for i in range(5)
        ],
    )
    db.session.commit()
    assert_keys_current()
    assert [r.id for r in search_kind(KINDS[0], "袋鼠", 5).records] == [partner.id]
    assert len(search_kind(KINDS[0], "袋熊", 20).records) == 5
    bulk = search_kind(KINDS[0], "袋熊", 20).records[0]
    db.session.delete(bulk)
    db.session.commit()
    assert_keys_current()
    assert bulk.id not in [r.id for r in search_kind(KINDS[0], "袋熊", 20).records]


def test_keys_follow_an_import(staff_client, users):
    make_partner("UKIIC", name_zh="英国国际创新中心")
    db.session.commit()
    rows = "姓名,中文名,邮箱,单位\nWang Wei,王伟,wang@example.org,UKIIC\nZhao Lei,赵磊,,New Org\n"
    imp = flow.full_import(staff_client, "contact", rows.encode(), "contacts.csv")
    assert imp.status == "done"
    assert_keys_current()
    contacts = search_kind(KINDS[1], "王", 5).records
    assert [c.name for c in contacts] == ["Wang Wei"]
    assert [p.name_en for p in search_kind(KINDS[0], "new org", 5).records] == ["New Org"]


def test_keys_follow_a_merge(app, users):
    story = split_ekoo_story(users["staff"])
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]
    merge_now("partner", ekoo, twin, users["manager"])
    assert_keys_current()
    found = [r.id for r in search_kind(KINDS[0], clean_query(twin.name_en), 20).records]
    assert ekoo.id in found and twin.id not in found


def test_each_search_sends_a_bounded_number_of_statements(app, synthetic):
    counts = {}
    for raw in ["taizhou", "台州", "刘", "zzzzzz", "port", "qx"]:
        with count_statements(app) as log:
            groups = [search_kind(kind, clean_query(raw)) for kind in KINDS]
        counts[raw] = log.count
        # One statement gathers the tiers of a kind; one loads the records shown, if any.
        assert log.count == len(KINDS) + sum(bool(g.records) for g in groups), log


def _plan(statement, params) -> str:
    dialect = db.engine.dialect
    bound = statement.params(**params)
    sql = str(bound.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    return "\n".join(str(row[-1]) for row in db.session.execute(text(prefix + sql)))


def test_tiers_read_indexes_not_the_whole_table(app, synthetic):
    dialect = db.engine.dialect.name
    for raw in ["taizhou", "台州", "刘", "port"]:
        q = clean_query(raw)
        statement, params = hits_statement(KINDS[0], q, {0: 63, 1: 63, 2: 21}, dialect)
        plan = _plan(statement, params)
        if dialect == "sqlite":
            assert "SCAN partner\n" not in plan + "\n" and "TEMP B-TREE" not in plan, plan
            assert plan.count("USING PRIMARY KEY") >= 2, plan
        else:
            assert "search_key_pkey" in plan, plan
    assert query_path("台州", dialect) == query_path("刘", dialect) == "gram"
    assert query_path("taizhou", dialect) == ("fts" if dialect == "sqlite" else "like")
    assert query_path("po", dialect) == "like"


def test_migration_fills_the_keys_of_existing_rows(scratch_url, tmp_path):  # noqa: F811
    from tests.conftest import make_overrides

    app = create_app(make_overrides(scratch_url, tmp_path))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="d5b2f3c4e5a6")
        now = utcnow()
        db.session.execute(
            insert(Partner.__table__),
            [
                {
                    "name_en": name,
                    "kind": "company",
                    "status": "active",
                    "sort_name": name.casefold(),
                    "search_text": search_blob([name, zh]),
                    "version_id": 1,
                    "created_at": now,
                    "updated_at": now,
                    "archived_at": archived,
                }
                for name, zh, archived in [
                    ("Taizhou Bay Committee", "台州湾管委会", None),
                    ("Old Taizhou Office", "台州旧办公室", now),
                ]
            ],
        )
        db.session.commit()
        upgrade(directory=MIGRATIONS)
        assert_keys_current()
        assert len(stored_keys()) > 10
        found = search_kind(KINDS[0], "台州", 10).records
        assert [p.name_en for p in found] == ["Taizhou Bay Committee"]
        db.session.remove()
        db.engine.dispose()
