"""nucleate.plumed_cvs."""
