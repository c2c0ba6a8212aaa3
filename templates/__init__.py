"""nucleate.templates."""
