"""The partner network in a real browser: drawn from the app's own plotly with no console
error and no request leaving the app; a link shows its agreements, a partner opens."""

import re

import pytest
from playwright.sync_api import expect

from crm.db import db
from crm.demo import load_story

pytestmark = pytest.mark.browser


def test_network_draws_and_its_links_and_partners_open(signed_in_page):
    page = signed_in_page
    load_story()
    db.session.commit()
    page.goto("/dashboard/network")
    graph = page.locator("#network-graph")
    expect(graph).to_have_attribute("data-drawn", "1")
    # The accelerator is drawn (a star), with the partners it shares agreements with.
    expect(graph.locator(".legendtext", has_text="Our organisation")).to_have_count(1)
    # Click the first link's middle dot: the panel lists the agreements behind it.
    traces = graph.locator(".scatterlayer .trace")
    link_dots = traces.nth(1).locator(".point")
    assert link_dots.count() >= 3
    link_dots.first.click(force=True)
    panel = page.locator("#network-panel")
    expect(panel).to_have_attribute("data-loaded", "1")
    agreements = panel.locator("ul a[href^='/agreements/']")
    assert agreements.count() >= 1
    title = agreements.first.inner_text()
    assert "Agreement" in title or "agreement" in title or "协议" in title
    # The "all agreements" link leads to the list of exactly those agreements.
    listed = panel.locator("a[data-list]").first
    expected = int(re.search(r"(\d+)", listed.inner_text()).group(1))
    listed.click()
    page.wait_for_url(re.compile(r"/agreements/\?"))
    expect(page.locator("[data-count]")).to_have_attribute("data-count", str(expected))
    # Back on the graph, clicking a partner opens it.
    page.goto("/dashboard/network")
    expect(graph).to_have_attribute("data-drawn", "1")
    graph.locator(".scatterlayer .trace").nth(2).locator(".point").first.click(force=True)
    page.wait_for_url(re.compile(r"/partners/\d+$"))
    assert page.log.console_errors == []
    assert page.log.foreign_requests == []
