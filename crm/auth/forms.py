"""Sign-in, first-administrator, password and user-management forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from crm.auth.models import MIN_PASSWORD_LENGTH
from crm.vocab import options

# Long passwords are accepted whole; the cap only keeps a request from hashing megabytes.
MAX_PASSWORD_LENGTH = 4096


def role_choices():
    return options([("staff", _l("Staff")), ("manager", _l("Manager")), ("admin", _l("Admin"))])


def new_password_field(label):
    return PasswordField(
        label,
        validators=[
            DataRequired(),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=_l("Use between %(min)d and %(max)d characters."),
            ),
        ],
    )


def confirm_field():
    return PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    remember = BooleanField(_l("Keep me signed in"))


def email_field():
    return EmailField(
        _l("Email"),
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )


def name_field():
    return StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])


class SetupForm(FlaskForm):
    setup_code = StringField(
        _l("Setup code"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Printed to the console when the app started, and saved in instance/."),
    )
    email = email_field()
    name = name_field()
    password = new_password_field(_l("Password"))
    confirm = confirm_field()


class NewUserForm(FlaskForm):
    email = email_field()
    name = name_field()
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])
    password = new_password_field(_l("Password"))
    confirm = confirm_field()


class EditUserForm(FlaskForm):
    name = name_field()
    role = SelectField(_l("Role"), choices=role_choices, validators=[DataRequired()])


class ResetPasswordForm(FlaskForm):
    password = new_password_field(_l("New password"))
    confirm = confirm_field()


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)]
    )
    password = new_password_field(_l("New password"))
    confirm = confirm_field()
