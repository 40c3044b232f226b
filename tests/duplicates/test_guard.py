"""The duplicate guard on the create forms: look-alikes shown before saving, with links;
saving anyway is one more deliberate click; the input is kept."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.contacts.models import Contact
from crm.db import db
from crm.partners.models import Partner
from tests.factories import make_contact, make_partner
from tests.querycount import count_statements

EKOO = "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd"
ARTS = "Sino-British arts library network technology (shenzhen) co., LTD."


def partners() -> int:
    return db.session.scalar(select(func.count(Partner.id)))


def new_partner(**fields):
    data = {"name_en": "", "kind": "company", "status": "prospect", "owner": "0"}
    data.update(fields)
    return data


def test_a_likely_duplicate_is_shown_and_nothing_is_saved(staff_client):
    existing = make_partner(EKOO, name_zh="中英艺库（深圳）网络科技有限公司", city="Shenzhen")
    db.session.commit()
    response = staff_client.post_form(
        "/partners/new", new_partner(name_en=ARTS, city="Shenzhen", description="Kept <input>")
    )
    assert response.status_code == 200
    page = response.text
    assert 'id="duplicate-guard"' in page
    assert f'href="/partners/{existing.id}"' in page
    assert "Similar names" in page and "shenzhen" in page
    assert 'id="save-anyway"' in page
    # The input is kept, escaped, and nothing was saved.
    assert "Kept &lt;input&gt;" in page and "arts library network technology" in page
    assert partners() == 1


def test_save_anyway_saves_with_one_more_click(staff_client):
    make_partner(EKOO)
    db.session.commit()
    first = staff_client.post_form("/partners/new", new_partner(name_en=ARTS))
    seen = _hidden(first.text, "duplicates_seen")
    response = staff_client.post_form(
        "/partners/new", new_partner(name_en=ARTS, save_anyway="1", duplicates_seen=seen)
    )
    assert response.status_code == 302
    assert partners() == 2


def test_a_changed_name_is_checked_again(staff_client):
    make_partner(EKOO)
    make_partner("UKIIC", name_zh="英国国际创新中心")
    db.session.commit()
    first = staff_client.post_form("/partners/new", new_partner(name_en=ARTS))
    seen = _hidden(first.text, "duplicates_seen")
    # After seeing the list the user types another name: "save anyway" no longer applies.
    response = staff_client.post_form(
        "/partners/new",
        new_partner(name_en="UKIIC Accelerator", save_anyway="1", duplicates_seen=seen),
    )
    assert response.status_code == 200
    assert 'id="duplicate-guard"' in response.text and "UKIIC" in response.text
    assert partners() == 2


def test_no_guard_for_a_new_name_and_none_when_editing(staff_client):
    make_partner(EKOO)
    db.session.commit()
    response = staff_client.post_form("/partners/new", new_partner(name_en="Oxford Instruments"))
    assert response.status_code == 302
    twin = make_partner("Sino British Ekoo Network Technology Limited")
    db.session.commit()
    data = new_partner(name_en="Sino British Ekoo Network Technology Ltd.")
    data["version"] = str(twin.version_id)
    response = staff_client.post_form(f"/partners/{twin.id}/edit", data)
    assert response.status_code == 302


def test_guard_compares_every_name_chinese_and_other_names(staff_client):
    existing = make_partner("Taizhou Bay Management Committee", name_zh="台州湾新区管理委员会")
    db.session.commit()
    response = staff_client.post_form(
        "/partners/new",
        new_partner(
            name_en="TBNA Administration",
            **{"other_names-0-name": "台州湾新区管理委员会", "other_names-0-kind": "translation"},
        ),
    )
    assert f'href="/partners/{existing.id}"' in response.text
    assert "台州湾新区管理委员会" in response.text


def test_contact_guard_by_pinyin_and_by_email(staff_client):
    liu = make_contact("刘贤", name_zh="刘贤")
    other = make_contact("Xiaoming Chen", email="chen@ukiic.example")
    db.session.commit()
    response = staff_client.post_form("/contacts/new", {"name": "Xian Liu", "owner": "0"})
    assert response.status_code == 200
    assert f'href="/contacts/{liu.id}"' in response.text and "The same pinyin" in response.text
    response = staff_client.post_form(
        "/contacts/new", {"name": "X. M. Chen", "email": "CHEN@ukiic.example", "owner": "0"}
    )
    assert f'href="/contacts/{other.id}"' in response.text and "The same email" in response.text
    assert db.session.scalar(select(func.count(Contact.id))) == 2
    seen = _hidden(response.text, "duplicates_seen")
    response = staff_client.post_form(
        "/contacts/new",
        {
            "name": "X. M. Chen",
            "email": "CHEN@ukiic.example",
            "owner": "0",
            "save_anyway": "1",
            "duplicates_seen": seen,
        },
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(Contact.id))) == 3


def test_live_check_answers_json_in_fixed_statements(app, staff_client):
    target = make_partner(EKOO, city="Shenzhen")
    db.session.commit()
    response = staff_client.get(
        "/duplicates/check", query_string={"kind": "partner", "name": ["Sino British Ekoo"]}
    )
    results = response.json["results"]
    assert [r["id"] for r in results] == [target.id]
    assert results[0]["url"] == f"/partners/{target.id}" and results[0]["score"] >= 80
    assert staff_client.get("/duplicates/check", query_string={"kind": "nope"}).json == {
        "results": []
    }
    for i in range(30):
        make_partner(f"Sino-British Ekoo Network Technology Branch {i}")
    db.session.commit()
    with count_statements(app) as many:
        staff_client.get("/duplicates/check", query_string={"kind": "partner", "name": [EKOO]})
    with count_statements(app) as few:
        staff_client.get("/duplicates/check", query_string={"kind": "partner", "name": ["Zq"]})
    assert many.count <= few.count + 2, many


def _hidden(page: str, name: str) -> str:
    marker = f'name="{name}" value="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]
