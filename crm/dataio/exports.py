"""Every list downloads as CSV or XLSX, with the page's own filters and sort, streamed.

Each list's query comes from its own `*_list(args)` builder in crm/*/queries.py, the one
its page uses, so a filter added to a list applies to its export without a change here.
Rows are read in keyset batches (the list's sort key, then the id) through a session of
their own that forgets each batch once written, so memory stays flat however long the
list. CSV goes out as it is written (UTF-8 with a BOM, for Excel); XLSX is written with
xlsxwriter's constant-memory mode into a temporary file under instance/, then streamed.
Who exported which list, with which filters and how many rows, goes to the audit trail
when the download ends (or is cut short).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import Session, joinedload, selectinload

from crm.activities import queries as activity_queries
from crm.activities.models import Activity, ActivityContact
from crm.audit import trail
from crm.dataio.cells import guard_formula
from crm.dataio.columns import Column
from crm.dataio.kinds import Kind
from crm.dataio.registry import KINDS
from crm.db import WRITE_OPTION, db
from crm.vocab import ACTIVITY_KINDS

XLSX_MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class ExportList:
    key: str
    label: object
    columns: Callable[[], list[Column]]
    batches: Callable[[object, Session, int], Iterator[list]]


def _listed_batches(builder: Callable, options: Callable[[], tuple] = tuple):
    """Keyset batches of a list built by its page's query builder."""

    def batches(args, session: Session, size: int) -> Iterator[list]:
        listed = builder()(args)
        after = None
        while True:
            query = listed.ordered(after).options(*options()).limit(size)
            rows = list(session.scalars(query).unique())
            if not rows:
                return
            yield rows
            if len(rows) < size:
                return
            after = listed.key_of(rows[-1])
            session.expunge_all()

    return batches


def _follow_up_batches(args, session: Session, size: int) -> Iterator[list]:
    assignee = activity_queries.follow_up_assignee(args, current_user)
    clauses, _kept, _errors = activity_queries.follow_up_filters(args)
    for query in activity_queries.follow_up_queries(assignee, args.get("done") == "1", clauses):
        if query is None:
            continue
        result = session.scalars(query.execution_options(yield_per=size))
        for partition in result.partitions():
            yield list(partition)
            session.expunge_all()


def _kind_list(kind: Kind) -> ExportList:
    """A record kind's list: its own columns (see crm/<package>/columns.py) and two more."""

    def columns():
        return kind.columns + [
            Column("created", _l("Created"), export=lambda r: r.created_at),
            Column("updated", _l("Updated"), export=lambda r: r.updated_at),
        ]

    return ExportList(
        kind.list_key,
        kind.list_label,
        columns,
        _listed_batches(lambda: kind.list_query, kind.export_options),
    )


def _builder(module: str, name: str):
    def get():
        import importlib

        return getattr(importlib.import_module(module), name)

    return get


def _activity_columns():
    def when(a):
        try:
            return a.occurred_at.astimezone(ZoneInfo(a.timezone)).replace(tzinfo=None)
        except (KeyError, ValueError):
            return a.occurred_at

    def names(links, attr):
        return "; ".join(getattr(getattr(link, attr), "display_name", "") for link in links) or None

    return [
        Column("id", _l("ID"), export=lambda a: a.id),
        Column("when", _l("When"), export=when),
        Column("timezone", _l("Time zone"), export=lambda a: a.timezone),
        Column("kind", _l("Kind"), export=lambda a: str(ACTIVITY_KINDS.get(a.kind, a.kind))),
        Column("title", _l("Title"), export=lambda a: a.title),
        Column("location", _l("Location"), export=lambda a: a.location),
        Column("partners", _l("Partners"), export=lambda a: names(a.partner_links, "partner")),
        Column("contacts", _l("Contacts"), export=lambda a: names(a.contact_links, "contact")),
        Column("summary", _l("Summary"), export=lambda a: a.summary),
        Column("owner", _l("Owner"), export=lambda a: a.owner.email if a.owner else None),
    ]


def _follow_up_columns():
    def about(f):
        _kind, record = f.linked()
        return getattr(record, "display_name", None) if record is not None else None

    return [
        Column("id", _l("ID"), export=lambda f: f.id),
        Column("due_on", _l("Due on"), export=lambda f: f.due_on),
        Column("title", _l("What to do"), export=lambda f: f.title),
        Column("about", _l("About"), export=about),
        Column("assignee", _l("Assigned to"), export=lambda f: f.assignee.email),
        Column("done_on", _l("Done on"), export=lambda f: f.done_on),
        Column("notes", _l("Notes"), export=lambda f: f.notes),
    ]


def _activity_options():
    return (selectinload(Activity.contact_links).joinedload(ActivityContact.contact),)


def _owner_option(model):
    return (joinedload(model.owner),)


LISTS: dict[str, ExportList] = {
    **{kind.list_key: _kind_list(kind) for kind in KINDS.values()},
    "activities": ExportList(
        "activities",
        _l("Activities"),
        _activity_columns,
        _listed_batches(_builder("crm.activities.queries", "activity_list"), _activity_options),
    ),
    "follow-ups": ExportList(
        "follow-ups", _l("Follow-ups"), _follow_up_columns, _follow_up_batches
    ),
}

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def filters_of(args) -> str:
    """The list's arguments as a query string, paging cursors left out."""
    pairs = [(k, v) for k, v in args.items(multi=True) if k not in ("after", "before") and v]
    return urlencode(sorted(pairs))


def csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    return guard_formula(str(value))


class Counter:
    rows = 0


def stream(export: ExportList, fmt: str, args, user_id: int, batch_size: int | None = None):
    """The file's bytes, produced while the rows are read; audited when it ends."""
    size = batch_size or int(current_app.config["EXPORT_BATCH_ROWS"])
    columns = export.columns()
    counter = Counter()
    complete = False
    session = Session(db.engine, autoflush=False, expire_on_commit=False)
    try:
        batches = export.batches(args, session, size)
        writer = _csv if fmt == "csv" else _xlsx
        yield from writer(columns, batches, counter, str(export.label))
        complete = True
    finally:
        session.close()
        # A write apart from the GET's own read transaction, begun as one (BEGIN IMMEDIATE).
        writer_engine = db.engine.execution_options(**{WRITE_OPTION: True})
        with Session(writer_engine) as audit_session, trail.acting_as(user_id):
            trail.record_event(
                audit_session,
                "export",
                "export",
                0,
                {
                    "list": export.key,
                    "format": fmt,
                    "filters": filters_of(args),
                    "rows": counter.rows,
                    "complete": complete,
                },
            )
            audit_session.commit()


def _csv(columns, batches, counter, _title) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([guard_formula(str(c.label)) for c in columns])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        for record in rows:
            writer.writerow([csv_value(c.export(record)) for c in columns])
        counter.rows += len(rows)
        yield buffer.getvalue().encode("utf-8")


def _exports_folder() -> Path:
    folder = Path(current_app.instance_path) / "exports"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _xlsx(columns, batches, counter, title) -> Iterator[bytes]:
    import xlsxwriter

    folder = _exports_folder()
    handle, path = tempfile.mkstemp(suffix=".xlsx", dir=folder)
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "tmpdir": str(folder),
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        formats = {
            "head": workbook.add_format({"bold": True}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        headers = [str(c.label) for c in columns]
        sheet, row, sheets = None, XLSX_MAX_ROWS, 0
        for rows in batches:
            for record in rows:
                if row >= XLSX_MAX_ROWS:
                    sheets += 1
                    name = title[:28] if sheets == 1 else f"{title[:24]} ({sheets})"
                    sheet = workbook.add_worksheet(name)
                    for col, header in enumerate(headers):
                        sheet.write_string(0, col, header, formats["head"])
                    row = 1
                for col, column in enumerate(columns):
                    _write_cell(sheet, row, col, column.export(record), formats)
                row += 1
            counter.rows += len(rows)
        if sheet is None:
            sheet = workbook.add_worksheet(title[:28])
            for col, header in enumerate(headers):
                sheet.write_string(0, col, header, formats["head"])
        workbook.close()
        with open(path, "rb") as handle_:
            while block := handle_.read(64 * 1024):
                yield block
    finally:
        Path(path).unlink(missing_ok=True)


def _write_cell(sheet, row: int, col: int, value, formats) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), formats["datetime"])
    elif isinstance(value, date):
        sheet.write_datetime(
            row, col, datetime(value.year, value.month, value.day), formats["date"]
        )
    elif isinstance(value, int | Decimal):
        number = float(value)
        # Numbers a float holds exactly are numbers; longer ones keep every digit as text.
        if Decimal(repr(number)) == value and abs(number) < 1e15:
            sheet.write_number(row, col, number)
        else:
            sheet.write_string(
                row, col, format(value, "f") if isinstance(value, Decimal) else str(value)
            )
    else:
        sheet.write_string(row, col, str(value))
