"""Every side effect of a write, installed in one place: `install_write_hooks()`.

A write flows from a door (a form, the API, the importer, a command) to an operation,
which changes models in the request's session; the session's flush and commit then run
these, each a function that can be found by its name:

- the audit trail (`crm.audit.trail.install`): each changed record's fields, old and new,
  collected after every flush and written before the commit, in the same transaction;
- the duplicate index (`crm.duplicates.index.install`): the blocking keys of each partner
  and contact written, refreshed before the commit;
- the dashboard version (`crm.dashboard.cache.install`): bumped in the transaction of any
  write to a table the dashboard reads, so every worker drops its cached figures;
- a deactivated account's API tokens and calendar feed are revoked with it
  (`crm.auth.operations.on_deactivate`: those tables belong to the doors above auth);
- the search keys need nothing here: database triggers made by the migrations
  (`crm.search.index.create_search_index`) keep them on every write, ORM or not. Alembic's
  comparison is told to leave those objects alone (`install_autogenerate_filter`).

The listeners are on Flask-SQLAlchemy's session class and installed once per process,
however many apps are created (tests make one per test).
"""

from __future__ import annotations

from crm.api import tokens as api_tokens
from crm.audit import trail
from crm.auth import operations as accounts
from crm.dashboard import cache as dashboard_cache
from crm.duplicates import index as duplicate_index
from crm.feeds import operations as feeds
from crm.search.index import install_autogenerate_filter


def install_write_hooks() -> None:
    """Install the audit trail, duplicate index and dashboard version listeners, and the
    revocations that go with a deactivated account."""
    trail.install()
    duplicate_index.install()
    dashboard_cache.install()
    install_autogenerate_filter()
    accounts.on_deactivate(api_tokens.revoke_all)
    accounts.on_deactivate(feeds.revoke)
