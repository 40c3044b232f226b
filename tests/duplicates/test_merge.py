"""Merging partners and contacts: every link moves, nothing is lost or doubled, names are
kept, one audit entry, old links lead to the survivor, stale pages are refused."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from crm.activities.models import ActivityAttendee, ActivityContact, FollowUp
from crm.agreements.models import AgreementParty
from crm.api.tokens import create_token
from crm.audit.models import AuditEntry
from crm.audit.trail import acting_as
from crm.contacts.models import Contact, ContactName, Position
from crm.db import db
from crm.documents.models import Document
from crm.duplicates import merge as merging
from crm.duplicates.models import DuplicatePair
from crm.partners.models import Partner, Tag
from tests.api.conftest import ApiClient
from tests.duplicates.links import NAMES, foreign_keys, pointing_at, snapshot
from tests.duplicates.story import ARTS_LIBRARY, split_ekoo_story
from tests.factories import make_agreement, make_contact, make_partner


def assert_nothing_lost_nothing_doubled(kind, before, after, survivor_id, other_id):
    """Each link before (the other record's id read as the survivor's) is there after,
    exactly once; names may gain the other record's main names."""
    assert set(before) == set(after) == set(foreign_keys(kind))
    for key, rows in before.items():
        if key in NAMES:
            assert set(rows) <= set(after[key]), key
            assert max(after[key].values(), default=1) == 1, key
            continue
        assert after[key] == Counter(set(rows)), (key, rows, after[key])
    assert pointing_at(kind, other_id, exclude_ids=(survivor_id, other_id)) == {}


def merge_now(kind, survivor, other, actor, choices=None):
    with acting_as(actor.id):
        merging.merge(
            kind, survivor, other, choices or {}, actor, (survivor.version_id, other.version_id)
        )
        db.session.commit()


def test_partner_merge_moves_every_link_once(app, users):
    story = split_ekoo_story(users["staff"])
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]
    before = snapshot("partner", ekoo.id, twin.id)
    link_rows = sum(sum(c.values()) for c in before.values())
    assert link_rows >= 20  # the story gives the two records links of every kind
    assert [key for key, rows in before.items() if not rows] == []

    merge_now("partner", ekoo, twin, users["manager"], {"website": "other", "status": "survivor"})

    after = snapshot("partner", ekoo.id, twin.id)
    assert_nothing_lost_nothing_doubled("partner", before, after, ekoo.id, twin.id)
    db.session.expire_all()
    ekoo, twin = db.session.get(Partner, ekoo.id), db.session.get(Partner, twin.id)
    assert twin.archived_at is not None and twin.merged_into_id == ekoo.id
    assert ekoo.archived_at is None and ekoo.website == "https://ekoo.example"
    assert ekoo.status == "active"
    # The operator named twice is one party now, with the signatory the second entry had.
    operators = db.session.scalars(
        select(AgreementParty).where(
            AgreementParty.agreement_id == story["centre_agreement"].id,
            AgreementParty.role == "operator",
        )
    ).all()
    assert [(p.partner_id, p.signatory_id, p.signatory_title) for p in operators] == [
        (ekoo.id, story["zhang"].id, "General Manager")
    ]
    assert sorted(t.name for t in ekoo.tags) == ["culture", "internet", "talent"]
    assert [c.name_en for c in ekoo.children] == ["Ekoo Taizhou Office"]
    names = {n.name for n in ekoo.other_names}
    assert {ARTS_LIBRARY, "Ekoo"} <= names
    # Liu Xian's identical posts at the two names are one post now.
    advisers = db.session.scalars(
        select(Position).where(Position.contact_id == story["liu"].id, Position.title == "Adviser")
    ).all()
    assert [p.partner_id for p in advisers] == [ekoo.id]
    assert story["follow_up"].partner_id == ekoo.id
    documents = db.session.scalars(select(Document).where(Document.partner_id == ekoo.id)).all()
    assert [d.title for d in documents] == ["Ekoo business licence"]
    assert documents[0].version_id == 2  # moved: an open edit form of it is stale now


def test_merge_is_one_audit_entry_that_says_what_moved(app, users):
    story = split_ekoo_story(users["staff"])
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]
    entries = db.session.scalar(select(func.count(AuditEntry.id)))
    merge_now("partner", ekoo, twin, users["manager"])
    assert db.session.scalar(select(func.count(AuditEntry.id))) == entries + 1
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert (entry.action, entry.record_type, entry.record_id) == ("merge", "partner", ekoo.id)
    assert entry.user_id == users["manager"].id
    changes = entry.changes
    assert changes["merged_from"][1]["id"] == twin.id
    assert ARTS_LIBRARY + " (alias)" in changes["other_names"]["added"]
    assert any("operator" in label.lower() for label in changes["agreements"]["combined"])
    assert any("witness" in label.lower() for label in changes["agreements"]["moved"])
    assert "Zhang Min · General Manager" in changes["people"]["moved"]
    assert changes["tags"]["moved"] == ["culture"] and changes["tags"]["combined"] == ["internet"]
    assert changes["children"]["moved"] == ["Ekoo Taizhou Office"]
    assert changes["follow_ups"]["moved"] == ["Send Ekoo the centre's operating plan"]
    assert changes["documents"]["moved"] == ["Ekoo business licence"]
    related = changes["related"]["changed"]
    assert [r["item"] for r in related] == [f"{twin.display_name} (#{twin.id})"]
    assert related[0]["merged_into_id"][1]["id"] == ekoo.id
    assert related[0]["archived_at"][0] is None
    assert entry.version == db.session.get(Partner, ekoo.id).version_id


def test_merged_record_leads_to_the_survivor(app, users, manager_client):
    story = split_ekoo_story(users["staff"])
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]
    merge_now("partner", ekoo, twin, users["manager"])
    response = manager_client.get(f"/partners/{twin.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/partners/{ekoo.id}"
    page = manager_client.get(response.headers["Location"]).text
    assert "was merged into" in page
    response = manager_client.get(f"/partners/{twin.id}/edit")
    assert response.headers["Location"] == f"/partners/{ekoo.id}/edit"
    # The old name now finds the survivor; the merged record is out of pickers.
    found = manager_client.get("/partners/lookup", query_string={"q": "arts library"}).json
    assert [r["id"] for r in found["results"]] == [ekoo.id]


def test_search_index_follows_the_merge(app, users, manager_client):
    story = split_ekoo_story(users["staff"])
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]
    merge_now("partner", ekoo, twin, users["manager"])
    page = manager_client.get("/search", query_string={"q": "arts library network"}).text
    assert f'href="/partners/{ekoo.id}"' in page
    assert f'href="/partners/{twin.id}"' not in page


def test_stale_versions_are_refused_and_nothing_moves(app, users):
    story = split_ekoo_story(users["staff"])
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]
    loaded = (ekoo.version_id, twin.version_id)
    twin.city = "Shenzhen, Guangdong"  # someone saves the other record meanwhile
    db.session.commit()
    before = snapshot("partner", ekoo.id, twin.id)
    with pytest.raises(merging.MergeError) as refused:
        merging.merge("partner", ekoo, twin, {}, users["manager"], loaded)
    assert "changed one of these records" in refused.value.errors[""]
    db.session.rollback()
    assert snapshot("partner", ekoo.id, twin.id) == before
    assert db.session.get(Partner, twin.id).merged_into_id is None


def test_parent_that_would_make_a_cycle_is_refused(app, users):
    top = make_partner("Ekoo Holdings")
    middle = make_partner("Ekoo Network", parent_id=top.id)
    bottom = make_partner("Ekoo Network Shenzhen", parent_id=middle.id)
    db.session.commit()
    # Keeping the bottom one, with its own parent (the middle one, a child of `top` whose
    # children move to it) would make it its own grandparent.
    errors = merging.check(
        "partner", bottom, top, (bottom.version_id, top.version_id), {"parent_id": "survivor"}
    )
    assert "own ancestor" in errors["parent_id"]
    # Keeping the top one's (absent) parent is fine, and the middle one moves under it.
    merge_now("partner", bottom, top, users["manager"], {"parent_id": "other"})
    db.session.expire_all()
    assert db.session.get(Partner, bottom.id).parent_id is None
    assert db.session.get(Partner, middle.id).parent_id == bottom.id


def test_our_own_organisation_can_be_the_merged_one(app, users):
    ours = make_partner("UKIIC", name_zh="英国国际创新中心", is_own=True)
    again = make_partner("UKIIC Accelerator")
    db.session.commit()
    merge_now("partner", again, ours, users["manager"], {"is_own": "other", "name_en": "other"})
    db.session.expire_all()
    kept = db.session.get(Partner, again.id)
    assert kept.is_own is True and kept.name_en == "UKIIC" and kept.name_zh == "英国国际创新中心"
    assert {n.name for n in kept.other_names} == {"UKIIC Accelerator"}
    assert db.session.get(Partner, ours.id).is_own is None


def test_contact_merge_moves_every_link_once(app, users):
    from crm.activities.models import Activity
    from tests.factories import make_project  # noqa: F401  (projects need indicator kinds)

    org = make_partner("UKIIC")
    liu = make_contact("Liu Xian", positions=[(org, "Director")], email="liu@ukiic.example")
    liu_zh = make_contact(
        "刘贤", positions=[(org, "Director"), (org, "Board member")], name_zh="刘贤"
    )
    liu_zh.other_names.append(ContactName(name="Liu X.", kind="abbreviation"))
    make_agreement(parties=[(org, "party", liu_zh)])
    when = Activity(title="Signing ceremony", kind="event", occurred_at=_now())
    when.refresh_derived()
    when.attendees += [
        ActivityAttendee(contact_id=liu.id, role="attended"),
        ActivityAttendee(contact_id=liu_zh.id, role="signed"),
    ]
    when.contact_links += [
        ActivityContact(contact_id=liu.id, occurred_at=when.occurred_at),
        ActivityContact(contact_id=liu_zh.id, occurred_at=when.occurred_at),
    ]
    db.session.add(when)
    cv = Document(contact_id=liu_zh.id, title="CV of Liu Xian", kind="other")
    db.session.add(cv)
    db.session.add(
        FollowUp(
            title="Call Liu",
            due_on=date(2021, 6, 1),
            assignee_id=users["staff"].id,
            contact_id=liu_zh.id,
        )
    )
    db.session.commit()
    before = snapshot("contact", liu.id, liu_zh.id)
    merge_now("contact", liu, liu_zh, users["manager"], {"name_zh": "other"})
    after = snapshot("contact", liu.id, liu_zh.id)
    assert_nothing_lost_nothing_doubled("contact", before, after, liu.id, liu_zh.id)
    db.session.expire_all()
    kept = db.session.get(Contact, liu.id)
    assert (kept.name, kept.name_zh, kept.email) == ("Liu Xian", "刘贤", "liu@ukiic.example")
    assert {n.name for n in kept.other_names} == {"Liu X."}  # 刘贤 is its Chinese name now
    attendee = db.session.scalars(
        select(ActivityAttendee).where(ActivityAttendee.activity_id == when.id)
    ).all()
    assert [(a.contact_id, a.role) for a in attendee] == [(liu.id, "signed")]
    assert sorted(p.title for p in kept.positions) == ["Board member", "Director"]
    assert "liu x" in kept.search_text and "刘贤" in kept.search_text


def test_merge_forgets_the_pairs_of_the_merged_record(app, users):
    a = make_partner("Sino-British Ekoo Network Technology Co., Ltd")
    b = make_partner("Sino British Ekoo Network Technology Limited")
    c = make_partner("Sino-British Ekoo Network Tech Co Ltd")
    db.session.commit()
    assert db.session.scalar(select(func.count(DuplicatePair.id))) == 3
    merge_now("partner", a, b, users["manager"])
    pairs = db.session.execute(select(DuplicatePair.low_id, DuplicatePair.high_id)).all()
    assert pairs == [(a.id, c.id)]


def test_tags_of_both_survive(app, users):
    a = make_partner("Alpha Robotics")
    b = make_partner("Alpha Robotics Co")
    from crm.partners.operations import tags_named

    a.tags = tags_named(["robotics"])
    b.tags = tags_named(["robotics", "ai"])
    db.session.commit()
    merge_now("partner", a, b, users["manager"])
    db.session.expire_all()
    assert sorted(t.name for t in db.session.get(Partner, a.id).tags) == ["ai", "robotics"]
    assert db.session.scalar(select(func.count(Tag.id))) == 2


def _now():
    from crm.db import utcnow

    return utcnow()


def test_a_merged_record_cannot_be_restored(app, users):
    # Found in review: restoring the record merged away (through the API, or a posted
    # restore form) brought back a live record with none of its links, listed and
    # searchable, whose page always led to the survivor: the duplicate came back empty.
    survivor, other = make_partner("Alpha Robotics"), make_partner("Alpha Robotics Co., Ltd")
    db.session.commit()
    merge_now("partner", survivor, other, users["manager"])
    manager = app.test_client().login_as(users["manager"])
    assert manager.post_form(f"/partners/{other.id}/restore").status_code == 403
    token = create_token(users["manager"], "t", None)[1]
    db.session.commit()
    response = ApiClient(app, token).post(f"/api/v1/partners/{other.id}/restore")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Partner, other.id).archived_at is not None
