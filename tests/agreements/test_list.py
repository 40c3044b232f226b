"""The agreement list (filters, sorts, keyset paging), the picker lookup, statement counts."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.agreements.models import Agreement, AgreementParty
from crm.agreements.queries import SORTS
from crm.db import db, utcnow
from tests.factories import make_agreement, make_contact, make_partner, make_project
from tests.querycount import count_statements

TODAY = date.today()


def listed(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-agreement-id="(\d+)"', page)]


def ignored_filters(page: str) -> list[str]:
    return [
        html.unescape(m) for m in re.findall(r'alert-warning py-2">\s*(.*?)\s*</div>', page, re.S)
    ]


@pytest.fixture
def sample(users):
    """A spread of agreements over types, stages, states, dates and parties."""
    gov = make_partner("Taizhou Bay New Area", name_zh="台州湾新区", kind="government")
    ukiic = make_partner("UKIIC")
    oxford = make_partner("Oxford International Education Group")
    signed = {"stage": "signed"}
    made = {
        "draft": make_agreement("Draft MoU", [(gov, "party"), (ukiic, "party")], type="mou"),
        "talks": make_agreement(
            "Framework in talks", [(oxford, "party")], type="framework", stage="negotiation"
        ),
        "ended": make_agreement(
            "Terminated licence",
            [(ukiic, "party")],
            type="licence",
            stage="terminated",
            signed_on=date(2018, 3, 1),
        ),
        "pending": make_agreement(
            "Future cooperation",
            [(gov, "host"), (oxford, "party")],
            signed_on=TODAY - timedelta(days=3),
            effective_from=TODAY + timedelta(days=30),
            **signed,
        ),
        "in_force": make_agreement(
            "Taizhou Bay cooperation agreement",
            [(gov, "host"), (ukiic, "operator")],
            title_zh="台州湾中英创新中心合作协议",
            signed_on=date(2021, 5, 14),
            effective_from=date(2021, 6, 1),
            expires_on=TODAY + timedelta(days=400),
            **signed,
        ),
        "open_ended": make_agreement(
            "Open-ended contract",
            [(ukiic, "party"), (oxford, "party")],
            type="contract",
            signed_on=date(2019, 1, 10),
            **signed,
        ),
        "expired": make_agreement(
            "Expired letter of intent",
            [(gov, "party"), (oxford, "party")],
            type="loi",
            signed_on=date(2017, 1, 1),
            effective_from=date(2017, 1, 1),
            expires_on=date(2018, 12, 31),
            **signed,
        ),
        "renewed": make_agreement(
            "Auto-renewing framework",
            [(gov, "party"), (ukiic, "party")],
            type="framework",
            signed_on=date(2019, 12, 1),
            effective_from=date(2020, 1, 1),
            expires_on=date(2020, 12, 31),
            auto_renew=True,
            notice_days=60,
            **signed,
        ),
        "archived": make_agreement(
            "Archived taizhou cooperation", [(gov, "party")], signed_on=date(2020, 2, 2), **signed
        ),
    }
    made["archived"].archive(users["manager"])
    db.session.commit()
    return {"gov": gov, "ukiic": ukiic, "oxford": oxford, **made}


def ids(sample, *names):
    return sorted(sample[n].id for n in names)


def test_list_hides_archived_and_shows_parties(staff_client, sample):
    page = staff_client.get("/agreements/").text
    assert sorted(listed(page)) == ids(
        sample,
        "draft",
        "talks",
        "ended",
        "pending",
        "in_force",
        "open_ended",
        "expired",
        "renewed",
    )
    assert "Oxford International Education Group" in page
    assert f'href="/partners/{sample["gov"].id}"' in page
    everything = listed(staff_client.get("/agreements/?archived=all").text)
    assert sample["archived"].id in everything and len(everything) == 9
    assert listed(staff_client.get("/agreements/?archived=only").text) == [sample["archived"].id]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("type=mou", ["draft"]),
        ("type=framework&type=loi", ["talks", "expired", "renewed"]),
        ("stage=negotiation&stage=terminated", ["talks", "ended"]),
        ("stage=signed", ["pending", "in_force", "open_ended", "expired", "renewed"]),
        ("state=in_force", ["in_force", "open_ended", "renewed"]),
        ("state=pending", ["pending"]),
        ("state=expired", ["expired"]),
        ("state=draft&state=terminated", ["draft", "ended"]),
        ("signed_from=2019-01-01&signed_to=2021-12-31", ["in_force", "open_ended", "renewed"]),
        ("signed_to=2018-12-31", ["ended", "expired"]),
        ("expires_to=2020-12-31", ["expired", "renewed"]),
        ("q=taizhou", ["in_force"]),
        ("q=台州湾", ["in_force"]),
        ("q=zhong ying", ["in_force"]),
        ("q=taizhou&archived=all", ["in_force", "archived"]),
        ("q=no such words", []),
    ],
)
def test_filters(staff_client, sample, query, expected):
    page = staff_client.get("/agreements/?" + query).text
    assert sorted(listed(page)) == ids(sample, *expected)
    assert ignored_filters(page) == []


def test_partner_filter_for_drill_down_from_a_partner(staff_client, sample):
    oxford = sample["oxford"]
    page = staff_client.get(f"/agreements/?partner={oxford.id}").text
    assert sorted(listed(page)) == ids(sample, "talks", "pending", "open_ended", "expired")
    assert "with Oxford International Education Group" in page
    # A new agreement from here starts with that partner.
    assert f'href="/agreements/new?partner={oxford.id}"' in page


def test_owner_filter(staff_client, users, sample):
    mine = make_agreement("Mine", owner=users["staff"])
    db.session.commit()
    page = staff_client.get(f"/agreements/?owner={users['staff'].id}").text
    assert listed(page) == [mine.id]


@pytest.mark.parametrize(
    "query, name",
    [
        ("signed_from=2021-02-30", "signed_from"),
        ("expires_to=yesterday", "expires_to"),
        ("state=sleeping", "state"),
        ("type=treaty", "type"),
        ("partner=abc", "partner"),
        ("partner=99999999999999999999", "partner"),
        ("owner=-4", "owner"),
        ("archived=maybe", "archived"),
    ],
)
def test_bad_filters_are_shown_as_ignored(staff_client, sample, query, name):
    response = staff_client.get("/agreements/?" + query)
    assert response.status_code == 200
    messages = ignored_filters(response.text)
    assert len(messages) == 1 and f"The filter {name} = " in messages[0]
    assert len(listed(response.text)) == 8  # the filter is ignored, not the list


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "e30",
        base64.urlsafe_b64encode(json.dumps(["x", "y"]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps([{"d": "2021-02-30"}, 1]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps([[1], {"a": 1}]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps([True, 2**70]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps([{"n": "abc"}, 1]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps([{"dt": 5}, {"d": []}, 1]).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps(["t\u0000", 1]).encode()).decode(),
    ],
)
def test_bad_cursors_start_from_the_top(staff_client, sample, cursor):
    for sort in SORTS:
        for arg in ("after", "before"):
            response = staff_client.get("/agreements/", query_string={arg: cursor, "sort": sort})
            assert response.status_code == 200, (sort, arg)
            assert len(listed(response.text)) == 8, (sort, arg)


def walk(client, url):
    """Follow "Next" from `url` to the end; the ids of each page."""
    pages = []
    while url:
        page = client.get(url).text
        pages.append(listed(page))
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = html.unescape(found.group(1)) if found and found.group(1) != "#" else None
        assert len(pages) < 50
    return pages


@pytest.fixture
def many(users):
    """23 agreements whose sort keys repeat, and some with missing dates."""
    types = ["cooperation", "mou", "framework", "contract"]
    stages = ["draft", "signed", "negotiation"]
    made = []
    for n in range(23):
        made.append(
            make_agreement(
                f"T{(n * 7) % 11:02d}",
                type=types[n % 4],
                stage=stages[n % 3],
                signed_on=None if n % 5 == 0 else date(2020, 1 + n % 12, 1),
                expires_on=None if n % 4 == 0 else date(2025, 1, 1 + n % 3),
            )
        )
    db.session.commit()
    for n, agreement in enumerate(made):
        # Distinct update times, some tied, independent of the id order.
        agreement.updated_at = utcnow().replace(microsecond=0) - timedelta(minutes=(n * 5) % 7)
    db.session.commit()
    return made


def expected_order(key, desc):
    rows = db.session.scalars(select(Agreement)).all()
    columns = [c.key for c in SORTS[key].columns]
    return [
        a.id
        for a in sorted(rows, key=lambda a: (*[getattr(a, c) for c in columns], a.id), reverse=desc)
    ]


@pytest.mark.parametrize("key", sorted(SORTS))
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_keyset_paging_sees_every_row_once_in_order(make_app, users, many, key, direction):
    small = make_app(PAGE_SIZE=5)
    client = small.test_client().login_as(users["staff"])
    pages = walk(client, f"/agreements/?sort={key}&dir={direction}")
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    seen = [i for p in pages for i in p]
    db.session.expire_all()
    assert seen == expected_order(key, direction == "desc")


def test_paging_back_returns_the_previous_page(make_app, users, many):
    small = make_app(PAGE_SIZE=5)
    client = small.test_client().login_as(users["staff"])
    first = client.get("/agreements/?sort=title").text
    second_url = html.unescape(re.search(r'rel="next" href="([^"]+)"', first).group(1))
    second = client.get(second_url).text
    third_url = html.unescape(re.search(r'rel="next" href="([^"]+)"', second).group(1))
    third = client.get(third_url).text
    back_url = html.unescape(re.search(r'rel="prev" href="([^"]+)"', third).group(1))
    assert listed(client.get(back_url).text) == listed(second)
    assert 'data-count="23"' in first


def test_lookup_finds_by_chinese_and_english_and_skips_archived(staff_client, sample):
    def found(q):
        response = staff_client.get("/agreements/lookup", query_string={"q": q})
        assert response.status_code == 200
        return [r["id"] for r in response.get_json()["results"]]

    in_force = sample["in_force"].id
    assert found("台州") == [in_force]  # two characters: the LIKE path
    assert found("中英创新中心") == [in_force]
    assert found("Taizhou Bay") == [in_force]
    assert found("TAIZHOU") == [in_force]
    assert found("") == []
    assert found("%") == []
    assert sample["archived"].id not in found("cooperation")
    results = staff_client.get("/agreements/lookup?q=taizhou").get_json()["results"]
    assert results[0]["label"] == "Taizhou Bay cooperation agreement · 台州湾中英创新中心合作协议"
    assert "Cooperation agreement" in results[0]["detail"]


def statements(app, client, url):
    assert client.get(url).status_code == 200  # warm up: first-request checks and caches
    with count_statements(app) as log:
        assert client.get(url).status_code == 200
    return log


def test_list_statement_count_does_not_grow(app, staff_client, users):
    partners = [make_partner(f"Org {n}") for n in range(4)]

    def add(count):
        for n in range(count):
            make_agreement(
                f"Bulk {n}",
                parties=[(partners[n % 4], "party"), (partners[(n + 1) % 4], "host")],
                owner=users["staff"],
            )
        db.session.commit()

    add(10)
    small = statements(app, staff_client, "/agreements/")
    add(190)
    large = statements(app, staff_client, "/agreements/")
    assert small.count == large.count, (small, large)
    filtered = statements(app, staff_client, f"/agreements/?partner={partners[0].id}&state=draft")
    # At most one more: the partner named in the heading (often already loaded).
    assert filtered.count in (large.count, large.count + 1), filtered


def test_detail_statement_count_does_not_grow(app, staff_client, users):
    def build(size):
        agreement = make_agreement(f"Big {size}", stage="signed", signed_on=date(2021, 1, 1))
        for n in range(size):
            partner = make_partner(f"Party {size}-{n}")
            contact = make_contact(f"Signatory {size}-{n}")
            agreement.parties.append(
                AgreementParty(partner_id=partner.id, role="party", signatory_id=contact.id)
            )
            make_agreement(f"Amendment {size}-{n}", amends_id=agreement.id, amendment_kind="amends")
            make_project(f"Project {size}-{n}", agreements=[agreement])
        db.session.commit()
        return agreement

    small, large = build(10), build(200)
    few = statements(app, staff_client, f"/agreements/{small.id}")
    lots = statements(app, staff_client, f"/agreements/{large.id}")
    assert few.count == lots.count, (few, lots)
    page = staff_client.get(f"/agreements/{large.id}").text
    assert "Signatory 200-199" in page  # every party shown
    assert len(re.findall(r'href="/projects/\d+"', page)) == 100  # long lists are capped
    assert len(re.findall(r'href="/agreements/\d+"', page)) == 100
