"""Projects in spreadsheets: their import and export columns, how a row finds its project
(by ID, or by either name) and how it is applied (fields, partners, agreements)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.agreements.columns import agreements_named
from crm.agreements.models import Agreement
from crm.dataio import cells
from crm.dataio.cells import fold
from crm.dataio.columns import (
    ID,
    OWNER,
    Column,
    currency_cell,
    names_cell,
    roles_cell,
    text_cell,
    vocab_cell,
    vocab_label,
    with_roles,
)
from crm.dataio.kinds import (
    Kind,
    RowError,
    check_order,
    main_name,
    named_lookup,
    period_and_amount,
    set_field,
)
from crm.db import db
from crm.projects.forms import ProjectForm
from crm.projects.models import Project, ProjectPartner
from crm.projects.queries import project_list
from crm.vocab import PROJECT_ROLES, PROJECT_STATUSES

projects_named = named_lookup(Project, Project.name, Project.sort_name, Project.name_zh)


class ProjectKind(Kind):
    key = "project"
    model = Project
    list_key = "projects"
    list_label = _l("Projects")
    list_query = staticmethod(project_list)
    required = (("name", "name_zh", "id"),)
    form = ProjectForm
    checked_on_create = ("name",)
    name_keys = ("name", "name_zh")
    columns = [
        ID,
        Column(
            "name",
            _l("Name"),
            ("project", "project name", "名称", "项目名称", "项目"),
            text_cell(300),
            lambda p: p.name,
        ),
        Column(
            "name_zh",
            _l("Chinese name"),
            ("中文名", "中文名称"),
            text_cell(200),
            lambda p: p.name_zh,
        ),
        Column(
            "status",
            _l("Status"),
            ("状态",),
            vocab_cell(PROJECT_STATUSES),
            lambda p: vocab_label(PROJECT_STATUSES)(p.status),
        ),
        Column(
            "start_date",
            _l("Start"),
            ("start date", "开始", "开始日期"),
            cells.date_value,
            lambda p: p.start_date,
        ),
        Column(
            "end_date",
            _l("End"),
            ("end date", "结束", "结束日期"),
            cells.date_value,
            lambda p: p.end_date,
        ),
        Column(
            "budget_amount",
            _l("Budget"),
            ("amount", "预算", "金额"),
            cells.decimal_value,
            lambda p: p.budget_amount,
        ),
        Column(
            "budget_currency",
            _l("Currency"),
            ("币种", "货币"),
            currency_cell,
            lambda p: p.budget_currency,
        ),
        Column(
            "partners",
            _l("Partners"),
            ("partner", "合作伙伴", "合作方", "参与方"),
            roles_cell(PROJECT_ROLES, "participant"),
            lambda p: with_roles(p.partners, PROJECT_ROLES),
        ),
        Column(
            "agreements",
            _l("Agreements"),
            ("agreement", "协议", "相关协议"),
            names_cell,
            lambda p: "; ".join(a.title for a in p.agreements) or None,
        ),
        Column(
            "description",
            _l("Description"),
            ("描述", "简介", "说明"),
            text_cell(20000),
            lambda p: p.description,
        ),
        OWNER,
    ]

    def export_options(self):
        return (
            selectinload(Project.partners).joinedload(ProjectPartner.partner),
            selectinload(Project.agreements),
        )

    def row_problems(self, values):
        return period_and_amount(
            values,
            ("start_date", "end_date", _l("The end cannot be before the start.")),
            ("budget_amount", "budget_currency"),
        )

    def lookup(self, names):
        return projects_named(names)

    def partner_names(self, values):
        return [name for name, _role in values.get("partners", ())]

    def load_options(self):
        return (selectinload(Project.partners), selectinload(Project.agreements))

    def apply(self, project, values, ctx):
        before: dict = {}
        creating = project.id is None
        name = values.get("name")
        main_name(project, "name", name, [project.name, project.name_zh], creating, before)
        for key in (
            "name_zh",
            "status",
            "start_date",
            "end_date",
            "budget_amount",
            "budget_currency",
            "description",
        ):
            set_field(project, key, values.get(key), before)
        self.owner(project, values, ctx, before)
        check_order(project.start_date, project.end_date, _l("The end cannot be before the start."))
        if project.budget_amount is not None and not project.budget_currency:
            raise RowError(str(_l("Choose the currency of the amount.")))
        have = {(link.partner_id, link.role) for link in project.partners}
        new_links = []
        for name_, role in values.get("partners", ()):
            key = (ctx.partner_id(name_), role)
            if key not in have:
                have.add(key)
                link = ProjectPartner(partner_id=key[0], role=role)
                project.partners.append(link)
                new_links.append(link)
        linked = {a.id for a in project.agreements}
        new_agreements = []
        for title in values.get("agreements", ()):
            ids = agreements_named([title]).get(fold(title), set())
            if len(ids) != 1:
                message = (
                    _l("No agreement is called “%(name)s”.", name=title)
                    if not ids
                    else _l("“%(name)s” is the title of several agreements.", name=title)
                )
                raise RowError(str(message))
            agreement_id = next(iter(ids))
            if agreement_id not in linked:
                linked.add(agreement_id)
                agreement = db.session.get(Agreement, agreement_id)
                project.agreements.append(agreement)
                new_agreements.append(agreement_id)
        if creating:
            db.session.add(project)
        if before or new_links or new_agreements or creating:
            project.refresh_derived()
            project.stamp(ctx.actor)
        added = {}
        if new_links:
            added["partners"] = new_links
        if new_agreements:
            added["agreements"] = new_agreements
        return {"fields": before, "added": added} if (before or added) else {}
