"""With the demo data loaded, the dashboard draws every chart from the app's own plotly,
with no console error and no request leaving the app, and a bar leads to its records."""

import re

import pytest
from playwright.sync_api import expect

from crm.db import db
from crm.demo import load_story

pytestmark = pytest.mark.browser


def test_dashboard_charts_draw_and_a_bar_drills_down(signed_in_page):
    page = signed_in_page
    load_story()
    db.session.commit()
    page.goto("/dashboard/?from=2021-01-01&to=2021-12-31")
    charts = page.locator(".dashboard-chart")
    count = charts.count()
    assert count >= 4
    for i in range(count):
        expect(charts.nth(i)).to_have_attribute("data-drawn", "1")
    # The partners-by-kind chart: click the government bar, land on exactly those partners.
    chart = page.locator("#chart-partners-by-kind")
    bars = chart.locator(".point path")
    expect(bars.first).to_be_visible()
    table_cell = page.locator("#table-partners-by-kind a[data-drill]").first
    figure = int(table_cell.get_attribute("data-figure"))
    bars.first.click(force=True)
    page.wait_for_url(re.compile(r"/partners/\?"))
    expect(page.locator("[data-count]")).to_have_attribute("data-count", str(figure))
    assert page.log.console_errors == []
    assert page.log.foreign_requests == []


def test_dashboard_prints_readably(signed_in_page):
    """Printed: no navigation or filters; every chart and table within the page width."""
    page = signed_in_page
    load_story()
    db.session.commit()
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto("/dashboard/?from=2021-01-01&to=2021-12-31")
    expect(page.locator(".dashboard-chart").first).to_have_attribute("data-drawn", "1")
    page.set_viewport_size({"width": 760, "height": 1000})  # about A4 at 96 dpi
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    page.wait_for_timeout(300)
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator("#dashboard-filters")).to_be_hidden()
    expect(page.locator("#indicators")).to_be_visible()
    width = page.evaluate("document.documentElement.clientWidth")
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('.dashboard-chart .main-svg, table'))"
        ".map(e => e.getBoundingClientRect().right)"
    )
    assert boxes and max(boxes) <= width + 1, (max(boxes), width)
    assert page.locator("details:not([open])").count() == 0
    assert page.log.console_errors == []
