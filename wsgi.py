"""WSGI entry point: ``waitress-serve wsgi:app`` or ``flask --app wsgi serve``."""

from webapp import create_app

app = create_app()
