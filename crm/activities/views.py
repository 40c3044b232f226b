"""Activity and follow-up pages."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm import crud
from crm.activities import queries
from crm.activities.forms import PICKERS, ActivityForm, FollowUpForm
from crm.activities.models import Activity, FollowUp
from crm.activities.operations import save_activity, save_follow_up, set_done
from crm.auth.models import User
from crm.db import db
from crm.forms import EmptyForm
from crm.records import can_archive, can_restore
from crm.security import is_safe_next, requires, safe_next
from crm.vocab import ACTIVITY_KINDS, PARTNER_KINDS, choices, countries, options

bp = Blueprint("activities", __name__)


def _staff_choices():
    users = db.session.execute(
        select(User.id, User.name).where(User.active.is_(True)).order_by(User.name)
    ).all()
    return options(users)


def _prefill_links(form):
    """An activity logged from a record's page is linked to that record already."""
    for kind, (model, _lookup, _label) in PICKERS.items():
        record = crud.record_from_arg(model, request.args.get(kind))
        if record is None:
            continue
        rows = getattr(form, f"{kind}s")
        row = rows.entries[0].form
        row.record.data, row.record.record = record.id, record


@bp.route("/activities/")
@requires("staff")
def index():
    return render_template(
        "activities/list.html",
        page=queries.activity_page(),
        kinds=choices(ACTIVITY_KINDS),
        owners=crud.owner_choices()[1:],
        partner_kinds=choices(PARTNER_KINDS),
        countries=list(countries().items()),
    )


@bp.route("/activities/<int:activity_id>")
@requires("staff")
def detail(activity_id: int):
    activity = queries.activity_detail(activity_id)
    return render_template(
        "activities/detail.html",
        activity=activity,
        action_form=EmptyForm(),
        may_archive=can_archive(current_user, activity),
        may_restore=can_restore(current_user, activity),
    )


def _activity_form_page(form, activity):
    return render_template(
        "activities/form.html",
        form=form,
        activity=activity,
        back=safe_next(request.args.get("next"), url_for("activities.index")),
    )


@bp.route("/activities/new", methods=["GET", "POST"])
@requires("staff")
def create():
    form = ActivityForm()
    form.staff.choices = _staff_choices()
    if request.method == "GET":
        _prefill_links(form)
        form.staff.data = [current_user.id]
    if form.validate_on_submit():
        activity = save_activity(None, form, current_user)
        db.session.commit()
        flash(_("Activity logged."), "success")
        target = request.args.get("next")
        if is_safe_next(target):
            return redirect(target)
        return redirect(url_for("activities.detail", activity_id=activity.id))
    return _activity_form_page(form, None)


def _activity_edit_form(activity: Activity, formdata):
    form = ActivityForm(obj=activity, **crud.posted(formdata))
    form.staff.choices = _staff_choices()
    if formdata is not crud.POSTED:
        _fill_from(form, activity)
    return form


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit(activity_id: int):
    activity = queries.activity_detail(activity_id)
    form, saved = crud.edit_record(
        activity,
        lambda formdata: _activity_edit_form(activity, formdata),
        lambda form: save_activity(activity, form, current_user),
        reload=lambda: queries.activity_detail(activity_id),
    )
    if saved:
        flash(_("Activity saved."), "success")
        return redirect(url_for("activities.detail", activity_id=activity.id))
    return _activity_form_page(form, activity)


def _fill_from(form, activity):
    from zoneinfo import ZoneInfo

    local = activity.occurred_at.astimezone(ZoneInfo(activity.timezone))
    form.day.data = local.date()
    form.at.data = local.strftime("%H:%M")
    form.timezone.data = activity.timezone
    form.staff.data = [u.id for u in activity.staff]
    for kind in PICKERS:
        rows = getattr(form, f"{kind}s")
        links = activity.links(kind)
        while len(rows.entries) < len(links):
            rows.append_entry()
        for entry, link in zip(rows.entries, links, strict=False):
            record = getattr(link, kind)
            entry.form.record.data, entry.form.record.record = record.id, record


@bp.route("/activities/<int:activity_id>/archive", methods=["POST"])
@requires("staff")
def archive(activity_id: int):
    activity = crud.load_or_404(Activity, activity_id)
    return crud.archive_record(activity, url_for("activities.detail", activity_id=activity_id))


@bp.route("/activities/<int:activity_id>/restore", methods=["POST"])
@requires("manager")
def restore(activity_id: int):
    activity = crud.load_or_404(Activity, activity_id)
    return crud.restore_record(activity, url_for("activities.detail", activity_id=activity_id))


# --- follow-ups --------------------------------------------------------------------------


@bp.route("/follow-ups/")
@requires("staff")
def follow_ups():
    """My follow-ups (or another user's, or everyone's), overdue first."""
    assignee_id = queries.follow_up_assignee(request.args, current_user)
    clauses, kept, errors = queries.follow_up_filters(request.args)
    open_items, done = queries.follow_ups_for(
        assignee_id, request.args.get("done") == "1", clauses=clauses
    )
    return render_template(
        "activities/follow_ups.html",
        open_items=open_items,
        open_count=queries.count_open_follow_ups(assignee_id, clauses),
        done=done,
        assignee_id=assignee_id,
        users=crud.owner_choices()[1:],
        action_form=EmptyForm(),
        filters=kept,
        filter_errors=errors,
        partner_kinds=choices(PARTNER_KINDS),
        countries=list(countries().items()),
    )


def _assignee_choices(form):
    form.assignee.choices = _staff_choices()


@bp.route("/follow-ups/new", methods=["GET", "POST"])
@requires("staff")
def new_follow_up():
    form = FollowUpForm()
    _assignee_choices(form)
    if request.method == "GET":
        form.assignee.data = current_user.id
        for kind, (model, _lookup, _label) in PICKERS.items():
            if (record := crud.record_from_arg(model, request.args.get(kind))) is not None:
                getattr(form, kind).data, getattr(form, kind).record = record.id, record
                break
    if form.validate_on_submit():
        save_follow_up(None, form, current_user)
        db.session.commit()
        flash(_("Follow-up saved."), "success")
        return redirect(safe_next(request.args.get("next"), url_for("activities.follow_ups")))
    return render_template("activities/follow_up_form.html", form=form, follow_up=None)


def _follow_up_edit_form(follow_up: FollowUp, formdata):
    form = FollowUpForm(obj=follow_up, **crud.posted(formdata))
    _assignee_choices(form)
    if formdata is not crud.POSTED:
        form.assignee.data = follow_up.assignee_id
        for kind in ("partner", "contact", "agreement", "project"):
            getattr(form, kind).data = getattr(follow_up, f"{kind}_id")
    return form


@bp.route("/follow-ups/<int:follow_up_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit_follow_up(follow_up_id: int):
    follow_up = crud.load_or_404(FollowUp, follow_up_id)
    form, saved = crud.edit_record(
        follow_up,
        lambda formdata: _follow_up_edit_form(follow_up, formdata),
        lambda form: save_follow_up(follow_up, form, current_user),
    )
    if saved:
        flash(_("Follow-up saved."), "success")
        return redirect(url_for("activities.follow_ups"))
    return render_template("activities/follow_up_form.html", form=form, follow_up=follow_up)


def _toggle(follow_up_id: int, done: bool):
    follow_up = crud.load_or_404(FollowUp, follow_up_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    set_done(follow_up, done, current_user)
    db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("activities.follow_ups")))


@bp.route("/follow-ups/<int:follow_up_id>/done", methods=["POST"])
@requires("staff")
def follow_up_done(follow_up_id: int):
    return _toggle(follow_up_id, True)


@bp.route("/follow-ups/<int:follow_up_id>/undone", methods=["POST"])
@requires("staff")
def follow_up_undone(follow_up_id: int):
    return _toggle(follow_up_id, False)


@bp.route("/follow-ups/<int:follow_up_id>/archive", methods=["POST"])
@requires("staff")
def archive_follow_up(follow_up_id: int):
    follow_up = crud.load_or_404(FollowUp, follow_up_id)
    return crud.archive_record(follow_up, url_for("activities.follow_ups"))
