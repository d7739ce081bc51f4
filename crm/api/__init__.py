"""The JSON API, version 1, on the same login session as the pages."""
