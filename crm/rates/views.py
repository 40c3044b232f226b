"""Exchange rates, kept by admins: the list with its add form, edit, archive, restore."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from crm import crud
from crm.db import db
from crm.forms import EmptyForm
from crm.rates import queries
from crm.rates.forms import RateForm
from crm.rates.models import ExchangeRate
from crm.rates.operations import RateError, save_rate
from crm.security import requires

bp = Blueprint("rates", __name__, url_prefix="/admin/exchange-rates")


def _apply(form, rate) -> ExchangeRate | None:
    try:
        saved = save_rate(rate, form, current_user)
    except RateError as exc:
        for name, message in exc.errors.items():
            getattr(form, name).errors.append(message)
        return None
    return saved


@bp.route("/", methods=["GET", "POST"])
@requires("admin")
def index():
    form = RateForm()
    if form.validate_on_submit() and (saved := _apply(form, None)) is not None:
        db.session.commit()
        flash(_("Rate saved: %(rate)s", rate=saved.display_name), "success")
        return redirect(url_for("rates.index"))
    return render_template(
        "rates/index.html", form=form, rates=queries.rate_list(), action_form=EmptyForm()
    )


@bp.route("/<int:rate_id>/edit", methods=["GET", "POST"])
@requires("admin")
def edit(rate_id: int):
    rate = crud.load_or_404(ExchangeRate, rate_id)
    form, saved = crud.edit_record(
        rate,
        lambda formdata: RateForm(obj=rate, **crud.posted(formdata)),
        lambda form: save_rate(rate, form, current_user),
    )
    if saved:
        flash(_("Rate saved: %(rate)s", rate=rate.display_name), "success")
        return redirect(url_for("rates.index"))
    return render_template("rates/form.html", form=form, rate=rate)


def _set_archived(rate_id: int, archived: bool):
    rate = crud.load_or_404(ExchangeRate, rate_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if archived and rate.archived_at is None:
        rate.archive(current_user)
        flash(_("Rate archived: it is no longer used."), "success")
    elif not archived and rate.archived_at is not None:
        rate.restore(current_user)
        flash(_("Rate restored."), "success")
    db.session.commit()
    return redirect(url_for("rates.index"))


@bp.route("/<int:rate_id>/archive", methods=["POST"])
@requires("admin")
def archive(rate_id: int):
    return _set_archived(rate_id, True)


@bp.route("/<int:rate_id>/restore", methods=["POST"])
@requires("admin")
def restore(rate_id: int):
    return _set_archived(rate_id, False)
