"""The importable and exportable kinds, each declared by its record package.

Imported by the import and export steps and their views, never by the record packages'
`columns` modules (which import the generic machinery in crm.dataio.kinds).
"""

from __future__ import annotations

from crm.agreements.columns import AgreementKind
from crm.contacts.columns import ContactKind
from crm.dataio.kinds import Kind
from crm.partners.columns import PartnerKind
from crm.projects.columns import ProjectKind

KINDS: dict[str, Kind] = {
    k.key: k for k in (PartnerKind(), ContactKind(), AgreementKind(), ProjectKind())
}
