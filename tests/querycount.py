"""Count the SQL statements a block of code sends: pages must send a fixed number."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from crm.db import db


class StatementLog:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def __repr__(self):
        return f"<{self.count} statements>\n" + "\n".join(self.statements)


@contextmanager
def count_statements(app):
    """Count statements on the app's engine (BEGIN/COMMIT/PRAGMA excluded)."""
    log = StatementLog()
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
        if head not in {"BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE"}:
            log.statements.append(statement)

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield log
    finally:
        event.remove(engine, "after_cursor_execute", record)
