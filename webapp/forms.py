"""Flask-WTF forms. Validation that needs the database or settings lives in the form,
so the inline (per-field) check and the final submit give the same answers."""

from __future__ import annotations

from zoneinfo import available_timezones

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
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, ValidationError

from webapp import integrations
from webapp.domains import DomainError, allowed_suffixes, normalise_domain
from webapp.names import name_problem

# Region/City names (plus UTC) from the tzdata package, so the list is the same on a box
# without /usr/share/zoneinfo; aliases like "localtime" or "Factory" are left out.
COMMON_TIMEZONES = sorted(
    {"UTC"} | {zone for zone in available_timezones() if "/" in zone and "Etc/" not in zone}
)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class SetupForm(FlaskForm):
    username = StringField(
        "Username",
        [DataRequired(), Length(max=80)],
        filters=[_strip],
        render_kw={"autocomplete": "username"},
    )
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
    username = StringField(
        "Username",
        [DataRequired(), Length(max=80)],
        filters=[_strip],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password", [DataRequired(), Length(max=200)], render_kw={"autocomplete": "current-password"}
    )
    next = HiddenField()


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
    backfill_days = IntegerField(
        "History to import on first sync (days)",
        [NumberRange(1, integrations.BACKFILL_MAX_DAYS)],
        default=30,
    )
    display_timezone = SelectField(
        "Display time zone", choices=[SelectChoice(z) for z in COMMON_TIMEZONES], default="UTC"
    )
    submission_id = HiddenField()

    def __init__(self, *args, integration=None, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.integration = integration
        self.normalised_domain: str | None = None
        if integration is not None:
            self.api_key.description = (
                f"Stored key ends in …{integration.api_key_last4}. "
                "Leave blank to keep it, or paste a new one."
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
        exclude = self.integration.id if self.integration is not None else None
        twin = integrations.connected_to(self.normalised_domain, exclude_id=exclude)
        if twin is not None:
            raise ValidationError(
                f"{self.normalised_domain} is already connected as “{twin.name}”: a second "
                "integration of the same account would count its chats twice."
            )
        if self.account_changed and integrations.has_imported_data(self.integration):
            # Mixing two accounts' chats in one set of queues would make both wrong.
            raise ValidationError(
                f"This integration holds statistics imported from {self.integration.domain}. "
                "To import another Freshchat account, add a new integration."
            )

    @property
    def account_changed(self) -> bool:
        """An edit that points the integration at another Freshchat host."""
        return (
            self.integration is not None
            and self.normalised_domain is not None
            and self.normalised_domain != self.integration.domain
        )

    def validate_api_key(self, field: PasswordField) -> None:
        value = field.data or ""
        if not value:
            if self.integration is None:
                raise ValidationError("Paste the API key of an Account Administrator.")
            if self.account_changed:
                # The stored key belongs to the old host and is never sent anywhere else.
                raise ValidationError("A new domain needs its own API key: paste it here.")
            return
        if any(ch.isspace() for ch in value):
            raise ValidationError(
                "The key contains spaces or line breaks: copy it again from Freshchat."
            )
        if len(value) < 8 or len(value) > 4096:
            raise ValidationError("This does not look like a Freshchat API key.")

    def to_input(self) -> integrations.IntegrationInput:
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
