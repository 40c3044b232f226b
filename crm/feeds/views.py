"""The calendar feed itself (public, behind its secret URL) and its settings page."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user

from crm.db import db
from crm.extensions import limiter
from crm.feeds import operations
from crm.feeds.ical import build_calendar
from crm.feeds.queries import feed_data
from crm.forms import EmptyForm
from crm.security import requires

bp = Blueprint("feeds", __name__)


@bp.route("/calendar/<secret>.ics")
@requires("public")
@limiter.limit(lambda: current_app.config["FEED_RATE_LIMIT"], key_func=get_remote_address)
def feed(secret: str):
    """The iCalendar feed; anything but a live secret of an active user is 404."""
    user = operations.user_for_secret(secret)
    if user is None:
        abort(404)
    with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        calendar = build_calendar(user, feed_data(user), request.host.split(":")[0])
        body = calendar.to_ical()
    response = current_app.response_class(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="crm.ics"'
    # The URL is a secret and the content personal: keep both out of caches and indexes.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _settings_page(new_url=None):
    feed_row = operations.feed_of(current_user)
    return render_template(
        "account/calendar.html",
        feed=feed_row,
        new_url=new_url,
        action_form=EmptyForm(),
    )


@bp.route("/account/calendar")
@requires("staff")
def settings():
    return _settings_page()


@bp.route("/account/calendar/regenerate", methods=["POST"])
@requires("staff")
def regenerate():
    if not EmptyForm().validate_on_submit():
        abort(400)
    secret = operations.regenerate(current_user)
    db.session.commit()
    # Shown on this response only: the secret is stored hashed.
    url = url_for("feeds.feed", secret=secret, _external=True)
    return _settings_page(new_url=url)


@bp.route("/account/calendar/revoke", methods=["POST"])
@requires("staff")
def revoke():
    if not EmptyForm().validate_on_submit():
        abort(400)
    if operations.revoke(current_user):
        db.session.commit()
        flash(_("Your calendar feed is turned off: its address no longer works."), "info")
    return redirect(url_for("feeds.settings"))
