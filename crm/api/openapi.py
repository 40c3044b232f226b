"""The OpenAPI 3 document at /api/v1/openapi.json, built from what the API runs on.

Operations come from the same table that registers the routes (`actions.ACTIONS` for each
resource); list parameters from the list pages' FILTERS and SORTS; request and response
bodies from the forms (crm.api.fields) and the read-only fields the API adds. A filter,
sort, field or operation added there appears here without anyone editing this file.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale

from crm.api.actions import ACTIONS
from crm.api.fields import json_schema
from crm.api.resources import RESOURCES, Resource, read_only_schema
from crm.listing import MAX_ID

VERSION = "1"

ERROR_DESCRIPTIONS = {
    400: "The request could not be understood: bad JSON, a body that is not an object, a "
    "bad query parameter or If-Match header, or (for a browser session) a missing CSRF token.",
    401: "No valid API token: send `Authorization: Bearer <token>`.",
    403: "Your role does not allow this (staff archive only what they own; only managers restore).",
    404: "No such record.",
    409: "The record changed since the version you sent (nothing was saved): "
    "`current_version` says which version is current and `changes` what changed. On a "
    'create: records that look like this one exist (`duplicates`); send `"save_anyway": '
    "true` to create it all the same.",
    413: "The body is larger than the server accepts.",
    415: "The body is not JSON (`Content-Type: application/json`).",
    422: "Some fields are not valid: `errors` has the messages, by field path "
    "(`parties.1.partner`).",
    429: "Too many requests for this token: wait and try again (see Retry-After).",
}

FILTER_DESCRIPTIONS = {
    "q": "Part of any name, in English, Chinese or pinyin.",
    "archived": "`only`: archived records only; `all`: both. Archived records are left "
    "out otherwise.",
    "owner": "The id of the user who owns the record.",
}

INTRO = """\
The records of the partnership CRM: partners, contacts, agreements (with their parties),
projects (with milestones, indicators and actuals) and activities.

**Authentication.** Make a personal token in your account settings (*API tokens*) and send
it as `Authorization: Bearer <token>`. Requests act as you, with your role: staff archive
only the records they own, only managers reassign owners and restore archived records.

**Lists** take the same filters and sorts as the list pages and page by cursor: follow
`next` (or pass `next_cursor` as `after`). `count` stops at the cap (`count_capped`).

**Writes** are checked by the same rules as the pages; a refusal answers 422 with a
message per field. Updates are partial (fields left out keep their value; a list sent
replaces the whole list) and must say which version they change (`version` in the body
or an `If-Match` header, as returned in `ETag`); a stale one answers 409, even when the
fields it sends were not among those changed (read again and resend). An update that
changes nothing writes nothing: the version stays.

**Errors** are JSON: `{"message": "...", "errors": {"field": ["..."]}}`. An unknown path
answers 404 and a method the path does not take 405, in the same shape. A 503 (with
`Retry-After`) means the database did not answer: nothing was done for a read; for a write,
check whether it was saved before sending it again.
"""


def _error_response(status: int) -> dict:
    response = {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


def _record_response(resource: Resource, description: str, created=False) -> dict:
    headers = {"ETag": {"description": "The record's version.", "schema": {"type": "string"}}}
    if created:
        headers["Location"] = {"description": "The new record's URL.", "schema": {"type": "string"}}
    return {
        "description": description,
        "headers": headers,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{_title(resource)}"}}
        },
    }


def _title(resource: Resource) -> str:
    return resource.singular.title()


def _record_schema(resource: Resource) -> dict:
    schema = json_schema(resource.spec(), for_input=False)
    schema["properties"].update(read_only_schema(resource))
    schema["required"] = list(schema["properties"])
    schema["additionalProperties"] = False
    return schema


def _input_schema(resource: Resource, creating: bool) -> dict:
    schema = json_schema(resource.spec(), for_input=True, creating=creating)
    if creating and resource.duplicate_kind:
        schema["properties"]["save_anyway"] = {
            "type": "boolean",
            "description": "Create it even though records that look like it exist (409).",
        }
    if not creating:
        schema["properties"]["version"] = {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "The version you read; required unless If-Match is sent.",
        }
    return schema


def _page_schema(resource: Resource) -> dict:
    cursor = {"type": "string", "nullable": True}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "items",
            "count",
            "count_capped",
            "sort",
            "dir",
            "next_cursor",
            "prev_cursor",
            "next",
            "prev",
        ],
        "properties": {
            "items": {
                "type": "array",
                "items": {"$ref": f"#/components/schemas/{_title(resource)}"},
            },
            "count": {"type": "integer", "minimum": 0},
            "count_capped": {"type": "boolean"},
            "sort": {"type": "string", "enum": list(resource.sorts)},
            "dir": {"type": "string", "enum": ["asc", "desc"]},
            "next_cursor": cursor,
            "prev_cursor": cursor,
            "next": {**cursor, "description": "The next page's URL."},
            "prev": {**cursor, "description": "The previous page's URL."},
        },
    }


def _list_parameters(resource: Resource) -> list[dict]:
    params = []
    for flt in resource.filters:
        schema = {"type": "string"}
        if flt.multi:
            schema = {"type": "array", "items": {"type": "string"}}
        param = {
            "name": flt.name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": FILTER_DESCRIPTIONS.get(flt.name, "A filter of the list page."),
        }
        if flt.multi:
            param.update(style="form", explode=True)
        params.append(param)
    params += [
        {
            "name": "sort",
            "in": "query",
            "schema": {"type": "string", "enum": list(resource.sorts)},
            "description": f"Default: {resource.list_default_sort}.",
        },
        {"name": "dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
        {
            "name": "after",
            "in": "query",
            "schema": {"type": "string"},
            "description": "The page after this cursor (`next_cursor`).",
        },
        {
            "name": "before",
            "in": "query",
            "schema": {"type": "string"},
            "description": "The page before this cursor (`prev_cursor`).",
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
            "description": f"Records per page (default {current_app.config['PAGE_SIZE']}).",
        },
    ]
    return params


def _errors(*statuses) -> dict:
    return {str(s): _error_response(s) for s in statuses}


RECORD_ID = {
    "name": "record_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": 'The version you read, as in ETag ("3"); `*` overwrites any version.',
}


def _operation(resource: Resource, action: str) -> dict:
    noun, title = resource.singular, _title(resource)
    if action == "list":
        return {
            "summary": f"List {resource.name}",
            "parameters": _list_parameters(resource),
            "responses": {
                "200": {
                    "description": f"A page of {resource.name}.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{title}Page"}
                        }
                    },
                },
                **_errors(400, 401, 429),
            },
        }
    if action == "create":
        return {
            "summary": f"Create a {noun}",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{title}New"}}
                },
            },
            "responses": {
                "201": _record_response(resource, f"The new {noun}.", created=True),
                **_errors(400, 401, 409, 413, 415, 422, 429),
            },
        }
    if action == "get":
        return {
            "summary": f"Get a {noun}",
            "parameters": [RECORD_ID],
            "responses": {
                "200": _record_response(resource, f"The {noun}."),
                **_errors(401, 404, 429),
            },
        }
    if action == "update":
        return {
            "summary": f"Change a {noun}",
            "parameters": [RECORD_ID, IF_MATCH],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{title}Changes"}}
                },
            },
            "responses": {
                "200": _record_response(resource, f"The {noun} as saved."),
                **_errors(400, 401, 404, 409, 413, 415, 422, 429),
            },
        }
    summary = f"Archive a {noun}" if action == "archive" else f"Restore an archived {noun}"
    return {
        "summary": summary,
        "parameters": [RECORD_ID],
        "responses": {
            "200": _record_response(resource, f"The {noun}."),
            **_errors(400, 401, 403, 404, 429),
        },
    }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["message", "errors"],
    "properties": {
        "message": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
        "current_version": {"type": "integer", "nullable": True},
        "changes": {"type": "array", "items": {"type": "object"}},
        "duplicates": {"type": "array", "items": {"type": "object"}},
    },
}


def document() -> dict:
    """The whole OpenAPI document (English), built once per app."""
    cached = current_app.extensions.get("crm_openapi")
    if cached is not None:
        return cached
    with force_locale("en"):
        schemas = {"Error": ERROR_SCHEMA}
        paths: dict[str, dict] = {}
        for resource in RESOURCES:
            title = _title(resource)
            schemas[title] = _record_schema(resource)
            schemas[f"{title}New"] = _input_schema(resource, creating=True)
            schemas[f"{title}Changes"] = _input_schema(resource, creating=False)
            schemas[f"{title}Page"] = _page_schema(resource)
            for action in ACTIONS:
                rule = action.rule.replace("<int:record_id>", "{record_id}")
                path = f"/api/v1/{resource.name}" + rule
                operation = _operation(resource, action.name)
                operation["operationId"] = f"{resource.name}_{action.name}"
                operation["tags"] = [resource.name]
                for method in action.methods:
                    paths.setdefault(path, {})[method.lower()] = operation
        paths["/api/v1/openapi.json"] = {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(429),
                },
            }
        }
        doc = {
            "openapi": "3.0.3",
            "info": {"title": "Partnership CRM API", "version": VERSION, "description": INTRO},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearerAuth": []}],
        }
    current_app.extensions["crm_openapi"] = doc
    return doc
