"""As a new user would: first administrator, sign out and in, both languages."""

import re

import pytest
from playwright.sync_api import expect

from crm.auth.setup import ensure_setup_code

pytestmark = pytest.mark.browser

PASSWORD = "browser admin password 1"


def test_first_admin_sign_out_sign_in_and_languages(app, browser_page):
    page = browser_page
    code = ensure_setup_code(app)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Create the first administrator")).to_be_visible()
    page.get_by_label("Setup code").fill("wrong-code")
    page.get_by_label("Email").fill("liu.xian@ukiic.example")
    page.get_by_label("Name").fill("Liu Xian 刘贤")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("This is not the setup code the app printed.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("liu.xian@ukiic.example")

    page.get_by_label("Setup code").fill(code)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    expect(page.get_by_text("Welcome. You are the first administrator.")).to_be_visible()

    page.wait_for_load_state("load")
    page.locator("#user-menu").click()
    page.locator("#sign-out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.get_by_label("Email").fill("liu.xian@ukiic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome, Liu Xian"))).to_be_visible()

    page.wait_for_load_state("load")  # the menus work once Bootstrap's script has run
    page.locator("#language-menu").click()
    page.locator("button[data-lang=zh_Hans]").click()
    expect(page.get_by_role("heading", name=re.compile("欢迎"))).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.wait_for_load_state("load")  # the menus work once Bootstrap's script has run
    page.locator("#language-menu").click()
    page.locator("button[data-lang=en]").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()

    assert page.log.console_errors == []
    assert page.log.foreign_requests == []
