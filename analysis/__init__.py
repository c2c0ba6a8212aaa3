"""nucleate.analysis."""
