"""The duplicates page: likely pairs across partners and contacts, most similar first,
with reasons and links, paged; "not a duplicate" remembered; bulk data caught up."""

from __future__ import annotations

from sqlalchemy import func, insert, select

from crm.db import db, utcnow
from crm.duplicates.models import DuplicatePair, DuplicateProfile
from crm.partners.models import Partner
from crm.text import search_blob
from tests.factories import make_contact, make_partner
from tests.querycount import count_statements


def test_pairs_most_similar_first_with_links_and_reasons(manager_client):
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心")
    accelerator = make_partner("UKIIC Accelerator")
    ekoo = make_partner("Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd")
    arts = make_partner("Sino-British arts library network technology (shenzhen) co., LTD.")
    liu = make_contact("Liu Xian", email="liu@ukiic.example")
    liu_zh = make_contact("刘贤", name_zh="刘贤")
    make_partner("Oxford International Education Group")
    db.session.commit()
    page = manager_client.get("/duplicates/").text
    rows = page.split('data-pair="')[1:]
    assert len(rows) == 3
    # "The same apart from descriptive words" (95) first, then a person's name alone (90,
    # never more: people share names), then 84.
    assert (
        f'href="/partners/{ukiic.id}"' in rows[0]
        and f'href="/partners/{accelerator.id}"' in rows[0]
    )
    assert f'href="/contacts/{liu.id}"' in rows[1] and f'href="/contacts/{liu_zh.id}"' in rows[1]
    assert f'href="/partners/{ekoo.id}"' in rows[2] and f'href="/partners/{arts.id}"' in rows[2]
    assert "descriptive words" in rows[0] and "Similar names" in rows[2]
    assert f"/duplicates/merge/partner/{ekoo.id}/{arts.id}" in rows[2]
    only_contacts = manager_client.get("/duplicates/", query_string={"kind": "contact"}).text
    assert only_contacts.count('data-pair="') == 1


def test_not_a_duplicate_is_remembered(manager_client):
    a = make_partner("Ningbo Robotics Technology Co., Ltd")
    b = make_partner("Ningbo Robotic Technology Co Ltd")
    db.session.commit()
    pair = db.session.scalar(select(DuplicatePair))
    response = manager_client.post_form(
        f"/duplicates/pairs/{pair.id}/dismiss", {"next": "/duplicates/?kind=partner"}
    )
    assert response.headers["Location"] == "/duplicates/?kind=partner"
    assert 'data-pair="' not in manager_client.get("/duplicates/").text
    # Editing either record checks it again, but the decision stands.
    db.session.expire_all()
    b = db.session.get(Partner, b.id)
    b.name_en = "Ningbo Robotics Technology Company Limited"
    b.refresh_derived()
    db.session.commit()
    assert 'data-pair="' not in manager_client.get("/duplicates/").text
    dismissed = manager_client.get("/duplicates/", query_string={"dismissed": "only"}).text
    assert f'href="/partners/{a.id}"' in dismissed and "Marked as not a duplicate" in dismissed
    manager_client.post_form(f"/duplicates/pairs/{pair.id}/reopen")
    assert f'data-pair="{pair.id}"' in manager_client.get("/duplicates/").text


def test_only_managers(staff_client, manager_client):
    assert staff_client.get("/duplicates/").status_code == 403
    assert manager_client.get("/duplicates/").status_code == 200


def test_page_is_keyset_paged_in_fixed_statements(app, manager_client):
    for i in range(60):
        make_partner(f"Alpha Photonics {i} Ltd")
        make_partner(f"Alpha Photonics {i} Limited")
    make_contact("Liu Xian")
    make_contact("Xian Liu")
    db.session.commit()
    assert db.session.scalar(select(func.count(DuplicatePair.id))) == 61
    with count_statements(app) as first:
        page = manager_client.get("/duplicates/").text
    assert page.count('data-pair="') == app.config["PAGE_SIZE"]
    next_link = page.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    with count_statements(app) as second:
        page2 = manager_client.get(next_link).text
    assert page2.count('data-pair="') == 61 - app.config["PAGE_SIZE"]
    assert first.count == second.count, second


def test_bulk_rows_are_caught_up(manager_client):
    now = utcnow()
    rows = [
        {
            "name_en": name,
            "kind": "company",
            "status": "active",
            "country": "",
            "sort_name": name.casefold(),
            "search_text": search_blob([name]),
            "created_at": now,
            "updated_at": now,
            "version_id": 1,
        }
        for name in ("Zeta Biomedicine Co., Ltd", "ZETA BIOMEDICINE LIMITED", "Omega Logistics")
    ]
    db.session.execute(insert(Partner.__table__), rows)
    db.session.commit()
    page = manager_client.get("/duplicates/").text
    assert 'id="unchecked-records"' in page and 'data-pair="' not in page
    response = manager_client.post_form("/duplicates/check-new")
    assert response.status_code == 302
    page = manager_client.get("/duplicates/").text
    assert 'id="unchecked-records"' not in page
    assert page.count('data-pair="') == 1 and "Zeta Biomedicine" in page
    assert db.session.scalar(select(func.count()).select_from(DuplicateProfile)) == 3


def test_scan_finds_what_the_writes_found(app):
    from crm.duplicates import index

    make_partner("UKIIC")
    make_partner("UKIIC Accelerator")
    make_partner("Sino-British Ekoo Network Technology Co., Ltd")
    make_partner("Sino British Ekoo Network Technology Limited")
    make_contact("Liu Xian")
    make_contact("刘贤", name_zh="刘贤")
    db.session.commit()

    def pairs():
        return sorted(
            db.session.execute(
                select(
                    DuplicatePair.kind,
                    DuplicatePair.low_id,
                    DuplicatePair.high_id,
                    DuplicatePair.score,
                )
            ).all()
        )

    found_on_write = pairs()
    assert len(found_on_write) == 3
    for kind in ("partner", "contact"):
        index.scan(db.session.connection(), kind)
    db.session.commit()
    assert pairs() == found_on_write


def test_common_words_do_not_make_blocks(app):
    """A word thousands of names share is no block: records meet on rarer keys only."""
    from crm.duplicates import index

    conn = db.session.connection()
    db.session.execute(
        insert(DuplicateProfile.__table__),
        [
            {"kind": "partner", "record_id": i, "live": True, "data": {}, "checked_at": utcnow()}
            for i in range(1, index.MAX_BLOCK + 3)
        ],
    )
    from crm.duplicates.models import DuplicateKey

    db.session.execute(
        insert(DuplicateKey.__table__),
        [
            {"kind": "partner", "key": "w:technology", "record_id": i}
            for i in range(1, index.MAX_BLOCK + 3)
        ]
        + [{"kind": "partner", "key": "w:ekoo", "record_id": i} for i in (1, 2)],
    )
    members = index.block_members(conn, "partner", ["w:technology", "w:ekoo"])
    assert members == {"w:ekoo": [1, 2]}


def test_scan_command_checks_bulk_rows(app):
    now = utcnow()
    db.session.execute(
        insert(Partner.__table__),
        [
            {
                "name_en": name,
                "kind": "company",
                "status": "active",
                "country": "",
                "sort_name": name.casefold(),
                "search_text": search_blob([name]),
                "created_at": now,
                "updated_at": now,
                "version_id": 1,
            }
            for name in ("Zeta Biomedicine Co., Ltd", "ZETA BIOMEDICINE LIMITED")
        ],
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["duplicates", "scan"])
    assert result.exit_code == 0, result.output
    assert "partner: 2 records, 1 pairs compared, 1 likely duplicates" in result.output
    assert "contact: 0 records" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(DuplicatePair.id))) == 1


def test_a_record_deleted_outright_leaves_nothing_in_the_index(app):
    """Records are archived, never deleted from the pages; an undone import may delete."""
    from crm.duplicates import index
    from crm.duplicates.models import DuplicateKey

    a = make_partner("Zeta Biomedicine Co., Ltd")
    b = make_partner("ZETA BIOMEDICINE LIMITED")
    db.session.commit()
    assert db.session.scalar(select(func.count(DuplicatePair.id))) == 1
    db.session.delete(b)
    db.session.commit()
    assert db.session.scalar(select(func.count(DuplicatePair.id))) == 0
    left = db.session.scalars(select(DuplicateKey.record_id).distinct()).all()
    assert left == [a.id]
    found = index.similar_to(
        db.session.connection(), "partner", index.draft_profile("partner", ["Zeta Biomedicine"])
    )
    assert [rid for rid, _ in found] == [a.id]
