"""Agreement pages: list, detail, create, edit, archive, restore, and the picker lookup."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from crm import crud
from crm.agreements import queries
from crm.agreements.forms import AgreementForm
from crm.agreements.models import Agreement, AgreementParty
from crm.agreements.operations import AgreementError, save_agreement
from crm.db import db
from crm.documents.queries import documents_panel
from crm.forms import EmptyForm
from crm.partners.models import Partner
from crm.records import can_archive, can_restore
from crm.security import requires
from crm.timeline import timeline
from crm.vocab import (
    AGREEMENT_STAGES,
    AGREEMENT_STATES,
    AGREEMENT_TYPES,
    PARTNER_KINDS,
    choices,
    countries,
    label,
)

bp = Blueprint("agreements", __name__, url_prefix="/agreements")


def _load(agreement_id: int, *options) -> Agreement:
    return crud.load_or_404(Agreement, agreement_id, *options)


@bp.route("/")
@requires("staff")
def index():
    page = queries.agreement_page()
    return render_template(
        "agreements/list.html",
        page=page,
        sorts=queries.SORTS,
        types=choices(AGREEMENT_TYPES),
        stages=choices(AGREEMENT_STAGES),
        states=choices(AGREEMENT_STATES),
        owners=crud.owner_choices()[1:],
        partners=queries.partners_named(page.args.get("partner")),
        partner_kinds=choices(PARTNER_KINDS),
        countries=list(countries().items()),
    )


@bp.route("/lookup")
@requires("staff")
def lookup():
    return crud.lookup_response(
        Agreement,
        label=lambda a: a.display_name,
        detail=lambda a: " · ".join(
            filter(None, [label(AGREEMENT_TYPES, a.type), str(a.signed_on or "")])
        ),
    )


@bp.route("/<int:agreement_id>")
@requires("staff")
def detail(agreement_id: int):
    data = queries.agreement_detail(agreement_id)
    agreement = data["agreement"]
    return render_template(
        "agreements/detail.html",
        **data,
        tl=timeline("agreement", agreement_id, request.args),
        record_kind="agreement",
        record_id=agreement_id,
        action_form=EmptyForm(),
        may_archive=can_archive(current_user, agreement),
        may_restore=can_restore(current_user, agreement),
        documents=documents_panel("agreement", agreement),
    )


def _form_page(form, agreement):
    return render_template("agreements/form.html", form=form, agreement=agreement)


def _first_party():
    """?partner=<id> from a partner's page: that partner, when it exists and is current."""

    try:
        partner_id = queries.parse_id(request.args.get("partner", ""))
    except ValueError:
        return None
    partner = db.session.get(Partner, partner_id)
    return None if partner is None or partner.is_archived else partner


@bp.route("/new", methods=["GET", "POST"])
@requires("staff")
def create():
    first = _first_party() if request.method == "GET" else None
    form = AgreementForm(parties=[{"partner": first, "role": "party"}] if first else None)
    crud.prepare_owner_field(form, None)
    if form.validate_on_submit():
        try:
            agreement = save_agreement(
                None, form, current_user, may_reassign=current_user.has_role("manager")
            )
        except AgreementError as exc:
            crud.apply_errors(form, exc.errors)
        else:
            if crud.commit_or_stale(form):
                flash(_("Agreement saved."), "success")
                return redirect(url_for("agreements.detail", agreement_id=agreement.id))
    return _form_page(form, None)


def _load_for_edit(agreement_id: int) -> Agreement:
    return _load(
        agreement_id,
        joinedload(Agreement.amends),
        selectinload(Agreement.parties).joinedload(AgreementParty.partner),
        selectinload(Agreement.parties).joinedload(AgreementParty.signatory),
    )


def _edit_form(agreement: Agreement, formdata):
    form = AgreementForm(obj=agreement, **crud.posted(formdata))
    loading = formdata is not crud.POSTED
    crud.prepare_owner_field(form, agreement, loading)
    if loading:
        form.amendment_kind.data = agreement.amendment_kind or ""
    return form


@bp.route("/<int:agreement_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit(agreement_id: int):
    agreement = _load_for_edit(agreement_id)
    form, saved = crud.edit_record(
        agreement,
        lambda formdata: _edit_form(agreement, formdata),
        lambda form: save_agreement(
            agreement, form, current_user, may_reassign=current_user.has_role("manager")
        ),
        reload=lambda: _load_for_edit(agreement_id),
    )
    if saved:
        flash(_("Agreement saved."), "success")
        return redirect(url_for("agreements.detail", agreement_id=agreement.id))
    return _form_page(form, agreement)


@bp.route("/<int:agreement_id>/archive", methods=["POST"])
@requires("staff")
def archive(agreement_id: int):
    agreement = _load(agreement_id)
    return crud.archive_record(agreement, url_for("agreements.detail", agreement_id=agreement_id))


@bp.route("/<int:agreement_id>/restore", methods=["POST"])
@requires("manager")
def restore(agreement_id: int):
    agreement = _load(agreement_id)
    return crud.restore_record(agreement, url_for("agreements.detail", agreement_id=agreement_id))
