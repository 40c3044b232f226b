"""The record kinds the API serves, each tied to what its pages already use: the model,
the form (validation), the operation (the write), and the list's filters and sorts.

`represent` gives a record's writable fields under the form's field names, in the shape
the API accepts back, so a GET body can be edited and sent again as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import ModuleType
from zoneinfo import ZoneInfo

from flask import has_request_context, request, url_for
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict

from crm.activities import queries as activity_queries
from crm.activities.forms import ActivityForm
from crm.activities.models import Activity
from crm.activities.operations import save_activity
from crm.agreements import queries as agreement_queries
from crm.agreements.forms import AgreementForm
from crm.agreements.models import Agreement
from crm.agreements.operations import AgreementError, save_agreement
from crm.api.fields import NAMES, FieldSpec, FormSpec, spec_for
from crm.contacts import queries as contact_queries
from crm.contacts.forms import ContactForm
from crm.contacts.models import Contact
from crm.contacts.operations import save_contact
from crm.crud import owner_choices
from crm.partners import queries as partner_queries
from crm.partners.forms import PartnerForm
from crm.partners.models import Partner
from crm.partners.operations import PartnerError, save_partner
from crm.projects import operations as project_operations
from crm.projects import queries as project_queries
from crm.projects.forms import ProjectForm
from crm.projects.models import Indicator, Project
from crm.projects.operations import ProjectError
from crm.vocab import options


class _NoRefusal(Exception):
    """For operations that refuse nothing beyond what their form checks."""

    errors: dict = {}


@dataclass
class Resource:
    """One kind of record as the API serves it."""

    name: str  # in the URL: /api/v1/<name>
    singular: str
    model: type
    form_class: type
    queries: ModuleType  # its FILTERS and SORTS are the list page's own
    default_sort: str
    save: Callable  # (record | None, form, actor, may_reassign) -> record
    represent: Callable  # record -> its writable fields
    load_options: Callable[[], tuple]
    refusal: type[Exception] = _NoRefusal
    overrides: dict[str, FieldSpec] = field(default_factory=dict)
    read_only: dict[str, dict] = field(default_factory=dict)  # extra field -> JSON schema
    computed: Callable | None = None  # record -> values of the extra read-only fields
    before_form: Callable[[], None] | None = None
    create_defaults: Callable[[dict, object], None] | None = None
    # Kinds whose create forms run the duplicate guard (crm.duplicates.guard): a create
    # that looks like existing records answers 409 with them unless "save_anyway": true.
    duplicate_kind: str | None = None

    @property
    def filters(self):
        # Read at each request, so filters added to the list page appear here too; some
        # (partner_kind with partner_country) read several arguments at once.
        list_filters = getattr(self.queries, "list_filters", None)
        if list_filters is None:
            return self.queries.FILTERS
        return list_filters(request.args if has_request_context() else MultiDict())

    @property
    def detail_endpoint(self) -> str:
        """The record's page, named as the blueprints name theirs (partners.detail)."""
        return f"{self.name}.detail"

    @property
    def sorts(self):
        return self.queries.SORTS

    @property
    def list_default_sort(self) -> str:
        return getattr(self.queries, "DEFAULT_SORT", self.default_sort)

    def new_form(self, formdata=None, obj=None):
        form = self.form_class(formdata=formdata, obj=obj, meta={"csrf": False})
        if "owner" in form:
            form.owner.choices = options(owner_choices())
        if "staff" in form:
            form.staff.choices = options(owner_choices()[1:])
        return form

    def spec(self) -> FormSpec:
        """The API's view of the form: built once per form class."""
        cached = _SPECS.get(self.form_class)
        if cached is None:
            cached = spec_for(self.new_form())
            cached.fields.update(self.overrides)
            _SPECS[self.form_class] = cached
        return cached


_SPECS: dict[type, FormSpec] = {}


def decimal_text(value: Decimal | None) -> str | None:
    """A number as the page shows it: 42.8, not 42.8000."""
    return None if value is None else format(value.normalize(), "f")


def money_text(value: Decimal | None) -> str | None:
    """An amount with its two decimals, as stored: 1250000.00."""
    return None if value is None else format(value, "f")


def day_text(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def moment_text(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


COMMON_READ_ONLY = {
    "id": {"type": "integer"},
    "version": {
        "type": "integer",
        "description": "Send it back when updating (or as If-Match): a stale one is refused.",
    },
    "display_name": {"type": "string"},
    "archived_at": {"type": "string", "format": "date-time", "nullable": True},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "created_by": {"type": "integer", "nullable": True},
    "updated_by": {"type": "integer", "nullable": True},
    "owner": {"type": "integer", "nullable": True},
    "web_url": {"type": "string", "description": "The record's page in the CRM."},
}


def read_only_schema(resource: Resource) -> dict:
    """The read-only fields of a record (those its form has are writable instead)."""
    writable = resource.spec().fields
    fields = {k: v for k, v in COMMON_READ_ONLY.items() if k not in writable}
    fields.update(resource.read_only)
    return fields


def represent(resource: Resource, record) -> dict:
    """The whole JSON of a record: its writable fields, then the read-only ones."""
    body = resource.represent(record)
    body.update(
        {
            "id": record.id,
            "version": record.version_id,
            "display_name": record.display_name,
            "archived_at": moment_text(record.archived_at),
            "created_at": moment_text(record.created_at),
            "updated_at": moment_text(record.updated_at),
            "created_by": record.created_by_id,
            "updated_by": record.updated_by_id,
            "owner": record.owner_id,
            "web_url": url_for(resource.detail_endpoint, **{f"{resource.singular}_id": record.id}),
        }
    )
    if resource.computed is not None:
        body.update(resource.computed(record))
    return body


# --- partners ---------------------------------------------------------------------------


def _partner(p: Partner) -> dict:
    return {
        "name_en": p.name_en,
        "name_zh": p.name_zh,
        "kind": p.kind,
        "status": p.status,
        "country": p.country or None,
        "city": p.city,
        "parent": p.parent_id,
        "tags": [t.name for t in p.tags],
        "website": p.website,
        "owner": p.owner_id,
        "is_own": bool(p.is_own),
        "description": p.description,
        "other_names": [{"id": n.id, "name": n.name, "kind": n.kind} for n in p.other_names],
        "figures": [
            {
                "id": f.id,
                "label": f.label,
                "value": decimal_text(f.value),
                "unit": f.unit,
                "year": f.year,
            }
            for f in p.figures
        ],
    }


def _partner_options():
    return (
        selectinload(Partner.other_names),
        selectinload(Partner.figures),
        selectinload(Partner.tags),
    )


# --- contacts ---------------------------------------------------------------------------


def _contact(c: Contact) -> dict:
    return {
        "name": c.name,
        "name_zh": c.name_zh,
        "email": c.email,
        "phone": c.phone,
        "owner": c.owner_id,
        "notes": c.notes,
        "positions": [
            {
                "id": p.id,
                "partner": p.partner_id,
                "title": p.title,
                "start_date": day_text(p.start_date),
                "end_date": day_text(p.end_date),
            }
            for p in c.positions
        ],
        "other_names": [{"id": n.id, "name": n.name, "kind": n.kind} for n in c.other_names],
    }


def _contact_options():
    return (selectinload(Contact.positions), selectinload(Contact.other_names))


# --- agreements -------------------------------------------------------------------------


def _agreement(a: Agreement) -> dict:
    return {
        "title": a.title,
        "title_zh": a.title_zh,
        "type": a.type,
        "stage": a.stage,
        "signed_on": day_text(a.signed_on),
        "signed_at": a.signed_at,
        "effective_from": day_text(a.effective_from),
        "expires_on": day_text(a.expires_on),
        "auto_renew": bool(a.auto_renew),
        "notice_days": a.notice_days,
        "value_amount": money_text(a.value_amount),
        "value_currency": a.value_currency,
        "summary": a.summary,
        "owner": a.owner_id,
        "amends": a.amends_id,
        "amendment_kind": a.amendment_kind,
        "parties": [
            {
                "id": p.id,
                "partner": p.partner_id,
                "role": p.role,
                "signatory": p.signatory_id,
                "signatory_title": p.signatory_title,
            }
            for p in a.parties
        ],
    }


def _agreement_extra(a: Agreement) -> dict:
    today = date.today()
    return {
        "state": a.state(today),
        "current_term_end": day_text(a.current_term_end(today)),
        "notice_deadline": day_text(a.notice_deadline(today)),
    }


def _agreement_options():
    return (selectinload(Agreement.parties),)


# --- projects ---------------------------------------------------------------------------


def _project(p: Project) -> dict:
    return {
        "name": p.name,
        "name_zh": p.name_zh,
        "status": p.status,
        "start_date": day_text(p.start_date),
        "end_date": day_text(p.end_date),
        "budget_amount": money_text(p.budget_amount),
        "budget_currency": p.budget_currency,
        "owner": p.owner_id,
        "description": p.description,
        "agreement_links": [a.id for a in p.agreements],
        "partners": [{"id": pp.id, "partner": pp.partner_id, "role": pp.role} for pp in p.partners],
        "milestones": [
            {
                "id": m.id,
                "title": m.title,
                "due_on": day_text(m.due_on),
                "done_on": day_text(m.done_on),
            }
            for m in p.milestones
        ],
        "indicators": [
            {
                "id": i.id,
                "kind_id": i.kind_id,
                "target": money_text(i.target),
                "currency": i.currency,
            }
            for i in p.indicators
        ],
        "actuals": [
            {
                "id": a.id,
                "kind_id": i.kind_id,
                "period": a.period,
                "period_end": day_text(a.period_end),
                "value": money_text(a.value),
            }
            for i in p.indicators
            for a in i.actuals
        ],
    }


def _project_options():
    return (
        selectinload(Project.agreements),
        selectinload(Project.partners),
        selectinload(Project.milestones),
        selectinload(Project.indicators).selectinload(Indicator.actuals),
    )


def _ensure_indicator_kinds():
    # As the project pages do: the standard kinds exist before a project form is read.
    project_operations.ensure_standard_indicator_kinds()


# --- activities -------------------------------------------------------------------------


def _activity(a: Activity) -> dict:
    local = a.occurred_at.astimezone(ZoneInfo(a.timezone))
    return {
        "kind": a.kind,
        "title": a.title,
        "day": local.date().isoformat(),
        "at": local.strftime("%H:%M"),
        "timezone": a.timezone,
        "location": a.location,
        "summary": a.summary,
        "attendees": [{"id": t.id, "contact": t.contact_id, "role": t.role} for t in a.attendees],
        "staff": sorted(u.id for u in a.staff),
        "partners": [link.partner_id for link in a.partner_links],
        "contacts": [link.contact_id for link in a.contact_links],
        "agreements": [link.agreement_id for link in a.agreement_links],
        "projects": [link.project_id for link in a.project_links],
    }


def _activity_extra(a: Activity) -> dict:
    return {"occurred_at": moment_text(a.occurred_at)}


def _activity_options():
    return (
        selectinload(Activity.attendees),
        selectinload(Activity.staff),
        selectinload(Activity.partner_links),
        selectinload(Activity.contact_links),
        selectinload(Activity.agreement_links),
        selectinload(Activity.project_links),
    )


def _activity_defaults(values: dict, actor) -> None:
    # The page starts a new activity with its author among the staff present.
    values.setdefault("staff", [actor.id])


RESOURCES = [
    Resource(
        name="partners",
        singular="partner",
        model=Partner,
        form_class=PartnerForm,
        queries=partner_queries,
        default_sort="name",
        save=save_partner,
        refusal=PartnerError,
        represent=_partner,
        load_options=_partner_options,
        overrides={"tags": FieldSpec("tags", NAMES, description="Sector tags.")},
        duplicate_kind="partner",
    ),
    Resource(
        name="contacts",
        singular="contact",
        model=Contact,
        form_class=ContactForm,
        queries=contact_queries,
        default_sort="name",
        save=save_contact,
        represent=_contact,
        load_options=_contact_options,
        duplicate_kind="contact",
    ),
    Resource(
        name="agreements",
        singular="agreement",
        model=Agreement,
        form_class=AgreementForm,
        queries=agreement_queries,
        default_sort="signed",
        save=save_agreement,
        refusal=AgreementError,
        represent=_agreement,
        load_options=_agreement_options,
        read_only={
            "state": {"type": "string", "enum": list(agreement_queries.AGREEMENT_STATES)},
            "current_term_end": {"type": "string", "format": "date", "nullable": True},
            "notice_deadline": {"type": "string", "format": "date", "nullable": True},
        },
        computed=_agreement_extra,
    ),
    Resource(
        name="projects",
        singular="project",
        model=Project,
        form_class=ProjectForm,
        queries=project_queries,
        default_sort="name",
        save=project_operations.save_project,
        refusal=ProjectError,
        represent=_project,
        load_options=_project_options,
        before_form=_ensure_indicator_kinds,
    ),
    Resource(
        name="activities",
        singular="activity",
        model=Activity,
        form_class=ActivityForm,
        queries=activity_queries,
        default_sort="when",
        save=lambda record, form, actor, may_reassign: save_activity(record, form, actor),
        represent=_activity,
        load_options=_activity_options,
        read_only={"occurred_at": {"type": "string", "format": "date-time"}},
        computed=_activity_extra,
        create_defaults=_activity_defaults,
    ),
]

BY_NAME = {r.name: r for r in RESOURCES}
