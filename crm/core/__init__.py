"""Small shared pieces: time, pagination, error pages."""
