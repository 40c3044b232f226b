"""Agreements in spreadsheets: their import and export columns, how a row finds its
agreement (by ID, or by either title) and how it is applied (fields, parties)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from crm.agreements.forms import AgreementForm
from crm.agreements.models import Agreement, AgreementParty
from crm.agreements.queries import agreement_list
from crm.dataio import cells
from crm.dataio.columns import (
    ID,
    OWNER,
    Column,
    currency_cell,
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
from crm.vocab import AGREEMENT_STAGES, AGREEMENT_TYPES, PARTY_ROLES

agreements_named = named_lookup(
    Agreement, Agreement.title, Agreement.sort_title, Agreement.title_zh
)


class AgreementKind(Kind):
    key = "agreement"
    model = Agreement
    list_key = "agreements"
    list_label = _l("Agreements")
    list_query = staticmethod(agreement_list)
    required = (("title", "title_zh", "id"),)
    form = AgreementForm
    checked_on_create = ("title",)
    name_keys = ("title", "title_zh")
    columns = [
        ID,
        Column(
            "title",
            _l("Title"),
            ("name", "agreement", "标题", "名称", "协议名称", "协议"),
            text_cell(500),
            lambda a: a.title,
        ),
        Column(
            "title_zh",
            _l("Chinese title"),
            ("中文标题", "中文名称", "中文名"),
            text_cell(300),
            lambda a: a.title_zh,
        ),
        Column(
            "type",
            _l("Type"),
            ("类型", "协议类型"),
            vocab_cell(AGREEMENT_TYPES),
            lambda a: vocab_label(AGREEMENT_TYPES)(a.type),
        ),
        Column(
            "stage",
            _l("Stage"),
            ("status", "阶段", "状态"),
            vocab_cell(AGREEMENT_STAGES),
            lambda a: vocab_label(AGREEMENT_STAGES)(a.stage),
        ),
        Column(
            "signed_on",
            _l("Signed on"),
            ("signed", "signing date", "签署日期", "签订日期", "签约日期"),
            cells.date_value,
            lambda a: a.signed_on,
        ),
        Column(
            "signed_at",
            _l("Signed at (place)"),
            ("place", "签署地点", "签约地点"),
            text_cell(300),
            lambda a: a.signed_at,
        ),
        Column(
            "effective_from",
            _l("Effective from"),
            ("start", "生效日期"),
            cells.date_value,
            lambda a: a.effective_from,
        ),
        Column(
            "expires_on",
            _l("Expires on"),
            ("expiry", "end", "到期日期", "截止日期"),
            cells.date_value,
            lambda a: a.expires_on,
        ),
        Column(
            "auto_renew",
            _l("Renews automatically"),
            ("auto renew", "自动续期", "自动续约"),
            cells.bool_value,
            lambda a: a.auto_renew,
        ),
        Column(
            "notice_days",
            _l("Notice period (days)"),
            ("notice days", "notice", "通知期", "通知期（天）"),
            lambda v: cells.int_value(v, low=0, high=3650),
            lambda a: a.notice_days,
        ),
        Column(
            "value_amount",
            _l("Value"),
            ("amount", "金额", "合同金额"),
            cells.decimal_value,
            lambda a: a.value_amount,
        ),
        Column(
            "value_currency",
            _l("Currency"),
            ("币种", "货币"),
            currency_cell,
            lambda a: a.value_currency,
        ),
        Column(
            "parties",
            _l("Parties"),
            ("party", "签约方", "合作方", "各方"),
            roles_cell(PARTY_ROLES, "party"),
            lambda a: with_roles(a.parties, PARTY_ROLES),
        ),
        Column(
            "summary",
            _l("Summary"),
            ("摘要", "内容", "description"),
            text_cell(20000),
            lambda a: a.summary,
        ),
        OWNER,
    ]

    def export_options(self):
        return (selectinload(Agreement.parties).joinedload(AgreementParty.partner),)

    def row_problems(self, values):
        return period_and_amount(
            values,
            ("effective_from", "expires_on", _l("The expiry cannot be before the start.")),
            ("value_amount", "value_currency"),
        )

    def lookup(self, names):
        return agreements_named(names)

    def partner_names(self, values):
        return [name for name, _role in values.get("parties", ())]

    def load_options(self):
        return (selectinload(Agreement.parties),)

    def apply(self, agreement, values, ctx):
        before: dict = {}
        creating = agreement.id is None
        title = values.get("title")
        names = [agreement.title, agreement.title_zh]
        main_name(agreement, "title", title, names, creating, before)
        for key in (
            "title_zh",
            "type",
            "stage",
            "signed_on",
            "signed_at",
            "effective_from",
            "expires_on",
            "auto_renew",
            "notice_days",
            "value_amount",
            "value_currency",
            "summary",
        ):
            set_field(agreement, key, values.get(key), before)
        self.owner(agreement, values, ctx, before)
        have = {(p.partner_id, p.role) for p in agreement.parties}
        new_parties = []
        for name, role in values.get("parties", ()):
            key = (ctx.partner_id(name), role)
            if key not in have:
                have.add(key)
                party = AgreementParty(partner_id=key[0], role=role)
                agreement.parties.append(party)
                new_parties.append(party)
        check_order(
            agreement.effective_from,
            agreement.expires_on,
            _l("The expiry cannot be before the start."),
        )
        if agreement.value_amount is not None and not agreement.value_currency:
            raise RowError(str(_l("Choose the currency of the amount.")))
        if agreement.stage == "signed":
            if not agreement.signed_on:
                raise RowError(str(_l("Enter the date it was signed.")))
            if len({p for p, _ in have}) < 2:
                raise RowError(
                    str(_l("A signed agreement needs at least two organisations as parties."))
                )
        if creating:
            db.session.add(agreement)
        if before or new_parties or creating:
            agreement.refresh_derived()
            agreement.stamp(ctx.actor)
        added = {"parties": new_parties} if new_parties else {}
        return {"fields": before, "added": added} if (before or added) else {}
