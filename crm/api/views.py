"""The JSON API: list, get, create, update, archive and restore for each record kind.

Each view does what the page does: the same list filters and keyset paging, the same
form validation, the same operation, the same permission checks, one commit. Requests
authenticate with a personal token (`Authorization: Bearer <token>`), which makes them
exempt from CSRF; a browser session may call the API too, but its writes need the CSRF
token like any form.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from crm.api import errors, tokens
from crm.api.actions import ACTIONS
from crm.api.errors import ApiError
from crm.api.fields import ShapeErrors, empty_rows, form_errors, to_formdata
from crm.api.openapi import document
from crm.api.resources import RESOURCES, Resource, read_only_schema, represent
from crm.audit.queries import changes_since
from crm.crud import apply_errors
from crm.db import db
from crm.duplicates import guard as duplicate_guard
from crm.extensions import csrf, limiter, login_manager
from crm.listing import MAX_ID, decode_cursor, hide_archived, paginate
from crm.records import can_archive, can_restore
from crm.security import REQUEST_AUTHENTICATORS, requires

bp = Blueprint("api", __name__, url_prefix="/api/v1")
errors.register(bp)
# Token requests need no CSRF token (a cross-site page cannot set the header); requests
# riding on a session cookie get the CSRF check in `authenticate` below.
csrf.exempt(bp)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LIST_PARAMETERS = ("sort", "dir", "after", "before", "limit")
MAX_LIMIT = 200


def bearer_token() -> str | None:
    """The token in `Authorization: Bearer <token>`; "" when the header is something else."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _sep, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return credentials.strip()


def authenticate() -> None:
    """Run before the role check of every API route (see crm.security.enforce_access)."""
    text = bearer_token()
    if text is None:
        # No token: a signed-in browser session, whose writes need the CSRF token.
        if current_user.is_authenticated and request.method not in SAFE_METHODS:
            csrf.protect()
        return
    found = tokens.authenticate(text) if text else None
    if found is None:
        raise ApiError(401, _("This API token is not valid: it is unknown, expired or revoked."))
    token, user = found
    # The token's user is this request's user, whatever cookie came along: set it the way
    # Flask-Login does, so the session is never read or written.
    login_manager._update_request_context_with_user(user)
    # Plain values: the request may commit (expiring the row) before they are used.
    g.api_token_use = (token.id, token.last_used_at)


REQUEST_AUTHENTICATORS[bp.name] = authenticate


def rate_limit_key() -> str:
    """Each token has its own allowance; requests without one share their address's."""
    text = bearer_token()
    if text:
        return "api-token:" + tokens.hash_token(text)[:32]
    return "api-address:" + get_remote_address()


# One budget per token across the whole API (a limit per endpoint would multiply it by the
# number of endpoints).
limiter.shared_limit(
    lambda: current_app.config["API_RATE_LIMIT"], scope="api", key_func=rate_limit_key
)(bp)


@bp.after_request
def note_token_use(response):
    """Record when a token was last used (at most once per TOUCH_EVERY), after the work.

    Apart from the request's transaction and never at its expense: see `write_aside`.
    """
    use = g.pop("api_token_use", None)
    if use is not None:
        tokens.touch(*use)
    return response


# --- helpers ----------------------------------------------------------------------------


def load(resource: Resource, record_id: int):
    if not 0 < record_id <= MAX_ID:
        raise ApiError(404)
    record = db.session.scalar(
        select(resource.model)
        .where(resource.model.id == record_id)
        .options(*resource.load_options())
    )
    if record is None:
        raise ApiError(404)
    return record


def record_response(resource: Resource, record, status: int = 200):
    response = jsonify(represent(resource, record))
    response.status_code = status
    response.set_etag(str(record.version_id))
    return response


def _reject_constant(name):
    raise ValueError(name)


def json_body() -> dict:
    """The request's JSON object; 415 for another media type, 400 for bad JSON."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415)
    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, _("The body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    return body


def _list_arguments(resource: Resource):
    """Check the list's query string; every problem answers 400 with its parameter."""
    args = request.args
    problems: dict[str, list[str]] = {}
    filters = {f.name: f for f in resource.filters}
    for name in args:
        values = args.getlist(name)
        if name not in filters and name not in LIST_PARAMETERS:
            problems[name] = [_("There is no such parameter.")]
        elif len(values) > 1 and not (name in filters and filters[name].multi):
            problems[name] = [_("Give this parameter once.")]
        elif any("\x00" in v for v in values):
            problems[name] = [_("Remove the control characters from this text.")]
    sort = args.get("sort")
    if sort is not None and sort not in resource.sorts:
        problems["sort"] = [_("Sort by one of: %(names)s.", names=", ".join(resource.sorts))]
    if args.get("dir") not in (None, "asc", "desc"):
        problems["dir"] = [_("Use asc or desc.")]
    limit = current_app.config["PAGE_SIZE"]
    raw_limit = args.get("limit")
    if raw_limit is not None:
        if raw_limit.isascii() and raw_limit.isdigit() and 1 <= int(raw_limit) <= MAX_LIMIT:
            limit = int(raw_limit)
        else:
            problems["limit"] = [_("Enter a number from 1 to %(n)d.", n=MAX_LIMIT)]
    if args.get("after") and args.get("before"):
        problems["before"] = [_("Give either after or before, not both.")]
    elif "sort" not in problems:
        chosen = resource.sorts[sort or resource.list_default_sort]
        columns = [*chosen.columns, resource.model.id]
        for name in ("after", "before"):
            if args.get(name):
                try:
                    decode_cursor(args[name], columns)
                except ValueError:
                    problems[name] = [_("This cursor does not belong to this list and sort.")]
    if problems:
        raise ApiError(400, _("Some query parameters are not valid."), problems)
    return limit


def _expected_version(body: dict):
    """The version the client read: If-Match wins over the body; "*" means any."""
    header = request.headers.get("If-Match")
    if header is not None:
        tag = header.strip()
        if tag == "*":
            return "*"
        tag = tag.removeprefix("W/")
        if len(tag) >= 2 and tag[0] == tag[-1] == '"':
            tag = tag[1:-1]
        if tag.isascii() and tag.isdigit() and len(tag) < 12:
            return int(tag)
        raise ApiError(
            400,
            _('Send If-Match with the version you read, such as "3".'),
            {"If-Match": [_("Not a version.")]},
        )
    version = body.get("version")
    if version is None:
        raise ApiError(
            422,
            errors={
                "version": [
                    _(
                        "Send the version you read (in the body or as If-Match), so a save "
                        "cannot overwrite someone else's."
                    )
                ]
            },
        )
    if not isinstance(version, int) or isinstance(version, bool) or not 0 < version <= MAX_ID:
        raise ApiError(422, errors={"version": [_("Not a version.")]})
    return version


def _stale(resource: Resource, record, loaded=None):
    current = db.session.scalar(
        select(resource.model.version_id).where(resource.model.id == record.id)
    )
    changes = []
    if isinstance(loaded, int) and current is not None:
        changes = [
            {
                "at": entry.at.isoformat(),
                "user": entry.user_id,
                "action": entry.action,
                "version": entry.version,
                "changes": entry.changes,
            }
            for entry in changes_since(resource.model.__audit_type__, record.id, loaded)
        ]
    return ApiError(
        409,
        _("Someone else saved this record since you read it: nothing was changed."),
        {"version": [_("The current version is %(n)s.", n=current)]},
        current_version=current,
        changes=changes,
    )


def _values(resource: Resource, record, body: dict, shape: ShapeErrors) -> dict:
    """The fields to post: the body over the record's current ones, owner rules applied."""
    spec = resource.spec()
    read_only = read_only_schema(resource)
    values = {}
    for name, value in body.items():
        if name in spec.fields:
            values[name] = value
        elif name == SAVE_ANYWAY and resource.duplicate_kind and record is None:
            if not isinstance(value, bool):
                shape.add(name, _("Send true or false."))
        elif name not in read_only:
            shape.add(name, _("There is no such field."))
    if record is not None:
        values = {**resource.represent(record), **values}
    elif resource.create_defaults is not None:
        resource.create_defaults(values, current_user)
    if "owner" in spec.fields:
        current = record.owner_id if record is not None else current_user.id
        wanted = values.pop("owner", None)
        if "owner" in body and wanted is not None and wanted != current:
            if not isinstance(wanted, int) or isinstance(wanted, bool):
                shape.add("owner", _("Enter a whole number."))
            elif not current_user.has_role("manager"):
                shape.add("owner", _("Only managers may give a record to someone else."))
            else:
                values["owner"] = wanted
    return values


def _save(resource: Resource, record, body: dict, expected=None):
    """Validate `body` with the page's form and save it with the page's operation.

    `expected`: the version the client read; a concurrent save that lands first (caught
    by the version column at the write) is a 409 listing what changed since it."""
    if resource.before_form is not None:
        resource.before_form()
    spec = resource.spec()
    shape = ShapeErrors()
    values = _values(resource, record, body, shape)
    data = to_formdata(spec, values, shape)
    if shape:
        raise ApiError(422, errors=dict(shape))
    form = resource.new_form(formdata=data, obj=record)
    valid = form.validate()
    empty = empty_rows(form, spec, values)
    if not valid or empty:
        raise ApiError(422, _form_message(form), {**form_errors(form, spec), **empty})
    if record is None and resource.duplicate_kind and body.get(SAVE_ANYWAY) is not True:
        _refuse_look_alikes(resource.duplicate_kind, form)
    may_reassign = current_user.has_role("manager")
    try:
        saved = resource.save(record, form, current_user, may_reassign=may_reassign)
        db.session.commit()
    except resource.refusal as exc:
        db.session.rollback()
        apply_errors(form, exc.errors)
        raise ApiError(422, _form_message(form), form_errors(form, spec)) from None
    except StaleDataError:
        db.session.rollback()
        raise _stale(resource, record, expected) from None
    except IntegrityError:
        db.session.rollback()
        raise ApiError(
            409, _("Someone else saved this record at the same moment. Nothing was overwritten.")
        ) from None
    return saved.id


SAVE_ANYWAY = "save_anyway"


def _refuse_look_alikes(kind: str, form) -> None:
    """The create form's duplicate guard, at the API's door: records that look like this
    one are a 409 listing them, unless the body says "save_anyway": true."""
    found = duplicate_guard.candidates_for(kind, *duplicate_guard.draft_names(kind, form))
    if found:
        raise ApiError(
            409,
            _(
                'Records that look like this one exist. Send "save_anyway": true to create '
                "it all the same."
            ),
            duplicates=[
                {
                    "id": c.record.id,
                    "name": getattr(c.record, "name_en", None) or c.record.name,
                    "reason": c.reason,
                    "url": c.url,
                }
                for c in found
            ],
        )


def _form_message(form) -> str:
    if form.form_errors:
        return " ".join(str(e) for e in form.form_errors)
    return errors.default_message(422)


# --- views ------------------------------------------------------------------------------


def _list(resource: Resource):
    limit = _list_arguments(resource)
    query = select(resource.model).options(*resource.load_options())
    query = hide_archived(query, resource.model)
    page = paginate(
        query,
        resource.model,
        sorts=resource.sorts,
        default_sort=resource.list_default_sort,
        filters=resource.filters,
        page_size=limit,
    )
    if page.errors:
        raise ApiError(
            400,
            _("Some query parameters are not valid."),
            {name: [_("This value is not understood.")] for name in page.errors},
        )

    def link(cursor_name, cursor):
        if cursor is None:
            return None
        args = request.args.to_dict(flat=False)
        args.pop("after", None)
        args.pop("before", None)
        args[cursor_name] = cursor
        return url_for(request.endpoint, **args)

    return jsonify(
        items=[represent(resource, r) for r in page.rows],
        count=page.count,
        count_capped=page.capped,
        sort=page.sort,
        dir="desc" if page.desc else "asc",
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
        next=link("after", page.next_cursor),
        prev=link("before", page.prev_cursor),
    )


def _get(resource: Resource, record_id: int):
    return record_response(resource, load(resource, record_id))


def _create(resource: Resource):
    body = json_body()
    record_id = _save(resource, None, body)
    response = record_response(resource, load(resource, record_id), 201)
    response.headers["Location"] = url_for(f"api.{resource.name}_get", record_id=record_id)
    return response


def _update(resource: Resource, record_id: int):
    record = load(resource, record_id)
    body = json_body()
    expected = _expected_version(body)
    if expected != "*" and expected != record.version_id:
        raise _stale(resource, record, expected)
    _save(resource, record, body, expected)
    return record_response(resource, load(resource, record_id))


def _archive(resource: Resource, record_id: int):
    record = load(resource, record_id)
    if not can_archive(current_user, record):
        raise ApiError(
            403, _("Staff archive only the records they own; managers archive any record.")
        )
    if record.archived_at is None:
        record.archive(current_user)
        db.session.commit()
    return record_response(resource, load(resource, record_id))


def _restore(resource: Resource, record_id: int):
    record = load(resource, record_id)
    if not can_restore(current_user, record):
        raise ApiError(403)
    if record.archived_at is not None:
        record.restore(current_user)
        db.session.commit()
    return record_response(resource, load(resource, record_id))


# The view behind each action of crm.api.actions.ACTIONS.
VIEWS = {
    "list": _list,
    "create": _create,
    "get": _get,
    "update": _update,
    "archive": _archive,
    "restore": _restore,
}


def _bind(resource: Resource, view, level: str):
    def endpoint(**kwargs):
        return view(resource, **kwargs)

    endpoint.__name__ = f"{resource.name}_{view.__name__.strip('_')}"
    return requires(level)(endpoint)


for _resource in RESOURCES:
    for _action in ACTIONS:
        bp.add_url_rule(
            f"/{_resource.name}{_action.rule}",
            f"{_resource.name}_{_action.name}",
            _bind(_resource, VIEWS[_action.name], _action.level),
            methods=list(_action.methods),
        )


@bp.route("/openapi.json")
@requires("public")
def openapi():
    return jsonify(document())
