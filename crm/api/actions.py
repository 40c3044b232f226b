"""What the API offers on each kind of record: one table, read by the routes
(crm.api.views) and by the OpenAPI document (crm.api.openapi), so neither needs the other."""

from __future__ import annotations

from typing import NamedTuple


class Action(NamedTuple):
    name: str  # list, create, get, update, archive, restore
    rule: str  # the URL rule under /api/v1/<kind>
    methods: tuple[str, ...]
    level: str  # the least role (crm.security.requires)


ACTIONS = (
    Action("list", "", ("GET",), "staff"),
    Action("create", "", ("POST",), "staff"),
    Action("get", "/<int:record_id>", ("GET",), "staff"),
    Action("update", "/<int:record_id>", ("PATCH",), "staff"),
    Action("archive", "/<int:record_id>/archive", ("POST",), "staff"),
    Action("restore", "/<int:record_id>/restore", ("POST",), "manager"),
)
