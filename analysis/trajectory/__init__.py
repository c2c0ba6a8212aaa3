"""nucleate.analysis.trajectory: analyses of a run's trajectory (LAMMPS dump) by group names.

The rest of nucleate.analysis reads what PLUMED wrote (COLVAR, HILLS, grids); this subpackage
reads the atoms themselves, through MDAnalysis.  One module per job:
- io: check a dump and open data file + dump + groups.json as a `Run` (MDAnalysis Universe)
- bonds: bond distances and angles between named groups (BondDistances, BondAngles)
- coordination: PLUMED COORDINATION sums per frame (CoordinationSeries)
- clusters: Ag contact clusters and complete Ag6 octahedra per frame (Nuclei)
- kde: Gaussian KDEs and their maxima
- analyses: the entry points below, by group names over frames [start:stop:step]
- tables: JSON/CSV writers of their results
- cli: the `nucleate kde`, `nucleate cn` and `nucleate nuclei` commands
Periodic geometry (minimum image, whole molecules) is nucleate.geometry, shared with systems/.

    from nucleate.analysis.trajectory import Run, RunFiles, structure_kde
    kdes = structure_kde(Run(RunFiles.locate("run")), pairs=["Ag-S"], angles=[])
    kdes["Ag-S"].maxima          # [2.54...] (A)

Names load on first use (PEP 562), so importing the package, or its `io` module as the engine
does, does not import MDAnalysis or scipy.
"""

from __future__ import annotations

# name -> module that defines it, resolved by __getattr__ below
_EXPORTS = {
    "Run": "io", "RunFiles": "io", "scan_dump": "io", "read_dump_frames": "io",
    "structure_kde": "analyses", "coordination_series": "analyses", "nuclei": "analyses",
    "parse_point": "analyses", "STUDY_PAIRS": "analyses", "STUDY_ANGLES": "analyses",
    "write_kde_tables": "tables", "write_series_csv": "tables", "write_nuclei_tables": "tables",
    "KDEResult": "kde",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
