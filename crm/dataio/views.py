"""Import and export pages. Thin: parse, load and authorise, call an operation, answer."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import RequestEntityTooLarge

from crm.dataio import exports, jobs, sources
from crm.dataio.forms import ChoicesForm, UploadForm
from crm.dataio.models import DataImport, DataImportRow
from crm.dataio.registry import KINDS
from crm.db import db
from crm.forms import EmptyForm
from crm.listing import MAX_ID, parse_position
from crm.security import requires

bp = Blueprint("dataio", __name__)

PREVIEW_PAGE = 50
RUNNING = ("checking", "running", "undoing")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    """A body over the request limit never reaches the view: say so at the file field."""
    form = UploadForm(formdata=None)
    form.file.errors = [sources.too_large_message()]
    return render_template("imports/new.html", form=form), 413


def load_import(import_id: int) -> DataImport:
    if not 0 < import_id <= MAX_ID:
        abort(404)
    imp = db.session.scalar(
        select(DataImport).where(DataImport.id == import_id).options(joinedload(DataImport.user))
    )
    if imp is None:
        abort(404)
    if not jobs.may_see(current_user, imp):
        abort(403)
    return imp


@bp.route("/imports/")
@requires("staff")
def imports():
    query = select(DataImport).options(joinedload(DataImport.user))
    if not current_user.has_role("manager"):
        query = query.where(DataImport.user_id == current_user.id)
    rows = db.session.scalars(query.order_by(DataImport.id.desc()).limit(100)).all()
    return render_template("imports/list.html", imports=rows)


@bp.route("/imports/new", methods=["GET", "POST"])
@requires("staff")
def new_import():
    form = UploadForm()
    if request.method == "GET" and request.args.get("kind") in KINDS:
        form.kind.data = request.args["kind"]
    if form.validate_on_submit():
        try:
            imp = jobs.start(form.file.data, form.kind.data, current_user)
        except sources.SourceError as exc:
            form.file.errors = [*form.file.errors, str(exc)]
        else:
            db.session.commit()
            return redirect(url_for("dataio.mapping", import_id=imp.id))
    return render_template("imports/new.html", form=form)


def _first_rows(imp: DataImport, limit: int = 5) -> list:
    rows, _offset = sources.read_rows(imp.stored_name, 0, limit)
    return rows


@bp.route("/imports/<int:import_id>/mapping", methods=["GET", "POST"])
@requires("staff")
def mapping(import_id: int):
    imp = load_import(import_id)
    kind = KINDS[imp.kind]
    form = EmptyForm()
    errors: dict[str, str] = {}
    chosen = jobs.mapping_of(imp)
    if imp.status not in ("mapping", "checked"):
        return redirect(url_for("dataio.detail", import_id=imp.id))
    if form.validate_on_submit():
        keys = {c.key for c in kind.importable()}
        chosen = {}
        for index in range(len(imp.headers)):
            value = request.form.get(f"col-{index}", "")
            if value in keys:
                chosen[index] = value
        try:
            jobs.set_mapping(imp, chosen)
        except jobs.ImportError_ as exc:
            errors = exc.errors
        else:
            db.session.commit()
            return redirect(url_for("dataio.progress", import_id=imp.id))
    return render_template(
        "imports/mapping.html",
        imp=imp,
        kind=kind,
        form=form,
        chosen=chosen,
        errors=errors,
        samples=_first_rows(imp),
    )


@bp.route("/imports/<int:import_id>/progress")
@requires("staff")
def progress(import_id: int):
    imp = load_import(import_id)
    if imp.status not in RUNNING:
        return redirect(_next_page(imp))
    total = jobs.undo_total(imp) if imp.status == "undoing" else imp.row_count
    return render_template("imports/progress.html", imp=imp, total=total, form=EmptyForm())


def _next_page(imp: DataImport) -> str:
    if imp.status == "checked":
        return url_for("dataio.preview", import_id=imp.id)
    if imp.status in RUNNING:
        return url_for("dataio.progress", import_id=imp.id)
    if imp.status == "mapping":
        return url_for("dataio.mapping", import_id=imp.id)
    return url_for("dataio.detail", import_id=imp.id)


@bp.route("/imports/<int:import_id>/step", methods=["POST"])
@requires("staff")
def step(import_id: int):
    """Run the next chunk of the step under way (the progress page calls this in a loop)."""
    load_import(import_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    imp = jobs.step(import_id, current_user)
    db.session.commit()
    total = jobs.undo_total(imp) if imp.status in ("undoing", "undone") else imp.row_count
    if request.accept_mimetypes.best == "application/json":
        return jsonify(
            status=imp.status,
            position=imp.position,
            total=total,
            running=imp.status in RUNNING,
            next=_next_page(imp),
        )
    return redirect(_next_page(imp))


@bp.route("/imports/<int:import_id>/preview")
@requires("staff")
def preview(import_id: int):
    imp = load_import(import_id)
    if imp.status != "checked":
        return redirect(_next_page(imp))
    show = request.args.get("show", "")
    table = DataImportRow
    query = select(table).where(table.import_id == imp.id)
    if show in jobs.CHECK_LABELS:
        query = query.where(table.check_result == show)
    elif show == "duplicates":
        query = query.where(table.same_as_row.is_not(None))
    else:
        show = ""
    after = parse_position(request.args.get("after"))
    rows = db.session.scalars(
        query.where(table.row_number > after).order_by(table.row_number).limit(PREVIEW_PAGE + 1)
    ).all()
    more = len(rows) > PREVIEW_PAGE
    rows = rows[:PREVIEW_PAGE]
    kind = KINDS[imp.kind]
    ids = {i for r in rows for i in r.matches}
    names = {}
    if ids:
        model = kind.model
        for record in db.session.scalars(select(model).where(model.id.in_(ids))):
            names[record.id] = record.display_name
    form = ChoicesForm(data=imp.choices)
    return render_template(
        "imports/preview.html",
        imp=imp,
        kind=kind,
        rows=rows,
        names=names,
        counts=jobs.check_counts(imp),
        duplicates=jobs.duplicate_count(imp),
        show=show,
        next_after=rows[-1].row_number if more else None,
        form=form,
        check_labels=jobs.CHECK_LABELS,
    )


@bp.route("/imports/<int:import_id>/run", methods=["POST"])
@requires("staff")
def run(import_id: int):
    imp = load_import(import_id)
    form = ChoicesForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        jobs.set_choices(
            imp, {name: form[name].data for name in ("new", "match", "several", "partners")}
        )
    except jobs.ImportError_ as exc:
        flash(exc.errors.get("", ""), "warning")
        return redirect(_next_page(imp))
    db.session.commit()
    return redirect(url_for("dataio.progress", import_id=imp.id))


@bp.route("/imports/<int:import_id>")
@requires("staff")
def detail(import_id: int):
    imp = load_import(import_id)
    show = request.args.get("show", "")
    table = DataImportRow
    query = select(table).where(table.import_id == imp.id)
    if show in jobs.OUTCOME_LABELS:
        query = query.where(table.outcome == show)
    else:
        show = ""
    after = parse_position(request.args.get("after"))
    rows = db.session.scalars(
        query.where(table.row_number > after).order_by(table.row_number).limit(PREVIEW_PAGE + 1)
    ).all()
    more = len(rows) > PREVIEW_PAGE
    return render_template(
        "imports/detail.html",
        imp=imp,
        kind=KINDS[imp.kind],
        rows=rows[:PREVIEW_PAGE],
        show=show,
        next_after=rows[PREVIEW_PAGE - 1].row_number if more else None,
        outcome_labels=jobs.OUTCOME_LABELS,
        check_labels=jobs.CHECK_LABELS,
        form=EmptyForm(),
        may_undo=jobs.may_undo(current_user, imp) and imp.status == "done",
        may_discard=imp.status in jobs.PENDING,
    )


@bp.route("/imports/<int:import_id>/report.csv")
@requires("staff")
def report(import_id: int):
    imp = load_import(import_id)
    if imp.status not in ("done", "undoing", "undone"):
        return redirect(_next_page(imp))
    return Response(
        stream_with_context(jobs.report_csv(imp)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{imp.id}-report.csv"'},
    )


@bp.route("/imports/<int:import_id>/undo", methods=["POST"])
@requires("staff")
def undo(import_id: int):
    imp = load_import(import_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not jobs.may_undo(current_user, imp):
        abort(403)
    try:
        jobs.start_undo(imp, current_user)
    except jobs.ImportError_ as exc:
        flash(exc.errors.get("", ""), "danger")
        return redirect(url_for("dataio.detail", import_id=imp.id))
    db.session.commit()
    return redirect(url_for("dataio.progress", import_id=imp.id))


@bp.route("/imports/<int:import_id>/discard", methods=["POST"])
@requires("staff")
def discard(import_id: int):
    """Throw away an import that has not run (its importer or a manager)."""
    imp = load_import(import_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        stored = jobs.discard(imp, current_user)
    except jobs.ImportError_ as exc:
        flash(exc.errors.get("", ""), "warning")
        return redirect(_next_page(imp))
    db.session.commit()
    sources.discard(stored)
    flash(_("The import of %(file)s was discarded.", file=imp.file_name), "success")
    return redirect(url_for("dataio.imports"))


@bp.route("/export/<list_key>.<fmt>")
@requires("manager")
def export(list_key: str, fmt: str):
    """Download a list as it is filtered and sorted on its page."""
    spec = exports.LISTS.get(list_key)
    if spec is None or fmt not in exports.FORMATS:
        abort(404)
    stamp = date.today().isoformat()
    body = exports.stream(spec, fmt, request.args.copy(), current_user.id)
    return Response(
        stream_with_context(body),
        mimetype=exports.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{list_key}-{stamp}.{fmt}"'},
    )
