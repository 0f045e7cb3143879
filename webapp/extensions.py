"""Extension singletons, bound to the app in ``create_app``."""

from __future__ import annotations

from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from peewee import DatabaseProxy

csrf = CSRFProtect()
htmx = Htmx()
# A proxy, not a fixed SQLite database: DATABASE_URL decides the engine at start-up.
db = DatabaseProxy()
