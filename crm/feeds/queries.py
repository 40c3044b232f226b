"""What a user's calendar feed holds, read in a fixed number of statements.

- Agreement notice deadlines and ends of term: of the agreements the user owns; managers
  and admins, who watch renewals for the whole team (as on the dashboard), get those of
  every signed agreement.
- Milestones of the projects the user leads or took part in (was among the staff present
  at an activity linked to the project).
- The user's open follow-ups, on their due dates.
- Activities the user logged or was among the staff present at.

Past items are kept for PAST days, so the calendar still shows what just happened; each
source is capped at LIMIT items, so a feed never grows without bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from crm.activities.models import Activity, FollowUp, activity_project, activity_staff
from crm.agreements.models import Agreement
from crm.auth.models import User
from crm.db import db
from crm.projects.models import Milestone, Project

PAST = timedelta(days=90)
LIMIT = 1000


@dataclass
class FeedData:
    agreements: list[Agreement]
    milestones: list[Milestone]
    follow_ups: list[FollowUp]
    activities: list[Activity]


def feed_data(user: User, today: date | None = None) -> FeedData:
    today = today or date.today()
    since = today - PAST
    agreements = select(Agreement).where(
        Agreement.archived_at.is_(None),
        Agreement.stage == "signed",
        Agreement.expires_on.is_not(None),
        # An auto-renewing agreement's term rolls on: its next end is always ahead.
        or_(Agreement.auto_renew.is_(True), Agreement.expires_on >= since),
    )
    if not user.has_role("manager"):
        agreements = agreements.where(Agreement.owner_id == user.id)
    involved = (
        select(activity_project.c.project_id)
        .join(activity_staff, activity_staff.c.activity_id == activity_project.c.activity_id)
        .where(activity_staff.c.user_id == user.id)
    )
    milestones = (
        select(Milestone)
        .join(Milestone.project)
        .where(
            Project.archived_at.is_(None),
            Milestone.due_on.is_not(None),
            Milestone.due_on >= since,
            or_(Project.owner_id == user.id, Project.id.in_(involved)),
        )
        .options(joinedload(Milestone.project))
        .order_by(Milestone.due_on, Milestone.id)
        .limit(LIMIT)
    )
    follow_ups = (
        select(FollowUp)
        .where(
            FollowUp.assignee_id == user.id,
            FollowUp.archived_at.is_(None),
            FollowUp.done_on.is_(None),
        )
        .options(
            joinedload(FollowUp.partner),
            joinedload(FollowUp.contact),
            joinedload(FollowUp.agreement),
            joinedload(FollowUp.project),
            joinedload(FollowUp.activity),
        )
        .order_by(FollowUp.due_on, FollowUp.id)
        .limit(LIMIT)
    )
    present = select(activity_staff.c.activity_id).where(activity_staff.c.user_id == user.id)
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    activities = (
        select(Activity)
        .where(
            Activity.archived_at.is_(None),
            Activity.occurred_at >= start,
            or_(Activity.owner_id == user.id, Activity.id.in_(present)),
        )
        .order_by(Activity.occurred_at, Activity.id)
        .limit(LIMIT)
    )
    return FeedData(
        agreements=list(
            db.session.scalars(agreements.order_by(Agreement.expires_on, Agreement.id).limit(LIMIT))
        ),
        milestones=list(db.session.scalars(milestones)),
        follow_ups=list(db.session.scalars(follow_ups).unique()),
        activities=list(db.session.scalars(activities)),
    )
