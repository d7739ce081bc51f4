"""Entry point: `flask --app app …` finds `app` here."""

from crm import create_app

app = create_app()
