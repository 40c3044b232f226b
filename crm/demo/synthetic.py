"""Synthetic demo data at scale: `add_synthetic(n)` bulk-inserts n partners with
proportional contacts, agreements, projects (with outcome indicators and reported
actuals) and activities, by SQLAlchemy Core inserts with explicit ids;
`synthetic_partner_rows` makes the partner rows (bench/search.py uses them too).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text

from crm.activities.models import Activity, activity_partner
from crm.agreements.models import Agreement, AgreementParty
from crm.audit.trail import record_bulk
from crm.contacts.models import Contact, Position
from crm.db import db, utcnow
from crm.demo.story import indicator_kinds_by_code
from crm.partners.models import Partner
from crm.projects.models import (
    Indicator,
    IndicatorActual,
    Project,
    ProjectPartner,
    project_agreement,
)
from crm.text import pinyin, search_blob

CITIES = [
    ("Taizhou", "台州"),
    ("Ningbo", "宁波"),
    ("Hangzhou", "杭州"),
    ("Wenzhou", "温州"),
    ("Shenzhen", "深圳"),
    ("Suzhou", "苏州"),
    ("Wuxi", "无锡"),
    ("Hefei", "合肥"),
    ("Chengdu", "成都"),
    ("Xiamen", "厦门"),
    ("Qingdao", "青岛"),
    ("Dalian", "大连"),
]
FIELDS = [
    ("Smart Manufacturing", "智能制造"),
    ("Biomedicine", "生物医药"),
    ("New Materials", "新材料"),
    ("Clean Energy", "清洁能源"),
    ("Robotics", "机器人"),
    ("Digital Health", "数字健康"),
    ("Semiconductors", "半导体"),
    ("Education", "教育"),
    ("Logistics", "物流"),
    ("Photonics", "光电"),
]
SUFFIXES = [
    ("Technology Co., Ltd", "科技有限公司", "company"),
    ("Research Institute", "研究院", "research"),
    ("Investment Fund", "投资基金", "investor"),
    ("Industry Association", "行业协会", "association"),
    ("Bureau", "局", "government"),
    ("University", "大学", "university"),
]
UK = ["Oxford", "Cambridge", "Manchester", "Bristol", "Leeds", "Glasgow", "Cardiff"]
SURNAMES = [
    ("Wang", "王"),
    ("Li", "李"),
    ("Zhang", "张"),
    ("Liu", "刘"),
    ("Chen", "陈"),
    ("Zhao", "赵"),
    ("Zhou", "周"),
    ("Wu", "吴"),
]
GIVEN = [
    ("Wei", "伟"),
    ("Fang", "芳"),
    ("Min", "敏"),
    ("Jing", "静"),
    ("Lei", "磊"),
    ("Yang", "洋"),
    ("Yan", "艳"),
    ("Jun", "军"),
    ("Hua", "华"),
]


def _next_id(model) -> int:
    return (db.session.scalar(select(func.max(model.id))) or 0) + 1


def _bulk(table, rows, batch=10_000):
    for i in range(0, len(rows), batch):
        db.session.execute(insert(table), rows[i : i + batch])


def _reset_sequences(*tables):
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        # Table names come from this module's own list, never from input.
        db.session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
            )
        )


def synthetic_partner_rows(rng, first_id: int, count: int, now, py) -> list[dict]:
    """`count` partner rows with ids from `first_id`: a quarter British companies, the rest
    Chinese partners with bilingual names and pinyin in their search text (`py` gives the
    pinyin of a Chinese word, cached by the caller)."""
    rows = []
    for i in range(count):
        pid = first_id + i
        if rng.random() < 0.25:
            place = rng.choice(UK)
            field_en, _ = rng.choice(FIELDS)
            en, zh, kind, country, city = (
                f"{place} {field_en} Partners {pid}",
                None,
                "company",
                "GB",
                place,
            )
            blob = search_blob([en])
        else:
            (city_en, city_zh), (field_en, field_zh) = rng.choice(CITIES), rng.choice(FIELDS)
            suffix_en, suffix_zh, kind = rng.choice(SUFFIXES)
            en = f"{city_en} {field_en} {suffix_en} {pid}"
            zh = f"{city_zh}{field_zh}{suffix_zh}{pid}"
            country, city = "CN", city_en
            zh_py = " ".join([py(city_zh), py(field_zh), py(suffix_zh), str(pid)])
            blob = search_blob([en, zh], {zh: zh_py})
        rows.append(
            {
                "id": pid,
                "name_en": en,
                "name_zh": zh,
                "kind": kind,
                "status": rng.choice(["prospect", "active", "active", "dormant", "ended"]),
                "country": country,
                "city": city,
                "sort_name": en.casefold(),
                "search_text": blob,
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
        )
    return rows


def add_synthetic(n: int, seed: int = 2021, agreements: int | None = None) -> dict[str, int]:
    """Bulk-insert n partners, n contacts, n/2 agreements (or `agreements`), n/5 projects
    with outcome indicators and reported actuals, and n/2 activities (Core inserts)."""
    rng = random.Random(seed)
    agreement_count = max(1, n // 2) if agreements is None else agreements
    now = utcnow()
    cache = {}

    def py(zh):
        if zh not in cache:
            cache[zh] = pinyin(zh)
        return cache[zh]

    first_partner = _next_id(Partner)
    partners = synthetic_partner_rows(rng, first_partner, n, now, py)
    _bulk(Partner.__table__, partners)

    first_contact = _next_id(Contact)
    contacts, positions = [], []
    first_position = _next_id(Position)
    for i in range(n):
        cid = first_contact + i
        (s_en, s_zh), (g_en, g_zh) = rng.choice(SURNAMES), rng.choice(GIVEN)
        name, name_zh = f"{s_en} {g_en} {cid}", f"{s_zh}{g_zh}"
        blob = search_blob([name, name_zh], {name_zh: f"{py(s_zh)} {py(g_zh)}"})
        contacts.append(
            {
                "id": cid,
                "name": name,
                "name_zh": name_zh,
                "sort_name": name.casefold(),
                "search_text": blob,
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
        )
        positions.append(
            {
                "id": first_position + i,
                "contact_id": cid,
                "partner_id": first_partner + rng.randrange(n),
                "title": "Director",
                "start_date": date(2015, 1, 1) + timedelta(days=rng.randrange(3000)),
            }
        )
    _bulk(Contact.__table__, contacts)
    _bulk(Position.__table__, positions)

    first_agreement = _next_id(Agreement)
    agreement_rows, parties = [], []
    first_party = _next_id(AgreementParty)
    types = ["cooperation", "mou", "framework", "loi", "contract", "licence"]
    currencies = ["CNY", "CNY", "GBP", "USD"]
    for i in range(agreement_count):
        aid = first_agreement + i
        signed = date(2016, 1, 1) + timedelta(days=rng.randrange(3600))
        stage = rng.choice(["draft", "negotiation", "signed", "signed", "signed", "terminated"])
        expires = signed + timedelta(days=365 * rng.randint(1, 5))
        title = f"{rng.choice(types).title()} agreement {aid}"
        valued = rng.random() < 0.3
        agreement_rows.append(
            {
                "id": aid,
                "title": title,
                "type": rng.choice(types),
                "stage": stage,
                "signed_on": signed if stage in ("signed", "terminated") else None,
                "effective_from": signed,
                "expires_on": expires,
                "signed_sort": signed if stage in ("signed", "terminated") else date.max,
                "expires_sort": expires,
                "auto_renew": rng.random() < 0.2,
                "notice_days": rng.choice([None, 30, 90]),
                "value_amount": Decimal(rng.randrange(10, 5000) * 1000) if valued else None,
                "value_currency": rng.choice(currencies) if valued else None,
                "sort_title": title.casefold(),
                "search_text": search_blob([title]),
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
        )
        for k, pid in enumerate(rng.sample(range(n), min(n, rng.choice([2, 2, 3])))):
            parties.append(
                {
                    "id": first_party + len(parties),
                    "agreement_id": aid,
                    "partner_id": first_partner + pid,
                    "role": "host" if k == 0 else "party",
                }
            )
    _bulk(Agreement.__table__, agreement_rows)
    _bulk(AgreementParty.__table__, parties)

    first_project = _next_id(Project)
    projects, links, project_partners = [], [], []
    first_pp = _next_id(ProjectPartner)
    for i in range(max(1, n // 5)):
        prid = first_project + i
        start = date(2017, 1, 1) + timedelta(days=rng.randrange(3000))
        name = f"{rng.choice(FIELDS)[0]} programme {prid}"
        projects.append(
            {
                "id": prid,
                "name": name,
                "status": rng.choice(
                    ["planned", "active", "active", "on_hold", "completed", "cancelled"]
                ),
                "start_date": start,
                "start_sort": start,
                "sort_name": name.casefold(),
                "search_text": search_blob([name]),
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
        )
        links.append(
            {
                "project_id": prid,
                "agreement_id": first_agreement + rng.randrange(len(agreement_rows)),
            }
        )
        project_partners.append(
            {
                "id": first_pp + i,
                "project_id": prid,
                "partner_id": first_partner + rng.randrange(n),
                "role": "lead",
            }
        )
    _bulk(Project.__table__, projects)
    _bulk(project_agreement, links)
    _bulk(ProjectPartner.__table__, project_partners)
    _synthetic_indicators(rng, projects)
    activities = _synthetic_activities(rng, n, first_partner, now)
    # These rows bypassed the ORM, so the audit trail is written for them explicitly.

    source = {"source": ["", "demo --scale"]}
    for record_type, rows in (
        ("partner", partners),
        ("contact", contacts),
        ("agreement", agreement_rows),
        ("project", projects),
        ("activity", activities),
    ):
        record_bulk(db.session, "create", record_type, [(r["id"], source) for r in rows])
    _reset_sequences(
        "partner",
        "contact",
        "position",
        "agreement",
        "agreement_party",
        "project",
        "project_partner",
        "indicator",
        "indicator_actual",
        "activity",
    )
    return {
        "partners": len(partners),
        "contacts": len(contacts),
        "agreements": len(agreement_rows),
        "projects": len(projects),
        "activities": len(activities),
    }


def _synthetic_indicators(rng, projects) -> None:
    """Half the projects aim at talents, a third at investment (in CNY or GBP), with yearly
    actuals from their start year to last year."""
    kinds = indicator_kinds_by_code()
    first_indicator, first_actual = _next_id(Indicator), _next_id(IndicatorActual)
    indicators, actuals = [], []
    last_year = date.today().year - 1

    def add(project, kind, currency, target):
        iid = first_indicator + len(indicators)
        indicators.append(
            {
                "id": iid,
                "project_id": project["id"],
                "kind_id": kinds[kind].id,
                "target": Decimal(target),
                "currency": currency,
            }
        )
        for year in range(project["start_date"].year, last_year + 1):
            actuals.append(
                {
                    "id": first_actual + len(actuals),
                    "indicator_id": iid,
                    "period": str(year),
                    "period_end": date(year, 12, 31),
                    "value": Decimal(rng.randrange(0, max(2, target // 4))),
                }
            )

    for project in projects:
        if rng.random() < 0.5:
            add(project, "talents", None, rng.randrange(5, 200))
        if rng.random() < 0.33:
            add(project, "investment", rng.choice(["CNY", "GBP"]), rng.randrange(1, 500) * 10_000)
    _bulk(Indicator.__table__, indicators)
    _bulk(IndicatorActual.__table__, actuals)


def _synthetic_activities(rng, n, first_partner, now) -> list[dict]:
    """n/2 meetings and calls over the last six years, each linked to one partner."""
    from datetime import UTC, datetime, time

    first_activity = _next_id(Activity)
    activities, links = [], []
    start = date.today() - timedelta(days=6 * 365)
    for i in range(max(1, n // 2)):
        aid = first_activity + i
        when = datetime.combine(start + timedelta(days=rng.randrange(6 * 365)), time(9), UTC)
        title = f"Meeting {aid}"
        activities.append(
            {
                "id": aid,
                "kind": rng.choice(["meeting", "call", "visit"]),
                "title": title,
                "occurred_at": when,
                "timezone": "Asia/Shanghai",
                "search_text": search_blob([title]),
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
        )
        links.append(
            {
                "activity_id": aid,
                "partner_id": first_partner + rng.randrange(n),
                "occurred_at": when,
            }
        )
    _bulk(Activity.__table__, activities)
    _bulk(activity_partner, links)
    return activities
