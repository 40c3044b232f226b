"""The seed story as crm/demo/story.toml tells it, with the Ekoo company entered twice: once as
"Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd" (中英艺库（深圳）网络科技有限公司),
once as the article's other translation, "Sino-British arts library network technology
(shenzhen) co., LTD.", each with links of its own and some links to the same things."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from crm.activities.models import ActivityAttendee, ActivityPartner, FollowUp
from crm.agreements.models import AgreementParty
from crm.contacts.models import Contact, Position
from crm.db import db
from crm.demo import STORY_DAY, load_story
from crm.documents.models import Document
from crm.partners.models import KeyFigure, Partner, PartnerName
from crm.partners.operations import tags_named
from crm.projects.models import ProjectPartner

ARTS_LIBRARY = "Sino-British arts library network technology (shenzhen) co., LTD."


def split_ekoo_story(staff_user=None) -> dict:
    """Load the story, then enter the Ekoo company a second time under the article's other
    translation, sharing some links with the first record and holding others alone."""
    story = load_story()
    ekoo = story["ekoo"]
    # In this telling nobody knew the two names were one company.
    for name in list(ekoo.other_names):
        if name.name == ARTS_LIBRARY:
            ekoo.other_names.remove(name)
    ekoo.tags = tags_named(["internet", "talent"])
    twin = Partner(
        name_en=ARTS_LIBRARY,
        kind="company",
        country="CN",
        city="Shenzhen",
        status="prospect",
        website="https://ekoo.example",
        description="Operator of the Sino-British Innovation Center in Taizhou Bay.",
    )
    twin.other_names.append(PartnerName(name="Ekoo", kind="abbreviation"))
    twin.figures.append(KeyFigure(label="Staff", value=Decimal(40), unit="people", year=2021))
    twin.tags = tags_named(["internet", "culture"])
    twin.refresh_derived()
    twin.stamp(staff_user)
    db.session.add(twin)
    db.session.flush()

    branch = Partner(name_en="Ekoo Taizhou Office", kind="company", country="CN", parent_id=twin.id)
    branch.refresh_derived()
    db.session.add(branch)
    # An even older entry for it was merged into the second record long ago.
    old_entry = Partner(name_en="Ekoo Network (old entry)", kind="company", merged_into_id=twin.id)
    old_entry.refresh_derived()
    old_entry.archive(staff_user)
    db.session.add(old_entry)
    zhang = Contact(name="Zhang Min", name_zh="张敏", email="zhang.min@ekoo.example")
    zhang.positions.append(
        Position(partner_id=twin.id, title="General Manager", start_date=date(2020, 1, 1))
    )
    zhang.refresh_derived()
    db.session.add(zhang)
    # Liu Xian held the same post at "both" companies: one position once merged.
    liu = story["liu"]
    liu.positions.append(Position(partner_id=ekoo.id, title="Adviser", start_date=date(2021, 1, 1)))
    liu.positions.append(Position(partner_id=twin.id, title="Adviser", start_date=date(2021, 1, 1)))
    db.session.flush()

    # The centre agreement names the operator twice: once under each name, the second time
    # with who signed for it.
    agreement = story["centre_agreement"]
    agreement.parties.append(
        AgreementParty(
            partner_id=twin.id,
            role="operator",
            signatory_id=zhang.id,
            signatory_title="General Manager",
        )
    )
    agreement.parties.append(AgreementParty(partner_id=twin.id, role="witness"))
    story["oxford_agreement"].parties.append(AgreementParty(partner_id=twin.id, role="party"))
    # The project lists it as participant under both names, and as funder under one.
    centre = story["centre"]
    centre.partners.append(ProjectPartner(partner_id=twin.id, role="participant"))
    centre.partners.append(ProjectPartner(partner_id=twin.id, role="funder"))
    # The ceremony was logged against both names; the promotion meeting only the second.
    ceremony, meeting = story["ceremony"], story["meeting"]
    ceremony.partner_links.append(
        ActivityPartner(partner_id=twin.id, occurred_at=ceremony.occurred_at)
    )
    meeting.partner_links.append(
        ActivityPartner(partner_id=twin.id, occurred_at=meeting.occurred_at)
    )
    ceremony.attendees.append(ActivityAttendee(contact=zhang, role="signed"))
    follow_up = (
        FollowUp(
            title="Send Ekoo the centre's operating plan",
            due_on=STORY_DAY,
            assignee_id=staff_user.id,
            partner_id=twin.id,
        )
        if staff_user is not None
        else None
    )
    if follow_up is not None:
        follow_up.stamp(staff_user)
        db.session.add(follow_up)
    licence = Document(partner_id=twin.id, title="Ekoo business licence", kind="scan")
    licence.stamp(staff_user)
    db.session.add(licence)
    db.session.flush()
    story.update(twin=twin, branch=branch, old_entry=old_entry, zhang=zhang, follow_up=follow_up)
    return story


def count(model_or_table, *where) -> int:
    table = getattr(model_or_table, "__table__", model_or_table)
    return db.session.scalar(select(func.count()).select_from(table).where(*where))
