"""Project pages: list, detail, create, edit, archive, restore, the picker lookup, and the
admin page for indicator kinds."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from crm import crud
from crm.agreements.models import Agreement, AgreementParty
from crm.agreements.queries import partners_named
from crm.db import db
from crm.documents.queries import documents_panel
from crm.forms import EmptyForm
from crm.partners.models import Partner
from crm.projects import operations, queries
from crm.projects.forms import IndicatorKindForm, ProjectForm
from crm.projects.models import IndicatorKind, Project
from crm.projects.operations import ProjectError
from crm.records import can_archive, can_restore
from crm.security import requires
from crm.timeline import timeline
from crm.vocab import PARTNER_KINDS, PROJECT_STATUSES, choices, countries, label

bp = Blueprint("projects", __name__, url_prefix="/projects")

# How an agreement party's role reads in a project started from that agreement.
ROLE_FROM_PARTY = {
    "host": "host",
    "funder": "funder",
    "operator": "lead",
    "party": "participant",
    "other": "participant",
}


@bp.route("/")
@requires("staff")
def index():
    page = queries.project_page()
    indicator = None
    if page.args.get("indicator"):
        indicator = next(
            (k for k in queries.indicator_kinds().values() if k.code == page.args["indicator"]),
            None,
        )
    return render_template(
        "projects/list.html",
        page=page,
        sorts=queries.SORTS,
        statuses=choices(PROJECT_STATUSES),
        owners=crud.owner_choices()[1:],
        partners=partners_named(page.args.get("partner")),
        partner_kinds=choices(PARTNER_KINDS),
        countries=list(countries().items()),
        indicator=indicator,
    )


@bp.route("/lookup")
@requires("staff")
def lookup():
    def detail(project):
        parts = [label(PROJECT_STATUSES, project.status)]
        if project.start_date:
            parts.append(str(project.start_date.year))
        return " · ".join(parts)

    return crud.lookup_response(Project, label=lambda p: p.display_name, detail=detail)


@bp.route("/<int:project_id>")
@requires("staff")
def detail(project_id: int):
    data = queries.project_detail(project_id)
    project = data["project"]
    return render_template(
        "projects/detail.html",
        **data,
        tl=timeline("project", project_id, request.args),
        record_kind="project",
        record_id=project_id,
        action_form=EmptyForm(),
        may_archive=can_archive(current_user, project),
        may_restore=can_restore(current_user, project),
        documents=documents_panel("project", project),
    )


def _prepare_kinds() -> None:
    """The standard indicator kinds exist before any project form is shown."""
    if request.method in ("GET", "HEAD"):
        operations.add_standard_indicator_kinds_apart()
    elif operations.ensure_standard_indicator_kinds():
        db.session.commit()


def _save(project, form) -> Project | None:
    """Save the form's project; None (with the errors on the form) when it is refused.

    The version was checked when the form came in; a save that lands between that check
    and this write is caught by the version column (or a unique key) and becomes a form
    error too, with nothing written.
    """
    may_reassign = current_user.has_role("manager")
    try:
        return operations.save_project(project, form, current_user, may_reassign=may_reassign)
    except ProjectError as exc:
        crud.apply_errors(form, exc.errors)
    except (StaleDataError, IntegrityError):
        db.session.rollback()
        form.form_errors.append(
            _("Someone else saved this record at the same moment. Nothing was overwritten.")
        )
    return None


def _form_page(form, project):
    return render_template("projects/form.html", form=form, project=project)


def _linked_records() -> dict:
    """Rows a new project's form starts from: what ?agreement= and ?partner= name when it
    is started from an agreement or a partner page."""
    if request.method != "GET":
        return {}
    prefill: dict = {}
    agreement = _active(Agreement, request.args.get("agreement"))
    partners = []
    if agreement is not None:
        prefill["agreement_links"] = [{"agreement": agreement}]
        parties = db.session.scalars(
            select(AgreementParty)
            .where(AgreementParty.agreement_id == agreement.id)
            .options(selectinload(AgreementParty.partner))
            .order_by(AgreementParty.id)
        ).all()
        for party in parties:
            role = ROLE_FROM_PARTY.get(party.role)
            pair = {"partner": party.partner, "role": role}
            if role and not party.partner.is_archived and pair not in partners:
                partners.append(pair)
    partner = _active(Partner, request.args.get("partner"))
    if partner is not None and partner not in [p["partner"] for p in partners]:
        partners.append({"partner": partner, "role": "participant"})
    if partners:
        prefill["partners"] = partners
    return prefill


def _active(model, raw):
    try:
        record_id = queries.parse_id(raw)
    except ValueError:
        return None
    record = db.session.get(model, record_id)
    return None if record is None or record.is_archived else record


@bp.route("/new", methods=["GET", "POST"])
@requires("staff")
def create():
    _prepare_kinds()
    form = ProjectForm(**_linked_records())
    crud.prepare_owner_field(form, None)
    if form.validate_on_submit():
        project = _save(None, form)
        if project is not None and crud.commit_or_stale(form):
            flash(_("Project saved."), "success")
            return redirect(url_for("projects.detail", project_id=project.id))
    return _form_page(form, None)


def _edit_form(project: Project, formdata):
    actuals = [
        {
            "id": actual.id,
            "kind_id": indicator.kind_id,
            "period": actual.period,
            "period_end": actual.period_end,
            "value": actual.value,
        }
        for indicator in project.indicators
        for actual in indicator.actuals
    ]
    form = ProjectForm(
        obj=project,
        actuals=actuals,
        agreement_links=[{"agreement": a} for a in project.agreements],
        **crud.posted(formdata),
    )
    crud.prepare_owner_field(form, project, formdata is not crud.POSTED)
    return form


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit(project_id: int):
    _prepare_kinds()
    project = queries.project_for_edit(project_id)
    form, saved = crud.edit_record(
        project,
        lambda formdata: _edit_form(project, formdata),
        lambda form: operations.save_project(
            project, form, current_user, may_reassign=current_user.has_role("manager")
        ),
        reload=lambda: queries.project_for_edit(project_id),
    )
    if saved:
        flash(_("Project saved."), "success")
        return redirect(url_for("projects.detail", project_id=project_id))
    return _form_page(form, project)


@bp.route("/<int:project_id>/archive", methods=["POST"])
@requires("staff")
def archive(project_id: int):
    project = crud.load_or_404(Project, project_id)
    return crud.archive_record(project, url_for("projects.detail", project_id=project_id))


@bp.route("/<int:project_id>/restore", methods=["POST"])
@requires("manager")
def restore(project_id: int):
    project = crud.load_or_404(Project, project_id)
    return crud.restore_record(project, url_for("projects.detail", project_id=project_id))


@bp.route("/indicator-kinds", methods=["GET", "POST"])
@requires("admin")
def indicator_kinds():
    _prepare_kinds()
    form = IndicatorKindForm()
    if form.validate_on_submit():
        try:
            kind = operations.add_indicator_kind(
                form.code.data,
                form.name_en.data,
                form.name_zh.data,
                form.measure.data == "money",
                form.unit.data,
            )
            db.session.commit()
        except ProjectError as exc:
            crud.apply_errors(form, exc.errors)
        except IntegrityError:  # the same code added by someone else at the same moment
            db.session.rollback()
            crud.apply_errors(form, {"code": _("This code is already used by another kind.")})
        else:
            flash(_("The indicator kind %(name)s is added.", name=kind.name_en), "success")
            return redirect(url_for("projects.indicator_kinds"))
    kinds = db.session.scalars(
        select(IndicatorKind).order_by(IndicatorKind.active.desc(), IndicatorKind.id)
    ).all()
    return render_template(
        "projects/indicator_kinds.html", form=form, kinds=kinds, action_form=EmptyForm()
    )


def _set_kind_active(kind_id: int, active: bool):
    kind = crud.load_or_404(IndicatorKind, kind_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    operations.set_indicator_kind_active(kind, active)
    db.session.commit()
    if active:
        flash(_("%(name)s is offered on project forms again.", name=kind.name_en), "success")
    else:
        flash(
            _(
                "%(name)s is no longer offered on project forms; projects that report on it "
                "keep their figures.",
                name=kind.name_en,
            ),
            "info",
        )
    return redirect(url_for("projects.indicator_kinds"))


@bp.route("/indicator-kinds/<int:kind_id>/deactivate", methods=["POST"])
@requires("admin")
def deactivate_indicator_kind(kind_id: int):
    return _set_kind_active(kind_id, False)


@bp.route("/indicator-kinds/<int:kind_id>/reactivate", methods=["POST"])
@requires("admin")
def reactivate_indicator_kind(kind_id: int):
    return _set_kind_active(kind_id, True)
