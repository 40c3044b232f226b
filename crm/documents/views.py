"""Document pages: upload to a record, the document with its versions, a new version,
details, archive, restore, and the download that checks permission first."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crm import crud
from crm.audit.models import AuditEntry
from crm.db import db
from crm.documents import filetypes, queries, storage
from crm.documents.forms import DetailsForm, UploadForm, VersionForm
from crm.documents.models import DOCUMENT_KINDS
from crm.documents.operations import DocumentError, add_version, attach_document, update_details
from crm.forms import EmptyForm
from crm.records import can_archive, can_restore
from crm.security import requires
from crm.vocab import label

bp = Blueprint("documents", __name__, url_prefix="/documents", cli_group=None)

UPLOAD_ENDPOINTS = {"documents.upload", "documents.new_version"}
HISTORY_LIMIT = 50
# A downloaded file is never a page of ours: it may run nothing, load nothing, be framed
# by no one.
DOWNLOAD_CSP = (
    "default-src 'none'; script-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'; sandbox"
)


@bp.url_value_preprocessor
def allow_document_bodies(endpoint, _values):
    """Upload routes read bodies up to one file at DOCUMENT_MAX_BYTES plus the form.

    URL value preprocessors run before every before_request hook, so the limit is in place
    before the CSRF check first reads the form; a larger body gets the 413 page.
    """
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = storage.body_limit()


def may_download(user, document) -> bool:
    """Those who may see the record may download; archived documents only managers."""
    return user.has_role("manager") or not document.effectively_archived()


def record_url(kind: str, record_id: int, **kwargs) -> str:
    endpoint, arg = queries.RECORD_ENDPOINTS[kind]
    return url_for(endpoint, **{arg: record_id}, **kwargs)


@bp.app_template_global()
def document_record_url(kind: str, record_id: int) -> str:
    return record_url(kind, record_id)


@bp.app_template_filter("filesize")
def filesize(size: int) -> str:
    return storage.human_size(size)


@bp.app_template_global()
def document_kind_label(code: str) -> str:
    return label(DOCUMENT_KINDS, code)


@bp.app_template_global()
def file_type_label(code: str) -> str:
    file_type = filetypes.TYPES.get(code)
    return str(file_type.label) if file_type else code


@bp.app_template_global()
def document_limits() -> dict:
    return {
        "max": storage.human_size(storage.max_bytes()),
        "accept": filetypes.ACCEPT,
        "allowed": filetypes.allowed_list(),
    }


@bp.app_template_global()
def may_download_document(document) -> bool:
    return may_download(current_user, document)


@bp.route(
    "/new/<any(partner, contact, agreement, project):owner>/<int:record_id>",
    methods=["GET", "POST"],
)
@requires("staff")
def upload(owner: str, record_id: int):
    record = queries.load_record(owner, record_id)
    form = UploadForm()
    if form.validate_on_submit():
        with storage.staging() as staged:
            try:
                attach_document(owner, record, form, current_user, staged)
                db.session.commit()
                staged.keep()
            except DocumentError as exc:
                db.session.rollback()
                crud.apply_errors(form, exc.errors)
            else:
                flash(_("Document uploaded."), "success")
                return redirect(record_url(owner, record_id, _anchor="documents"))
    return render_template("documents/upload.html", form=form, record=record, kind=owner)


def _history(document_id: int) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.record_type == "document", AuditEntry.record_id == document_id)
            .options(joinedload(AuditEntry.user))
            .order_by(AuditEntry.id.desc())
            .limit(HISTORY_LIMIT)
        )
    )


def _detail_page(document, version_form=None):
    return render_template(
        "documents/detail.html",
        document=document,
        record=document.record,
        kind=document.owner_kind,
        versions=document.versions,
        version_form=version_form or VersionForm(formdata=None),
        history=_history(document.id),
        action_form=EmptyForm(),
        may_download=may_download(current_user, document),
        may_archive=can_archive(current_user, document),
        may_restore=can_restore(current_user, document),
    )


@bp.route("/<int:document_id>")
@requires("staff")
def detail(document_id: int):
    return _detail_page(queries.load_document(document_id, with_versions=True))


@bp.route("/<int:document_id>/versions", methods=["POST"])
@requires("staff")
def new_version(document_id: int):
    document = queries.load_document(document_id, for_update=True, with_versions=True)
    form = VersionForm()
    if form.validate_on_submit():
        with storage.staging() as staged:
            try:
                version = add_version(document, form, current_user, staged)
                db.session.commit()
                staged.keep()
            except DocumentError as exc:
                db.session.rollback()
                crud.apply_errors(form, exc.errors)
            else:
                flash(
                    _(
                        "Version %(number)s saved; earlier versions are kept.",
                        number=version.number,
                    ),
                    "success",
                )
                return redirect(url_for("documents.detail", document_id=document_id))
        document = queries.load_document(document_id, with_versions=True)
    return _detail_page(document, version_form=form)


@bp.route("/<int:document_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit(document_id: int):
    document = queries.load_document(document_id)

    def save(form):
        update_details(document, form, current_user)
        db.session.flush()

    form, saved = crud.edit_record(
        document,
        lambda formdata: DetailsForm(obj=document, **crud.posted(formdata)),
        save,
        reload=lambda: queries.load_document(document_id),
    )
    if saved:
        flash(_("Document saved."), "success")
        return redirect(url_for("documents.detail", document_id=document_id))
    return render_template("documents/edit.html", form=form, document=document)


@bp.route("/<int:document_id>/archive", methods=["POST"])
@requires("staff")
def archive(document_id: int):
    document = queries.load_document(document_id)
    return crud.archive_record(document, url_for("documents.detail", document_id=document_id))


@bp.route("/<int:document_id>/restore", methods=["POST"])
@requires("manager")
def restore(document_id: int):
    document = queries.load_document(document_id)
    return crud.restore_record(document, url_for("documents.detail", document_id=document_id))


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name as RFC 5987 `filename*`."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = "".join(
        ch if ch.isalnum() or ch in " .-_()[]+,&" else "_" for ch in ascii_name
    ).strip(" .")
    ext = filetypes.extension(filename)
    stem = ascii_name.rpartition(".")[0] if "." in ascii_name else ascii_name
    if not any(ch.isalnum() for ch in stem):
        ascii_name = f"document.{ext}" if ext else "document"
    encoded = quote(filename, safe="")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


@bp.route("/files/<int:version_id>")
@requires("staff")
def download(version_id: int):
    version = queries.load_version(version_id)
    if not may_download(current_user, version.document):
        abort(403)
    try:
        path = storage.path_for(version.stored_name)
    except ValueError:
        abort(404)
    if not path.is_file():
        current_app.logger.error(
            "document file missing: version %s, %s", version.id, version.stored_name
        )
        abort(404)
    response = send_file(
        path,
        mimetype=version.content_type,
        as_attachment=True,
        download_name=version.original_name,
        conditional=True,
        etag=version.sha256,
        max_age=0,
    )
    # Exactly the stored type: send_file would append a second charset to text/plain.
    response.headers["Content-Type"] = version.content_type
    response.headers["Content-Disposition"] = content_disposition(version.original_name)
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["X-Download-Options"] = "noopen"
    return response
