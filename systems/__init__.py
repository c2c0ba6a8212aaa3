"""Systems: molecules, solvated boxes, LAMMPS data files and the named atom groups built on them.

    build(preset_or_spec, outdir, seed=None) -> BuiltSystem     # place solutes, pack solvent, write
    import_data(path, type_map=None) -> (DataFile, Groups)      # groups of an existing data file
    presets() -> {name: description};  molecule_names(), molecule(name)
    write_data(path, positions, types, box, masses, type_map)   # LAMMPS atom_style atomic
"""

from .groups import Groups
from .lammps_data import DataFile, read_data, write_data

__all__ = ["Groups", "DataFile", "read_data", "write_data", "build", "BuiltSystem", "import_data", "import_system",
           "presets", "molecule", "molecule_names", "load_spec"]


def __getattr__(name):
    # the builder pulls in scipy; load it only when asked, so `import nucleate.systems` stays light
    if name in ("build", "BuiltSystem"):
        from . import build as _build_module  # noqa: PLC0415
        return getattr(_build_module, name)
    if name in ("import_data", "import_system"):
        from . import importer  # noqa: PLC0415
        return getattr(importer, name)
    if name in ("presets", "load_spec"):
        from . import spec  # noqa: PLC0415
        return getattr(spec, name)
    if name in ("molecule", "molecule_names"):
        from . import library  # noqa: PLC0415
        return getattr(library, name)
    raise AttributeError(f"module 'nucleate.systems' has no attribute {name!r}")
