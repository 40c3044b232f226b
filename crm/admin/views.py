"""User management for administrators: create, edit role, deactivate, reset password."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from crm.audit.queries import audit_page
from crm.auth import operations
from crm.auth.forms import EditUserForm, NewUserForm, ResetPasswordForm
from crm.auth.models import User
from crm.db import db
from crm.forms import EmptyForm
from crm.security import requires
from crm.vocab import RECORD_KINDS, choices

bp = Blueprint("admin", __name__, url_prefix="/admin")


def get_user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


def _apply_errors(form, exc: operations.AccountError) -> None:
    for field, message in exc.errors.items():
        getattr(form, field).errors.append(message)


@bp.route("/users")
@requires("admin")
def users():
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("admin/users.html", users=rows, action_form=EmptyForm())


@bp.route("/users/new", methods=["GET", "POST"])
@requires("admin")
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = operations.create_user(
                email=form.email.data,
                name=form.name.data,
                role=form.role.data,
                password=form.password.data,
            )
        except operations.AccountError as exc:
            _apply_errors(form, exc)
        else:
            db.session.commit()
            flash(_("%(name)s can now sign in.", name=user.name), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@requires("admin")
def edit_user(user_id: int):
    user = get_user_or_404(user_id)
    form = EditUserForm(obj=user)
    if form.validate_on_submit():
        try:
            operations.set_role(user, form.role.data)
        except operations.AccountError as exc:
            _apply_errors(form, exc)
        else:
            user.name = form.name.data.strip()
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user)


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
@requires("admin")
def reset_password(user_id: int):
    user = get_user_or_404(user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        operations.set_password(user, form.password.data)
        db.session.commit()
        flash(_("The password of %(name)s is reset.", name=user.name), "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/reset_password.html", form=form, user=user)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
@requires("admin")
def deactivate(user_id: int):
    user = get_user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        try:
            operations.deactivate(user)
        except operations.AccountError as exc:
            flash(exc.errors["role"], "danger")
        else:
            db.session.commit()
            flash(_("%(name)s is deactivated.", name=user.name), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
@requires("admin")
def reactivate(user_id: int):
    user = get_user_or_404(user_id)
    if EmptyForm().validate_on_submit():
        operations.reactivate(user)
        db.session.commit()
        flash(_("%(name)s is active again.", name=user.name), "success")
    return redirect(url_for("admin.users"))


RECORD_ENDPOINTS = {
    "partner": ("partners.detail", "partner_id"),
    "contact": ("contacts.detail", "contact_id"),
    "agreement": ("agreements.detail", "agreement_id"),
    "project": ("projects.detail", "project_id"),
    "activity": ("activities.detail", "activity_id"),
    "follow_up": ("activities.edit_follow_up", "follow_up_id"),
    "import": ("dataio.detail", "import_id"),
    "exchange_rate": ("rates.edit", "rate_id"),
    "document": ("documents.detail", "document_id"),
}


@bp.route("/audit")
@requires("admin")
def audit_log():
    """Every change to every record, filterable by user, record kind and date."""

    page = audit_page()
    users_list = db.session.execute(select(User.id, User.name).order_by(User.name)).all()
    return render_template(
        "admin/audit_log.html",
        page=page,
        users=users_list,
        kinds=choices(RECORD_KINDS),
        record_endpoints=RECORD_ENDPOINTS,
    )
