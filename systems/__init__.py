"""Systems: molecules, solvated boxes, LAMMPS data files and the named atom groups built on them."""

from .groups import Groups
from .lammps_data import DataFile, read_data

__all__ = ["Groups", "DataFile", "read_data"]
