"""Sign in and out, the first administrator, and changing one's own password."""

import hashlib

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from crm.auth import operations
from crm.auth.forms import ChangePasswordForm, LoginForm, SetupForm
from crm.auth.models import any_user_exists, get_by_email, normalize_email
from crm.auth.setup import check_setup_code, clear_setup_code
from crm.db import db
from crm.extensions import limiter
from crm.forms import EmptyForm
from crm.security import requires, safe_next

bp = Blueprint("auth", __name__)


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit():
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _submitted_account() -> str:
    """The limiter key of the account named in the form, as sign-in looks it up.

    Hashed, so the rate-limit store (Redis) holds no email addresses.
    """
    email = normalize_email(request.form.get("email") or "")
    return "login-account:" + hashlib.sha256(email.encode("utf-8", "surrogatepass")).hexdigest()


def _sign_in_failed(_response) -> bool:
    """Only a wrong password counts against the limits: a colleague's typos or a stranger's
    guesses at the same address do not use up the allowance of those who sign in fine."""
    return bool(g.get("sign_in_failed"))


def start_session(user, remember=False):
    """Begin a fresh session for `user`: nothing from before sign-in survives it."""
    locale = session.get("locale")
    session.clear()
    login_user(user, remember=remember)
    operations.record_login(user)
    if locale and not user.locale:
        user.locale = locale


@bp.route("/login", methods=["GET", "POST"])
@requires("public")
# Both limits count failures only. Each request is checked against them before the
# password is, so several guesses in flight together can overshoot a limit by as many as
# the server runs at once, never more.
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_sign_in_failed)
@limiter.limit(
    _account_limit, methods=["POST"], key_func=_submitted_account, deduct_when=_sign_in_failed
)
def login():
    target = safe_next(request.values.get("next"), url_for("main.index"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    if form.validate_on_submit():
        user = get_by_email(form.email.data)
        if user is not None and user.active and user.check_password(form.password.data):
            start_session(user, remember=form.remember.data)
            db.session.commit()
            return redirect(target)
        g.sign_in_failed = True
        # One message for every failure, so the page does not reveal which emails exist.
        form.password.errors.append(_("The email or password is wrong, or the account is off."))
    return render_template("auth/login.html", form=form, next=request.values.get("next", ""))


@bp.route("/logout", methods=["POST"])
@requires("staff")
def logout():
    user = current_user._get_current_object()
    user.rotate_session_token()
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
@requires("public")
@limiter.limit(_login_limit, methods=["POST"])
def setup():
    if any_user_exists():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        if not check_setup_code(current_app, form.setup_code.data):
            form.setup_code.errors.append(_("This is not the setup code the app printed."))
        else:
            try:
                user = operations.create_user(
                    email=form.email.data,
                    name=form.name.data,
                    role="admin",
                    password=form.password.data,
                )
            except operations.AccountError as exc:
                for field, message in exc.errors.items():
                    getattr(form, field).errors.append(message)
            else:
                start_session(user)
                db.session.commit()
                clear_setup_code(current_app)
                flash(_("Welcome. You are the first administrator."), "success")
                return redirect(url_for("main.index"))
    return render_template("auth/setup.html", form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@requires("staff")
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not user.check_password(form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            operations.set_password(user, form.password.data)
            # The new token ends every other session; this one continues under it.
            start_session(user)
            db.session.commit()
            flash(_("Your password is changed. Other sessions are signed out."), "success")
            return redirect(url_for("main.index"))
    return render_template("auth/password.html", form=form, logout_form=EmptyForm())
