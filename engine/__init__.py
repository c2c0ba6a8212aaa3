"""nucleate.engine."""
