"""nucleate: LAMMPS + DeePMD + PLUMED, from named atom groups to free-energy surfaces.

Subpackages (each a top-level folder of the repository):
    nucleate.engine      run specifications, rendering, the in-process LAMMPS/PLUMED engine
    nucleate.plumed_cvs  collective variables and biasing protocols rendered to PLUMED input
    nucleate.systems     molecules, solvation, LAMMPS data files and named atom groups
    nucleate.analysis    COLVAR/HILLS readers, FES, reweighting, trajectory analysis, plots
    nucleate.models      the embedded demonstration DeePMD models and the scripts that make them
"""

__version__ = "0.1.0"
