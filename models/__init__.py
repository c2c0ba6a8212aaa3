"""nucleate.models."""
