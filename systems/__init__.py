"""Systems: molecules, solvated boxes, LAMMPS data files and the named atom groups built on them.

    build(preset_or_spec, outdir, seed=None) -> BuiltSystem     # place solutes, pack solvent, write
    import_data(path, type_map=None) -> (DataFile, Groups)      # groups of an existing data file
    presets() -> {name: description};  molecule_names(), molecule(name)
    write_data(path, positions, types, box, masses, type_map)   # LAMMPS atom_style atomic
"""

from .groups import Groups
from .lammps_data import DataFile, read_data, write_data

__all__ = ["Groups", "DataFile", "read_data", "write_data", "build", "BuiltSystem", "import_data", "import_system",
           "presets", "molecule", "molecule_names", "load_box_spec"]


_LAZY = {"build": "builder", "BuiltSystem": "builder", "import_data": "importer", "import_system": "importer",
         "presets": "spec", "load_box_spec": "spec", "molecule": "library", "molecule_names": "library"}


def __getattr__(name):
    # the builder pulls in scipy and yaml; load it only when asked, so `import nucleate.systems` stays light
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'nucleate.systems' has no attribute {name!r}")
