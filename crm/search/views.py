"""GET /search: every kind of record matching the query, grouped by kind."""

from __future__ import annotations

from flask import Blueprint, render_template, request

import crm.search.index  # noqa: F401  (keeps Alembic comparisons blind to the search index)
from crm.search.queries import GROUP_LIMIT, clean_query, search
from crm.security import requires

bp = Blueprint("search", __name__, url_prefix="/search")


@bp.route("")
@requires("staff")
def index():
    raw = request.args.get("q", "")
    q = clean_query(raw)
    return render_template("search/results.html", raw=raw, q=q, groups=search(q), limit=GROUP_LIMIT)
