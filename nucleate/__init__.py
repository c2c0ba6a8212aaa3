"""nucleate: LAMMPS + DeePMD + PLUMED, from named atom groups to free-energy surfaces.

The front door, for Python users (the calls live in nucleate.api and load on first use, so
`import nucleate` imports neither LAMMPS nor TensorFlow nor numpy):

    import nucleate as nc
    run = nc.run("spec.yaml", "run")          # render the spec into run/ and run it in-process
    rw = nc.reweight(run.colvar, cvs="d", bias="metad.rbias", temperature_K=300, blocks=5)
    rw.free, rw.error, rw.error_meaning       # F, its 1-sigma block error, what that error is
    rw.plot().savefig("fes.png")

    build(preset, outdir)      load_spec(path | mapping)     render(spec, outdir)
    run(spec | rundir, ...)    open_run(rundir) -> .colvar .hills .thermo .trajectory
    read_colvar  read_fes  sum_hills  reweight  deltag  basins  min_path  kde
    plot_fes  plot_delta_g  plot_kde  plot_time_series       NucleateError

Subpackages (each a top-level folder of the repository):
    nucleate.engine      run specifications, rendering, the in-process LAMMPS/PLUMED engine
    nucleate.plumed_cvs  collective variables and biasing protocols rendered to PLUMED input
    nucleate.systems     molecules, solvation, LAMMPS data files and named atom groups
    nucleate.analysis    COLVAR/HILLS readers, FES, reweighting, trajectory analysis, plots
    nucleate.models      the embedded demonstration DeePMD models and the scripts that make them
"""

from nucleate.errors import NucleateError

__version__ = "0.1.0"

# name -> (module, attribute): resolved on first access by __getattr__ below
_FRONT_DOOR = {
    **{name: ("nucleate.api", name) for name in (
        "build", "load_spec", "render", "run", "open_run", "RunOutputs", "read_colvar", "read_fes",
        "sum_hills", "reweight", "Reweighted", "deltag", "basins", "min_path", "kde")},
    "plot_fes": ("nucleate.analysis.plot_fes", "plot_fes"),
    "plot_delta_g": ("nucleate.analysis.plot_fes", "plot_delta_g"),
    "plot_kde": ("nucleate.analysis.plot_traj", "plot_kde_panels"),
    "plot_time_series": ("nucleate.analysis.plot_traj", "plot_time_series"),
}

__all__ = ["NucleateError", "__version__", *_FRONT_DOOR]


def __getattr__(name: str):
    # PEP 562: the front door's modules load when a call is first used, keeping `import nucleate`
    # (and so the `nucleate` command's start-up) free of numpy, matplotlib, LAMMPS and TensorFlow
    if name in _FRONT_DOOR:
        import importlib

        module, attribute = _FRONT_DOOR[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'nucleate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FRONT_DOOR))
