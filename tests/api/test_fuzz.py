"""Fuzz every operation of /api/v1/openapi.json with schemathesis, in-process (WSGI).

Each operation gets valid requests (positive: what the document allows) and invalid ones
(negative: what it forbids), authenticated with a real manager's token, some aimed at
records that exist (a seeded one of each kind, If-Match "*" for updates) so the success
paths run too. Every response must be a non-5xx documented status, JSON of the
documented shape with the documented headers; invalid requests must be refused (4xx);
and each authenticated operation must refuse the same request without the token.

CRM_FUZZ_EXAMPLES sets the examples per operation and generation mode (default 40); the
cases are the same on every run (derandomized) unless CRM_FUZZ_RANDOM=1.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from crm.api.tokens import create_token
from crm.db import db
from tests import factories
from tests.sweeps import CASE_COUNTS

EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "40"))
RANDOM = os.environ.get("CRM_FUZZ_RANDOM") == "1"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    ignored_auth,
]


def _seed():
    """A manager with a token, and one record of each kind with its links filled in."""
    manager = factories.make_user(role="manager")
    _row, token = create_token(manager, "fuzz", None)
    partner = factories.make_partner(owner=manager, name_zh="台州湾新区")
    other = factories.make_partner(owner=manager)
    contact = factories.make_contact(owner=manager, positions=[(partner, "Director")])
    agreement = factories.make_agreement(
        owner=manager, parties=[(partner, "party", contact), (other, "host")]
    )
    project = factories.make_project(
        owner=manager, partners=[(partner, "lead")], agreements=[agreement]
    )
    factories.indicator_kinds()
    from datetime import UTC, datetime

    from crm.activities.models import Activity

    activity = Activity(
        title="Signing ceremony",
        kind="event",
        occurred_at=datetime(2024, 5, 1, 6, 30, tzinfo=UTC),
        timezone="Asia/Shanghai",
        owner_id=manager.id,
    )
    activity.refresh_derived()
    db.session.add(activity)
    db.session.commit()
    ids = {
        "partners": partner.id,
        "contacts": contact.id,
        "agreements": agreement.id,
        "projects": project.id,
        "activities": activity.id,
    }
    return token, ids


def _strategy(operation, ids):
    """Valid and invalid cases for one operation, some aimed at an existing record."""
    kind = operation.path.split("/")[3]
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    if "{record_id}" in operation.path:
        known = {"record_id": ids[kind]}
        strategies.append(operation.as_strategy(path_parameters=known))
        if operation.method.upper() == "PATCH":
            strategies.append(
                operation.as_strategy(path_parameters=known, headers={"If-Match": "*"})
            )
    return st.one_of(*strategies)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fuzz_every_operation_of_the_openapi_document(make_app):
    app = make_app()
    with app.app_context():
        token, ids = _seed()
    # No app context is held while fuzzing: each request gets its own, as in production.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    auth = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    # Five kinds x list, create, get, update, archive, restore (schemathesis leaves out the
    # document's own operation, which tests/api/test_openapi.py covers).
    assert len(operations) == 5 * 6
    counts = {"cases": 0, "negative": 0}
    statuses: Counter = Counter()

    for operation in operations:

        @given(case=_strategy(operation, ids))
        @settings(
            max_examples=EXAMPLES * 2,
            deadline=None,
            database=None,
            derandomize=not RANDOM,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            counts["cases"] += 1
            negative = case.meta is not None and case.meta.generation.mode.is_negative
            counts["negative"] += negative
            checks = [*CHECKS, negative_data_rejection] if negative else CHECKS
            response = case.call_and_validate(headers=auth, checks=checks)
            statuses[response.status_code] += 1

        run()

    CASE_COUNTS["API fuzz (schemathesis cases over 30 operations)"] += counts["cases"]
    print(
        f"\nAPI fuzz: {counts['cases']} cases ({counts['negative']} invalid on purpose), "
        f"responses by status: {dict(sorted(statuses.items()))}"
    )
    assert counts["cases"] >= len(operations) * EXAMPLES
    # The success paths ran too, not only refusals.
    assert statuses[200] > 0 and statuses[201] > 0
    # Every record's current version was written by an audited change: an update that
    # changed nothing moved no version (nor "updated at/by") without an entry.
    with app.app_context():
        assert _versions_without_an_entry() == []


def _versions_without_an_entry() -> list[tuple[str, int, int]]:
    from sqlalchemy import and_, exists, select

    from crm.api.resources import RESOURCES
    from crm.audit.models import AuditEntry

    missing = []
    for resource in RESOURCES:
        model = resource.model
        audited = exists().where(
            and_(
                AuditEntry.record_type == model.__audit_type__,
                AuditEntry.record_id == model.id,
                AuditEntry.version == model.version_id,
            )
        )
        rows = db.session.execute(select(model.id, model.version_id).where(~audited)).all()
        missing += [(model.__audit_type__, rid, version) for rid, version in rows]
    return missing
