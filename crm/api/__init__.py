"""The JSON API, version 1, on the same login session as the pages."""

from crm.api.views import bp

__all__ = ["bp"]
