"""Agreement pages: create with parties, edit, stale edits, bad input, amendments, archive."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from crm.agreements.models import Agreement, AgreementParty
from crm.db import db
from tests.factories import make_agreement, make_contact, make_partner, make_project


@pytest.fixture
def taizhou():
    """The three organisations of the seed story, each with the person who signed."""
    committee = make_partner(
        "Management Committee of Taizhou Bay New Area",
        name_zh="台州湾新区管理委员会",
        kind="government",
        country="CN",
    )
    ukiic = make_partner("UKIIC", name_zh="英国国际创新中心", kind="accelerator", country="GB")
    ekoo = make_partner(
        "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd",
        name_zh="中英艺库（深圳）网络科技有限公司",
        country="CN",
    )
    director = make_contact("Wang Xianyi", name_zh="王先义", positions=[(committee, "Director")])
    liu = make_contact("Liu Xian", positions=[(ukiic, "Director, UKIIC Accelerator")])
    ekoo_head = make_contact("Chen Ming", name_zh="陈明", positions=[(ekoo, "General Manager")])
    db.session.commit()
    return {
        "committee": committee,
        "ukiic": ukiic,
        "ekoo": ekoo,
        "director": director,
        "liu": liu,
        "ekoo_head": ekoo_head,
    }


def cooperation(t, **extra):
    """The form as a user fills it in for the Taizhou Bay three-party agreement."""
    data = {
        "title": "Cooperation agreement on the Sino-British Innovation Center in Taizhou Bay",
        "title_zh": "台州湾中英创新中心合作协议",
        "type": "cooperation",
        "stage": "signed",
        "signed_on": "2021-05-14",
        "signed_at": "Taizhou Hall, Fenghuang Mountain, Taizhou",
        "effective_from": "2021-06-01",
        "expires_on": "2026-05-31",
        "notice_days": "90",
        "value_amount": "3000000.00",
        "value_currency": "CNY",
        "summary": "Construction and operation of the centre.",
        "owner": "0",
        "amendment_kind": "",
        "parties-0-partner": str(t["committee"].id),
        "parties-0-partner__label": t["committee"].name_en,
        "parties-0-role": "host",
        "parties-0-signatory": str(t["director"].id),
        "parties-0-signatory__label": t["director"].name,
        "parties-0-signatory_title": "Director",
        "parties-1-partner": str(t["ukiic"].id),
        "parties-1-partner__label": t["ukiic"].name_en,
        "parties-1-role": "operator",
        "parties-1-signatory": str(t["liu"].id),
        "parties-1-signatory__label": t["liu"].name,
        "parties-2-partner": str(t["ekoo"].id),
        "parties-2-partner__label": t["ekoo"].name_en,
        "parties-2-role": "party",
        "parties-2-signatory": str(t["ekoo_head"].id),
        "parties-2-signatory__label": t["ekoo_head"].name,
        "parties-2-signatory_title": "General Manager",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return (
        db.session.scalar(select(func.count()).select_from(Agreement)),
        db.session.scalar(select(func.count()).select_from(AgreementParty)),
    )


def field_errors(page: str) -> dict[str, list[str]]:
    """Errors shown at fields, by field name (as the form macros render them)."""
    found: dict[str, list[str]] = {}
    for name, message in re.findall(r'data-field="([^"]+)">\s*(.*?)\s*</div>', page, re.S):
        found.setdefault(name, []).append(html.unescape(message))
    return found


def input_value(page: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    return html.unescape(match.group(1)) if match else None


def the_agreement() -> Agreement:
    db.session.expire_all()
    return db.session.scalar(select(Agreement).order_by(Agreement.id.desc()))


def test_create_three_party_cooperation_agreement_in_one_post(staff_client, users, taizhou):
    response = staff_client.post_form("/agreements/new", cooperation(taizhou))
    assert response.status_code == 302, field_errors(response.text)
    agreement = the_agreement()
    assert response.headers["Location"] == f"/agreements/{agreement.id}"
    assert agreement.title_zh == "台州湾中英创新中心合作协议"
    assert (agreement.stage, agreement.signed_on, agreement.expires_on) == (
        "signed",
        date(2021, 5, 14),
        date(2026, 5, 31),
    )
    assert (agreement.value_amount, agreement.value_currency) == (Decimal("3000000.00"), "CNY")
    assert agreement.notice_days == 90
    assert agreement.owner_id == agreement.created_by_id == users["staff"].id
    assert [
        (p.partner_id, p.role, p.signatory_id, p.signatory_title) for p in agreement.parties
    ] == [
        (taizhou["committee"].id, "host", taizhou["director"].id, "Director"),
        (taizhou["ukiic"].id, "operator", taizhou["liu"].id, None),
        (taizhou["ekoo"].id, "party", taizhou["ekoo_head"].id, "General Manager"),
    ]
    assert agreement.state(date(2022, 1, 1)) == "in_force"
    assert agreement.signed_sort == date(2021, 5, 14)

    page = staff_client.get(response.headers["Location"]).text
    for name in (
        "Management Committee of Taizhou Bay New Area",
        "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd",
        "Liu Xian",
        "Wang Xianyi · 王先义",
        "Taizhou Hall, Fenghuang Mountain, Taizhou",
    ):
        assert str(escape(name)) in page
    assert f'href="/partners/{taizhou["ukiic"].id}"' in page
    assert f'href="/contacts/{taizhou["liu"].id}"' in page
    # 90 days before the end of the term.
    assert 'id="notice-deadline">2026-03-02<' in page


def test_new_form_prefills_the_partner_it_came_from(staff_client, taizhou):
    page = staff_client.get(f"/agreements/new?partner={taizhou['ukiic'].id}").text
    assert input_value(page, "parties-0-partner") == str(taizhou["ukiic"].id)
    assert input_value(page, "parties-0-partner__label") == "UKIIC · 英国国际创新中心"
    # A second blank row waits for the other party.
    assert input_value(page, "parties-1-partner") == ""
    for junk in ("abc", "99999999999999999999", "-1", ""):
        response = staff_client.get("/agreements/new", query_string={"partner": junk})
        assert response.status_code == 200
        assert input_value(response.text, "parties-0-partner") == ""


def test_edit_adds_and_removes_a_party(staff_client, taizhou):
    t = taizhou
    agreement = make_agreement(
        "MoU on talent exchange",
        parties=[(t["committee"], "party", t["director"]), (t["ukiic"], "party")],
        type="mou",
    )
    db.session.commit()
    kept, dropped = agreement.parties
    page = staff_client.get(f"/agreements/{agreement.id}/edit").text
    assert input_value(page, "parties-1-id") == str(dropped.id)
    data = {
        "title": "MoU on talent exchange",
        "type": "mou",
        "stage": "negotiation",
        "version": input_value(page, "version"),
        "parties-0-id": str(kept.id),
        "parties-0-partner": str(t["committee"].id),
        "parties-0-role": "host",
        "parties-0-signatory": str(t["director"].id),
        "parties-1-partner": str(t["ekoo"].id),
        "parties-1-role": "party",
    }
    response = staff_client.post_form(f"/agreements/{agreement.id}/edit", data)
    assert response.status_code == 302, field_errors(response.text)
    agreement = the_agreement()
    assert [(p.id, p.partner_id, p.role) for p in agreement.parties] == [
        (kept.id, t["committee"].id, "host"),
        (agreement.parties[1].id, t["ekoo"].id, "party"),
    ]
    assert agreement.parties[0].signatory_id == t["director"].id
    # The dropped party's row is gone (SQLite may hand its id to the new row).
    assert db.session.scalars(
        select(AgreementParty.partner_id).where(AgreementParty.agreement_id == agreement.id)
    ).all() == [t["committee"].id, t["ekoo"].id]
    assert agreement.stage == "negotiation"
    assert agreement.version_id == 2


def test_edit_of_parties_alone_moves_the_version_on(staff_client, manager_client, taizhou):
    t = taizhou
    agreement = make_agreement("Framework", parties=[(t["committee"], "party")])
    db.session.commit()
    base = {"title": "Framework", "type": "cooperation", "stage": "draft", "version": "1"}
    first = {
        **base,
        "parties-0-partner": str(t["committee"].id),
        "parties-0-role": "party",
        "parties-0-id": str(agreement.parties[0].id),
        "parties-1-partner": str(t["ukiic"].id),
        "parties-1-role": "party",
    }
    assert staff_client.post_form(f"/agreements/{agreement.id}/edit", first).status_code == 302
    assert the_agreement().version_id == 2
    # A second user, still on version 1, changing only the parties, is refused.
    second = {**base, "parties-0-partner": str(t["ekoo"].id), "parties-0-role": "party"}
    response = manager_client.post_form(f"/agreements/{agreement.id}/edit", second)
    assert response.status_code == 200
    assert "Someone else saved this record" in response.text
    assert [p.partner_id for p in the_agreement().parties] == [t["committee"].id, t["ukiic"].id]


def test_stale_edit_is_refused_with_input_kept(staff_client, manager_client, users, taizhou):
    t = taizhou
    agreement = make_agreement(
        "Original title",
        parties=[(t["committee"], "party"), (t["ukiic"], "party")],
        owner=users["staff"],
    )
    db.session.commit()
    url = f"/agreements/{agreement.id}/edit"
    version_a = input_value(staff_client.get(url).text, "version")
    version_b = input_value(manager_client.get(url).text, "version")
    assert version_a == version_b == "1"

    def form(title, version):
        return {
            "title": title,
            "type": "cooperation",
            "stage": "draft",
            "version": version,
            "parties-0-id": str(agreement.parties[0].id),
            "parties-0-partner": str(t["committee"].id),
            "parties-0-role": "party",
            "parties-1-id": str(agreement.parties[1].id),
            "parties-1-partner": str(t["ukiic"].id),
            "parties-1-role": "party",
        }

    assert staff_client.post_form(url, form("Saved first", version_a)).status_code == 302
    response = manager_client.post_form(url, form("Saved second 第二", version_b))
    assert response.status_code == 200
    assert "Someone else saved this record while you were editing it" in response.text
    assert input_value(response.text, "title") == "Saved second 第二"
    agreement = the_agreement()
    assert agreement.title == "Saved first"
    assert agreement.version_id == 2
    # The form now carries the current version: saving again is a deliberate overwrite.
    assert input_value(response.text, "version") == "2"


BAD_INPUT = [
    pytest.param({"title": ""}, "title", "This field is required.", None, id="missing-title"),
    pytest.param(
        {"title": "t" * 501},
        "title",
        "Field cannot be longer than 500 characters.",
        ("title", "t" * 501),
        id="title-too-long",
    ),
    pytest.param(
        {"title_zh": "协" * 301},
        "title_zh",
        "Field cannot be longer than 300 characters.",
        ("title_zh", "协" * 301),
        id="chinese-title-too-long",
    ),
    pytest.param(
        {"signed_at": "x" * 301},
        "signed_at",
        "Field cannot be longer than 300 characters.",
        None,
        id="place-too-long",
    ),
    pytest.param(
        {"parties-2-signatory_title": "y" * 301},
        "parties-2-signatory_title",
        "Field cannot be longer than 300 characters.",
        ("parties-2-signatory_title", "y" * 301),
        id="signatory-title-too-long",
    ),
    pytest.param(
        {"summary": "s" * 20001},
        "summary",
        "Field cannot be longer than 20000 characters.",
        None,
        id="summary-too-long",
    ),
    pytest.param(
        {"effective_from": "2022-01-01", "expires_on": "2021-12-31"},
        "expires_on",
        "The expiry cannot be before the start.",
        ("expires_on", "2021-12-31"),
        id="expires-before-effective",
    ),
    pytest.param(
        {"value_amount": "-5"},
        "value_amount",
        "The amount cannot be negative.",
        ("value_amount", "-5"),
        id="negative-amount",
    ),
    pytest.param(
        {"value_amount": "10.125"},
        "value_amount",
        "Use at most two decimals.",
        ("value_amount", "10.125"),
        id="three-decimals",
    ),
    pytest.param(
        {"value_amount": "1e400"},
        "value_amount",
        "This amount is too large.",
        ("value_amount", "1e400"),
        id="huge-amount",
    ),
    pytest.param(
        {"value_amount": "1000", "value_currency": ""},
        "value_currency",
        "Choose the currency of the amount.",
        ("value_amount", "1000"),
        id="amount-without-currency",
    ),
    pytest.param(
        {"notice_days": "-1"},
        "notice_days",
        "Enter a number of days from 0 to 3650.",
        ("notice_days", "-1"),
        id="negative-notice",
    ),
    pytest.param(
        {"notice_days": "99999999999999999999999"},
        "notice_days",
        "Enter a number of days from 0 to 3650.",
        None,
        id="huge-notice",
    ),
    pytest.param(
        {"notice_days": "1.5"}, "notice_days", "Not a valid integer value.", None, id="notice-1.5"
    ),
    pytest.param(
        {"signed_on": "2021-02-30"},
        "signed_on",
        "Enter a date as YYYY-MM-DD.",
        ("signed_on", "2021-02-30"),
        id="impossible-date",
    ),
    pytest.param(
        {"signed_on": ""}, "signed_on", "Enter the date it was signed.", None, id="signed-no-date"
    ),
    pytest.param(
        {
            "parties-1-partner": "",
            "parties-1-partner__label": "",
            "parties-1-signatory": "",
            "parties-1-signatory__label": "",
            "parties-2-partner": "",
            "parties-2-partner__label": "",
            "parties-2-signatory": "",
            "parties-2-signatory__label": "",
            "parties-2-signatory_title": "",
        },
        "stage",
        "A signed agreement needs at least two organisations as parties.",
        None,
        id="signed-with-one-party",
    ),
    pytest.param(
        {"parties-1-partner": "999999"},
        "parties-1-partner",
        "This record does not exist or is archived.",
        ("parties-1-partner__label", "UKIIC"),
        id="unknown-partner",
    ),
    pytest.param(
        {"parties-1-partner": "abc", "parties-1-partner__label": ""},
        "parties-1-partner",
        "Pick a record from the list.",
        None,
        id="garbage-partner-id",
    ),
    pytest.param(
        {"parties-1-partner": "99999999999999999999999"},
        "parties-1-partner",
        "Pick a record from the list.",
        None,
        id="huge-partner-id",
    ),
    pytest.param(
        {"parties-1-partner": "", "parties-1-partner__label": "Someone typed this"},
        "parties-1-partner",
        "Pick a record from the list.",
        ("parties-1-partner__label", "Someone typed this"),
        id="typed-not-picked",
    ),
    pytest.param(
        {"parties-1-signatory": "123456"},
        "parties-1-signatory",
        "This record does not exist or is archived.",
        None,
        id="unknown-signatory",
    ),
    pytest.param(
        {"title": "Agreement\x00"},
        "title",
        "Remove the control characters from this text.",
        None,
        id="nul-in-title",
    ),
    pytest.param(
        {"parties-0-signatory_title": "Director\x00"},
        "parties-0-signatory_title",
        "Remove the control characters from this text.",
        None,
        id="nul-in-a-row",
    ),
    pytest.param({"type": "treaty"}, "type", "Not a valid choice.", None, id="unknown-type"),
    pytest.param(
        {"parties-0-role": "king"}, "parties-0-role", "Not a valid choice.", None, id="bad-role"
    ),
    pytest.param(
        {"amendment_kind": "renews"},
        "amends",
        "Pick the earlier agreement.",
        None,
        id="kind-without-agreement",
    ),
]


@pytest.mark.parametrize("changes, field, message, kept", BAD_INPUT)
def test_bad_input_is_refused_at_the_field(staff_client, taizhou, changes, field, message, kept):
    before = counts()
    data = cooperation(taizhou, **changes)
    response = staff_client.post_form("/agreements/new", data)
    assert response.status_code == 200
    errors = field_errors(response.text)
    assert message in errors.get(field, []), errors
    if kept:
        assert input_value(response.text, kept[0]) == kept[1]
    # What was not wrong is still in the form.
    if field != "title":
        assert input_value(response.text, "title") == data["title"]
    assert input_value(response.text, "title_zh") == data.get("title_zh")
    assert counts() == before


def test_same_partner_twice_in_same_role_is_refused(staff_client, taizhou):
    t = taizhou
    data = cooperation(t, **{"parties-2-partner": str(t["ukiic"].id), "parties-2-role": "operator"})
    response = staff_client.post_form("/agreements/new", data)
    assert response.status_code == 200
    assert "The same organisation is listed twice in the same role." in response.text
    assert counts() == (0, 0)
    # Twice in different roles is fine (a funder that is also a party).
    data["parties-2-role"] = "funder"
    assert staff_client.post_form("/agreements/new", data).status_code == 302


def test_archived_partner_cannot_be_picked(staff_client, taizhou):
    taizhou["ekoo"].archived_at = taizhou["ekoo"].created_at
    db.session.commit()
    response = staff_client.post_form("/agreements/new", cooperation(taizhou))
    assert "This record does not exist or is archived." in field_errors(response.text).get(
        "parties-2-partner", []
    )
    assert counts() == (0, 0)


def test_a_row_with_only_a_signatory_asks_for_the_organisation(staff_client, taizhou):
    data = cooperation(taizhou, **{"parties-2-partner": "", "parties-2-partner__label": ""})
    response = staff_client.post_form("/agreements/new", data)
    assert "Pick the organisation." in field_errors(response.text).get("parties-2-partner", [])
    assert input_value(response.text, "parties-2-signatory") == str(taizhou["ekoo_head"].id)
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    "junk",
    [
        {"parties-0-partner": "abc"},
        {"parties-²-partner": "1"},
        {"parties-99999999999999999999-partner": "1"},
        {"parties-x-partner": "1"},
        {"owner": "abc"},
        {"owner": "99999999999999999999"},
        {"stage": "signed", "signed_on": "99999-01-01"},
        {"expires_on": "0000-00-00"},
        {"value_amount": "NaN"},
        {"value_amount": "Infinity"},
        {"value_amount": "１２３"},
        {"notice_days": "一"},
        {"amends": "-3"},
        {"amends": "2147483648"},
        {"version": "x"},
        {"auto_renew": "maybe"},
    ],
)
def test_garbage_never_yields_a_server_error(staff_client, taizhou, junk):
    agreement = make_agreement("Existing", parties=[(taizhou["ukiic"], "party")])
    db.session.commit()
    for url in ("/agreements/new", f"/agreements/{agreement.id}/edit"):
        response = staff_client.post_form(url, cooperation(taizhou, **junk))
        assert response.status_code in (200, 302), (url, response.status_code)


def test_empty_posts_are_refused_without_writing(staff_client, taizhou):
    agreement = make_agreement("Existing", parties=[(taizhou["ukiic"], "party")])
    db.session.commit()
    before = counts()
    response = staff_client.post_form("/agreements/new", {})
    assert response.status_code == 200
    assert "This field is required." in field_errors(response.text)["title"]
    # An edit without its version cannot prove it saw the current record.
    response = staff_client.post_form(f"/agreements/{agreement.id}/edit", {})
    assert response.status_code == 200
    assert "Someone else saved this record" in response.text
    assert counts() == before
    assert the_agreement().title == "Existing"


def test_html_chinese_and_emoji_round_trip_as_text(staff_client, taizhou):
    title = '<script>alert("x")</script> 合作协议 🤝'
    summary = "<b>bold</b> & 台州湾 🚀"
    data = cooperation(taizhou, title=title, summary=summary)
    # First with an error elsewhere: the page comes back with the input kept, escaped.
    response = staff_client.post_form("/agreements/new", {**data, "value_currency": ""})
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    assert input_value(response.text, "title") == title
    assert str(escape(summary)) in response.text
    # Then saved: stored as typed, shown as text.
    response = staff_client.post_form("/agreements/new", data)
    assert response.status_code == 302
    agreement = the_agreement()
    assert (agreement.title, agreement.summary) == (title, summary)
    for url in (f"/agreements/{agreement.id}", "/agreements/"):
        page = staff_client.get(url).text
        assert "<script>alert" not in page and "<b>bold" not in page
        assert str(escape(title)) in page


def test_amendments_link_both_ways_and_refuse_cycles(staff_client, taizhou):
    t = taizhou
    parties = [(t["committee"], "party"), (t["ukiic"], "party")]
    original = make_agreement(
        "Original", parties=parties, stage="signed", signed_on=date(2021, 5, 14)
    )
    db.session.commit()
    data = cooperation(
        t,
        title="Supplement on talent housing",
        amends=str(original.id),
        amendment_kind="supplements",
    )
    response = staff_client.post_form("/agreements/new", data)
    assert response.status_code == 302, field_errors(response.text)
    supplement = the_agreement()
    assert (supplement.amends_id, supplement.amendment_kind) == (original.id, "supplements")

    page = staff_client.get(f"/agreements/{original.id}").text
    assert "Supplement on talent housing" in page and 'id="agreement-amendments"' in page
    page = staff_client.get(f"/agreements/{supplement.id}").text
    assert f'href="/agreements/{original.id}"' in page and "Supplements" in page

    # An amends link needs its kind.
    response = staff_client.post_form(
        "/agreements/new", cooperation(t, amends=str(original.id), amendment_kind="")
    )
    assert "Say whether it amends" in " ".join(field_errors(response.text)["amendment_kind"])

    def edit_original(amends_id):
        return staff_client.post_form(
            f"/agreements/{original.id}/edit",
            {
                "title": "Original",
                "type": "cooperation",
                "stage": "draft",
                "version": str(the_agreement_by(original.id).version_id),
                "amends": str(amends_id),
                "amendment_kind": "amends",
                "parties-0-partner": str(t["committee"].id),
                "parties-0-role": "party",
            },
        )

    response = edit_original(original.id)
    assert "An agreement cannot amend itself." in field_errors(response.text)["amends"]
    response = edit_original(supplement.id)
    assert "This would make a circle of amendments." in field_errors(response.text)["amends"]
    assert the_agreement_by(original.id).amends_id is None


def the_agreement_by(agreement_id):
    db.session.expire_all()
    return db.session.get(Agreement, agreement_id)


def test_detail_shows_projects_that_came_out_of_it(staff_client, taizhou):
    agreement = make_agreement("Source", parties=[(taizhou["ukiic"], "party")])
    make_project(
        "Taizhou Bay China-UK Innovation Center",
        name_zh="台州湾中英创新中心",
        agreements=[agreement],
    )
    db.session.commit()
    page = staff_client.get(f"/agreements/{agreement.id}").text
    assert "Taizhou Bay China-UK Innovation Center · 台州湾中英创新中心" in page
    assert re.search(r'href="/projects/\d+"', page)


def test_unknown_agreement_is_404(staff_client, users):
    for url in (
        "/agreements/999999",
        "/agreements/99999999999999999999",
        "/agreements/999999/edit",
        "/agreements/99999999999999999999/edit",
    ):
        assert staff_client.get(url).status_code == 404
    response = staff_client.post_form("/agreements/99999999999999999999/archive")
    assert response.status_code == 404


def test_archive_by_owner_non_owner_and_restore_by_manager(
    app, staff_client, manager_client, users, taizhou
):
    from tests.factories import make_user

    other_staff = make_user("staff")
    agreement = make_agreement(
        "To archive",
        parties=[(taizhou["committee"], "party"), (taizhou["ukiic"], "host")],
        owner=users["staff"],
    )
    db.session.commit()
    url = f"/agreements/{agreement.id}"
    other = app.test_client().login_as(other_staff)
    assert other.post_form(url + "/archive").status_code == 403
    assert the_agreement_by(agreement.id).archived_at is None
    assert "Archive" not in other.get(url).text.split("agreement-facts")[0].split("Edit")[1]

    assert staff_client.post_form(url + "/archive").status_code == 302
    assert the_agreement_by(agreement.id).archived_at is not None
    assert staff_client.post_form(url + "/restore").status_code == 403
    assert "This record is archived." in staff_client.get(url).text

    response = manager_client.post_form(url + "/restore")
    assert response.status_code == 302 and response.headers["Location"] == url
    restored = the_agreement_by(agreement.id)
    assert restored.archived_at is None
    assert [(p.partner_id, p.role) for p in restored.parties] == [
        (taizhou["committee"].id, "party"),
        (taizhou["ukiic"].id, "host"),
    ]


def test_only_managers_reassign_the_owner(staff_client, manager_client, users, taizhou):
    data = cooperation(taizhou, owner=str(users["admin"].id))
    assert staff_client.post_form("/agreements/new", data).status_code == 302
    assert the_agreement().owner_id == users["staff"].id
    assert manager_client.post_form("/agreements/new", data).status_code == 302
    assert the_agreement().owner_id == users["admin"].id
