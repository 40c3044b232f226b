"""Forms for activities (with attendees and links to records) and follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from crm.agreements.models import Agreement
from crm.contacts.models import Contact
from crm.forms import (
    FriendlyDateField,
    RecordPicker,
    RowForm,
    Rows,
    VersionedForm,
    long_text_field,
    strip_or_none,
    text_field,
)
from crm.partners.models import Partner
from crm.projects.models import Project
from crm.vocab import ACTIVITY_KINDS, ATTENDEE_ROLES, choices, options

PICKERS = {
    "partner": (Partner, "partners.lookup", _l("Partner")),
    "contact": (Contact, "contacts.lookup", _l("Contact")),
    "agreement": (Agreement, "agreements.lookup", _l("Agreement")),
    "project": (Project, "projects.lookup", _l("Project")),
}


@lru_cache(maxsize=1)
def timezone_names() -> list[str]:
    return sorted(available_timezones())


def timezone_choices():
    common = [
        "Asia/Shanghai",
        "Europe/London",
        "UTC",
        "Asia/Hong_Kong",
        "Europe/Paris",
        "America/New_York",
    ]
    rest = [z for z in timezone_names() if z not in common]
    return options([(z, z) for z in common + rest])


class AttendeeRow(RowForm):
    key_fields = ("contact",)
    contact = RecordPicker(_l("Attendee"), model=Contact, lookup="contacts.lookup")
    role = SelectField(_l("Part"), choices=choices(ATTENDEE_ROLES), default="attended")


def _link_row(kind):
    model, lookup, label = PICKERS[kind]

    class LinkRow(RowForm):
        key_fields = ("record",)
        record = RecordPicker(label, model=model, lookup=lookup)

    LinkRow.__name__ = f"{kind.title()}LinkRow"
    return LinkRow


class ActivityForm(VersionedForm):
    kind = SelectField(_l("Kind"), choices=choices(ACTIVITY_KINDS), default="meeting")
    title = text_field(_l("Title"), 300, required=True)
    day = FriendlyDateField(_l("Date"), validators=[InputRequired()])
    at = StringField(
        _l("Time"),
        validators=[Optional(), Length(max=5)],
        filters=[strip_or_none],
        description=_l("24-hour clock, such as 14:30."),
    )
    timezone = SelectField(_l("Time zone"), choices=timezone_choices, default="Asia/Shanghai")
    location = text_field(_l("Location"), 300)
    summary = long_text_field(_l("Summary"))
    attendees = Rows(AttendeeRow, _l("Attendees"))
    staff = SelectMultipleField(_l("Our staff present"), coerce=int, validators=[Optional()])
    partners = Rows(_link_row("partner"), _l("Partners"))
    contacts = Rows(_link_row("contact"), _l("Contacts"))
    agreements = Rows(_link_row("agreement"), _l("Agreements"))
    projects = Rows(_link_row("project"), _l("Projects"))

    def validate_at(self, field):
        if field.data:
            try:
                datetime.strptime(field.data, "%H:%M")
            except ValueError:
                raise ValidationError(_l("Enter a time such as 14:30.")) from None

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then whether the day and time exist on the clocks of the zone."""
        valid = super().validate(extra_validators)
        checkable = self.day.data and not (self.at.errors or self.timezone.errors)
        if checkable and not exists_locally(self._local()):
            self.at.errors = [
                *self.at.errors,
                _l(
                    "This time does not exist in %(zone)s (clocks go forward): "
                    "enter the time as the clocks showed it.",
                    zone=self.timezone.data,
                ),
            ]
            valid = False
        return valid

    def _local(self) -> datetime:
        clock = datetime.strptime(self.at.data, "%H:%M").time() if self.at.data else time(0, 0)
        return datetime.combine(self.day.data, clock, tzinfo=ZoneInfo(self.timezone.data))

    def occurred_at(self) -> datetime:
        """The moment from the date, time and time zone typed.

        A time the clocks show twice (when they go back) is the first of the two
        (fold=0, still on summer time); a time they skip is refused by `validate`."""
        return self._local()


def exists_locally(local: datetime) -> bool:
    """Whether a wall-clock time with a zone is one the clocks of that zone showed: one
    inside a spring-forward gap (2026-03-29 01:30 in London) does not survive the round
    trip through UTC (Python would silently read it as 02:30)."""
    try:
        back = local.astimezone(UTC).astimezone(local.tzinfo)
    except OverflowError:  # 0001-01-01 00:00 east of UTC: before the calendar starts
        return False
    return back.replace(tzinfo=None) == local.replace(tzinfo=None)


class FollowUpForm(VersionedForm):
    title = text_field(_l("What to do"), 300, required=True)
    due_on = FriendlyDateField(_l("Due on"), validators=[InputRequired()])
    assignee = SelectField(_l("Assigned to"), coerce=int, validators=[InputRequired()])
    partner = RecordPicker(_l("Partner"), model=Partner, lookup="partners.lookup")
    contact = RecordPicker(_l("Contact"), model=Contact, lookup="contacts.lookup")
    agreement = RecordPicker(_l("Agreement"), model=Agreement, lookup="agreements.lookup")
    project = RecordPicker(_l("Project"), model=Project, lookup="projects.lookup")
    notes = long_text_field(_l("Notes"))

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        linked = [f for f in (self.partner, self.contact, self.agreement, self.project) if f.data]
        if len(linked) > 1:
            for f in linked[1:]:
                f.errors = [*f.errors, _l("A follow-up is about one record: keep only one.")]
            ok = False
        return ok
