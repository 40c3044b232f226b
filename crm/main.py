"""The home page."""

from flask import Blueprint, render_template

from crm.security import requires

bp = Blueprint("main", __name__)


@bp.route("/")
@requires("staff")
def index():
    return render_template("main/index.html")
