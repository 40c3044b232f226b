"""Import operations: start, map, check, choose, run, report and undo, chunk by chunk.

Every long step (check, run, undo) advances one chunk of rows per call, in one transaction,
with the job's progress stored in its `data_import` row. The row is locked for the chunk
(SELECT ... FOR UPDATE on PostgreSQL; SQLite's write transactions are exclusive anyway),
so two workers asked for the next chunk at once run one after the other and never take the
same rows. Nothing here commits: the view does, once per request.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError

from crm.audit import trail
from crm.audit.display import field_label
from crm.audit.models import AuditEntry
from crm.dataio import sources
from crm.dataio.cells import guard_formula
from crm.dataio.kinds import Context, RowError, guess_mapping, settled
from crm.dataio.models import DataImport, DataImportChange, DataImportRow
from crm.dataio.registry import KINDS
from crm.db import db, utcnow
from crm.vocab import RECORD_KINDS

# Per row kind, what may be done with it; the first is the default.
CHOICES = {
    "new": ("create", "skip"),
    "match": ("update", "skip", "create"),
    "several": ("skip", "create"),
}
PARTNER_CHOICES = ("create", "fail")
CHOICE_LABELS = {
    "create": _l("Create a new record"),
    "update": _l("Update the matching record"),
    "skip": _l("Skip the row"),
    "fail": _l("Fail the row"),
}
CHECK_LABELS = {
    "new": _l("No match: new"),
    "match": _l("Matches one record"),
    "several": _l("Matches several records"),
    "error": _l("Has errors"),
}
OUTCOME_LABELS = {
    "created": _l("Created"),
    "updated": _l("Updated"),
    "skipped": _l("Skipped"),
    "failed": _l("Failed"),
}


class ImportError_(Exception):
    """A step refused, with a message per field ("" for the whole form)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def may_see(user, imp: DataImport) -> bool:
    """The importer sees and continues their import; managers see every import."""
    return imp.user_id == user.id or user.has_role("manager")


may_undo = may_see


def start(storage, kind: str, user) -> DataImport:
    """Store an upload, check it is a usable spreadsheet, guess its column mapping."""
    original = (getattr(storage, "filename", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    original = "".join(ch for ch in original if ch.isprintable())[:255] or "upload"
    stored, _size = sources.store_upload(storage)
    try:
        source = sources.prepare(stored)
    except sources.SourceError:
        sources.discard(stored)
        raise
    imp = DataImport(
        user_id=user.id,
        kind=kind,
        file_name=original,
        stored_name=stored,
        file_format=source.file_format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        headers=source.headers,
        row_count=source.row_count,
        status="mapping",
    )
    imp.mapping = {str(i): key for i, key in guess_mapping(KINDS[kind], source.headers).items()}
    imp.choices = default_choices()
    db.session.add(imp)
    db.session.flush()
    return imp


def default_choices() -> dict[str, str]:
    return {**{kind: options[0] for kind, options in CHOICES.items()}, "partners": "create"}


def mapping_of(imp: DataImport) -> dict[int, str]:
    return {int(i): key for i, key in imp.mapping.items()}


def set_mapping(imp: DataImport, mapping: dict[int, str]) -> None:
    """Accept a column mapping (each field once, the name mapped) and start the check."""
    if imp.status not in ("mapping", "checked"):
        raise ImportError_({"": str(_l("This import is past its mapping."))})
    if errors := KINDS[imp.kind].mapping_errors(mapping):
        raise ImportError_(errors)
    imp.mapping = {str(i): key for i, key in mapping.items()}
    db.session.execute(DataImportRow.__table__.delete().where(DataImportRow.import_id == imp.id))
    _begin(imp, "checking")


PENDING = ("mapping", "checking", "checked")


def discard(imp: DataImport, user) -> str:
    """Throw away an import that has not run: its check rows go, it is marked discarded
    and audited. Returns the stored file's name, for the caller to remove once this is
    committed (removed before, a failed commit would leave a pending import without its
    file)."""
    imp = locked(imp.id)  # not while a worker checks its next chunk
    if imp is None or imp.status not in PENDING:
        raise ImportError_({"": str(_l("Only an import that has not run can be discarded."))})
    db.session.execute(DataImportRow.__table__.delete().where(DataImportRow.import_id == imp.id))
    imp.status = "discarded"
    imp.finished_at = utcnow()
    with trail.acting_as(user.id):
        trail.record_event(
            db.session,
            "import_discard",
            "import",
            imp.id,
            {"file": imp.file_name, "kind": imp.kind, "rows": imp.row_count},
        )
    return imp.stored_name


def _begin(imp: DataImport, status: str) -> None:
    imp.status, imp.position, imp.offset = status, 0, 0


def locked(import_id: int) -> DataImport | None:
    """The job's row, locked until the end of this transaction."""
    return db.session.scalar(select(DataImport).where(DataImport.id == import_id).with_for_update())


def step(import_id: int, user) -> DataImport | None:
    """Advance whatever step the import is in by one chunk."""
    imp = locked(import_id)
    if imp is None:
        return None
    with trail.acting_as(user.id):
        if imp.status == "checking":
            _check_chunk(imp)
        elif imp.status == "running":
            _run_chunk(imp, user)
        elif imp.status == "undoing":
            _undo_chunk(imp, user)
    return imp


def chunk_size() -> int:
    return int(current_app.config["IMPORT_CHUNK_ROWS"])


# --- check ------------------------------------------------------------------------------


def _check_chunk(imp: DataImport) -> None:
    rows, offset = sources.read_rows(imp.stored_name, imp.offset, chunk_size())
    checked = KINDS[imp.kind].check([cells for _number, cells in rows], mapping_of(imp))
    earlier: dict[str, int] = {}
    wanted = {row.key for row in checked if row.key}
    if wanted:
        for number, key in db.session.execute(
            select(func.min(DataImportRow.row_number), DataImportRow.match_key)
            .where(DataImportRow.import_id == imp.id, DataImportRow.match_key.in_(wanted))
            .group_by(DataImportRow.match_key)
        ):
            earlier[key] = number
    records = []
    for (number, _cells), (errors, found, key, label) in zip(rows, checked, strict=True):
        if errors:
            result = "error"
        elif len(found) > 1:
            result = "several"
        else:
            result = "match" if found else "new"
        same = earlier.get(key) if key else None
        if key and key not in earlier:
            earlier[key] = number
        records.append(
            {
                "import_id": imp.id,
                "row_number": number,
                "check_result": result,
                "errors": errors,
                "matches": found[:10],
                "match_key": key,
                "same_as_row": same,
                "label": label,
            }
        )
    if records:
        db.session.execute(insert(DataImportRow.__table__), records)
    imp.position += len(rows)
    imp.offset = offset
    if not rows or imp.position >= imp.row_count:
        imp.status = "checked"


def check_counts(imp: DataImport) -> dict[str, int]:
    counts = dict.fromkeys(CHECK_LABELS, 0)
    for result, count in db.session.execute(
        select(DataImportRow.check_result, func.count())
        .where(DataImportRow.import_id == imp.id)
        .group_by(DataImportRow.check_result)
    ):
        counts[result] = count
    return counts


def duplicate_count(imp: DataImport) -> int:
    return db.session.scalar(
        select(func.count()).where(
            DataImportRow.import_id == imp.id, DataImportRow.same_as_row.is_not(None)
        )
    )


def set_choices(imp: DataImport, choices: dict[str, str]) -> None:
    """Accept what to do with each kind of row, and start the run."""
    if imp.status != "checked":
        raise ImportError_({"": str(_l("This import is not waiting for a run."))})
    clean = default_choices()
    for kind, options in CHOICES.items():
        if choices.get(kind) in options:
            clean[kind] = choices[kind]
    if choices.get("partners") in PARTNER_CHOICES:
        clean["partners"] = choices["partners"]
    imp.choices = clean
    _begin(imp, "running")
    trail.record_event(
        db.session,
        "import",
        "import",
        imp.id,
        {"file": imp.file_name, "kind": imp.kind, "rows": imp.row_count, **clean},
    )


# --- run --------------------------------------------------------------------------------


def _run_chunk(imp: DataImport, user) -> None:
    """Run a chunk of rows: each row all or nothing, the chunk's writes in batches.

    The rows are looked up together (their matches, the partners they name, the records
    they update: one statement per lookup for the whole batch), applied in memory, and
    flushed together inside one savepoint: the unit of work sends them in as few
    statements as the database allows (PostgreSQL: multi-row INSERT ... RETURNING;
    SQLite: a statement per new record, whose id it must read back), audit entries and
    undo records go in bulk, and the duplicate index is refreshed once for the batch.
    A batch ends early where a row might be found by, or refer to, what an earlier row of
    the batch writes (the same name or email, the same matched record): the rest is looked
    up again after it, so every row sees what the rows before it did, as if run one by one.
    A row that fails while applied rolls the batch back; the rows before it run again as
    a batch, the failing row alone in its own savepoint (the one-by-one path, which gives
    its exact reason), then the rest.
    A database refusal at the batch's flush (which row is unknown) runs that batch one
    row at a time.
    """
    kind = KINDS[imp.kind]
    rows, offset = sources.read_rows(imp.stored_name, imp.offset, chunk_size())
    mapping = mapping_of(imp)
    choices = imp.choices
    ctx = Context(
        user,
        may_reassign=user.has_role("manager"),
        create_partners=choices.get("partners") == "create",
    )
    numbers = [number for number, _ in rows]
    row_ids = dict(
        db.session.execute(
            select(DataImportRow.row_number, DataImportRow.id).where(
                DataImportRow.import_id == imp.id, DataImportRow.row_number.in_(numbers)
            )
        ).all()
    )
    outcomes: dict[int, tuple[str, str, int | None]] = {}
    pending = []
    for number, cells in rows:
        values, errors = kind.parse(cells, mapping)
        if errors:
            outcomes[number] = ("failed", kind.reason(errors), None)
        else:
            pending.append((number, cells, values))
    session = db.session
    with trail.audit_action(session, "import"):
        # How many rows to look up for the next batch: all of them, fewer while rows keep
        # depending on the row before (a file listing the same record many times), so
        # that each short batch does not look up the whole rest of the chunk again.
        window = len(pending)
        while pending:
            batch, pending, cut = _plan(kind, ctx, pending, window, choices, outcomes)
            _apply_batch(imp, kind, ctx, batch, mapping, choices, outcomes)
            window = max(16, 2 * len(batch)) if cut else 2 * window
    results = []
    counts = dict.fromkeys(("created", "updated", "skipped", "failed"), 0)
    for number in numbers:
        outcome, message, record_id = outcomes[number]
        counts[outcome] += 1
        if number in row_ids:
            results.append(
                {
                    "rid": row_ids[number],
                    "outcome": outcome,
                    "message": message,
                    "record": record_id,
                }
            )
    if results:
        table = DataImportRow.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("rid"))
            .values(
                outcome=bindparam("outcome"),
                message=bindparam("message"),
                record_id=bindparam("record"),
            ),
            results,
        )
    imp.created_count += counts["created"]
    imp.updated_count += counts["updated"]
    imp.skipped_count += counts["skipped"]
    imp.failed_count += counts["failed"]
    imp.position += len(rows)
    imp.offset = offset
    if not rows or imp.position >= imp.row_count:
        imp.status = "done"
        imp.finished_at = utcnow()
        trail.record_event(
            session, "import", "import", imp.id, {"file": imp.file_name, **imp.counts()}
        )


def _action(kind, values, found, choices):
    """What to do with a parsed row given its matches: (action, reason if skipped)."""
    if len(found) > 1:
        return choices["several"], _l(
            "It matches several records (IDs %(ids)s).", ids=", ".join(map(str, found))
        )
    if found:
        action = (
            choices["match"]
            if "id" not in values
            else ("update" if choices["match"] != "skip" else "skip")
        )
        return action, _l("It matches an existing record (ID %(id)s).", id=found[0])
    return choices["new"], _l("It matches no record and new ones are not created.")


def _plan(kind, ctx, pending, window, choices, outcomes):
    """The longest run of rows, among the first `window` of `pending`, that may be applied
    together, with each one's matches and action; rows decided without writing (skipped,
    failed) get their outcome here. Returns (batch, the rows left, whether a row that
    depends on the batch ended it)."""
    ahead = pending[:window]
    matches = kind.find([values for _number, _cells, values in ahead])
    # Earlier batches may have written partners: look their names up afresh.
    ctx.forget()
    kind.prefetch(ctx, (values for _number, _cells, values in ahead))
    written: set = set()
    touched: set[int] = set()
    batch = []
    for index, ((number, cells, values), found) in enumerate(zip(ahead, matches, strict=True)):
        if kind.reads(values) & written or touched.intersection(found):
            return batch, pending[index:], True
        if problem := kind.id_problem(values, found):
            outcomes[number] = ("failed", problem, None)
            continue
        action, skip_reason = _action(kind, values, found, choices)
        if action == "skip":
            outcomes[number] = ("skipped", str(skip_reason), found[0] if len(found) == 1 else None)
            continue
        written |= kind.writes(values, ctx)
        if action == "update":
            touched.add(found[0])
        batch.append((number, cells, values, action, found))
    return batch, pending[len(ahead) :], False


class _RowFailed(Exception):
    def __init__(self, index: int):
        super().__init__(index)
        self.index = index


def _apply_batch(imp, kind, ctx, batch, mapping, choices, outcomes) -> None:
    """Apply planned rows together in one savepoint (see `_run_chunk`)."""
    if not batch:
        return
    if len(batch) == 1:
        number, cells = batch[0][:2]
        outcomes[number] = _run_row(imp, kind, ctx, number, cells, mapping, choices)
        return
    session = db.session
    done = []
    try:
        with session.begin_nested():
            kind.prefetch(ctx, (row[2] for row in batch))
            records = kind.load_many(row[4][0] for row in batch if row[3] == "update")
            for index, (number, _cells, values, action, found) in enumerate(batch):
                ctx.created_partners = []
                try:
                    record, before = kind.write(
                        None if action == "create" else records[found[0]], values, ctx
                    )
                except RowError:
                    raise _RowFailed(index) from None
                done.append((number, action, record, before, list(ctx.created_partners)))
            session.flush()
            changes = []
            for number, action, record, before, created in done:
                entries = [(partner, "created", {}) for partner in created]
                if action == "create":
                    entries.append((record, "created", {}))
                elif before:
                    entries.append((record, "updated", settled(before)))
                changes += [_change_row(imp, number, *entry) for entry in entries]
            if changes:
                session.execute(insert(DataImportChange.__table__), changes)
        trail.write_now(session)
    except _RowFailed as failed:
        ctx.forget()
        i = failed.index
        _apply_batch(imp, kind, ctx, batch[:i], mapping, choices, outcomes)
        number, cells = batch[i][:2]
        outcomes[number] = _run_row(imp, kind, ctx, number, cells, mapping, choices)
        _apply_batch(imp, kind, ctx, batch[i + 1 :], mapping, choices, outcomes)
        return
    except (IntegrityError, DataError) as exc:
        current_app.logger.info("import %s: batch refused (%s), row by row", imp.id, exc.orig)
        ctx.forget()
        for number, cells, *_rest in batch:
            outcomes[number] = _run_row(imp, kind, ctx, number, cells, mapping, choices)
        return
    for number, action, record, before, created in done:
        outcomes[number] = _outcome(action == "create", record, before, created)


def _change_row(imp, number, record, action, before) -> dict:
    return {
        "import_id": imp.id,
        "row_number": number,
        "record_type": type(record).__audit_type__,
        "record_id": record.id,
        "action": action,
        "before": before,
        "version": record.version_id,
    }


def _outcome(creating, record, before, created_partners):
    if creating:
        note = ""
        if created_partners:
            names = ", ".join(p.name_en for p in created_partners)
            note = str(_l("New organisations created: %(names)s.", names=names))
        return "created", note, record.id
    if not before:
        return "skipped", str(_l("Already up to date: nothing to change.")), record.id
    keys = list(before.get("fields", {})) + list(before.get("added", {}))
    fields = ", ".join(sorted(field_label(key) for key in keys))
    return "updated", str(_l("Changed: %(fields)s.", fields=fields)), record.id


def _run_row(imp, kind, ctx, number, cells, mapping, choices):
    """One row on its own, all or nothing, in its own savepoint: (outcome, reason, record
    id). What a batch falls back to for a row that fails in it."""
    values, errors = kind.parse(cells, mapping)
    if errors:
        return "failed", kind.reason(errors), None
    found = kind.find([values])[0]
    if problem := kind.id_problem(values, found):
        return "failed", problem, None
    action, skip_reason = _action(kind, values, found, choices)
    if action == "skip":
        return "skipped", str(skip_reason), (found[0] if len(found) == 1 else None)
    session = db.session
    ctx.created_partners = []
    try:
        with session.begin_nested():
            creating = action == "create"
            record, before = kind.write(None if creating else kind.load(found[0]), values, ctx)
            session.flush()
            before = settled(before)
            changes = [(partner, "created", {}) for partner in ctx.created_partners]
            if creating:
                changes.append((record, "created", {}))
            elif before:
                changes.append((record, "updated", before))
            if changes:
                session.execute(
                    insert(DataImportChange.__table__),
                    [_change_row(imp, number, *change) for change in changes],
                )
        trail.write_now(session)
    except RowError as exc:
        ctx.forget()
        return "failed", str(exc), None
    except (IntegrityError, DataError) as exc:
        ctx.forget()
        current_app.logger.info("import %s row %s refused: %s", imp.id, number, exc.orig)
        return (
            "failed",
            str(_l("The database refused this row (a value is out of range or taken).")),
            None,
        )
    return _outcome(creating, record, before, ctx.created_partners)


# --- report -----------------------------------------------------------------------------


def report_rows(imp: DataImport) -> Iterator[list]:
    """The report: each row's outcome and reason, then its cells as they were uploaded."""
    yield [
        str(_l("Line")),
        str(_l("Outcome")),
        str(_l("Reason")),
        str(_l("Record ID")),
        *imp.headers,
    ]
    table = DataImportRow.__table__
    last = 0
    cells_iter = sources.iter_rows(imp.stored_name)
    while True:
        batch = db.session.execute(
            select(
                table.c.row_number,
                table.c.outcome,
                table.c.check_result,
                table.c.message,
                table.c.errors,
                table.c.record_id,
            )
            .where(table.c.import_id == imp.id, table.c.row_number > last)
            .order_by(table.c.row_number)
            .limit(1000)
        ).all()
        if not batch:
            break
        for number, outcome, result, message, errors, record_id in batch:
            line, cells = next(cells_iter)
            while line < number:
                line, cells = next(cells_iter)
            label = OUTCOME_LABELS.get(outcome) or CHECK_LABELS.get(result, "")
            reason = message or (KINDS[imp.kind].reason(errors) if errors else "")
            yield [number + 0, str(label), reason, record_id or "", *cells]
        last = batch[-1][0]


def report_csv(imp: DataImport) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff".encode()
    for count, row in enumerate(report_rows(imp), start=1):
        writer.writerow([guard_formula(str(c)) if c is not None else "" for c in row])
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# --- undo -------------------------------------------------------------------------------


def _models():
    return {key: kind.model for key, kind in KINDS.items()}


def changed_since(imp: DataImport, limit: int = 10) -> list[dict]:
    """Records this import touched that were changed after it: what undo would overwrite."""
    change = DataImportChange.__table__
    last = (
        select(func.max(change.c.id).label("last"))
        .where(change.c.import_id == imp.id)
        .group_by(change.c.record_type, change.c.record_id)
        .subquery()
    )
    found = []
    for record_type, model in _models().items():
        rows = db.session.execute(
            select(model.id, model.version_id)
            .join(change, change.c.record_id == model.id)
            .join(last, last.c.last == change.c.id)
            .where(change.c.record_type == record_type, model.version_id != change.c.version)
            .limit(limit)
        ).all()
        for record_id, _version in rows:
            entry = db.session.scalar(
                select(AuditEntry)
                .where(AuditEntry.record_type == record_type, AuditEntry.record_id == record_id)
                .order_by(AuditEntry.id.desc())
                .limit(1)
            )
            record = db.session.get(model, record_id)
            found.append(
                {
                    "kind": record_type,
                    "kind_label": str(RECORD_KINDS.get(record_type, record_type)),
                    "id": record_id,
                    "name": getattr(record, "display_name", str(record_id)),
                    "by": entry.user.name if entry is not None and entry.user else "",
                    "at": entry.at if entry is not None else None,
                }
            )
    return found[:limit]


def start_undo(imp: DataImport, user) -> None:
    if imp.status != "done":
        raise ImportError_({"": str(_l("Only a finished import can be undone."))})
    changed = changed_since(imp)
    if changed:
        names = "; ".join(f"{c['kind_label']} “{c['name']}”" for c in changed)
        raise ImportError_(
            {
                "": str(
                    _l(
                        "This import cannot be undone: records it wrote were changed since, "
                        "and undoing it would overwrite those changes: %(names)s.",
                        names=names,
                    )
                )
            }
        )
    _begin(imp, "undoing")
    imp.offset = db.session.scalar(
        select(func.coalesce(func.max(DataImportChange.id), 0) + 1).where(
            DataImportChange.import_id == imp.id
        )
    )


def _undo_chunk(imp: DataImport, user) -> None:
    """Undo the next chunk of changes, newest first (offset: the id to go below)."""
    changes = db.session.scalars(
        select(DataImportChange)
        .where(DataImportChange.import_id == imp.id, DataImportChange.id < imp.offset)
        .order_by(DataImportChange.id.desc())
        .limit(chunk_size())
    ).all()
    # The chunk's records in one statement per kind, then every change applied in memory
    # (newest first, so a record changed twice gets its oldest state back) and one flush.
    wanted: dict[str, set[int]] = {}
    for change in changes:
        wanted.setdefault(change.record_type, set()).add(change.record_id)
    records = {
        (record_type, record_id): record
        for record_type, ids in wanted.items()
        for record_id, record in KINDS[record_type].load_many(ids).items()
    }
    with trail.audit_action(db.session, "import_undo"):
        for change in changes:
            record = records.get((change.record_type, change.record_id))
            if record is not None:
                KINDS[change.record_type].undo(record, change.action, change.before, user)
        db.session.flush()
    if changes:
        imp.offset = changes[-1].id
        imp.position += len(changes)
    else:
        imp.status = "undone"
        imp.undone_at = utcnow()
        imp.undone_by_id = user.id
        trail.record_event(db.session, "import_undo", "import", imp.id, {"file": imp.file_name})


def undo_total(imp: DataImport) -> int:
    return db.session.scalar(select(func.count()).where(DataImportChange.import_id == imp.id))
