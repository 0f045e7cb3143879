"""Flask-WTF forms. Validation that needs the database or settings lives in the form,
so the inline (per-field) check and the final submit give the same answers."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
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

# Lazy strings (``_l``) only for fixed words: a lazy string is marked safe HTML when
# rendered, so a message holding what someone typed is translated at once with gettext.
from webapp.display_time import long_label, zone
from webapp.domains import DOMAIN_INPUT_MAX, DomainError, allowed_suffixes, normalise_domain
from webapp.i18n import current_language
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


def days_hint() -> str:
    return gettext(
        "Enter a whole number of days from 1 to %(most)d, e.g. 30",
        most=integrations.BACKFILL_MAX_DAYS,
    )


class WholeDaysField(IntegerField):
    """A count of days whose one mistake gets one message (not a parse error and a range
    error for the same "2.5")."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            shown = valuelist[0][:20]
            raise ValueError(
                gettext("%(hint)s (not “%(shown)s”).", hint=days_hint(), shown=shown)
            ) from exc


def _days_in_range(_form: FlaskForm, field: WholeDaysField) -> None:
    if field.process_errors:
        raise StopValidation()  # the parse error already says what to enter
    if field.data is None or not 1 <= field.data <= integrations.BACKFILL_MAX_DAYS:
        raise ValidationError(days_hint() + ".")


def _username_field() -> StringField:
    """The same username field for setup and sign-in, so password managers pair them."""
    return StringField(
        _l("Username"),
        [DataRequired(), Length(max=80)],
        filters=[_strip],
        render_kw={"autocomplete": "username"},
    )


class SetupForm(FlaskForm):
    username = _username_field()
    password = PasswordField(
        _l("Password"),
        [DataRequired(), Length(min=10, max=200, message=_l("Use at least 10 characters."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat password"),
        [DataRequired(), EqualTo("password", _l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )

    def validate_username(self, field: StringField) -> None:
        problem = name_problem(field.data or "", _l("The username"))
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    username = _username_field()
    password = PasswordField(
        _l("Password"),
        [DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


DOMAIN_FIXED = _l(
    "The domain cannot change: this integration's statistics belong to this Freshchat "
    "account. To import another account, add a new integration."
)


class IntegrationForm(FlaskForm):
    """Create and edit a Freshchat integration."""

    name = StringField(
        _l("Name"),
        [DataRequired(_l("Give the integration a name.")), Length(max=integrations.NAME_MAX)],
        filters=[_strip],
        description=_l("Unique; identifies this data source in queues and exports."),
    )
    domain = StringField(
        _l("Freshchat domain"),
        [DataRequired(_l("Enter your Freshchat domain, for example example.freshchat.com."))],
        filters=[_strip],
        description=_l(
            "Your full Freshchat domain including the subdomain, "
            "e.g. example.freshchat.com. A pasted URL is fine."
        ),
        render_kw={"maxlength": DOMAIN_INPUT_MAX},
    )
    api_key = PasswordField(
        _l("API key"),
        filters=[_strip],
        description=_l(
            "From Freshchat > Admin > API Tokens, of a user with the Account Administrator role."
        ),
    )
    sync_every_minutes = SelectField(
        _l("Sync every"),
        choices=[SelectChoice(m, _l("%(num)d minutes", num=m)) for m in integrations.SYNC_CHOICES],
        coerce=int,
        default=15,
    )
    backfill_days = WholeDaysField(
        _l("History to import on first sync (days)"), [_days_in_range], default=30
    )
    display_timezone = SelectField(
        _l("Display time zone"),
        choices=_zone_choices(),
        default="UTC",
        description=_l(
            "Days, weeks and local-time exports follow this zone. "
            "It can also be changed from the statistics."
        ),
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
            self.api_key.description = gettext(
                "Stored key ends in …%(last4)s. Leave blank to keep it, or paste a new one.",
                last4=integration.api_key_last4,
            )
            self.domain.render_kw = {"readonly": True}
            self.domain.description = DOMAIN_FIXED
            if self.history_locked:
                self.backfill_days.render_kw = {"readonly": True}
                since = long_label(
                    integration.counted_from,
                    zone(integration.display_timezone),
                    locale=current_language(),
                )
                self.backfill_days.description = gettext(
                    "Fixed by the first sync, which imported the history from %(since)s; "
                    "changing it now would import nothing.",
                    since=since,
                )

    @property
    def history_locked(self) -> bool:
        """After the first sync the history to import is settled (the setting is read once)."""
        return self.integration is not None and self.integration.counted_from is not None

    def validate_backfill_days(self, field: WholeDaysField) -> None:
        if self.history_locked and field.data != self.integration.backfill_days:
            raise ValidationError(
                gettext(
                    "The history was imported by the first sync; it stays %(days)d days.",
                    days=self.integration.backfill_days,
                )
            )

    def validate_name(self, field: StringField) -> None:
        problem = name_problem(field.data or "")
        if problem:
            raise ValidationError(problem)
        exclude = self.integration.id if self.integration is not None else None
        if field.data and integrations.name_taken(field.data, exclude_id=exclude):
            raise ValidationError(
                gettext(
                    "An integration named “%(name)s” already exists (names ignore case).",
                    name=integrations.clean_name(field.data),
                )
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
                gettext(
                    "%(domain)s is already connected as “%(name)s”: a second integration of "
                    "the same account would count its chats twice.",
                    domain=self.normalised_domain,
                    name=twin.name,
                )
            )
        kept = kept_for_domain(self.normalised_domain)
        if kept:
            field.warnings = [overlap_warning(self.normalised_domain, kept)]

    def validate_api_key(self, field: PasswordField) -> None:
        value = field.data or ""
        if not value:
            if self.integration is None:
                raise ValidationError(_l("Paste the API key of an Account Administrator."))
            return
        if any(ch.isspace() for ch in value):
            raise ValidationError(
                _l("The key contains spaces or line breaks: copy it again from Freshchat.")
            )
        if len(value) < 8 or len(value) > 4096:
            raise ValidationError(_l("This does not look like a Freshchat API key."))

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
    remove_data = BooleanField(_l("Also remove the imported queues and statistics"))
    confirm_name = StringField(_l("Type the integration's name to confirm"), filters=[_strip])


class ActionForm(FlaskForm):
    """An empty form: buttons that only need CSRF protection."""
