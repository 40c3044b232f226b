"""Contact pages: list, detail, create, edit, archive, restore, and the picker lookup."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm import crud, pages
from crm.contacts import queries
from crm.contacts.forms import ContactForm
from crm.contacts.models import Contact, Position
from crm.contacts.operations import save_contact
from crm.db import db
from crm.duplicates import guard as duplicate_guard
from crm.duplicates.views import merged_redirect
from crm.partners.models import Partner
from crm.security import requires

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


@bp.route("/")
@requires("staff")
def index():
    return render_template(
        "contacts/list.html", page=queries.contact_page(), owners=crud.owner_choices()[1:]
    )


@bp.route("/lookup")
@requires("staff")
def lookup():
    def detail(contact):
        current = contact.current_positions()
        return "; ".join(f"{p.title} · {p.partner.name_en}" for p in current[:2])

    return crud.lookup_response(
        Contact,
        label=lambda c: c.display_name,
        detail=detail,
        options=(selectinload(Contact.positions).joinedload(Position.partner),),
    )


@bp.route("/<int:contact_id>")
@requires("staff")
def detail(contact_id: int):
    data = queries.contact_detail(contact_id)
    contact = data["contact"]
    if moved := merged_redirect("contact", contact):
        return moved
    return pages.record_page(
        "contacts/detail.html",
        "contact",
        contact,
        **data,
        may_merge=current_user.has_role("manager"),
    )


def _form_page(form, contact, guard=None):
    return render_template("contacts/form.html", form=form, contact=contact, guard=guard)


@bp.route("/new", methods=["GET", "POST"])
@requires("staff")
def create():
    form = ContactForm()
    crud.prepare_owner_field(form, None)
    if request.method == "GET":
        partner = crud.record_from_arg(Partner, request.args.get("partner"))
        if partner is not None:
            form.positions.entries[0].form.partner.data = partner.id
            form.positions.entries[0].form.partner.record = partner
    guard = None
    if form.validate_on_submit():
        # Likely duplicates are shown first; saving anyway is one more click.
        guard = duplicate_guard.check("contact", form)
        if not guard.blocking:
            contact = save_contact(
                None, form, current_user, may_reassign=current_user.has_role("manager")
            )
            db.session.commit()
            flash(_("Contact saved."), "success")
            return redirect(url_for("contacts.detail", contact_id=contact.id))
    return _form_page(form, None, guard)


def _load_for_edit(contact_id: int) -> Contact:
    return crud.load_or_404(
        Contact,
        contact_id,
        selectinload(Contact.positions).joinedload(Position.partner),
        selectinload(Contact.other_names),
    )


def _edit_form(contact: Contact, formdata):
    form = ContactForm(obj=contact, **crud.posted(formdata))
    crud.prepare_owner_field(form, contact, formdata is not crud.POSTED)
    return form


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@requires("staff")
def edit(contact_id: int):
    contact = _load_for_edit(contact_id)
    if moved := merged_redirect("contact", contact, edit=True):
        return moved
    form, saved = crud.edit_record(
        contact,
        lambda formdata: _edit_form(contact, formdata),
        lambda form: save_contact(
            contact, form, current_user, may_reassign=current_user.has_role("manager")
        ),
        reload=lambda: _load_for_edit(contact_id),
    )
    if saved:
        flash(_("Contact saved."), "success")
        return redirect(url_for("contacts.detail", contact_id=contact.id))
    return _form_page(form, contact)


@bp.route("/<int:contact_id>/archive", methods=["POST"])
@requires("staff")
def archive(contact_id: int):
    contact = crud.load_or_404(Contact, contact_id)
    return crud.archive_record(contact, url_for("contacts.detail", contact_id=contact_id))


@bp.route("/<int:contact_id>/restore", methods=["POST"])
@requires("manager")
def restore(contact_id: int):
    contact = crud.load_or_404(Contact, contact_id)
    return crud.restore_record(contact, url_for("contacts.detail", contact_id=contact_id))
