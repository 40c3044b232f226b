"""The home page: what the signed-in person is responsible for and what comes due."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from crm.activities.models import Activity, ActivityPartner
from crm.activities.queries import follow_ups_for
from crm.dashboard.figures.deadlines import deadlines
from crm.dashboard.figures.filters import DashboardFilters
from crm.db import db
from crm.partners.models import Partner
from crm.projects.models import Milestone, Project
from crm.security import requires

bp = Blueprint("main", __name__)

SOON = timedelta(days=90)


def home_data(user, today: date | None = None) -> dict:
    """A fixed handful of queries, each limited, whatever the size of the data."""

    today = today or date.today()
    follow_ups, _done = follow_ups_for(user.id, show_done=False, limit=10)
    partners = db.session.scalars(
        select(Partner)
        .where(Partner.owner_id == user.id, Partner.archived_at.is_(None))
        .order_by(Partner.updated_at.desc(), Partner.id.desc())
        .limit(10)
    ).all()
    # My signed agreements with a notice deadline or an expiry (current term, rolled for
    # auto-renewing ones) in the next 90 days: the dashboard's bounded candidate search.

    mine = DashboardFilters(start=today, end=today, owner=user.id)
    coming_due = deadlines(mine, today)["rows"]
    milestones = db.session.scalars(
        select(Milestone)
        .join(Milestone.project)
        .where(
            Project.owner_id == user.id,
            Project.archived_at.is_(None),
            Milestone.done_on.is_(None),
            Milestone.due_on <= today + timedelta(days=30),
        )
        .options(joinedload(Milestone.project))
        .order_by(Milestone.due_on, Milestone.id)
        .limit(10)
    ).all()
    logged = db.session.scalars(
        select(Activity)
        .where(Activity.owner_id == user.id, Activity.archived_at.is_(None))
        .options(selectinload(Activity.partner_links).joinedload(ActivityPartner.partner))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        .limit(10)
    ).all()
    return {
        "follow_ups": follow_ups,
        "my_partners": partners,
        "coming_due": coming_due[:10],
        "more_due": len(coming_due) > 10,
        "milestones": milestones,
        "logged": logged,
        "today": today,
    }


@bp.route("/")
@requires("staff")
def index():
    return render_template("main/index.html", **home_data(current_user))
