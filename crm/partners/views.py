"""Partner pages: list, detail, create, edit, archive, restore, and the picker lookup."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm import crud, pages
from crm.duplicates import guard as duplicate_guard
from crm.duplicates.views import merged_redirect
from crm.partners import queries
from crm.partners.forms import PartnerForm
from crm.partners.models import Partner
from crm.partners.operations import PartnerError, save_partner
from crm.security import requires
from crm.vocab import PARTNER_KINDS, PARTNER_STATUSES, choices, countries, label

bp = Blueprint("partners", __name__, url_prefix="/partners")


@bp.route("/")
@requires("staff")
def index():
    page = queries.partner_page()
    return render_template(
        "partners/list.html",
        page=page,
        sorts=queries.SORTS,
        kinds=choices(PARTNER_KINDS),
        statuses=choices(PARTNER_STATUSES),
        countries=list(countries().items()),
        owners=crud.owner_choices()[1:],
    )


@bp.route("/lookup")
@requires("staff")
def lookup():
    return crud.lookup_response(
        Partner,
        label=lambda p: p.display_name,
        detail=lambda p: " · ".join(filter(None, [label(PARTNER_KINDS, p.kind), p.city])),
    )


@bp.route("/<int:partner_id>")
@requires("staff")
def detail(partner_id: int):
    data = queries.partner_detail(partner_id)
    partner = data["partner"]
    if moved := merged_redirect("partner", partner):
        return moved
    return pages.record_page(
        "partners/detail.html",
        "partner",
        partner,
        **data,
        may_merge=current_user.has_role("manager"),
    )


def _form_page(form, partner, guard=None):
    return render_template("partners/form.html", form=form, partner=partner, guard=guard)


@bp.route("/new", methods=["GET", "POST"])
@requires("staff")
def create():
    form = PartnerForm()
    crud.prepare_owner_field(form, None)
    guard = None
    if form.validate_on_submit():
        # Likely duplicates are shown first; saving anyway is one more click.
        guard = duplicate_guard.check("partner", form)
        if not guard.blocking:
            try:
                partner = save_partner(
                    None, form, current_user, may_reassign=current_user.has_role("manager")
                )
            except PartnerError as exc:
                crud.apply_errors(form, exc.errors)
            else:
                if crud.commit_or_stale(form):
                    flash(_("Partner saved."), "success")
                    return redirect(url_for("partners.detail", partner_id=partner.id))
    return _form_page(form, None, guard)


def _load_for_edit(partner_id: int) -> Partner:
    return crud.load_or_404(
        Partner,
        partner_id,
        selectinload(Partner.other_names),
        selectinload(Partner.figures),
        selectinload(Partner.tags),
    )


def _edit_form(partner: Partner, formdata):
    form = PartnerForm(obj=partner, **crud.posted(formdata))
    loading = formdata is not crud.POSTED
    crud.prepare_owner_field(form, partner, loading)
    if loading:
        form.tags.data = ", ".join(t.name for t in partner.tags)
        form.is_own.data = bool(partner.is_own)
    return form


@bp.route("/<int:partner_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit(partner_id: int):
    partner = _load_for_edit(partner_id)
    if moved := merged_redirect("partner", partner, edit=True):
        return moved
    form, saved = crud.edit_record(
        partner,
        lambda formdata: _edit_form(partner, formdata),
        lambda form: save_partner(
            partner, form, current_user, may_reassign=current_user.has_role("manager")
        ),
        reload=lambda: _load_for_edit(partner_id),
    )
    if saved:
        flash(_("Partner saved."), "success")
        return redirect(url_for("partners.detail", partner_id=partner.id))
    return _form_page(form, partner)


@bp.route("/<int:partner_id>/archive", methods=["POST"])
@requires("staff")
def archive(partner_id: int):
    partner = crud.load_or_404(Partner, partner_id)
    return crud.archive_record(partner, url_for("partners.detail", partner_id=partner_id))


@bp.route("/<int:partner_id>/restore", methods=["POST"])
@requires("manager")
def restore(partner_id: int):
    partner = crud.load_or_404(Partner, partner_id)
    return crud.restore_record(partner, url_for("partners.detail", partner_id=partner_id))
