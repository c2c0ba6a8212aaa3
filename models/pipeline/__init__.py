"""Reproducible pipeline for the Ag/S/N/C/H/O demonstration model (sampling, labelling, training, testing)."""
