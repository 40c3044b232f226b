"""Imports every model module so the metadata (and Alembic) sees every table."""

from crm.activities.models import Activity, ActivityAttendee, FollowUp  # noqa: F401
from crm.agreements.models import Agreement, AgreementParty  # noqa: F401
from crm.api.models import ApiToken  # noqa: F401
from crm.audit.models import AuditEntry  # noqa: F401
from crm.auth.models import User  # noqa: F401
from crm.contacts.models import Contact, ContactName, Position  # noqa: F401
from crm.dashboard.models import DashboardVersion  # noqa: F401
from crm.dataio.models import DataImport, DataImportChange, DataImportRow  # noqa: F401
from crm.documents.models import Document, DocumentVersion  # noqa: F401
from crm.duplicates.models import DuplicateKey, DuplicatePair, DuplicateProfile  # noqa: F401
from crm.feeds.models import CalendarFeed  # noqa: F401
from crm.partners.models import KeyFigure, Partner, PartnerName, Tag  # noqa: F401
from crm.projects.models import (  # noqa: F401
    Indicator,
    IndicatorActual,
    IndicatorKind,
    Milestone,
    Project,
    ProjectPartner,
)
from crm.rates.models import ExchangeRate  # noqa: F401
