"""Done when: the duplicates page finds the two translations of the Ekoo company from the
article (entered as two records) and a merge of them, through the pages, keeps every link."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.db import db
from crm.partners.models import Partner
from tests.duplicates.links import snapshot
from tests.duplicates.story import ARTS_LIBRARY, split_ekoo_story
from tests.duplicates.test_merge import assert_nothing_lost_nothing_doubled


def test_duplicates_page_finds_the_two_translations_and_the_merge_keeps_every_link(
    users, manager_client
):
    story = split_ekoo_story(users["staff"])
    db.session.commit()
    ekoo, twin = story["ekoo"], story["twin"]

    page = manager_client.get("/duplicates/").text
    rows = page.split('data-pair="')[1:]
    # The story's other records (the accelerator, the Taizhou bodies and their
    # departments, Oxford) are not taken for duplicates of each other.
    assert len(rows) == 1
    row = rows[0]
    assert f'href="/partners/{ekoo.id}"' in row and f'href="/partners/{twin.id}"' in row
    assert "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd" in row
    assert "Sino-British arts library network technology (shenzhen) co., LTD." in row
    merge_url = f"/duplicates/merge/partner/{ekoo.id}/{twin.id}"
    assert merge_url in row

    form = manager_client.get(merge_url).text
    # The second record holds more links here: it is suggested as the one to keep, and
    # each field defaults to its value where it has one.
    assert 'value="b" id="survivor-b" checked' in form
    assert 'name="pick_name_zh" value="a" id="pick-name_zh-a" checked' in form
    versions = {
        "version_a": str(ekoo.version_id),
        "version_b": str(twin.version_id),
    }
    choices = {"survivor": "a", "pick_website": "b", "pick_status": "a", "pick_description": "b"}
    review = manager_client.post_form(merge_url, {**versions, **choices, "step": "review"})
    assert review.status_code == 200 and 'id="merge-confirm"' in review.text
    assert ARTS_LIBRARY in review.text.split('id="merge-names"')[1]

    before = snapshot("partner", ekoo.id, twin.id)
    entries = db.session.scalar(select(func.count(AuditEntry.id)))
    done = manager_client.post_form(merge_url, {**versions, **choices, "step": "confirm"})
    assert done.status_code == 302 and done.headers["Location"] == f"/partners/{ekoo.id}"

    after = snapshot("partner", ekoo.id, twin.id)
    assert_nothing_lost_nothing_doubled("partner", before, after, ekoo.id, twin.id)
    assert db.session.scalar(select(func.count(AuditEntry.id))) == entries + 1
    db.session.expire_all()
    kept = db.session.get(Partner, ekoo.id)
    assert kept.website == "https://ekoo.example" and kept.status == "active"
    assert kept.description.startswith("Operator of the Sino-British Innovation Center")
    assert db.session.get(Partner, twin.id).merged_into_id == ekoo.id

    detail = manager_client.get(f"/partners/{ekoo.id}").text
    assert "Merged:" in detail and ARTS_LIBRARY in detail
    assert "Zhang Min" in detail and "Ekoo Taizhou Office" in detail
    # The page has emptied: the pair went with the merge.
    assert 'data-pair="' not in manager_client.get("/duplicates/").text
