"""Users, roles, sessions and the one permission mechanism (login, roles, district scope)."""
