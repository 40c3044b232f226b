"""Language choice: English or Simplified Chinese, remembered per user."""

from flask import Blueprint, has_request_context, redirect, request, session, url_for
from flask_login import current_user

from crm.config import LANGUAGES
from crm.db import db
from crm.security import requires, safe_next

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The signed-in user's choice, else this browser's choice, else Accept-Language."""
    if not has_request_context():
        return "en"  # CLI commands speak English
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    if session.get("locale") in LANGUAGES:
        return session["locale"]
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-Hans"])
    return "zh_Hans" if best and best.startswith("zh") else "en"


@bp.route("/language", methods=["POST"])
@requires("public")
def set_language():
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["locale"] = lang
        if current_user.is_authenticated:
            current_user.locale = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))
