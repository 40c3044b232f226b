"""Helpers the record views share: load-or-404, owner choices, stale-edit checks,
archive and restore, and the JSON lookups behind record pickers."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from crm import edits
from crm.auth.models import User
from crm.db import db
from crm.forms import EmptyForm
from crm.listing import parse_id
from crm.records import RecordError, can_archive, can_restore, load_or_404  # noqa: F401 (re-exported for the views)
from crm.search.queries import clean_query, ranked_ids
from crm.text import like_pattern
from crm.vocab import options

LOOKUP_LIMIT = 15


def record_from_arg(model, raw):
    """The live (not archived) record whose id is in a URL argument, or None."""

    try:
        record = db.session.get(model, parse_id(raw))
    except (TypeError, ValueError):
        return None
    return None if record is None or getattr(record, "is_archived", False) else record


def owner_choices() -> list[tuple[int, str]]:
    users = db.session.execute(
        select(User.id, User.name).where(User.active.is_(True)).order_by(User.name)
    ).all()
    return [(0, "—")] + [(uid, name) for uid, name in users]


def prepare_owner_field(form, record, loading: bool | None = None) -> None:
    """Offer the owner choice to those who may reassign; others see it read-only.

    `loading`: the form shows the record as it is (a GET, or the current values beside a
    stale post), rather than what was posted.
    """
    form.owner.choices = options(owner_choices())
    if loading is None:
        loading = request.method == "GET"
    if loading:
        form.owner.data = (record.owner_id if record is not None else current_user.id) or 0
    if not current_user.has_role("manager"):
        form.owner.render_kw = {"disabled": True}


def edit_record(record, build, save, reload=None):
    """Run a record's edit form: (form, True) once saved and committed, else (form, False)
    with the form to show again.

    `build(formdata)` makes the form, prepared as the page shows it: `build(None)` from the
    record alone (as loaded), `build(POSTED)` from what was posted. `save(form)` writes
    (without committing) or raises RecordError. `reload()` reads the record again after a
    rollback (default: by its id).

    A stale post (the version moved on since the form was loaded), and a save that loses
    the race to a concurrent one at the database (the version column's StaleDataError, or
    a unique key, on PostgreSQL), come back merged with the record as it is now; nothing
    is written (see crm.edits).
    """

    if request.method != "POST":
        form = build(None)
        edits.remember_loaded(form, record)
        return form, False
    form = build(POSTED)
    edits.take_theirs(form, lambda: build(None))
    if not form.validate_on_submit():
        return form, False
    if form.version_number() != record.version_id:
        edits.merge(form, record, build(None))
        return form, False
    try:
        save(form)
        db.session.commit()
    except RecordError as exc:
        db.session.rollback()
        apply_errors(form, exc.errors)
        return form, False
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        record = reload() if reload is not None else load_or_404(type(record), record.id)
        edits.merge(form, record, build(None))
        return form, False
    return form, True


# What `build` receives to read the posted form data (FlaskForm's own default).
POSTED = object()


def posted(formdata):
    """The keyword arguments a FlaskForm takes for `build`'s argument."""
    return {} if formdata is POSTED else {"formdata": formdata}


def commit_or_stale(form) -> bool:
    """Commit a new record; a unique key taken meanwhile becomes a form error."""
    try:
        db.session.commit()
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        form.form_errors.append(
            _("Someone else saved this record at the same moment. Nothing was overwritten.")
        )
        return False
    return True


def archive_record(record, redirect_to: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not can_archive(current_user, record):
        abort(403)
    if record.archived_at is None:
        record.archive(current_user)
        db.session.commit()
        flash(_("Archived. It no longer shows in lists and pickers; it can be restored."), "info")
    return redirect(redirect_to)


def restore_record(record, redirect_to: str):
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not can_restore(current_user, record):
        abort(403)
    if record.archived_at is not None:
        record.restore(current_user)
        db.session.commit()
        flash(_("Restored, with every link it had."), "success")
    return redirect(redirect_to)


def lookup_response(model, label, detail=None, extra_where=(), options=()):
    """JSON for a picker: records whose names contain the query, ranked as search ranks
    them (whole name, name prefix, word prefix, anywhere), read from the search index."""

    q = clean_query(request.args.get("q", ""))
    if not q:
        return jsonify(results=[])
    if not extra_where:
        ids = ranked_ids(model, q, LOOKUP_LIMIT)
        loaded = (
            {
                r.id: r
                for r in db.session.scalars(
                    select(model).where(model.id.in_(ids)).options(*options)
                )
            }
            if ids
            else {}
        )
        rows = [loaded[i] for i in ids if i in loaded]
    else:
        prefix = "|" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rank = case((model.search_text.like(f"%{prefix}", escape="\\"), 0), else_=1)
        rows = db.session.scalars(
            select(model)
            .where(
                model.archived_at.is_(None),
                model.search_text.like(like_pattern(q), escape="\\"),
                *extra_where,
            )
            .order_by(rank, func.length(model.search_text), model.id)
            .limit(LOOKUP_LIMIT)
            .options(*options)
        ).all()
    return jsonify(
        results=[
            {"id": r.id, "label": label(r), "detail": detail(r) if detail else ""} for r in rows
        ]
    )


def apply_errors(form, errors: dict[str, str]) -> None:
    """Show an operation's refusals at their fields.

    A key is a field name ("parent") or a path into repeated rows ("other_names-2-name").
    """
    for name, message in errors.items():
        field = _resolve(form, name)
        field.errors = [*field.errors, message]


def _resolve(form, name: str):
    if name in form:
        return form[name]
    rows, index, sub = name.split("-", 2)
    for entry in form[rows].entries:
        if str(entry.index) == index:
            return entry.form[sub]
    return form[rows]
