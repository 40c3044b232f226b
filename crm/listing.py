"""Lists that stay fast at a million rows: keyset paging, capped counts, allow-listed
sorting and filtering, all described by the URL so a list can be bookmarked.

A list never runs an unbounded COUNT(*): it counts up to a cap ("10,000+"). It never uses
OFFSET: the page after is found from the last row's sort key ("keyset"), so page 1,000
costs what page 1 costs, provided an index covers (sort columns..., id).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import current_app, request
from markupsafe import Markup, escape
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy import literal as sa_literal

from crm.db import db


@dataclass(frozen=True)
class Sort:
    """A sort order users may pick: non-null columns, then the primary key."""

    label: object
    columns: Sequence
    default_desc: bool = False


@dataclass
class Filter:
    """A URL parameter and what it does to the query; `apply` may raise ValueError."""

    name: str
    apply: Callable[[Select, str], Select]
    multi: bool = False


@dataclass
class Page:
    rows: list
    count: int
    capped: bool
    next_cursor: str | None
    prev_cursor: str | None
    sort: str
    desc: bool
    args: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    # A cursor from the URL that was not one of this list's (edited by hand, or made for
    # another sort): the first page is shown instead, with a message.
    cursor_refused: bool = False

    @property
    def count_label(self) -> str:
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"


def _encode(values) -> str:
    def plain(v):
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, date):
            return {"d": v.isoformat()}
        if isinstance(v, Decimal):
            return {"n": str(v)}
        return v

    raw = json.dumps([plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> list:
    def typed(v):
        if isinstance(v, dict):
            if "dt" in v:
                return datetime.fromisoformat(v["dt"])
            if "d" in v:
                return date.fromisoformat(v["d"])
            if "n" in v:
                return Decimal(v["n"])
        return v

    padded = cursor + "=" * (-len(cursor) % 4)
    values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    if not isinstance(values, list):
        raise ValueError("cursor")
    return [typed(v) for v in values]


MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def parse_id(value) -> int:
    """An id from the URL; anything that cannot be an id raises ValueError."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(value)
    number = int(text)
    if not 0 < number <= MAX_ID:
        raise ValueError(value)
    return number


def parse_position(value) -> int:
    """A row number to page on from, from the URL (`?after=120`): 0, the first page, for
    anything that is not one (negative, not a number, past what a 32-bit column holds)."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return 0
    number = int(text)
    return number if number <= MAX_ID else 0


def _fits(value, column) -> bool:
    """Whether a cursor value has the type its column stores (a hand-made cursor may not)."""
    column_type = getattr(column.type, "impl_instance", column.type)
    try:
        python_type = column_type.python_type
    except NotImplementedError:
        python_type = None
    if python_type is datetime:
        if not isinstance(value, datetime) or value.tzinfo is None:
            return False
        # Bound as UTC: 0001-01-01T00:00+05:00 or 9999-12-31T23:00-05:00 leave the calendar
        # (OverflowError) once moved there.
        value.astimezone(UTC)
        return True
    if python_type is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    if python_type is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID
    if python_type is str:
        return isinstance(value, str) and "\x00" not in value and len(value) <= 1000
    if python_type is Decimal:
        return isinstance(value, Decimal) and value.is_finite()
    return isinstance(value, str | int | float)


def decode_cursor(raw: str, columns) -> list:
    """The sort-key values in a cursor made for `columns`; ValueError if it is not one."""
    try:
        values = _decode(raw)
        if len(values) != len(columns) or not all(
            _fits(v, c) for v, c in zip(values, columns, strict=True)
        ):
            raise ValueError("cursor")
    # A hand-made cursor may be anything, nested thousands deep included.
    except (ValueError, TypeError, ArithmeticError, RecursionError):
        raise ValueError("cursor") from None
    return values


def _sort_values(row, columns) -> list:
    return [getattr(row, col.key) for col in columns]


@dataclass
class ListQuery:
    """A list's query with its URL filters applied, and the order it is read in.

    `paginate` pages it; exports stream it in keyset batches, so a download holds
    exactly the rows of the page's filters, in the page's order.
    """

    query: Select
    model: type
    columns: list
    sort: str
    desc: bool
    args: dict
    errors: dict

    def ordered(self, after=None, *, backwards: bool = False) -> Select:
        """The query in list order, from just after the row whose sort key is `after`."""
        forward_desc = self.desc != backwards
        query = self.query
        if after is not None:
            # Typed literals, so each value is bound as its column stores it (UTC text on
            # SQLite).
            key = tuple_(*self.columns)
            literal = tuple_(
                *[sa_literal(v, type_=c.type) for v, c in zip(after, self.columns, strict=True)]
            )
            query = query.where(key < literal if forward_desc else key > literal)
        return query.order_by(*[c.desc() if forward_desc else c.asc() for c in self.columns])

    def key_of(self, row) -> list:
        return _sort_values(row, self.columns)


def list_query(
    query: Select,
    model,
    *,
    sorts: dict[str, Sort],
    default_sort: str,
    filters: Sequence[Filter] = (),
    args=None,
) -> ListQuery:
    """Apply the URL's filters and pick its sort; filters that do not parse are reported."""
    args = request.args if args is None else args
    errors: dict[str, str] = {}
    kept: dict[str, object] = {}

    for flt in filters:
        values = [v for v in (args.getlist(flt.name) if flt.multi else [args.get(flt.name)]) if v]
        if not values:
            continue
        try:
            query = flt.apply(query, values if flt.multi else values[0])
        # OverflowError: a day computed from the URL's (the day after 9999-12-31).
        except (ValueError, LookupError, OverflowError):
            errors[flt.name] = values[0] if not flt.multi else ", ".join(values)
            continue
        kept[flt.name] = values if flt.multi else values[0]

    sort_key = args.get("sort") if args.get("sort") in sorts else default_sort
    sort = sorts[sort_key]
    desc = args.get("dir", "desc" if sort.default_desc else "asc") == "desc"
    kept["sort"], kept["dir"] = sort_key, "desc" if desc else "asc"
    return ListQuery(query, model, [*sort.columns, model.id], sort_key, desc, kept, errors)


def paginate(
    query: Select,
    model,
    *,
    sorts: dict[str, Sort],
    default_sort: str,
    filters: Sequence[Filter] = (),
    args=None,
    page_size: int | None = None,
) -> Page:
    """Run a list query from URL arguments: filters, sort, direction and cursor."""
    listed = list_query(
        query, model, sorts=sorts, default_sort=default_sort, filters=filters, args=args
    )
    return page_of(listed, args=args, page_size=page_size)


def page_of(listed: ListQuery, *, args=None, page_size: int | None = None) -> Page:
    """One page of a list query: capped count, keyset cursor from the URL."""
    args = request.args if args is None else args
    page_size = page_size or current_app.config["PAGE_SIZE"]
    cap = current_app.config["COUNT_CAP"]
    query, model, columns = listed.query, listed.model, listed.columns

    after, before = args.get("after"), args.get("before")
    cursor_values = None
    refused = False
    for raw in (after, before):
        if raw:
            try:
                cursor_values = decode_cursor(raw, columns)
            except ValueError:
                cursor_values, after, before = None, None, None
                refused = True
            break

    count_query = select(func.count()).select_from(
        query.with_only_columns(model.id).limit(cap + 1).subquery()
    )
    count = db.session.scalar(count_query)
    capped = count > cap
    count = min(count, cap)

    backwards = bool(before and cursor_values)
    ordered = listed.ordered(cursor_values, backwards=backwards)
    rows = list(db.session.scalars(ordered.limit(page_size + 1)).unique())
    more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()

    next_cursor = prev_cursor = None
    if rows:
        last, first = rows[-1], rows[0]
        if more or backwards:
            next_cursor = _encode(_sort_values(last, columns))
        if (more and backwards) or (after and cursor_values):
            prev_cursor = _encode(_sort_values(first, columns))
    return Page(
        rows,
        count,
        capped,
        next_cursor,
        prev_cursor,
        listed.sort,
        listed.desc,
        listed.args,
        listed.errors,
        refused,
    )


def date_filter(column, op: str) -> Callable[[Select, str], Select]:
    """A filter on a date column: op is "from" (>=) or "to" (<=); bad dates raise."""

    def apply(query, value):
        day = date.fromisoformat(value)
        return query.where(column >= day if op == "from" else column <= day)

    return apply


def choice_filter(column, vocabulary) -> Callable[[Select, list], Select]:
    """A filter keeping rows whose column is any of the chosen codes (unknown codes raise)."""

    def apply(query, values):
        if any(v not in vocabulary for v in values):
            raise LookupError(values)
        return query.where(column.in_(values))

    return apply


def int_filter(column) -> Callable[[Select, str], Select]:
    """A filter on an id; values that cannot be an id raise (shown as ignored)."""

    def apply(query, value):
        return query.where(column == parse_id(value))

    return apply


def archived_filter(model) -> Callable[[Select, str], Select]:
    """archived=only shows archived records, archived=all shows both; default hides them."""

    def apply(query, value):
        if value == "only":
            return query.where(model.archived_at.is_not(None))
        if value == "all":
            return query
        raise ValueError(value)

    return apply


def hide_archived(query: Select, model, args=None) -> Select:
    args = request.args if args is None else args
    if args.get("archived") in ("only", "all"):
        return query
    return query.where(model.archived_at.is_(None))


def country_code(value: str) -> str:
    """An ISO 3166 alpha-2 code from the URL, upper-cased; anything else raises."""
    text = (value or "").strip()
    if len(text) != 2 or not (text.isascii() and text.isalpha()):
        raise ValueError(value)
    return text.upper()


def partner_match_filters(
    args, linked: Callable[[list], object], kind_column, country_column, kinds
) -> list[Filter]:
    """`partner_kind` and `partner_country`: records linked to a partner of that kind, in
    that country, or both (then one and the same partner must be both).

    `linked(conditions)` is the EXISTS clause joining the record to its partners with the
    conditions on the partner. The dashboard builds its figures from the same clauses, so
    a drill-down list counts exactly the records behind a figure.
    """
    args = request.args if args is None else args

    def kind_of(value):
        if value not in kinds:
            raise LookupError(value)
        return value

    def both_given():
        try:
            kind_of(args.get("partner_kind") or "")
            country_code(args.get("partner_country") or "")
        except (LookupError, ValueError):
            return False
        return True

    def by_kind(query, value):
        conditions = [kind_column == kind_of(value)]
        if both_given():
            conditions.append(country_column == country_code(args.get("partner_country")))
        return query.where(linked(conditions))

    def by_country(query, value):
        code = country_code(value)
        if both_given():
            return query  # applied together with the kind, on the same partner
        return query.where(linked([country_column == code]))

    return [Filter("partner_kind", by_kind), Filter("partner_country", by_country)]


def select_options(options, current) -> Markup:
    """The <option> tags of a list's filter select (templates/_macros/lists.html), built
    in one Python loop: a country filter has some 250 options, which the template loop
    took several milliseconds to render on every list page. `options` holds (code, text)
    pairs or objects with .value and .label; `current` is the selected code (a string) or
    codes (a list, for a multiple select)."""
    parts = []
    for option in options:
        if hasattr(option, "value"):
            code, text = option.value, option.label
        else:
            code, text = option[0], option[1]
        if isinstance(current, str):
            selected = current == str(code)
        else:
            selected = bool(current) and str(code) in current
        mark = " selected" if selected else ""
        parts.append(f'<option value="{escape(code)}"{mark}>{escape(text)}</option>')
    # Every value and text was escaped above.
    return Markup("".join(parts))  # noqa: S704
