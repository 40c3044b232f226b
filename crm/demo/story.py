"""The seed story as real records: `load_story()` reads story.toml (the article in
../shared/seed/ukiic-taizhou-article.txt: the accelerator, the Taizhou bodies and officials
with two posts at once, the three-party cooperation agreement, the Oxford International
partnership, the innovation centre and the talent plan, the figures for Taizhou Bay New
Area) and builds each record through the models, in the file's order.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal
from functools import cache
from importlib.resources import files
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm.activities.models import LINK_CLASSES, Activity, ActivityAttendee
from crm.agreements.models import Agreement, AgreementParty
from crm.contacts.models import Contact, Position
from crm.db import db
from crm.partners.models import KeyFigure, Partner, PartnerName
from crm.projects.models import (
    Indicator,
    IndicatorActual,
    IndicatorKind,
    Milestone,
    Project,
    ProjectPartner,
)
from crm.projects.operations import ensure_standard_indicator_kinds


@cache
def story_data() -> dict:
    """story.toml as read (shipped in the package: pyproject's package-data)."""
    return tomllib.loads(files(__package__).joinpath("story.toml").read_text(encoding="utf-8"))


STORY_DAY: date = story_data()["day"]


def indicator_kinds_by_code() -> dict[str, IndicatorKind]:
    """Every indicator kind by its code, the standard ones created first if missing."""

    ensure_standard_indicator_kinds()
    return {k.code: k for k in db.session.scalars(select(IndicatorKind))}


def _stamped(record):
    """Derive the record's search fields, stamp it as made by nobody, add it."""
    record.refresh_derived()
    record.stamp(None)
    db.session.add(record)
    return record


def _partner(
    name_en,
    name_zh=None,
    *,
    kind,
    country,
    city=None,
    parent=None,
    status="active",
    other_names=(),
    is_own=None,
    description=None,
    website=None,
):
    partner = Partner(
        name_en=name_en,
        name_zh=name_zh,
        kind=kind,
        country=country,
        city=city,
        status=status,
        parent=parent,
        is_own=is_own,
        description=description,
        website=website,
    )
    for name, name_kind in other_names:
        partner.other_names.append(PartnerName(name=name, kind=name_kind))
    return _stamped(partner)


def _contact(name, name_zh=None, positions=(), notes=None):
    contact = Contact(name=name, name_zh=name_zh, notes=notes)
    for partner, title, start in positions:
        contact.positions.append(Position(partner=partner, title=title, start_date=start))
    return _stamped(contact)


def _activity(title, kind, location, *, occurred, timezone, summary, attendees, links):
    activity = Activity(
        title=title,
        kind=kind,
        location=location,
        summary=summary,
        timezone=timezone,
        occurred_at=occurred.replace(tzinfo=ZoneInfo(timezone)),
    )
    for contact, role in attendees:
        activity.attendees.append(ActivityAttendee(contact=contact, role=role))
    for kind_name, records in links.items():
        for record in records:
            activity.links(kind_name).append(
                LINK_CLASSES[kind_name](**{kind_name: record}, occurred_at=activity.occurred_at)
            )
    return _stamped(activity)


def _fields(entry: dict, *nested: str) -> dict:
    """An entry's own fields: without its key and the parts built separately."""
    return {k: v for k, v in entry.items() if k not in ("key", *nested)}


def story_loaded() -> bool:
    """Whether the story is in already (our own organisation exists)."""
    return db.session.scalar(select(Partner.id).where(Partner.is_own.is_(True))) is not None


def load_story() -> dict[str, object]:
    """Record the seed story. Returns every record story.toml names, by its key."""
    data = story_data()
    kinds = indicator_kinds_by_code()
    records: dict[str, object] = {}

    for entry in data["partners"]:
        parent = records[entry["parent"]] if "parent" in entry else None
        partner = _partner(**_fields(entry, "parent", "figures"), parent=parent)
        for figure in entry.get("figures", ()):
            partner.figures.append(KeyFigure(**{**figure, "value": Decimal(figure["value"])}))
        records[entry["key"]] = partner
    db.session.flush()

    for entry in data["contacts"]:
        positions = [
            (records[p["partner"]], p["title"], p["start_date"]) for p in entry["positions"]
        ]
        records[entry["key"]] = _contact(**_fields(entry, "positions"), positions=positions)

    for entry in data["agreements"]:
        agreement = Agreement(**_fields(entry, "parties"))
        for party in entry["parties"]:
            signatory = records[party["signatory"]] if "signatory" in party else None
            agreement.parties.append(
                AgreementParty(
                    partner=records[party["partner"]], role=party["role"], signatory=signatory
                )
            )
        records[entry["key"]] = _stamped(agreement)

    for entry in data["projects"]:
        project = Project(**_fields(entry, "agreements", "partners", "milestones", "indicators"))
        if "agreements" in entry:
            project.agreements = [records[key] for key in entry["agreements"]]
        for link in entry["partners"]:
            project.partners.append(
                ProjectPartner(partner=records[link["partner"]], role=link["role"])
            )
        project.milestones += [Milestone(**m) for m in entry.get("milestones", ())]
        for item in entry.get("indicators", ()):
            indicator = Indicator(
                kind=kinds[item["kind"]],
                target=Decimal(item["target"]),
                currency=item.get("currency"),
            )
            for actual in item.get("actuals", ()):
                indicator.actuals.append(
                    IndicatorActual(**{**actual, "value": Decimal(actual["value"])})
                )
            project.indicators.append(indicator)
        records[entry["key"]] = _stamped(project)
    db.session.flush()

    for entry in data["activities"]:
        attendees = [(records[a["contact"]], a["role"]) for a in entry["attendees"]]
        links = {kind: [records[key] for key in keys] for kind, keys in entry["links"].items()}
        records[entry["key"]] = _activity(
            **_fields(entry, "attendees", "links"), attendees=attendees, links=links
        )
    db.session.flush()
    return records
