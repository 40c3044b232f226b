"""`flask --app crm demo`: the seed story as real records, and bulk synthetic data."""

from decimal import Decimal

from sqlalchemy import func, select

from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Project


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def test_story_loads_once_and_fits_the_records(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "loaded the seed story" in result.output
    partners = count(Partner)
    again = runner.invoke(args=["demo"])
    assert "already loaded" in again.output
    assert count(Partner) == partners

    # The company the article names twice is one partner with its other translation.
    ekoo = db.session.scalars(select(Partner).where(Partner.search_text.like("%ekoo%"))).all()
    assert len(ekoo) == 1
    assert "Sino-British arts library network technology (shenzhen) co., LTD." in [
        n.name for n in ekoo[0].other_names
    ]
    assert db.session.scalar(select(Partner).where(Partner.is_own.is_(True))).name_en == "UKIIC"

    lu = db.session.scalar(select(Contact).where(Contact.name == "Lu Hongju"))
    assert len(lu.current_positions()) == 2  # two posts at once

    three = db.session.scalar(select(Agreement).where(Agreement.stage == "signed"))
    assert len(three.parties) == 3
    assert {p.partner.name_en for p in three.parties} >= {
        "UKIIC",
        "Management Committee of Taizhou Bay New Area",
    }

    bay = db.session.scalar(select(Partner).where(Partner.name_zh == "台州湾新区管理委员会"))
    figures = {f.label: (f.value, f.year) for f in bay.figures}
    assert figures["Population"][0] == 140000
    assert figures["Industrial output value above designated size"] == (Decimal("42.8"), 2019)
    centre = db.session.scalar(select(Project).where(Project.name_zh == "台州湾中英创新中心"))
    assert [a.id for a in centre.agreements] == [three.id]


def test_scale_adds_proportional_records_with_searchable_names(app):
    result = app.test_cli_runner().invoke(args=["demo", "--scale", "300"])
    assert result.exit_code == 0, result.output
    assert (count(Partner), count(Contact), count(Agreement), count(Project)) == (300, 300, 150, 60)
    chinese = db.session.scalar(select(Partner).where(Partner.name_zh.is_not(None)).limit(1))
    assert chinese.search_text.count("|") >= 4  # English, Chinese, spaced and joined pinyin
    # Ids keep working after bulk inserts with explicit ids (PostgreSQL sequences reset).
    from tests.factories import make_partner

    assert make_partner().id == 301
