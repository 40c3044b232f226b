"""Signing in and out, sessions that die when they should, and passwords."""

from sqlalchemy import select

from crm.auth.models import User
from crm.db import db
from tests.factories import PASSWORD, make_user


def login(client, email, password, **extra):
    return client.post_form("/login", {"email": email, "password": password, **extra})


def test_login_with_right_password_signs_in(client, users):
    response = login(client, users["staff"].email, PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_message_and_email_kept(client, users):
    response = login(client, users["staff"].email, PASSWORD + "x")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "The email or password is wrong" in page
    assert f'value="{users["staff"].email}"' in page
    assert client.get("/").status_code == 302


def test_email_is_case_insensitive(client, users):
    assert login(client, users["staff"].email.upper(), PASSWORD).status_code == 302


def test_deactivated_user_cannot_sign_in(client, app):
    user = make_user(active=False)
    db.session.commit()
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 200
    assert client.get("/").headers["Location"].startswith("/login")


def test_session_is_cleared_before_login(client, users):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    login(client, users["staff"].email, PASSWORD)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == users["staff"].session_token


def test_logout_rotates_token_so_a_copied_cookie_is_dead(app, users):
    first = app.test_client()
    login(first, users["staff"].email, PASSWORD)
    with first.session_transaction() as sess:
        stolen = dict(sess)
    first.post_form("/logout")
    thief = app.test_client()
    with thief.session_transaction() as sess:
        sess.update(stolen)
    response = thief.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_password_change_ends_other_sessions_but_keeps_this_one(app, users):
    user = users["staff"]
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user.email, PASSWORD)
    login(elsewhere, user.email, PASSWORD)
    new = "a brand new passphrase 2026"
    response = here.post_form(
        "/account/password", {"current": PASSWORD, "password": new, "confirm": new}
    )
    assert response.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert login(app.test_client(), user.email, new).status_code == 302


def test_password_change_with_wrong_current_is_refused(staff_client, users):
    new = "a brand new passphrase 2026"
    response = staff_client.post_form(
        "/account/password", {"current": "nope nope nope", "password": new, "confirm": new}
    )
    assert response.status_code == 200
    assert "This is not your current password." in response.get_data(as_text=True)
    db.session.refresh(users["staff"])
    assert users["staff"].check_password(PASSWORD)


def test_deactivation_kills_an_open_session_at_next_request(app, users, admin_client):
    staff = app.test_client()
    login(staff, users["staff"].email, PASSWORD)
    assert staff.get("/").status_code == 200
    admin_client.post_form(f"/admin/users/{users['staff'].id}/deactivate")
    assert staff.get("/").status_code == 302


def test_short_password_refused_long_password_accepted_whole(admin_client, app):
    short = "elevenchars"
    response = admin_client.post_form(
        "/admin/users/new",
        {
            "email": "s@example.org",
            "name": "S",
            "role": "staff",
            "password": short,
            "confirm": short,
        },
    )
    assert response.status_code == 200
    assert "Use between 12 and 4096 characters." in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "s@example.org")) is None

    long_password = "长" * 50 + "x" * 150  # 200 characters, beyond bcrypt's 72 bytes
    response = admin_client.post_form(
        "/admin/users/new",
        {
            "email": "l@example.org",
            "name": "L",
            "role": "staff",
            "password": long_password,
            "confirm": long_password,
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "l@example.org"))
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password(long_password)
    assert not user.check_password(long_password[:72])
    assert not user.check_password(long_password[:-1])
