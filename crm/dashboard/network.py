"""The partner network: partners joined by the agreements and projects they share.

Links are computed in SQL: first the most connected partners (by agreements and projects
in the filters' scope, at most MAX_PARTNERS, us always among them), then a self-join of
agreement_party (and of project_partner) on the record among those partners only, grouped
by the pair, strongest first and capped. So the work follows what is drawn, not the size
of the database. The graph keeps the accelerator (the partner marked as our own) whatever
the filters, and shows only partners that share something. Four statements whatever the
data: the partners ranked, agreement links, project links and the partners drawn; a
link's detail takes three (its two partners, its agreements, its projects).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from crm.agreements.models import Agreement, AgreementParty
from crm.dashboard.figures.filters import among
from crm.db import db
from crm.listing import country_code, parse_id
from crm.partners.models import Partner
from crm.projects.models import Project, ProjectPartner
from crm.projects.queries import running_from
from crm.vocab import PARTNER_KINDS

MAX_LINKS = 3000
MAX_PARTNERS = 2000
LINK_DETAIL = 50


@dataclass
class NetworkFilters:
    """Partner kind, country and period (all optional), read from the URL."""

    kind: str | None = None
    country: str | None = None
    start: date | None = None
    end: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def url_args(self) -> dict:
        args = {"kind": self.kind, "country": self.country}
        args["from"] = self.start.isoformat() if self.start else None
        args["to"] = self.end.isoformat() if self.end else None
        return {k: v for k, v in args.items() if v}

    def partner_conditions(self, partner) -> list:
        conditions = []
        if self.kind:
            conditions.append(partner.kind == self.kind)
        if self.country:
            conditions.append(partner.country == self.country)
        return conditions

    def agreement_period(self) -> list:
        """Agreements signed in the period (all live agreements when none is given)."""
        conditions = []
        if self.start:
            conditions.append(Agreement.signed_on >= self.start)
        if self.end:
            conditions.append(Agreement.signed_on <= self.end)
        return conditions

    def project_period(self) -> list:
        """Projects running at some time in the period (started by its end, not ended
        before its start), as the projects list's running_from / running_to."""
        conditions = []
        if self.start:
            conditions.append(running_from(self.start))
        if self.end:
            conditions.append(Project.start_date <= self.end)
        return conditions

    def agreement_list_args(self) -> dict:
        args = {}
        if self.start:
            args["signed_from"] = self.start.isoformat()
        if self.end:
            args["signed_to"] = self.end.isoformat()
        return args

    def project_list_args(self) -> dict:
        args = {}
        if self.start:
            args["running_from"] = self.start.isoformat()
        if self.end:
            args["running_to"] = self.end.isoformat()
        return args


def parse_filters(args) -> NetworkFilters:
    f = NetworkFilters()
    raw = (args.get("kind") or "").strip()
    if raw:
        if raw in PARTNER_KINDS:
            f.kind = raw
        else:
            f.errors["kind"] = raw
    raw = (args.get("country") or "").strip()
    if raw:
        try:
            f.country = country_code(raw)
        except ValueError:
            f.errors["country"] = raw
    for name in ("from", "to"):
        raw = (args.get(name) or "").strip()
        if raw:
            try:
                setattr(f, "start" if name == "from" else "end", date.fromisoformat(raw))
            except ValueError:
                f.errors[name] = raw
    if f.start and f.end and f.end < f.start:
        f.errors["to"] = f.end.isoformat()
        f.end = None
    return f


def _drawn(f: NetworkFilters, partner):
    """A partner is drawn when live and matching the filters, or when it is us."""
    conditions = f.partner_conditions(partner)
    if not conditions:
        return partner.archived_at.is_(None)
    return and_(partner.archived_at.is_(None), or_(partner.is_own.is_(True), *[and_(*conditions)]))


def _live_parties(f: NetworkFilters, party):
    """Conditions for rows of agreement_party (`party`) on live agreements in the period.

    With a period, the agreements signed in it are joined (found by their signing day).
    Without one, every live agreement counts: rather than reading each of them from the
    table (hundreds of thousands of lookups), the few archived ones are left out by id,
    so the parties are read from their covering index alone."""
    if f.agreement_period():
        return [
            among(
                party.agreement_id,
                select(Agreement.id).where(Agreement.archived_at.is_(None), *f.agreement_period()),
            )
        ]
    return [
        party.agreement_id.not_in(select(Agreement.id).where(Agreement.archived_at.is_not(None)))
    ]


def _ranked(f: NetworkFilters) -> tuple[list[int], bool]:
    """The drawn partners with the most agreements and projects in scope (us first), at
    most MAX_PARTNERS; and whether there were more. Each kind of record is counted per
    partner before the partners are joined."""
    agreements = (
        select(AgreementParty.partner_id.label("partner_id"), func.count().label("n"))
        .where(*_live_parties(f, AgreementParty))
        .group_by(AgreementParty.partner_id)
    )
    projects = (
        select(ProjectPartner.partner_id.label("partner_id"), func.count().label("n"))
        .join(Project, Project.id == ProjectPartner.project_id)
        .where(Project.archived_at.is_(None), *f.project_period())
        .group_by(ProjectPartner.partner_id)
    )
    records = agreements.union_all(projects).subquery()
    n = func.sum(records.c.n)
    rows = db.session.execute(
        select(Partner.id)
        .join(records, records.c.partner_id == Partner.id)
        .where(_drawn(f, Partner))
        .group_by(Partner.id, Partner.is_own)
        .order_by(Partner.is_own.is_(True).desc(), n.desc(), Partner.id)
        .limit(MAX_PARTNERS + 1)
    ).all()
    ids = [pid for (pid,) in rows]
    return ids[:MAX_PARTNERS], len(ids) > MAX_PARTNERS


def _pairs(ids: list[int], link, record_id, live):
    """(partner a, partner b, records shared) for pairs among `ids`, a < b; `live` gives
    the conditions on the first link row for its record to count."""
    one, two = aliased(link), aliased(link)
    shared = func.count(func.distinct(getattr(one, record_id)))
    return db.session.execute(
        select(one.partner_id, two.partner_id, shared)
        .join(
            two,
            and_(
                getattr(two, record_id) == getattr(one, record_id),
                two.partner_id > one.partner_id,
            ),
        )
        # The second side checks its list of ids as a filter: as an index key it would
        # seek each of the ids for each row of the first side.
        .where(one.partner_id.in_(ids), among(two.partner_id, ids), *live(one))
        .group_by(one.partner_id, two.partner_id)
        .order_by(shared.desc(), one.partner_id, two.partner_id)
        .limit(MAX_LINKS + 1)
    ).all()


def network_data(f: NetworkFilters) -> dict:
    """Nodes and links to draw (plain values, cacheable), strongest links first."""
    ids, truncated = _ranked(f)
    by_agreement = _pairs(ids, AgreementParty, "agreement_id", lambda one: _live_parties(f, one))
    by_project = _pairs(
        ids,
        ProjectPartner,
        "project_id",
        lambda one: [
            among(
                one.project_id,
                select(Project.id).where(Project.archived_at.is_(None), *f.project_period()),
            )
        ],
    )
    truncated = truncated or len(by_agreement) > MAX_LINKS or len(by_project) > MAX_LINKS
    weights: dict[tuple[int, int], list[int]] = {}
    for a, b, n in by_agreement[:MAX_LINKS]:
        weights.setdefault((a, b), [0, 0])[0] = n
    for a, b, n in by_project[:MAX_LINKS]:
        weights.setdefault((a, b), [0, 0])[1] = n
    ranked = sorted(weights.items(), key=lambda item: (-sum(item[1]), item[0]))
    links, drawn = [], set()
    for (a, b), (agreements, projects) in ranked:
        if len(links) >= MAX_LINKS:
            truncated = True
            break
        new = {a, b} - drawn
        if len(drawn) + len(new) > MAX_PARTNERS:
            truncated = True
            continue
        drawn |= new
        links.append({"a": a, "b": b, "agreements": agreements, "projects": projects})
    degree: dict[int, int] = {}
    for link in links:
        degree[link["a"]] = degree.get(link["a"], 0) + 1
        degree[link["b"]] = degree.get(link["b"], 0) + 1
    # The partners drawn, and us (part of every graph, even with no link in it).
    rows = db.session.execute(
        select(
            Partner.id,
            Partner.name_en,
            Partner.name_zh,
            Partner.kind,
            Partner.country,
            Partner.is_own,
        ).where(
            or_(
                Partner.id.in_(sorted(drawn)),
                and_(Partner.is_own.is_(True), Partner.archived_at.is_(None)),
            )
        )
    ).all()
    nodes = [
        {
            "id": pid,
            "name": f"{en} · {zh}" if zh else en,
            "kind": kind,
            "country": country,
            "own": bool(own),
            "links": degree.get(pid, 0),
        }
        for pid, en, zh, kind, country, own in rows
    ]
    nodes.sort(key=lambda n: (not n["own"], -n["links"], n["id"]))
    return {"nodes": nodes, "links": links, "truncated": truncated}


def link_detail(f: NetworkFilters, a_raw, b_raw) -> dict | None:
    """The agreements and projects two partners share (first 50 of each), with counts;
    None when the ids are not two different live partners."""
    try:
        a, b = parse_id(a_raw), parse_id(b_raw)
    except ValueError:
        return None
    if a == b:
        return None
    partners = {
        p.id: p
        for p in db.session.scalars(
            select(Partner).where(Partner.id.in_([a, b]), Partner.archived_at.is_(None))
        )
    }
    if len(partners) != 2:
        return None
    first, second = aliased(AgreementParty), aliased(AgreementParty)
    agreements = db.session.scalars(
        select(Agreement)
        .where(
            Agreement.archived_at.is_(None),
            *f.agreement_period(),
            Agreement.id.in_(select(first.agreement_id).where(first.partner_id == a)),
            Agreement.id.in_(select(second.agreement_id).where(second.partner_id == b)),
        )
        .order_by(Agreement.signed_sort.desc(), Agreement.id.desc())
        .limit(LINK_DETAIL + 1)
    ).all()
    first_p, second_p = aliased(ProjectPartner), aliased(ProjectPartner)
    projects = db.session.scalars(
        select(Project)
        .where(
            Project.archived_at.is_(None),
            *f.project_period(),
            Project.id.in_(select(first_p.project_id).where(first_p.partner_id == a)),
            Project.id.in_(select(second_p.project_id).where(second_p.partner_id == b)),
        )
        .order_by(Project.start_sort.desc(), Project.id.desc())
        .limit(LINK_DETAIL + 1)
    ).all()
    return {
        "partners": [partners[a], partners[b]],
        "agreements": agreements,
        "projects": projects,
    }
