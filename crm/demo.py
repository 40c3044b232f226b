"""Demo data: the seed story as real records, and synthetic data at scale.

`load_story()` records the article in ../shared/seed/ukiic-taizhou-article.txt: the
accelerator, the Taizhou bodies and officials (two posts at once), the three-party
cooperation agreement, the Oxford International partnership, the innovation centre and the
talent plan, and the figures for Taizhou Bay New Area. `add_synthetic(n)` bulk-inserts n
partners with proportional contacts, agreements and projects.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, insert, select, text

from crm.agreements.models import Agreement, AgreementParty
from crm.contacts.models import Contact, Position
from crm.db import db, utcnow
from crm.partners.models import KeyFigure, Partner, PartnerName
from crm.projects.models import (
    Indicator,
    IndicatorActual,
    IndicatorKind,
    Milestone,
    Project,
    ProjectPartner,
    project_agreement,
)
from crm.text import pinyin, search_blob

STORY_DAY = date(2021, 5, 17)  # the article's publication date; the signing was "recently"


def indicator_kinds_by_code() -> dict[str, IndicatorKind]:
    from crm.projects.operations import ensure_standard_indicator_kinds

    ensure_standard_indicator_kinds()
    return {k.code: k for k in db.session.scalars(select(IndicatorKind))}


def _partner(
    name_en,
    name_zh=None,
    *,
    kind,
    country,
    city=None,
    parent=None,
    status="active",
    other_names=(),
    is_own=None,
    description=None,
    website=None,
):
    partner = Partner(
        name_en=name_en,
        name_zh=name_zh,
        kind=kind,
        country=country,
        city=city,
        status=status,
        parent=parent,
        is_own=is_own,
        description=description,
        website=website,
    )
    for name, name_kind in other_names:
        partner.other_names.append(PartnerName(name=name, kind=name_kind))
    partner.refresh_derived()
    partner.stamp(None)
    db.session.add(partner)
    return partner


def _contact(name, name_zh=None, positions=(), notes=None):
    contact = Contact(name=name, name_zh=name_zh, notes=notes)
    for partner, title, start in positions:
        contact.positions.append(Position(partner=partner, title=title, start_date=start))
    contact.refresh_derived()
    contact.stamp(None)
    db.session.add(contact)
    return contact


def _activity(title, kind, location, *, summary, attendees, links):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crm.activities.models import LINK_CLASSES, Activity, ActivityAttendee

    activity = Activity(
        title=title,
        kind=kind,
        location=location,
        summary=summary,
        timezone="Asia/Shanghai",
        occurred_at=datetime.combine(
            STORY_DAY, datetime.min.time().replace(hour=9), tzinfo=ZoneInfo("Asia/Shanghai")
        ),
    )
    for contact, role in attendees:
        activity.attendees.append(ActivityAttendee(contact=contact, role=role))
    for kind_name, records in links.items():
        for record in records:
            activity.links(kind_name).append(
                LINK_CLASSES[kind_name](**{kind_name: record}, occurred_at=activity.occurred_at)
            )
    activity.refresh_derived()
    activity.stamp(None)
    db.session.add(activity)
    return activity


def story_loaded() -> bool:
    return db.session.scalar(select(Partner.id).where(Partner.is_own.is_(True))) is not None


def load_story() -> dict[str, object]:
    """Record the seed article. Returns the main records by a short name."""
    kinds = indicator_kinds_by_code()
    ukiic = _partner(
        "UKIIC",
        "英国国际创新中心",
        kind="accelerator",
        country="GB",
        is_own=True,
        other_names=[
            ("UKIIC Accelerator", "alias"),
            ("British International Innovation Center", "translation"),
            ("UKIIC International Innovation Center", "alias"),
        ],
        description="UK-China accelerator: promotes deep cooperation in global innovation, "
        "the exchange of researchers and the commercialisation of technology.",
    )
    taizhou = _partner(
        "Taizhou Municipal People's Government",
        "台州市人民政府",
        kind="government",
        country="CN",
        city="Taizhou, Zhejiang",
    )
    party_committee = _partner(
        "CPC Taizhou Municipal Committee",
        "中共台州市委",
        kind="government",
        country="CN",
        city="Taizhou, Zhejiang",
    )
    org_dept = _partner(
        "Organization Department of the CPC Taizhou Municipal Committee",
        "中共台州市委组织部",
        kind="government",
        country="CN",
        city="Taizhou, Zhejiang",
        parent=party_committee,
        other_names=[("Municipal Organization Department", "alias")],
    )
    permanent_office = _partner(
        "Taizhou Municipal Permanent Office",
        kind="government",
        country="CN",
        city="Taizhou, Zhejiang",
        parent=party_committee,
    )
    science = _partner(
        "Taizhou Municipal Science and Technology Bureau",
        "台州市科学技术局",
        kind="government",
        country="CN",
        city="Taizhou, Zhejiang",
        parent=taizhou,
    )
    hr = _partner(
        "Taizhou Municipal Human Resources and Social Security Bureau",
        "台州市人力资源和社会保障局",
        kind="government",
        country="CN",
        city="Taizhou, Zhejiang",
        parent=taizhou,
    )
    bay = _partner(
        "Management Committee of Taizhou Bay New Area",
        "台州湾新区管理委员会",
        kind="government",
        country="CN",
        city="Taizhou, Zhejiang",
        parent=taizhou,
        other_names=[
            ("Management Committee of Taizhou Bay New Area of Zhejiang Province", "alias"),
            ("Taizhou Bay District Management Committee", "translation"),
        ],
    )
    for label, value, unit, year in [
        ("Population", "140000", "people", 2021),
        ('"Four Top" enterprises', "362", "enterprises", 2021),
        ("Enterprises listed on the main board", "3", "enterprises", 2021),
        ("State-level high-tech enterprises", "74", "enterprises", 2021),
        ("Industrial enterprises above designated size", "252", "enterprises", 2021),
        ("Industrial output value above designated size", "42.8", "billion CNY", 2019),
    ]:
        bay.figures.append(KeyFigure(label=label, value=Decimal(value), unit=unit, year=year))
    ekoo = _partner(
        "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd",
        "中英艺库（深圳）网络科技有限公司",
        kind="company",
        country="CN",
        city="Shenzhen",
        other_names=[
            ("Sino-British arts library network technology (shenzhen) co., LTD.", "translation")
        ],
    )
    oxford = _partner(
        "Oxford International Education Group",
        "牛津国际教育集团",
        kind="education",
        country="GB",
        city="London",
        status="prospect",
    )
    db.session.flush()

    start = date(2021, 1, 1)
    people = {
        "lu": _contact(
            "Lu Hongju",
            positions=[(org_dept, "Vice Minister", start), (permanent_office, "Director", start)],
        ),
        "zhao": _contact(
            "Zhao Haibin",
            positions=[
                (party_committee, "Member of the Standing Committee", start),
                (org_dept, "Minister", start),
            ],
        ),
        "wang": _contact("Wang Xianyi", positions=[(science, "Director", start)]),
        "ke": _contact(
            "Ke Wanying", positions=[(org_dept, "Vice Minister", start), (hr, "Director", start)]
        ),
        "liu": _contact(
            "Liu Xian", "刘贤", positions=[(ukiic, "Director, UKIIC Accelerator", start)]
        ),
        "li": _contact(
            "Li Fuming",
            positions=[(ukiic, "Cultural and Artistic Consultant", start)],
            notes="Famous non-hereditary inheritor of silver forging skill.",
        ),
    }

    centre_agreement = Agreement(
        title="Cooperation agreement on the construction and operation of the "
        "Sino-British Innovation Center in Taizhou Bay",
        title_zh="台州湾中英创新中心建设运营合作协议",
        type="cooperation",
        stage="signed",
        signed_on=STORY_DAY,
        effective_from=STORY_DAY,
        signed_at="Taizhou Hall, Fenghuang Mountain, Taizhou",
        summary="The Management Committee of Taizhou Bay New Area, UKIIC and Sino-British "
        "Ekoo agree on building and operating the Sino-British Innovation Center in "
        "Taizhou Bay (talent-led, innovation-driven).",
    )
    for partner, role, signatory in [
        (bay, "host", None),
        (ukiic, "party", people["liu"]),
        (ekoo, "operator", None),
    ]:
        centre_agreement.parties.append(
            AgreementParty(partner=partner, role=role, signatory=signatory)
        )
    oxford_agreement = Agreement(
        title="Partnership between Taizhou and Oxford International Education Group",
        type="framework",
        stage="negotiation",
        summary="Promoted by UKIIC to build an industry-university-research-innovation "
        "ecosystem in Taizhou Bay.",
    )
    for partner, role in [(taizhou, "party"), (oxford, "party"), (ukiic, "witness")]:
        oxford_agreement.parties.append(AgreementParty(partner=partner, role=role))
    for agreement in (centre_agreement, oxford_agreement):
        agreement.refresh_derived()
        agreement.stamp(None)
        db.session.add(agreement)

    centre = Project(
        name="Taizhou Bay China-UK Innovation Center",
        name_zh="台州湾中英创新中心",
        status="active",
        start_date=STORY_DAY,
        description="Brings UK and European technology, talent and capital to Taizhou Bay "
        "New Area; commercialises research; connects local enterprises with overseas "
        "resources. Indicator targets are illustrative demo values.",
    )
    centre.agreements = [centre_agreement]
    for partner, role in [(ukiic, "lead"), (bay, "host"), (ekoo, "participant")]:
        centre.partners.append(ProjectPartner(partner=partner, role=role))
    centre.milestones += [
        Milestone(title="Cooperation agreement signed", due_on=STORY_DAY, done_on=STORY_DAY),
        Milestone(title="Innovation centre opens", due_on=date(2021, 12, 31)),
    ]
    for code, target, currency, actuals in [
        ("talents", "50", None, [("2021", date(2021, 12, 31), "12")]),
        ("enterprises_introduced", "20", None, [("2021", date(2021, 12, 31), "4")]),
        ("investment", "10000000", "CNY", [("2021", date(2021, 12, 31), "2500000")]),
    ]:
        indicator = Indicator(kind=kinds[code], target=Decimal(target), currency=currency)
        for period, end, value in actuals:
            indicator.actuals.append(
                IndicatorActual(period=period, period_end=end, value=Decimal(value))
            )
        centre.indicators.append(indicator)
    talent = Project(
        name='"Young talents gather in Taizhou" plan',
        name_zh="青年人才聚台州计划",
        status="active",
        start_date=STORY_DAY,
        description="Released at the Taizhou Talent New Deal 2.0 Promotion Meeting: five "
        "actions, ten new policies, one hundred recruitment drives, one thousand enterprises "
        "linked, one hundred thousand positions.",
    )
    for partner, role in [(taizhou, "lead"), (org_dept, "host"), (hr, "participant")]:
        talent.partners.append(ProjectPartner(partner=partner, role=role))
    talent.indicators.append(Indicator(kind=kinds["jobs"], target=Decimal(100000)))
    for project in (centre, talent):
        project.refresh_derived()
        project.stamp(None)
        db.session.add(project)
    db.session.flush()

    hall = "Taizhou Hall, Fenghuang Mountain, Taizhou"
    meeting = _activity(
        "Taizhou Talent New Deal 2.0 Promotion Meeting",
        "event",
        hall,
        summary='The plan "young talents gather in Taizhou" was released: five actions, ten '
        "new policies, one hundred recruitment drives, one thousand enterprises linked, one "
        "hundred thousand positions.",
        attendees=[
            (people["lu"], "presided"),
            (people["zhao"], "attended"),
            (people["wang"], "attended"),
            (people["ke"], "attended"),
        ],
        links={"partner": [taizhou, org_dept, bay], "project": [talent]},
    )
    ceremony = _activity(
        "Signing ceremony of the city's talent projects",
        "event",
        hall,
        summary="The Management Committee of Taizhou Bay New Area, UKIIC and Sino-British "
        "Ekoo signed the cooperation agreement on the Sino-British Innovation Center.",
        attendees=[(people["liu"], "attended")],
        links={"partner": [bay, ukiic, ekoo], "agreement": [centre_agreement], "project": [centre]},
    )
    db.session.flush()
    return {
        "meeting": meeting,
        "ceremony": ceremony,
        "ukiic": ukiic,
        "bay": bay,
        "ekoo": ekoo,
        "oxford": oxford,
        "taizhou": taizhou,
        "centre_agreement": centre_agreement,
        "oxford_agreement": oxford_agreement,
        "centre": centre,
        "talent": talent,
        **people,
    }


# --- synthetic data at scale ------------------------------------------------------------

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
    from crm.audit.trail import record_bulk

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

    from crm.activities.models import Activity, activity_partner

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
