"""Duplicate pages: the likely pairs (managers), dismissing a pair, the live check behind
the create forms, and merging two records side by side."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from crm import crud
from crm.audit.display import field_label
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import db
from crm.duplicates import guard as duplicate_guard
from crm.duplicates import merge as merging
from crm.duplicates import operations, queries
from crm.duplicates.forms import merge_form, pick_form
from crm.duplicates.models import DuplicatePair
from crm.forms import EmptyForm
from crm.partners.models import Partner
from crm.security import requires, safe_next
from crm.vocab import PARTNER_KINDS, PARTNER_STATUSES, country_name, label

bp = Blueprint("duplicates", __name__, url_prefix="/duplicates")


def _model(kind: str):
    if kind == "partner":
        return Partner
    if kind == "contact":
        return Contact
    abort(404)


def detail_url(kind: str, record_id: int) -> str:
    return url_for(f"{kind}s.detail", **{f"{kind}_id": record_id})


def merged_redirect(kind: str, record, edit: bool = False):
    """For a record merged into another: a redirect to the one that took its place."""
    if record.merged_into_id is None:
        return None
    model = _model(kind)
    target, hops = record, 0
    while target.merged_into_id is not None and hops < 20:
        target = db.session.get(model, target.merged_into_id)
        hops += 1
    flash(
        _(
            "“%(old)s” was merged into “%(new)s”: this is the record to use now.",
            old=record.display_name,
            new=target.display_name,
        ),
        "info",
    )
    endpoint = f"{kind}s.edit" if edit else f"{kind}s.detail"
    return redirect(url_for(endpoint, **{f"{kind}_id": target.id}))


@bp.route("/")
@requires("manager")
def index():
    page = queries.pair_page(request.args)
    return render_template(
        "duplicates/index.html",
        page=page,
        sorts=queries.SORTS,
        kinds=queries.KIND_LABELS,
        unchecked=operations.unchecked_kinds(),
        action_form=EmptyForm(),
        reason_text=duplicate_guard.reason_text,
    )


@bp.route("/check-new", methods=["POST"])
@requires("manager")
def check_new():
    if not EmptyForm().validate_on_submit():
        abort(400)
    done = operations.check_new_records()
    db.session.commit()
    checked = sum(n for n, _more in done.values())
    more = any(more for _n, more in done.values())
    flash(
        _("%(n)s records checked.", n=checked)
        + (" " + _("More are waiting: check again.") if more else ""),
        "success",
    )
    return redirect(url_for("duplicates.index"))


def _pair(pair_id: int) -> DuplicatePair:
    return crud.load_or_404(DuplicatePair, pair_id)


@bp.route("/pairs/<int:pair_id>/dismiss", methods=["POST"])
@requires("manager")
def dismiss(pair_id: int):
    pair = _pair(pair_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    operations.dismiss(pair, current_user)
    db.session.commit()
    flash(_("Marked as not a duplicate. The pair will not be listed again."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("duplicates.index")))


@bp.route("/pairs/<int:pair_id>/reopen", methods=["POST"])
@requires("manager")
def reopen(pair_id: int):
    pair = _pair(pair_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    operations.reopen(pair)
    db.session.commit()
    flash(_("The pair is listed again."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("duplicates.index")))


@bp.route("/check")
@requires("staff")
def check():
    """JSON for the live check on the create forms: records like the names typed so far."""
    kind = request.args.get("kind", "")
    if kind not in ("partner", "contact"):
        return jsonify(results=[])
    names = [n[:300] for n in request.args.getlist("name")[:20]]
    emails = [e[:254] for e in request.args.getlist("email")[:1]]
    cities = [c[:200] for c in request.args.getlist("city")[:1]]
    found = duplicate_guard.candidates_for(kind, names, emails, cities)
    return jsonify(
        results=[
            {
                "id": c.record.id,
                "label": c.record.display_name,
                "detail": c.detail,
                "url": c.url,
                "score": c.match.score,
                "reason": c.reason,
            }
            for c in found
        ]
    )


@bp.route("/merge/<kind>/<int:record_id>")
@requires("manager")
def merge_pick(kind: str, record_id: int):
    """Choose the record to merge with: a likely duplicate, or any record by its name."""
    model = _model(kind)
    record = crud.load_or_404(model, record_id)
    if moved := merged_redirect(kind, record):
        return moved
    form = pick_form(kind)(request.args)
    if request.args.get("other") and form.validate():
        if form.other.data == record.id:
            form.other.errors.append(_("Choose another record than this one."))
        else:
            return redirect(
                url_for("duplicates.merge", kind=kind, a_id=record.id, b_id=form.other.data)
            )
    pairs = queries.open_pairs_of(kind, record.id)
    others = {}
    if pairs:
        others = {
            r.id: r
            for r in db.session.scalars(select(model).where(model.id.in_([o for o, _ in pairs])))
        }
    return render_template(
        "duplicates/pick.html",
        kind=kind,
        record=record,
        form=form,
        suggestions=[(others[o], p) for o, p in pairs if o in others],
        reason_text=duplicate_guard.reason_text,
    )


def _display(kind: str, field: str, value) -> str:
    if value in (None, ""):
        return ""
    if field == "kind":
        return label(PARTNER_KINDS, value)
    if field == "status":
        return label(PARTNER_STATUSES, value)
    if field == "country":
        return country_name(value)
    if field == "parent_id":
        parent = db.session.get(Partner, value)
        return parent.display_name if parent else f"#{value}"
    if field == "owner_id":
        user = db.session.get(User, value)
        return user.name if user else f"#{value}"
    if field == "is_own":
        return _("Our organisation") if value else ""
    return str(value)


def _field_label(field: str) -> str:
    return field_label(field) if field != "status" else _("Relationship")


def _rows(kind, a, b, form):
    """One row per field: its label, both values as shown, and whether there is a choice."""
    rows = []
    for field in merging.fields_for(kind):
        va, vb = getattr(a, field), getattr(b, field)
        rows.append(
            {
                "field": field,
                "label": _field_label(field),
                "a": _display(kind, field, va),
                "b": _display(kind, field, vb),
                "choice": (va or None) != (vb or None),
                "both": field in merging.BOTH_ALLOWED and bool(va) and bool(vb),
                "pick": form.pick(field),
            }
        )
    return rows


def _default_picks(kind, a, b, form, survivor: str) -> None:
    """The survivor's value where it has one, else the other's."""
    keep = a if survivor == "a" else b
    other_side = "b" if survivor == "a" else "a"
    for field in merging.fields_for(kind):
        empty = getattr(keep, field) in (None, "")
        form.pick(field).data = other_side if empty else survivor


def _choices(kind, form) -> dict[str, str]:
    """The form's "a"/"b" per field as "survivor"/"other"."""
    survivor = form.survivor.data
    out = {}
    for field in merging.fields_for(kind):
        side = form.pick(field).data or survivor
        out[field] = "both" if side == "both" else ("survivor" if side == survivor else "other")
    return out


@bp.route("/merge/<kind>/<int:a_id>/<int:b_id>", methods=["GET", "POST"])
@requires("manager")
def merge(kind: str, a_id: int, b_id: int):
    """Merge two records: pick the survivor and each field's value, review, confirm."""
    model = _model(kind)
    a = crud.load_or_404(model, a_id)
    b = crud.load_or_404(model, b_id)
    if a.id == b.id:
        abort(404)
    counts = merging.link_counts(kind, a.id, b.id)
    form = merge_form(kind)()
    if request.method == "GET":
        links_a = sum(na for _f, na, _nb in counts)
        links_b = sum(nb for _f, _na, nb in counts)
        suggested = "a" if (links_a, -a.id) >= (links_b, -b.id) else "b"
        if request.args.get("survivor") in ("a", "b"):
            suggested = request.args["survivor"]
        form.survivor.data = suggested
        form.version_a.data, form.version_b.data = str(a.version_id), str(b.version_id)
        _default_picks(kind, a, b, form, suggested)
    errors: dict[str, str] = {}
    review = None
    if request.method == "POST" and form.validate_on_submit():
        survivor, other = (a, b) if form.survivor.data == "a" else (b, a)
        va, vb = form.versions()
        versions = (va, vb) if form.survivor.data == "a" else (vb, va)
        choices = _choices(kind, form)
        errors = merging.check(kind, survivor, other, versions, choices)
        step = form.step.data
        if not errors and step == "confirm":
            try:
                merging.merge(kind, survivor, other, choices, current_user, versions)
                db.session.commit()
            except merging.MergeError as exc:
                db.session.rollback()
                errors = exc.errors
            except StaleDataError:
                db.session.rollback()
                form.version_a.data, form.version_b.data = str(a.version_id), str(b.version_id)
                errors = {
                    "": _(
                        "Someone saved one of these records at the same moment. "
                        "Nothing was merged: check the values and merge again."
                    )
                }
            else:
                flash(
                    _(
                        "Merged: “%(other)s” is now part of “%(survivor)s”, with every link. "
                        "It is archived and its old links lead here.",
                        other=other.display_name,
                        survivor=survivor.display_name,
                    ),
                    "success",
                )
                return redirect(detail_url(kind, survivor.id))
        elif not errors and step != "back":
            review = _review(kind, survivor, other, choices, counts, form.survivor.data)
    if review is not None:
        return render_template(
            "duplicates/review.html", kind=kind, a=a, b=b, form=form, review=review
        )
    return render_template(
        "duplicates/merge.html",
        kind=kind,
        a=a,
        b=b,
        form=form,
        rows=_rows(kind, a, b, form),
        counts=counts,
        errors=errors,
    )


def _review(kind, survivor, other, choices, counts, survivor_side):
    """What the merge will do, in words, before it is confirmed."""
    values = merging.final_values(kind, survivor, other, choices)
    fields = [
        (_field_label(f), _display(kind, f, values[f]))
        for f in merging.fields_for(kind)
        if values[f] not in (None, "")
    ]
    names = []
    main = {(values[f] or "").casefold() for f in merging.name_fields(kind)}
    have = {n.name.casefold() for n in survivor.other_names} | main
    displaced = [
        getattr(survivor, f)
        for f in merging.name_fields(kind)
        if getattr(survivor, f) and getattr(survivor, f) != values[f]
    ]
    candidates = displaced + [n.name for n in other.other_names]
    candidates += [getattr(other, f) for f in merging.name_fields(kind)]
    for name in candidates:
        if name and name.casefold() not in have:
            have.add(name.casefold())
            names.append(name)

    # The links that move are the other record's.
    moving = [(field_label(f), nb if survivor_side == "a" else na) for f, na, nb in counts]
    moving = [(label, n) for label, n in moving if n]
    return {
        "survivor": survivor,
        "other": other,
        "fields": fields,
        "names": names,
        "moving": moving,
    }
