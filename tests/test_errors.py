"""Error pages come in the layout, never as a traceback."""

import pytest

from crm.security import requires


def in_layout(response):
    page = response.get_data(as_text=True)
    return 'class="navbar' in page and "Traceback" not in page


def test_404_405_403_400_in_layout(staff_client):
    for response, code in (
        (staff_client.get("/no/such/page"), 404),
        (staff_client.get("/logout"), 405),
        (staff_client.get("/admin/users"), 403),
        (staff_client.post("/logout", data={}), 400),
    ):
        assert response.status_code == code
        assert in_layout(response)


def test_413_for_an_oversized_body(make_app, users):
    app = make_app(MAX_CONTENT_LENGTH=1000)
    client = app.test_client().login_as(users["staff"])
    response = client.post_form("/account/password", {"current": "x" * 5000})
    assert response.status_code == 413
    assert "The upload is too large" in response.get_data(as_text=True)
    assert in_layout(response)


def test_500_shows_a_page_not_a_traceback(make_app, users):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @requires("public")
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page
    assert "secret internals" not in page
    assert in_layout(response)


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/15"])
def test_login_attempts_are_rate_limited(make_app, users, storage):
    import secrets

    # A client address of its own, so counts left by other runs cannot interfere.
    address = "127." + ".".join(str(b) for b in secrets.token_bytes(3))
    app = make_app(
        RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=storage
    )
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    form = {"email": users["staff"].email, "password": "wrong password!"}
    codes = [client.post_form("/login", form).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    page = client.post_form("/login", form)
    assert "Too many attempts" in page.get_data(as_text=True) and in_layout(page)
    assert client.get("/login").status_code == 200  # only attempts are limited, not the page
    if storage.startswith("redis"):
        import redis

        # The counter lives in Redis, where every worker and host sees the same count.
        keys = redis.Redis.from_url(storage).keys(f"*/{address}/*")
        assert keys
        redis.Redis.from_url(storage).delete(*keys)
