"""The one-time "Create the first administrator" page and its setup code."""

import os
import stat

from sqlalchemy import func, select

from crm.auth.models import User
from crm.auth.setup import announce_setup_code, ensure_setup_code, setup_code_path
from crm.db import db

ADMIN = {
    "email": "first@example.org",
    "name": "First Admin",
    "password": "first admin password",
    "confirm": "first admin password",
}


def user_count():
    return db.session.scalar(select(func.count(User.id)))


def test_every_page_leads_to_setup_while_no_account_exists(client):
    for path in ("/", "/admin/users", "/login", "/account/password"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/setup", path
    assert client.get("/setup").status_code == 200


def test_setup_code_is_printed_and_written_with_mode_0600(app, capsys):
    announce_setup_code(app)
    code = setup_code_path(app).read_text().strip()
    assert code in capsys.readouterr().err
    assert stat.S_IMODE(os.stat(setup_code_path(app)).st_mode) == 0o600
    # Every worker reads the same code rather than making its own.
    assert ensure_setup_code(app) == code


def test_wrong_setup_code_is_refused_and_input_kept(client, app):
    ensure_setup_code(app)
    response = client.post_form("/setup", {**ADMIN, "setup_code": "000000-000000-000000"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This is not the setup code the app printed." in page
    assert 'value="first@example.org"' in page
    assert user_count() == 0


def test_right_code_creates_admin_signs_in_and_closes_the_page(client, app):
    code = ensure_setup_code(app)
    response = client.post_form("/setup", {**ADMIN, "setup_code": code.upper()})
    assert response.status_code == 302
    admin = db.session.scalar(select(User))
    assert (admin.email, admin.role, user_count()) == ("first@example.org", "admin", 1)
    assert client.get("/").status_code == 200
    assert not setup_code_path(app).exists()
    assert client.get("/setup").status_code == 404
    assert app.test_client().get("/setup").status_code == 404
    assert client.post_form("/setup", {**ADMIN, "setup_code": code}).status_code == 404
    assert user_count() == 1


def test_setup_without_any_code_file_refuses(client):
    response = client.post_form("/setup", {**ADMIN, "setup_code": "anything"})
    assert response.status_code == 200
    assert user_count() == 0
