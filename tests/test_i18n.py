"""English and Simplified Chinese: a complete catalog, and a choice remembered per user."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from crm.app import ROOT
from crm.auth.models import User
from crm.db import db

CATALOG = ROOT / "crm" / "translations" / "zh_Hans" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [("crm/**.py", "python"), ("templates/**.html", "jinja2")]


def _walk_into(dirpath: str) -> bool:
    # Babel skips folders starting with "_" by default; templates/_macros holds strings too.
    name = Path(dirpath).name
    return not name.startswith(".") and name not in {"__pycache__", "node_modules"}


def source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS, directory_filter=_walk_into
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def load_po():
    with open(CATALOG / "messages.po", "rb") as handle:
        return read_po(handle, locale="zh_Hans")


def _key(msgid):
    return msgid if isinstance(msgid, str) else msgid[0]


def _forms(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def test_every_string_in_the_code_is_translated():
    po = load_po()
    translated = {_key(m.id) for m in po if m.id and all(_forms(m.string)) and not m.fuzzy}
    missing = sorted(source_messages() - set(translated))
    assert len(source_messages()) > 50
    assert missing == [], f"untranslated: {missing[:20]} (see README: Translations)"


def test_placeholders_survive_translation():
    pattern = re.compile(r"%\(\w+\)[sd]")
    for message in load_po():
        if message.id and all(_forms(message.string)):
            for form in _forms(message.string):
                assert sorted(pattern.findall(_key(message.id))) == sorted(pattern.findall(form)), (
                    message.id
                )


def test_compiled_catalog_matches_the_po_file():
    with open(CATALOG / "messages.mo", "rb") as handle:
        mo = {_key(m.id): _forms(m.string) for m in read_mo(handle) if m.id}
    po = {
        _key(m.id): _forms(m.string)
        for m in load_po()
        if m.id and all(_forms(m.string)) and not m.fuzzy
    }
    assert mo == po, "run: pybabel compile -d crm/translations"


def test_language_switch_is_remembered_for_the_user(app, users, staff_client):
    assert "Sign out" in staff_client.get("/").get_data(as_text=True)
    response = staff_client.post_form("/language", {"lang": "zh_Hans", "next": "/"})
    assert response.headers["Location"] == "/"
    page = staff_client.get("/").get_data(as_text=True)
    assert "退出登录" in page and 'lang="zh-Hans"' in page
    db.session.expire_all()
    assert db.session.get(User, users["staff"].id).locale == "zh_Hans"
    # Another browser, same user: the choice follows the account.
    other = app.test_client().login_as(users["staff"])
    assert "退出登录" in other.get("/").get_data(as_text=True)
    staff_client.post_form("/language", {"lang": "en"})
    assert "Sign out" in staff_client.get("/").get_data(as_text=True)


def test_unknown_language_is_ignored(staff_client):
    staff_client.post_form("/language", {"lang": "xx"})
    assert "Sign out" in staff_client.get("/").get_data(as_text=True)


def test_anonymous_choice_and_accept_language(client, users):
    assert "登录" in client.get("/login", headers={"Accept-Language": "zh-CN"}).text
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en"}).text
    client.post_form("/language", {"lang": "zh_Hans"})
    assert "登录" in client.get("/login").text


def test_form_validation_messages_are_translated(client, users):
    client.post_form("/language", {"lang": "zh_Hans"})
    page = client.post_form("/login", {"email": "", "password": ""}).text
    assert "This field is required." not in page
    assert "必填" in page or "必须" in page or "不能为空" in page


def test_catalog_files_are_in_the_package():
    assert Path(CATALOG / "messages.mo").is_file()


def _msgids(path) -> set[str]:
    with open(path, "rb") as handle:
        return {_key(m.id) for m in read_po(handle) if m.id}


def test_the_committed_template_is_current(tmp_path):
    """messages.pot holds exactly the strings of the code (`flask translate update`)."""
    from crm.i18n_cli import POT, extract

    fresh = tmp_path / "messages.pot"
    extract(fresh)
    assert _msgids(fresh) == source_messages()
    missing, stale = _msgids(fresh) - _msgids(POT), _msgids(POT) - _msgids(fresh)
    assert (sorted(missing)[:10], sorted(stale)[:10]) == ([], []), "run: flask translate update"


def test_translate_update_keeps_the_catalog_as_written(app, tmp_path, monkeypatch):
    """An update with nothing new changes no line of the catalog but the template's date."""
    import shutil

    from crm import i18n_cli

    copy = tmp_path / "translations"
    shutil.copytree(i18n_cli.TRANSLATIONS, copy)
    monkeypatch.setattr(i18n_cli, "TRANSLATIONS", copy)
    monkeypatch.setattr(i18n_cli, "POT", copy / "messages.pot")
    result = app.test_cli_runner().invoke(args=["translate", "update"])
    assert result.exit_code == 0, result.output
    before = (CATALOG / "messages.po").read_text(encoding="utf-8").splitlines()
    after = (copy / "zh_Hans" / "LC_MESSAGES" / "messages.po").read_text("utf-8").splitlines()
    changed = [b for a, b in zip(before, after, strict=False) if a != b]
    assert len(before) == len(after)
    assert all(line.startswith('"POT-Creation-Date:') for line in changed), changed[:5]
