"""The merge walks the metadata: every table pointing at a partner or a contact is moved,
and a table the generic move cannot merge safely makes this test fail until it has a rule."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, UniqueConstraint

from crm.db import db
from crm.duplicates.merge import EXPLICIT, UnhandledLink, plan
from tests.duplicates.links import foreign_keys


@pytest.mark.parametrize("kind", ["partner", "contact"])
def test_every_table_referencing_a_record_is_handled(app, kind):
    steps = plan(kind)  # raises UnhandledLink for a table it cannot merge
    covered = sorted((step.table.name, step.column) for step in steps)
    assert covered == foreign_keys(kind)
    assert len(covered) >= (8 if kind == "partner" else 7)
    by_key = {(s.table.name, s.column): s for s in steps}
    # Unique constraints are combined on, not doubled.
    if kind == "partner":
        assert by_key[("partner_tag", "partner_id")].collide_on[0] == ("tag_id",)
        assert ("project_id", "role") in by_key[("project_partner", "partner_id")].collide_on
        assert by_key[("partner", "parent_id")].own_table
        assert by_key[("follow_up", "partner_id")].records
    else:
        assert ("activity_id",) in by_key[("activity_contact", "contact_id")].collide_on
    for key, strategy in EXPLICIT.items():
        if key in by_key:
            assert by_key[key].strategy == strategy


def _metadata_with(*extra_columns, unique=None):
    """The app's tables plus one new table pointing at partner."""
    metadata = MetaData()
    for table in db.metadata.sorted_tables:
        table.to_metadata(metadata)
    args = [
        Column("id", Integer, primary_key=True),
        Column("partner_id", ForeignKey("partner.id"), nullable=False),
        *extra_columns,
    ]
    if unique:
        args.append(UniqueConstraint(*unique))
    Table("meeting_note", metadata, *args)
    return metadata


def test_a_new_plain_link_table_is_moved_without_code(app):
    metadata = _metadata_with(Column("filename", String(200)))
    step = next(s for s in plan("partner", metadata) if s.table.name == "meeting_note")
    assert step.strategy == "move" and step.field == "meeting_note"
    # Two notes with the same file name are two notes: never combined.
    assert step.collide_on == ()


def test_a_unique_link_whose_rows_carry_data_fails_the_plan(app):
    metadata = _metadata_with(
        Column("label", String(50)), Column("summary", String(200)), unique=("partner_id", "label")
    )
    with pytest.raises(UnhandledLink, match="would lose summary"):
        plan("partner", metadata)


def test_a_pure_association_is_combined_on_its_unique_constraint(app):
    metadata = _metadata_with(Column("label", String(50)), unique=("partner_id", "label"))
    step = next(s for s in plan("partner", metadata) if s.table.name == "meeting_note")
    assert step.collide_on == (("label",),)


def test_a_table_holding_one_row_per_partner_fails_the_plan(app):
    metadata = _metadata_with(Column("summary", String(200)), unique=("partner_id",))
    with pytest.raises(UnhandledLink, match="meeting_note.partner_id holds one row per partner"):
        plan("partner", metadata)


def test_a_link_table_others_point_at_is_moved_not_combined(app):
    metadata = _metadata_with(Column("filename", String(200)))
    Table(
        "meeting_note_page",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("note_id", ForeignKey("meeting_note.id")),
    )
    step = next(s for s in plan("partner", metadata) if s.table.name == "meeting_note")
    assert step.strategy == "move" and step.collide_on == ()


def test_combinable_rows_that_others_point_at_fail_the_plan(app):
    metadata = _metadata_with(Column("label", String(50)), unique=("partner_id", "label"))
    Table(
        "meeting_note_page",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("note_id", ForeignKey("meeting_note.id")),
    )
    with pytest.raises(UnhandledLink, match="referenced by other tables"):
        plan("partner", metadata)
