"""Partners in spreadsheets: their import and export columns, how a row finds its partner
(by ID, or by any of its names) and how it is applied (names, tags, the parent)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from crm.dataio import cells
from crm.dataio.cells import CellError, fold
from crm.dataio.columns import (
    ID,
    OWNER,
    Column,
    names_cell,
    text_cell,
    vocab_cell,
    vocab_label,
)
from crm.dataio.kinds import Kind, RowError, main_name, partners_named, set_field
from crm.db import db
from crm.partners.forms import PartnerForm
from crm.partners.models import Partner, PartnerName
from crm.partners.operations import check_parent, tags_named
from crm.partners.queries import partner_list
from crm.vocab import PARTNER_KINDS, PARTNER_STATUSES


def website_cell(value):
    text = cells.text_value(value, 500)
    if text and not text.lower().startswith(("http://", "https://")):
        raise CellError(_l("Start the address with http:// or https://"))
    return text


def tags_cell(value):
    text = cells.cell_text(value).replace("，", ",").replace(";", ",")
    names = {}
    for raw in text.split(","):
        name = " ".join(raw.split())[:80]
        if name:
            names.setdefault(name.casefold(), name)
    return list(names.values()) or None


class PartnerKind(Kind):
    key = "partner"
    model = Partner
    list_key = "partners"
    list_label = _l("Partners")
    list_query = staticmethod(partner_list)
    required = (("name_en", "name_zh", "id"),)
    form = PartnerForm
    checked_on_create = ("name_en",)
    name_keys = ("name_en", "name_zh")
    columns = [
        ID,
        Column(
            "name_en",
            _l("English name"),
            (
                "name",
                "organisation",
                "organization",
                "名称",
                "英文名",
                "英文名称",
                "机构名称",
                "单位",
                "单位名称",
            ),
            text_cell(300),
            lambda p: p.name_en,
        ),
        Column(
            "name_zh",
            _l("Chinese name"),
            ("中文名", "中文名称"),
            text_cell(200),
            lambda p: p.name_zh,
        ),
        Column(
            "other_names",
            _l("Other names"),
            ("aliases", "alias", "abbreviation", "别名", "简称", "其他名称"),
            names_cell,
            lambda p: "; ".join(n.name for n in p.other_names) or None,
        ),
        Column(
            "kind",
            _l("Kind"),
            ("type", "类型", "类别", "机构类型"),
            vocab_cell(PARTNER_KINDS),
            lambda p: vocab_label(PARTNER_KINDS)(p.kind),
        ),
        Column(
            "status",
            _l("Relationship"),
            ("status", "状态", "合作关系", "关系"),
            vocab_cell(PARTNER_STATUSES),
            lambda p: vocab_label(PARTNER_STATUSES)(p.status),
        ),
        Column(
            "country",
            _l("Country"),
            ("国家", "国家/地区", "country code"),
            cells.country_value,
            lambda p: p.country or None,
        ),
        Column(
            "city", _l("City or region"), ("city", "城市", "地区"), text_cell(200), lambda p: p.city
        ),
        Column(
            "website",
            _l("Website"),
            ("url", "web", "网址", "网站"),
            website_cell,
            lambda p: p.website,
        ),
        Column(
            "tags",
            _l("Sector tags"),
            ("tags", "sector", "sectors", "行业", "标签"),
            tags_cell,
            lambda p: ", ".join(t.name for t in p.tags) or None,
        ),
        Column(
            "parent",
            _l("Parent organisation"),
            ("parent", "上级", "上级单位", "上级机构"),
            text_cell(300),
            lambda p: p.parent.name_en if p.parent else None,
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
            selectinload(Partner.other_names),
            joinedload(Partner.parent),
        )

    def names(self, values):
        return [*super().names(values), *(n for n in values.get("other_names", ()) if n)]

    def lookup(self, names):
        return partners_named(names)

    def partner_names(self, values):
        return [values["parent"]] if "parent" in values else []

    def read_keys(self, values):
        # The parent is found by name among partners, which earlier rows write.
        return self.written_keys(values) | {("name", fold(n)) for n in self.partner_names(values)}

    def created_keys(self, values, ctx):
        return {("name", fold(n)) for n in self.partner_names(values) if ctx.would_create(n)}

    def load_options(self):
        return (selectinload(Partner.other_names), selectinload(Partner.tags))

    def apply(self, partner, values, ctx):
        before: dict = {}
        added: dict[str, list] = {}
        creating = partner.id is None
        name_en = values.get("name_en")
        main_name(partner, "name_en", name_en, partner.all_names(), creating, before)
        for key in ("name_zh", "kind", "status", "country", "city", "website", "description"):
            set_field(partner, key, values.get(key), before)
        if "parent" in values:
            parent_id = ctx.partner_id(values["parent"])
            if problem := check_parent(partner, parent_id):
                raise RowError(problem)
            if parent_id == partner.id:
                raise RowError(str(_l("This would make the organisation its own ancestor.")))
            set_field(partner, "parent_id", parent_id, before)
        self.owner(partner, values, ctx, before)
        known = {fold(n) for n in partner.all_names()}
        new_names = []
        for name in values.get("other_names", ()):
            if fold(name) not in known:
                known.add(fold(name))
                link = PartnerName(name=name, kind="alias")
                partner.other_names.append(link)
                new_names.append(link)
        have = {t.name.casefold() for t in partner.tags}
        wanted = [t for t in values.get("tags", ()) if t.casefold() not in have]
        new_tags = tags_named(wanted) if wanted else []
        for tag in new_tags:
            partner.tags.append(tag)
        if creating:
            db.session.add(partner)
        if before or new_names or new_tags or creating:
            partner.refresh_derived()
            partner.stamp(ctx.actor)
        if new_names:
            added["other_names"] = new_names
        if new_tags:
            added["tags"] = new_tags
        return {"fields": before, "added": added} if (before or added) else {}
