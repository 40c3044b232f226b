"""The list helpers made faster for the partners list benchmark keep their output:
the filter <option> tags built in Python, and vocabulary labels cached per language."""

from __future__ import annotations

from collections import namedtuple

from crm.listing import select_options
from crm.vocab import PARTNER_KINDS, vocab_label


def test_select_options_marks_the_current_code_and_escapes():
    pairs = [("CN", "China"), ("GB", "United Kingdom"), ("x<y", 'A "quoted" & <b>')]
    html = str(select_options(pairs, "GB"))
    assert '<option value="GB" selected>United Kingdom</option>' in html
    assert '<option value="CN">China</option>' in html
    assert '<option value="x&lt;y">A &#34;quoted&#34; &amp; &lt;b&gt;</option>' in html
    assert html.count("selected") == 1
    # Several codes (a multiple select), codes compared as text, nothing chosen.
    assert str(select_options([(1, "one"), (2, "two")], ["2"])).count("selected") == 1
    assert "selected" not in str(select_options(pairs, None))
    assert "selected" not in str(select_options(pairs, ""))
    # Objects with .value and .label (form choices) as well as pairs.
    choice = namedtuple("Choice", "value label")
    assert '<option value="a" selected>A</option>' in str(select_options([choice("a", "A")], "a"))


def test_filter_select_on_a_list_page(staff_client, users):
    page = staff_client.get("/partners/", query_string={"country": "CN", "kind": "company"})
    assert page.status_code == 200
    text = page.text
    assert '<option value="CN" selected>' in text
    assert '<option value="company" selected>' in text
    assert text.count(" selected>") == 2


def test_vocabulary_labels_follow_the_language(app, staff_client, users):
    from crm.db import db
    from tests.factories import make_partner

    make_partner("Acme", kind="company")
    db.session.commit()
    with app.test_request_context("/"):
        assert vocab_label("partner_kinds", "company") == str(PARTNER_KINDS["company"])
        assert vocab_label("partner_kinds", "no-such-code") == "no-such-code"
        assert vocab_label("partner_kinds", None) == ""
    english = staff_client.get("/partners/").text
    staff_client.post_form("/language", data={"lang": "zh_Hans"})
    chinese = staff_client.get("/partners/").text
    # The kind column of each row (vocab_label), in the language of each request.
    assert "<td>Company</td>" in english
    assert "<td>Company</td>" not in chinese and "<td>企业</td>" in chinese
