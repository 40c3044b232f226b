"""What a browser would post for a page's form: its inputs, selects and text areas, read
from the HTML (checked boxes only, disabled controls left out, a text area's line ends
sent as CRLF), so tests can press Save on a page as a person would."""

from __future__ import annotations

from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

SKIPPED_INPUTS = {"submit", "button", "image", "file", "reset"}


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self.current: list[tuple[str, str]] | None = None
        self.template_depth = 0
        self.select = None  # [name, multiple, [(value, selected)]]
        self.option = None  # [value or None, text, selected]
        self.textarea = None  # [name, text]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self.template_depth += 1
        if self.template_depth:
            return
        if tag == "form":
            self.current = []
            self.forms.append(self.current)
        if self.current is None or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in SKIPPED_INPUTS:
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.current.append((a["name"], a.get("value") or "on"))
                return
            self.current.append((a["name"], a.get("value") or ""))
        elif tag == "select" and a.get("name"):
            self.select = [a["name"], "multiple" in a, []]
        elif tag == "option" and self.select is not None:
            self.option = [a.get("value"), "", "selected" in a]
        elif tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]

    def handle_endtag(self, tag):
        if tag == "template":
            self.template_depth -= 1
            return
        if self.template_depth:
            return
        if tag == "option" and self.option is not None:
            value, text, selected = self.option
            self.select[2].append((text.strip() if value is None else value, selected))
            self.option = None
        elif tag == "select" and self.select is not None:
            name, multiple, options = self.select
            chosen = [v for v, selected in options if selected]
            if not chosen and not multiple and options:
                chosen = [options[0][0]]
            self.current.extend((name, v) for v in (chosen if multiple else chosen[:1]))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            name, text = self.textarea
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
            self.current.append((name, text))
            self.textarea = None
        elif tag == "form":
            self.current = None

    def handle_data(self, data):
        if self.option is not None:
            self.option[1] += data
        elif self.textarea is not None:
            self.textarea[1] += data


def page_form(html: str, has: str = "csrf_token") -> MultiDict:
    """The fields the page's first form holding a field named `has` would post."""
    parser = _FormParser()
    parser.feed(html)
    for fields in parser.forms:
        if any(name == has for name, _ in fields):
            return MultiDict(fields)
    raise AssertionError(f"no form with a {has!r} field on the page")


def with_values(form: MultiDict, **values) -> MultiDict:
    """The form with some fields typed over."""
    changed = MultiDict(form)
    for name, value in values.items():
        changed.setlist(name, [value])
    return changed
