"""Administrators manage users: create, edit, deactivate, reactivate, reset passwords."""

import pytest
from sqlalchemy import func, select

from crm.auth import operations
from crm.auth.models import User
from crm.db import db
from tests.factories import make_user

NEW = {
    "email": "new@example.org",
    "name": "刘贤 Liu Xian",
    "role": "manager",
    "password": "twelve chars!!",
    "confirm": "twelve chars!!",
}


def count():
    return db.session.scalar(select(func.count(User.id)))


def test_admin_creates_user(admin_client):
    before = count()
    response = admin_client.post_form("/admin/users/new", NEW)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "new@example.org"))
    assert (user.name, user.role, user.active) == ("刘贤 Liu Xian", "manager", True)
    assert count() == before + 1
    assert "刘贤 Liu Xian" in admin_client.get("/admin/users").get_data(as_text=True)


@pytest.mark.parametrize(
    "change, field_message",
    [
        ({"email": ""}, "This field is required."),
        ({"email": "not-an-email"}, "Invalid email address."),
        ({"email": "a" * 250 + "@x.org"}, "Field cannot be longer than 254 characters."),
        ({"name": ""}, "This field is required."),
        ({"name": "n" * 201}, "Field cannot be longer than 200 characters."),
        ({"role": "root"}, "Not a valid choice."),
        ({"confirm": "something else!"}, "The passwords differ."),
    ],
)
def test_bad_input_is_refused_at_the_field_with_input_kept(admin_client, change, field_message):
    before = count()
    data = {**NEW, **change}
    response = admin_client.post_form("/admin/users/new", data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_message in page
    assert "is-invalid" in page
    if data["name"]:
        assert data["name"] in page
    assert count() == before


def test_html_in_name_is_shown_as_text(admin_client):
    admin_client.post_form("/admin/users/new", {**NEW, "name": "<script>alert(1)</script>😀"})
    page = admin_client.get("/admin/users").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;😀" in page
    assert "<script>alert(1)</script>" not in page


def test_duplicate_email_is_a_field_error(admin_client, users):
    response = admin_client.post_form("/admin/users/new", {**NEW, "email": users["staff"].email})
    assert "An account with this email already exists." in response.get_data(as_text=True)


def test_admin_changes_role_and_name(admin_client, users):
    staff = users["staff"]
    response = admin_client.post_form(
        f"/admin/users/{staff.id}/edit", {"name": "Renamed", "role": "manager"}
    )
    assert response.status_code == 302
    db.session.refresh(staff)
    assert (staff.name, staff.role) == ("Renamed", "manager")


def test_deactivate_and_reactivate(admin_client, users):
    staff = users["staff"]
    admin_client.post_form(f"/admin/users/{staff.id}/deactivate")
    db.session.refresh(staff)
    assert staff.active is False
    admin_client.post_form(f"/admin/users/{staff.id}/reactivate")
    db.session.refresh(staff)
    assert staff.active is True


def test_last_admin_cannot_be_deactivated_or_demoted(admin_client, users):
    admin = users["admin"]
    response = admin_client.post_form(f"/admin/users/{admin.id}/deactivate", follow_redirects=True)
    assert "The last active administrator cannot be removed." in response.get_data(as_text=True)
    response = admin_client.post_form(
        f"/admin/users/{admin.id}/edit", {"name": admin.name, "role": "staff"}
    )
    assert "The last active administrator cannot be removed." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert (admin.active, admin.role) == (True, "admin")


def test_second_admin_can_be_deactivated(admin_client, users):
    other = make_user(role="admin")
    db.session.commit()
    admin_client.post_form(f"/admin/users/{other.id}/deactivate")
    db.session.refresh(other)
    assert other.active is False


def test_reset_password_ends_sessions(admin_client, app, users):
    staff = users["staff"]
    staff_client = app.test_client().login_as(staff)
    assert staff_client.get("/").status_code == 200
    new = "reset by the admin 1"
    response = admin_client.post_form(
        f"/admin/users/{staff.id}/password", {"password": new, "confirm": new}
    )
    assert response.status_code == 302
    db.session.refresh(staff)
    assert staff.check_password(new)
    assert staff_client.get("/").status_code == 302


def test_unknown_user_is_404(admin_client):
    assert admin_client.get("/admin/users/424242/edit").status_code == 404


def test_deactivation_refused_when_nothing_would_revoke_the_tokens(app, users, monkeypatch):
    """The API tokens and calendar feed are revoked by revocations the write hooks register;
    without them a deactivation must fail rather than leave live tokens behind."""
    assert len(operations._ON_DEACTIVATE) == 2  # API tokens, calendar feed
    monkeypatch.setattr(operations, "_ON_DEACTIVATE", [])
    with pytest.raises(RuntimeError, match="install_write_hooks"):
        operations.deactivate(users["staff"])
    db.session.rollback()
