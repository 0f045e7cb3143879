"""Flask-WTF forms. Validation that needs the database or settings lives in the form,
so the inline (per-field) check and the final submit give the same answers."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, StopValidation, ValidationError

from webapp import integrations
from webapp.display_time import long_label, zone
from webapp.domains import DOMAIN_INPUT_MAX, DomainError, allowed_suffixes, normalise_domain
from webapp.names import name_problem
from webapp.overlaps import kept_for_domain, overlap_warning
from webapp.timezones import alias_attribute, grouped_choices


def _zone_choices(current: str | None = None) -> list[SelectChoice]:
    """Canonical zones with one option group per region (see ``webapp.timezones``)."""
    return [
        SelectChoice(value, label, optgroup=group)
        for group, items in grouped_choices(current).items()
        for value, label in items
    ]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


DAYS_HINT = f"Enter a whole number of days from 1 to {integrations.BACKFILL_MAX_DAYS}, e.g. 30"


class WholeDaysField(IntegerField):
    """A count of days whose one mistake gets one message (not a parse error and a range
    error for the same "2.5")."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError(f"{DAYS_HINT} (not “{valuelist[0][:20]}”).") from exc


def _days_in_range(_form: FlaskForm, field: WholeDaysField) -> None:
    if field.process_errors:
        raise StopValidation()  # the parse error already says what to enter
    if field.data is None or not 1 <= field.data <= integrations.BACKFILL_MAX_DAYS:
        raise ValidationError(f"{DAYS_HINT}.")


def _username_field() -> StringField:
    """The same username field for setup and sign-in, so password managers pair them."""
    return StringField(
        "Username",
        [DataRequired(), Length(max=80)],
        filters=[_strip],
        render_kw={"autocomplete": "username"},
    )


class SetupForm(FlaskForm):
    username = _username_field()
    password = PasswordField(
        "Password",
        [DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat password",
        [DataRequired(), EqualTo("password", "The passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_username(self, field: StringField) -> None:
        problem = name_problem(field.data or "", "The username")
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    username = _username_field()
    password = PasswordField(
        "Password",
        [DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


DOMAIN_FIXED = (
    "The domain cannot change: this integration's statistics belong to this Freshchat "
    "account. To import another account, add a new integration."
)


class IntegrationForm(FlaskForm):
    """Create and edit a Freshchat integration."""

    name = StringField(
        "Name",
        [DataRequired("Give the integration a name."), Length(max=integrations.NAME_MAX)],
        filters=[_strip],
        description="Unique; identifies this data source in queues and exports.",
    )
    domain = StringField(
        "Freshchat domain",
        [DataRequired("Enter your Freshchat domain, for example example.freshchat.com.")],
        filters=[_strip],
        description="Your full Freshchat domain including the subdomain, "
        "e.g. example.freshchat.com. A pasted URL is fine.",
        render_kw={"maxlength": DOMAIN_INPUT_MAX},
    )
    api_key = PasswordField(
        "API key",
        filters=[_strip],
        description="From Freshchat > Admin > API Tokens, of a user with the "
        "Account Administrator role.",
    )
    sync_every_minutes = SelectField(
        "Sync every",
        choices=[SelectChoice(m, f"{m} minutes") for m in integrations.SYNC_CHOICES],
        coerce=int,
        default=15,
    )
    backfill_days = WholeDaysField(
        "History to import on first sync (days)", [_days_in_range], default=30
    )
    display_timezone = SelectField(
        "Display time zone",
        choices=_zone_choices(),
        default="UTC",
        description="Days, weeks and local-time exports follow this zone. "
        "It can also be changed from the statistics.",
    )
    submission_id = HiddenField()

    def __init__(self, *args, integration=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.normalised_domain: str | None = None
        # Notes shown under a field without refusing it (see macros/forms.html).
        self.domain.warnings = []
        if integration is None and not self.is_submitted():
            # static/app.js preselects the browser's zone on a new integration.
            self.display_timezone.render_kw = {
                "data-browser-zone": "",
                "data-zone-aliases": alias_attribute(),
            }
        if integration is not None:
            self.display_timezone.choices = _zone_choices(integration.display_timezone)
            self.api_key.description = (
                f"Stored key ends in …{integration.api_key_last4}. "
                "Leave blank to keep it, or paste a new one."
            )
            self.domain.render_kw = {"readonly": True}
            self.domain.description = DOMAIN_FIXED
            if self.history_locked:
                self.backfill_days.render_kw = {"readonly": True}
                since = long_label(integration.counted_from, zone(integration.display_timezone))
                self.backfill_days.description = (
                    f"Fixed by the first sync, which imported the history from {since}; "
                    "changing it now would import nothing."
                )

    @property
    def history_locked(self) -> bool:
        """After the first sync the history to import is settled (the setting is read once)."""
        return self.integration is not None and self.integration.counted_from is not None

    def validate_backfill_days(self, field: WholeDaysField) -> None:
        if self.history_locked and field.data != self.integration.backfill_days:
            raise ValidationError(
                "The history was imported by the first sync; it stays "
                f"{self.integration.backfill_days} days."
            )

    def validate_name(self, field: StringField) -> None:
        problem = name_problem(field.data or "")
        if problem:
            raise ValidationError(problem)
        exclude = self.integration.id if self.integration is not None else None
        if field.data and integrations.name_taken(field.data, exclude_id=exclude):
            raise ValidationError(
                f"An integration named “{integrations.clean_name(field.data)}” already "
                "exists (names ignore case)."
            )

    def validate_domain(self, field: StringField) -> None:
        suffixes = allowed_suffixes(current_app.config["FRESHCHAT_ALLOWED_HOSTS"])
        try:
            self.normalised_domain = normalise_domain(field.data or "", suffixes)
        except DomainError as exc:
            raise ValidationError(str(exc)) from exc
        field.data = self.normalised_domain  # show the admin the host that will be used
        if self.integration is not None:
            # Shown read-only on Edit: another account's chats would mix with these.
            if self.normalised_domain != self.integration.domain:
                raise ValidationError(DOMAIN_FIXED)
            return
        twin = integrations.connected_to(self.normalised_domain)
        if twin is not None:
            raise ValidationError(
                f"{self.normalised_domain} is already connected as “{twin.name}”: a second "
                "integration of the same account would count its chats twice."
            )
        kept = kept_for_domain(self.normalised_domain)
        if kept:
            field.warnings = [overlap_warning(self.normalised_domain, kept)]

    def validate_api_key(self, field: PasswordField) -> None:
        value = field.data or ""
        if not value:
            if self.integration is None:
                raise ValidationError("Paste the API key of an Account Administrator.")
            return
        if any(ch.isspace() for ch in value):
            raise ValidationError(
                "The key contains spaces or line breaks: copy it again from Freshchat."
            )
        if len(value) < 8 or len(value) > 4096:
            raise ValidationError("This does not look like a Freshchat API key.")

    def to_input(self) -> integrations.IntegrationInput:
        """Validated values; on Edit the domain is the stored one, whatever was sent."""
        return integrations.IntegrationInput(
            name=self.name.data or "",
            domain=self.normalised_domain or (self.domain.data or ""),
            api_key=self.api_key.data or None,
            sync_every_minutes=self.sync_every_minutes.data,
            backfill_days=self.backfill_days.data,
            display_timezone=self.display_timezone.data,
        )


class DeleteForm(FlaskForm):
    remove_data = BooleanField("Also remove the imported queues and statistics")
    confirm_name = StringField("Type the integration's name to confirm", filters=[_strip])


class ActionForm(FlaskForm):
    """An empty form: buttons that only need CSRF protection."""
