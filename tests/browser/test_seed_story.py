"""As a new user would: the seed story recorded by hand through the forms, then each
record found again from the lists, and its links followed both ways."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import pick

pytestmark = pytest.mark.browser


def save(page, message):
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(message)).to_be_visible()


def new_partner(
    page,
    name_en,
    name_zh="",
    kind="government",
    country="CN",
    parent=None,
    other_names=(),
    figures=(),
    own=False,
):
    page.goto("/partners/new")
    page.get_by_label("English name").fill(name_en)
    if name_zh:
        page.get_by_label("Chinese name").fill(name_zh)
    page.get_by_label("Kind", exact=True).select_option(kind)
    page.get_by_label("Relationship", exact=True).select_option("active")
    page.get_by_label("Country", exact=True).select_option(country)
    if parent:
        pick(page, "parent", parent)
    if own:
        page.get_by_label("This is our own organisation (the accelerator)").check()
    for i, (name, name_kind) in enumerate(other_names):
        if i:
            page.get_by_role("button", name="Add a name").click()
        page.locator(f"#other_names-{i}-name").fill(name)
        page.locator(f"#other_names-{i}-kind").select_option(name_kind)
    for i, (label, value, unit, year) in enumerate(figures):
        if i:
            page.get_by_role("button", name="Add a figure").click()
        page.locator(f"#figures-{i}-label").fill(label)
        page.locator(f"#figures-{i}-value").fill(value)
        page.locator(f"#figures-{i}-unit").fill(unit)
        page.locator(f"#figures-{i}-year").fill(year)
    save(page, "Partner saved.")
    return page.url


def test_the_seed_story_by_hand(signed_in_page):
    page = signed_in_page
    ukiic = new_partner(
        page,
        "UKIIC",
        "英国国际创新中心",
        kind="accelerator",
        country="GB",
        own=True,
        other_names=[
            ("UKIIC Accelerator", "alias"),
            ("British International Innovation Center", "translation"),
        ],
    )
    new_partner(page, "Taizhou Municipal People's Government", "台州市人民政府")
    bay = new_partner(
        page,
        "Management Committee of Taizhou Bay New Area",
        "台州湾新区管理委员会",
        parent="台州市人民政府",
        figures=[
            ("Population", "140000", "people", "2021"),
            ("Industrial output", "42.8", "billion CNY", "2019"),
        ],
    )
    new_partner(
        page,
        "Sino-British Ekoo (Shenzhen) Network Technology Co., Ltd",
        kind="company",
        other_names=[
            ("Sino-British arts library network technology (shenzhen) co., LTD.", "translation")
        ],
    )
    new_partner(
        page, "Organization Department of the CPC Taizhou Municipal Committee", "中共台州市委组织部"
    )
    new_partner(page, "Taizhou Municipal Permanent Office")

    # Lu Hongju holds two posts at once.
    page.goto("/contacts/new")
    page.get_by_label("Name", exact=True).fill("Lu Hongju")
    pick(page, "positions-0-partner", "组织部")
    page.locator("#positions-0-title").fill("Vice Minister")
    page.get_by_role("button", name="Add a position").click()
    pick(page, "positions-1-partner", "permanent office")
    page.locator("#positions-1-title").fill("Director")
    save(page, "Contact saved.")
    lu = page.url
    page.goto("/contacts/new")
    page.get_by_label("Name", exact=True).fill("Liu Xian")
    page.get_by_label("Chinese name").fill("刘贤")
    pick(page, "positions-0-partner", "ukiic")
    page.locator("#positions-0-title").fill("Director, UKIIC Accelerator")
    save(page, "Contact saved.")

    # The three-party agreement.
    page.goto("/agreements/new")
    page.get_by_label("Title", exact=True).fill(
        "Cooperation agreement on the Sino-British Innovation Center in Taizhou Bay"
    )
    pick(page, "parties-0-partner", "taizhou bay")
    page.locator("#parties-0-role").select_option("host")
    page.get_by_role("button", name="Add a party").click()
    pick(page, "parties-1-partner", "英国国际创新中心")
    page.locator("#parties-1-role").select_option("party")
    pick(page, "parties-1-signatory", "liu xian")
    page.get_by_role("button", name="Add a party").click()
    pick(page, "parties-2-partner", "arts library")
    page.locator("#parties-2-role").select_option("operator")
    page.get_by_label("Stage").select_option("signed")
    page.get_by_label("Signed on").fill("2021-05-17")
    page.get_by_label("Signed at (place)").fill("Taizhou Hall, Fenghuang Mountain")
    save(page, "Agreement saved.")
    agreement = page.url

    # Found again from the lists, by Chinese, pinyin and other names.
    page.goto("/partners/?q=台州")
    expect(page.locator("#partner-list")).to_contain_text("Management Committee of Taizhou Bay")
    page.goto("/partners/?q=yingguo")
    expect(page.locator("#partner-list")).to_contain_text("UKIIC")
    page.goto("/partners/?q=arts+library")
    page.locator("#partner-list a", has_text="Ekoo").click()
    expect(page.get_by_role("heading", name=re.compile("Ekoo"))).to_be_visible()
    page.goto("/contacts/?q=刘")
    expect(page.locator("#contact-list")).to_contain_text("Liu Xian")

    # Links followed both ways: partner -> agreement -> partner; contact -> partner.
    page.goto(bay)
    expect(page.locator("#partner-agreements")).to_contain_text("Host")
    page.locator("#partner-agreements a", has_text="Cooperation agreement").click()
    assert page.url == agreement
    page.get_by_role("link", name=re.compile("^UKIIC")).first.click()
    assert page.url == ukiic
    expect(page.locator("#partner-people")).to_contain_text("Liu Xian")
    page.goto(lu)
    page.locator("#contact-positions a", has_text="Permanent Office").click()
    expect(page.locator("#partner-people")).to_contain_text("Lu Hongju")
    page.goto(bay)
    expect(page.locator("td.figure-value", has_text="42.8")).to_be_visible()
    page.get_by_role("link", name=re.compile("Taizhou Municipal People")).first.click()
    expect(page.locator("#partner-children")).to_contain_text("Taizhou Bay New Area")
    assert page.log.console_errors == []
    assert page.log.foreign_requests == []
