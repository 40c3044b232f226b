"""The user's API tokens, in their account settings: make one (shown once), revoke one."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField

from crm import crud
from crm.api import tokens
from crm.api.models import ApiToken
from crm.db import db, utcnow
from crm.forms import EmptyForm, text_field
from crm.security import requires
from crm.vocab import options

bp = Blueprint("api_tokens", __name__, url_prefix="/account")

LIFETIMES = {
    "30": _l("30 days"),
    "90": _l("90 days"),
    "365": _l("1 year"),
    "never": _l("Never"),
}


class TokenForm(FlaskForm):
    name = text_field(
        _l("Name"),
        100,
        required=True,
        description=_l('What the token is for, such as "Finance spreadsheet sync".'),
    )
    expires = SelectField(_l("Expires after"), choices=options(LIFETIMES.items()), default="90")

    def expires_at(self):
        if self.expires.data == "never":
            return None
        return utcnow() + timedelta(days=int(self.expires.data))


def _page(form, new_token=None, status=200):
    return render_template(
        "account/api_tokens.html",
        form=form,
        tokens=tokens.active_tokens(current_user),
        new_token=new_token,
        action_form=EmptyForm(),
        now=utcnow(),
        openapi_url=url_for("api.openapi"),
    ), status


@bp.route("/api-tokens", methods=["GET", "POST"])
@requires("staff")
def index():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _token, text = tokens.create_token(current_user, form.name.data, form.expires_at())
        except tokens.TokenError as exc:
            crud.apply_errors(form, exc.errors)
        else:
            db.session.commit()
            # Shown on this response only: it is stored hashed and cannot be shown again.
            return _page(TokenForm(formdata=None), new_token=text)
    return _page(form)


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@requires("staff")
def revoke(token_id: int):
    if not EmptyForm().validate_on_submit():
        abort(400)
    token = db.session.get(ApiToken, token_id) if token_id <= 2**31 - 1 else None
    if token is None or token.user_id != current_user.id:
        abort(404)
    tokens.revoke_token(token)
    db.session.commit()
    flash(_("The token %(name)s is revoked: it no longer works.", name=token.name), "info")
    return redirect(url_for("api_tokens.index"))
