"""Form pieces shared by every feature."""

from flask_wtf import FlaskForm


class EmptyForm(FlaskForm):
    """A form with no fields: gives POST-only buttons (archive, sign out) a CSRF token."""
