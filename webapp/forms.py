"""Flask-WTF forms. Validation that needs the database or settings lives in the form,
so the inline (per-field) check and the final submit give the same answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

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

from webapp import integration_rules as rules
from webapp import integrations
from webapp.names import name_problem
from webapp.timezones import alias_attribute, grouped_choices

T = TypeVar("T")

# Lazy strings (``_l``) only for fixed words: a lazy string is marked safe HTML when
# rendered, so a message holding what someone typed is translated at once with gettext.


def _zone_choices(current: str | None = None) -> list[SelectChoice]:
    """Canonical zones with one option group per region (see ``webapp.timezones``)."""
    return [
        SelectChoice(value, label, optgroup=group)
        for group, items in grouped_choices(current).items()
        for value, label in items
    ]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class WholeDaysField(IntegerField):
    """A count of days whose one mistake gets one message (not a parse error and a range
    error for the same "2.5")."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            shown = valuelist[0][:20]
            raise ValueError(
                gettext("%(hint)s (not “%(shown)s”).", hint=rules.days_hint(), shown=shown)
            ) from exc


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


class IntegrationForm(FlaskForm):
    """Create and edit a Freshchat integration; the rules are ``webapp.integration_rules``,
    shared with the CLI."""

    name = StringField(
        _l("Name"),
        [DataRequired(rules.NAME_MISSING), Length(max=rules.NAME_MAX, message=rules.NAME_TOO_LONG)],
        filters=[_strip],
        description=_l("Unique; identifies this data source in queues and exports."),
    )
    domain = StringField(
        _l("Freshchat domain"),
        [DataRequired(rules.DOMAIN_MISSING)],
        filters=[_strip],
        description=_l(
            "Your full Freshchat domain including the subdomain, "
            "e.g. example.freshchat.com. A pasted URL is fine."
        ),
        render_kw={"maxlength": rules.DOMAIN_MAX},
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
        choices=[SelectChoice(m, _l("%(num)d minutes", num=m)) for m in rules.SYNC_CHOICES],
        coerce=int,
        default=rules.SYNC_DEFAULT,
    )
    backfill_days = WholeDaysField(
        _l("History to import on first sync (days)"), default=rules.BACKFILL_DEFAULT
    )
    display_timezone = SelectField(
        _l("Display time zone"),
        choices=_zone_choices(),
        default=rules.ZONE_DEFAULT,
        validate_choice=False,  # validate_display_timezone says it in the rules' words
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
            self.domain.description = rules.DOMAIN_FIXED
            if self.history_locked:
                self.backfill_days.render_kw = {"readonly": True}
                self.backfill_days.description = rules.history_lock_note(integration)

    @property
    def history_locked(self) -> bool:
        return rules.history_locked(self.integration)

    def validate_backfill_days(self, field: WholeDaysField) -> None:
        if field.process_errors:
            raise StopValidation()  # the parse error already says what to enter
        _ask(rules.check_backfill_days, field.data, self.integration)

    def validate_name(self, field: StringField) -> None:
        if not field.errors:  # an empty or too long name is already said
            _ask(rules.check_name, field.data or "", self.integration)

    def validate_domain(self, field: StringField) -> None:
        verdict = _ask(
            rules.check_domain,
            field.data or "",
            current_app.config["FRESHCHAT_ALLOWED_HOSTS"],
            self.integration,
        )
        self.normalised_domain = verdict.host
        field.data = verdict.host  # show the admin the host that will be used
        field.warnings = verdict.warnings

    def validate_api_key(self, field: PasswordField) -> None:
        _ask(rules.check_api_key, field.data, self.integration)

    def validate_display_timezone(self, field: SelectField) -> None:
        _ask(rules.check_zone, field.data, self.integration)

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


def _ask(check: Callable[..., T], *args: Any) -> T:
    """Run one of ``webapp.integration_rules``' checks as a field validator."""
    try:
        return check(*args)
    except rules.InputRefused as exc:
        raise ValidationError(str(exc)) from exc


class DeleteForm(FlaskForm):
    remove_data = BooleanField(_l("Also remove the imported queues and statistics"))
    confirm_name = StringField(_l("Type the integration's name to confirm"), filters=[_strip])


class ActionForm(FlaskForm):
    """An empty form: buttons that only need CSRF protection."""
