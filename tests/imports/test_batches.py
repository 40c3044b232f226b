"""Imports apply a chunk's rows in batches: the outcomes, reasons, records, audit trail,
undo and indexes must be exactly those of running the rows one by one."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.agreements.models import Agreement
from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.dataio.models import DataImportChange
from crm.db import db
from crm.duplicates import index
from crm.duplicates.models import DuplicatePair
from crm.partners.columns import PartnerKind
from crm.partners.models import Partner, PartnerName
from tests.factories import make_partner, make_user
from tests.imports import flow


@pytest.fixture(params=[1, 500], ids=["row-by-row", "batched"])
def chunked(request, make_app):
    """A signed-in client and its app, with chunks of one row (every row on its own, the
    reference behaviour) or of 500 (the whole file in one batch)."""
    app = make_app(IMPORT_CHUNK_ROWS=request.param)
    with app.app_context():
        user = make_user(role="staff")
        ukiic = make_partner("UKIIC", name_zh="英国国际创新中心", kind="accelerator")
        ukiic.other_names.append(PartnerName(name="UK Innovation Centre", kind="alias"))
        ukiic.refresh_derived()
        committee = make_partner(
            "Management Committee of Taizhou Bay New Area", name_zh="台州湾新区管理委员会"
        )
        db.session.commit()
        client = app.test_client().login_as(user)
        yield client, {"ukiic": ukiic.id, "committee": committee.id}
        db.session.remove()


def live_partners() -> dict[str, int]:
    db.session.rollback()
    return {
        p.name_en: p.id
        for p in db.session.scalars(select(Partner).where(Partner.archived_at.is_(None)))
    }


PARTNERS = (
    "Name,Chinese name,Other names,City,Parent organisation\n"
    "New One Ltd,,,Hangzhou,\n"  # 2: new
    ",英国国际创新中心,,London,\n"  # 3: found by its Chinese name
    "UK Innovation Centre,,,,\n"  # 4: found by its other name: nothing new
    "New One Ltd,,NOL,,\n"  # 5: the record line 2 created
    "Second Co,,,,Parent Group Holdings\n"  # 6: its parent is created
    "Parent Group Holdings,,,Ningbo,\n"  # 7: the parent line 6 created
    "NOL,,,Suzhou,\n"  # 8: line 5's other name
    "Third Co,,,,Parent Group Holdings\n"  # 9: the same parent
    "Plain Co,,,,\n"  # 10
    "Last Co,,,Taizhou,New One Ltd\n"  # 11: parent found among this file's rows
)


def test_rows_see_what_earlier_rows_of_the_same_chunk_wrote(chunked):
    client, known = chunked
    imp = flow.full_import(client, "partner", PARTNERS.encode())
    result = flow.outcomes(imp)
    partners = live_partners()
    new_one, parent = partners["New One Ltd"], partners["Parent Group Holdings"]
    assert result == {
        2: ("created", ""),
        3: ("updated", "Changed: City or region."),
        4: ("skipped", "Already up to date: nothing to change."),
        5: ("updated", "Changed: Other names."),
        6: ("created", "New organisations created: Parent Group Holdings."),
        7: ("updated", "Changed: City or region."),
        8: ("updated", "Changed: City or region."),
        9: ("created", ""),
        10: ("created", ""),
        11: ("created", ""),
    }
    assert set(partners) == {
        "UKIIC",
        "Management Committee of Taizhou Bay New Area",
        "New One Ltd",
        "Second Co",
        "Parent Group Holdings",
        "Third Co",
        "Plain Co",
        "Last Co",
    }
    one = db.session.get(Partner, new_one)
    assert one.city == "Suzhou" and [n.name for n in one.other_names] == ["NOL"]
    assert db.session.get(Partner, known["ukiic"]).city == "London"
    assert db.session.get(Partner, partners["Third Co"]).parent_id == parent
    assert db.session.get(Partner, partners["Last Co"]).parent_id == new_one
    assert db.session.get(Partner, parent).city == "Ningbo"
    # One audit entry per row that changed a record, as one by one: created by line 2,
    # given an other name by line 5, moved by line 8.
    entries = db.session.scalars(
        select(AuditEntry.changes)
        .where(AuditEntry.record_type == "partner", AuditEntry.record_id == new_one)
        .order_by(AuditEntry.id)
    ).all()
    assert [sorted(e) for e in entries] == [
        ["city", "kind", "name_en", "owner_id", "status"],
        ["other_names"],
        ["city"],
    ]


def test_contacts_with_the_same_email_in_one_chunk_update_the_first(chunked):
    client, known = chunked
    data = (
        "Name,Email,Organisation,Title\n"
        "Liu Xian,liu@example.org,UKIIC,Director\n"
        "Wang Wei,wang@example.org,New Org Ltd,Engineer\n"
        "Liu X.,LIU@example.org,英国国际创新中心,Chair\n"
        "Zhao Li,zhao@example.org,New Org Ltd,Analyst\n"
    )
    imp = flow.full_import(client, "contact", data.encode())
    assert flow.outcomes(imp) == {
        2: ("created", ""),
        3: ("created", "New organisations created: New Org Ltd."),
        4: ("updated", "Changed: Name, Positions."),
        5: ("created", ""),
    }
    contacts = {c.email: c for c in db.session.scalars(select(Contact))}
    assert set(contacts) == {"liu@example.org", "wang@example.org", "zhao@example.org"}
    assert sorted(p.title for p in contacts["liu@example.org"].positions) == ["Chair", "Director"]
    new_org = db.session.scalar(select(Partner).where(Partner.name_en == "New Org Ltd"))
    assert [p.partner_id for p in contacts["zhao@example.org"].positions] == [new_org.id]
    assert db.session.scalar(select(func.count()).where(Partner.name_en == "New Org Ltd")) == 1


AGREEMENTS = (
    "Title,Stage,Signed on,Parties\n"
    'Good one,draft,,"UKIIC; Management Committee of Taizhou Bay New Area"\n'
    'Good two,draft,,"UKIIC; Fresh Partner Co"\n'
    'Signed without a date,signed,,"UKIIC; Another Fresh Co"\n'
    'Good three,draft,,"Fresh Partner Co"\n'
    'Good four,signed,2024-05-01,"UKIIC; Management Committee of Taizhou Bay New Area"\n'
)


def test_a_row_failing_in_a_batch_fails_alone_and_leaves_nothing(chunked):
    client, known = chunked
    imp = flow.full_import(client, "agreement", AGREEMENTS.encode())
    assert flow.outcomes(imp) == {
        2: ("created", ""),
        3: ("created", "New organisations created: Fresh Partner Co."),
        4: ("failed", "Enter the date it was signed."),
        5: ("created", ""),
        6: ("created", ""),
    }
    titles = set(db.session.scalars(select(Agreement.title)))
    assert titles == {"Good one", "Good two", "Good three", "Good four"}
    # The failed row's new organisation went with it.
    names = set(live_partners())
    assert "Fresh Partner Co" in names and "Another Fresh Co" not in names
    assert db.session.scalar(select(func.count()).where(Partner.name_en == "Fresh Partner Co")) == 1
    changes = db.session.scalars(
        select(DataImportChange.row_number).where(DataImportChange.import_id == imp.id)
    ).all()
    assert 4 not in changes and sorted(set(changes)) == [2, 3, 5, 6]


def test_a_row_the_database_refuses_fails_alone(chunked, monkeypatch):
    """A refusal only the database sees (here a kind outside its check constraint, set
    behind validation's back) fails that row with the usual reason; the rest land."""
    client, _known = chunked
    apply = PartnerKind.apply

    def sabotaged(self, partner, values, ctx):
        before = apply(self, partner, values, ctx)
        if partner.name_en == "Refused Co":
            partner.kind = "not-a-kind"
        return before

    monkeypatch.setattr(PartnerKind, "apply", sabotaged)
    data = "Name,City\nFirst Co,A\nRefused Co,B\nThird Co,C\nUKIIC,Oxford\n"
    imp = flow.full_import(client, "partner", data.encode())
    refused = "The database refused this row (a value is out of range or taken)."
    assert flow.outcomes(imp) == {
        2: ("created", ""),
        3: ("failed", refused),
        4: ("created", ""),
        5: ("updated", "Changed: City or region."),
    }
    assert set(live_partners()) >= {"First Co", "Third Co"}
    assert "Refused Co" not in live_partners()
    assert imp.counts() == {"created": 2, "updated": 1, "skipped": 0, "failed": 1}


def test_undo_of_a_batched_import_restores_records_counts_and_keeps_the_trail(chunked):
    client, known = chunked
    before = {
        p.id: (p.name_en, p.city, [n.name for n in p.other_names], p.search_text)
        for p in db.session.scalars(select(Partner))
    }
    rows = "".join(f"Imported {i:03d},City {i}\n" for i in range(40))
    data = "Name,City,Other names\n" + rows + "英国国际创新中心,London,UKIIC London\n"
    imp = flow.full_import(client, "partner", data.encode())
    assert imp.counts() == {"created": 40, "updated": 1, "skipped": 0, "failed": 0}
    created_entries = db.session.scalar(
        select(func.count()).where(
            AuditEntry.record_type == "partner", AuditEntry.action == "import"
        )
    )
    assert created_entries == 41

    assert client.post_form(f"/imports/{imp.id}/undo").status_code == 302
    flow.steps(client, imp.id)
    db.session.rollback()
    assert flow.last_import().status == "undone"
    live = {
        p.id: (p.name_en, p.city, [n.name for n in p.other_names], p.search_text)
        for p in db.session.scalars(select(Partner).where(Partner.archived_at.is_(None)))
    }
    assert live == before
    archived = db.session.scalar(
        select(func.count()).where(Partner.archived_at.is_not(None), Partner.name_en.like("Imp%"))
    )
    assert archived == 40
    undo_entries = db.session.scalar(
        select(func.count()).where(
            AuditEntry.record_type == "partner", AuditEntry.action == "import_undo"
        )
    )
    assert undo_entries == 41
    # The import's own entries are still there: the trail is appended to, never rewritten.
    assert (
        db.session.scalar(
            select(func.count()).where(
                AuditEntry.record_type == "partner", AuditEntry.action == "import"
            )
        )
        == 41
    )
    # The duplicate index forgot the archived records' pairs.
    pairs = db.session.scalars(select(DuplicatePair.low_id)).all()
    assert not set(pairs) - set(before)


def test_imported_records_are_in_the_search_and_duplicate_indexes(chunked):
    client, known = chunked
    data = (
        "Name,Chinese name\n"
        "Ekoo Network Technology,中英艺库网络科技\n"
        "Ekoo Network Technology Ltd,\n"
        "Taizhou Bay Committee,台州湾新区管委会\n"
        "Something Else Entirely,\n"
    )
    imp = flow.full_import(client, "partner", data.encode(), new="create", match="create")
    assert imp.counts()["created"] == 4
    assert "Ekoo Network Technology Ltd" in client.get("/search?q=ekoo").text
    assert "Ekoo Network Technology" in client.get("/search?q=艺库").text
    stored = {
        (p.low_id, p.high_id, p.score)
        for p in db.session.scalars(select(DuplicatePair).where(DuplicatePair.kind == "partner"))
    }
    assert stored, "the imported near-duplicates were checked"
    # Exactly what checking every partner from scratch finds.
    index.scan(db.session.connection(), "partner")
    rescanned = {
        (p.low_id, p.high_id, p.score)
        for p in db.session.scalars(select(DuplicatePair).where(DuplicatePair.kind == "partner"))
    }
    assert stored == rescanned
    db.session.rollback()


def test_a_clean_chunk_runs_as_one_batch_and_a_bad_row_alone(make_app, monkeypatch):
    """The batch path is the one taken: only the failing row runs on its own."""
    from crm.dataio import jobs

    app = make_app(IMPORT_CHUNK_ROWS=500)
    with app.app_context():
        user = make_user(role="staff")
        db.session.commit()
        client = app.test_client().login_as(user)
        alone = []
        run_row = jobs._run_row

        def counted(imp, kind, ctx, number, *args):
            alone.append(number)
            return run_row(imp, kind, ctx, number, *args)

        monkeypatch.setattr(jobs, "_run_row", counted)
        rows = "".join(f"Org {i:03d},draft,\n" for i in range(30))
        data = "Title,Stage,Signed on\n" + rows + "Signed Org,signed,\n" + rows.replace("Org", "Co")
        imp = flow.full_import(client, "agreement", data.encode())
        assert imp.counts() == {"created": 60, "updated": 0, "skipped": 0, "failed": 1}
        assert alone == [32]
        assert flow.outcomes(imp)[32] == ("failed", "Enter the date it was signed.")
        db.session.remove()


def test_a_file_naming_the_same_record_again_and_again_applies_every_row_in_order(chunked):
    client, _known = chunked
    lines = []
    for i in range(20):
        lines.append(f"Same Co,City {i}\n")
        lines.append(f"Other {i:02d},Town {i}\n")
    imp = flow.full_import(client, "partner", ("Name,City\n" + "".join(lines)).encode())
    result = flow.outcomes(imp)
    assert result[2] == ("created", "")
    assert all(result[n] == ("updated", "Changed: City or region.") for n in range(4, 42, 2))
    assert all(result[n] == ("created", "") for n in range(3, 42, 2))
    same = db.session.scalars(select(Partner).where(Partner.name_en == "Same Co")).all()
    assert [p.city for p in same] == ["City 19"]
    assert imp.counts() == {"created": 21, "updated": 19, "skipped": 0, "failed": 0}
