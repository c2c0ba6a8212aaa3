"""The Python front door: the handful of calls a user needs, as `import nucleate as nc` gives them.

Each call delegates to the subpackage that does the work (nucleate.systems, nucleate.engine,
nucleate.analysis); nothing is computed here.  Heavy modules (LAMMPS, DeePMD, TensorFlow,
MDAnalysis) are imported inside the calls that need them, so `import nucleate` stays instant.
Temperatures are given as `temperature_K`; k_B T is derived in the energy unit of the files read
(their manifest, plumed.dat or `#! SET` lines), never taken as a bare number in an implied unit.

    >>> import nucleate as nc
    >>> run = nc.run("spec.yaml", "run")                                       # doctest: +SKIP
    >>> rw = nc.reweight(run.colvar, cvs="d", bias="metad.rbias", temperature_K=300, blocks=5)  # doctest: +SKIP
    >>> rw.free, rw.error, rw.error_meaning                                      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from nucleate.errors import NucleateError

if TYPE_CHECKING:  # for the annotations only: importing these at run time would load numpy and more
    import numpy as np
    import pandas as pd

    from nucleate.analysis.basins import Basin, DeltaGSeries, FreeEnergyPath
    from nucleate.analysis.fes_estimate import ReweightResult
    from nucleate.analysis.fes_grid import FES
    from nucleate.analysis.hills import Hills
    from nucleate.analysis.plumed_files import PlumedTable
    from nucleate.analysis.trajectory.io import Run
    from nucleate.analysis.trajectory.kde import KDEResult
    from nucleate.engine.runner import RunResult
    from nucleate.engine.spec import RunSpec
    from nucleate.systems.builder import BuiltSystem

log = logging.getLogger(__name__)

__all__ = ["build", "load_spec", "render", "run", "open_run", "RunOutputs", "read_colvar", "read_fes",
           "sum_hills", "reweight", "Reweighted", "deltag", "basins", "min_path", "kde"]


# -- systems and specs ---------------------------------------------------------------------------

def build(preset: str | Path | Mapping, outdir: str | Path, *, seed: int | None = None,
          overwrite: bool = False) -> "BuiltSystem":
    """Build a solvated box from a preset name (or a system spec file/mapping) into `outdir`:
    `system.data` and `groups.json` (named atom groups), as `nucleate build` does.

        >>> box = nc.build("ag6/monomer_dimer", "box", seed=7)          # doctest: +SKIP
        >>> box.data_path, box.groups_path                               # doctest: +SKIP
    """
    from nucleate.systems.builder import build as build_system

    return build_system(preset, outdir, seed=seed, overwrite=overwrite)


def load_spec(spec: str | Path | Mapping, *, base_dir: str | Path | None = None) -> "RunSpec":
    """A run specification from a YAML/TOML file, or from the same thing as a mapping (relative
    paths in a mapping are relative to `base_dir`, default the working directory).  Every value is
    checked here; a mistake is a NucleateError naming the key.

        >>> spec = nc.load_spec("spec.yaml")                             # doctest: +SKIP
        >>> spec.md.temperature_K                                        # doctest: +SKIP
        300.0
    """
    from nucleate.engine.spec import RunSpec
    from nucleate.engine.spec import load_spec as load_spec_file

    if isinstance(spec, RunSpec):
        return spec
    if isinstance(spec, Mapping):
        return RunSpec.from_dict(dict(spec), base_dir=Path(base_dir or "."), source="spec given in Python")
    return load_spec_file(spec)


def render(spec: "RunSpec | str | Path | Mapping", outdir: str | Path, *, overwrite: bool = False) -> "RunOutputs":
    """Write a self-contained run directory (in.lammps, plumed.dat, system.data, manifest.json, ...)
    without running it, as `nucleate render` does.

        >>> run = nc.render("spec.yaml", "run")                          # doctest: +SKIP
        >>> print((run.path / "plumed.dat").read_text())                 # doctest: +SKIP
    """
    from nucleate.engine.render import render_run

    rendered = render_run(load_spec(spec), outdir, overwrite=overwrite, command_line=["nucleate.api.render"])
    log.info("rendered %s", rendered.path)
    return RunOutputs(rendered.path)


def run(spec_or_rundir: "RunSpec | str | Path | Mapping", outdir: str | Path | None = None, *,
        steps: int | None = None, continue_run: bool = False, overwrite: bool = False,
        time_limit_s: float | None = None) -> "RunOutputs":
    """Run a spec (rendered into `outdir` first) or an existing run directory in this process
    (LAMMPS + DeePMD + PLUMED), and return the run's outputs.

    With a run directory: `continue_run=True` resumes from its last checkpoint (`steps` more);
    `overwrite=True` starts it again from step 0 (the earlier files are kept inside it).  The
    segment's record (status, steps, speed) is `.segment` of the result.

        >>> run = nc.run("spec.yaml", "run")                             # doctest: +SKIP
        >>> run = nc.run("run", steps=1000, continue_run=True)           # doctest: +SKIP
        >>> run.segment.status, run.colvar_path                          # doctest: +SKIP
        ('completed', PosixPath('run/COLVAR'))
    """
    from nucleate.engine.runner import execute

    target = spec_or_rundir
    is_rundir = isinstance(target, (str, os.PathLike)) and Path(target).is_dir()  # a RunOutputs too
    if is_rundir:
        if outdir is not None and Path(outdir).resolve() != Path(target).resolve():
            raise NucleateError(f"{target} is a run directory: run it in place, without outdir")
        rundir = Path(target)
    else:
        if continue_run:
            raise NucleateError("continue_run applies to a run directory, not to a spec")
        if outdir is None:
            raise NucleateError("give the run directory to create: run(spec, outdir)")
        rundir = render(target, outdir, overwrite=overwrite).path
        overwrite = False  # the fresh directory has nothing to start again from
    result = execute(rundir, steps=steps, continue_run=continue_run, overwrite=overwrite, time_limit_s=time_limit_s)
    log.info("%s: steps %d-%d %s", rundir, result.start_step, result.end_step, result.status)
    return RunOutputs(rundir, segment=result)


# -- a run directory's outputs ---------------------------------------------------------------------

class RunOutputs:
    """A run directory's outputs as objects: `.colvar` and `.hills` (PLUMED tables, in the units
    the manifest records), `.thermo` (a pandas DataFrame: step temp_K epot_model_eV bias_eV
    etotal_eV), `.trajectory` (an MDAnalysis Universe with the named groups, see
    nucleate.analysis.trajectory.io.Run); the paths as `.colvar_path`, `.hills_path`, ...

        >>> run = nc.open_run("run")                                     # doctest: +SKIP
        >>> run.colvar.column("d")[:3], run.temperature_K                # doctest: +SKIP
        >>> run.trajectory.atoms("Ag")                                   # doctest: +SKIP
    """

    def __init__(self, path: str | Path, segment: "RunResult | None" = None):
        from nucleate.engine.rundir import RunDirectory

        self.path = Path(path)
        self._directory = RunDirectory(self.path)
        self.manifest: dict = self._directory.manifest()  # a clear error if this is not a run directory
        self.segment = segment  # the RunResult of the run() call that returned this, if any

    def __repr__(self) -> str:
        return f"RunOutputs({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def temperature_K(self) -> float:
        return float(self.manifest["temperature_K"])

    def _plumed_file(self, action_words: tuple[str, ...], default: str) -> Path:
        """The conventional name if an action of that kind (PRINT for COLVAR, METAD for HILLS) writes
        it, else the FILE= of the first such action, else the conventional name."""
        from nucleate.engine.plumed_input import keyword, logical_lines

        plumed = self.path / "plumed.dat"
        written = []
        if plumed.is_file():
            written = [keyword(line, "FILE") for line in logical_lines(plumed.read_text())
                       if line.action in action_words and keyword(line, "FILE")]
        return self.path / (default if default in written or not written else written[0])

    @property
    def colvar_path(self) -> Path:
        return self._plumed_file(("PRINT",), "COLVAR")

    @property
    def hills_path(self) -> Path:
        return self._plumed_file(("METAD",), "HILLS")

    @property
    def thermo_path(self) -> Path:
        from nucleate.engine.rundir import THERMO

        return self.path / THERMO

    @property
    def trajectory_path(self) -> Path:
        from nucleate.engine.rundir import DUMP

        return self.path / DUMP

    @property
    def colvar(self) -> "PlumedTable":
        """The COLVAR as a PlumedTable (`.column(name)`, `.fields`, `.units`)."""
        return read_colvar(self.colvar_path)

    @property
    def hills(self) -> "Hills":
        from nucleate.analysis.hills import read_hills

        return read_hills([self.hills_path])

    @property
    def thermo(self) -> "pd.DataFrame":
        import numpy as np
        import pandas as pd

        path = self.thermo_path
        if not path.is_file():
            raise NucleateError(f"{path} does not exist: the run has not written thermo output yet")
        with path.open() as handle:
            title = handle.readline()
        names = title.lstrip("#").split()
        rows = np.loadtxt(path, comments="#", ndmin=2)  # a continuation repeats the title line
        return pd.DataFrame(rows.reshape(-1, len(names)), columns=names)

    @property
    def trajectory(self) -> "Run":
        from nucleate.analysis.trajectory.io import Run, RunFiles

        return Run(RunFiles.locate(self.path))


def open_run(rundir: str | Path) -> RunOutputs:
    """A run directory's outputs (COLVAR, HILLS, thermo, trajectory) as objects; see RunOutputs.

        >>> run = nc.open_run("run")                                     # doctest: +SKIP
        >>> run.thermo["temp_K"].mean()                                  # doctest: +SKIP
    """
    return RunOutputs(rundir)


# -- PLUMED files and free energies ---------------------------------------------------------------

def read_colvar(paths, *, columns: Sequence[str] | None = None, input_units: str | None = None) -> "PlumedTable":
    """A COLVAR (or any PLUMED column file; several files or restarts concatenated) as a
    PlumedTable, in the units of its run (manifest.json or plumed.dat beside it) or `input_units`.

        >>> table = nc.read_colvar("run/COLVAR")                          # doctest: +SKIP
        >>> table.column("d"), table.units.energy                        # doctest: +SKIP
    """
    from nucleate.analysis.plumed_files import read_plumed

    if isinstance(paths, RunOutputs):
        paths = paths.colvar_path
    return read_plumed(paths, columns=list(columns) if columns else None, units=input_units)


def read_fes(path: str | Path, *, input_units: str | None = None) -> "FES":
    """A FES grid file (nucleate's or PLUMED's), in the energy unit and with the kT its `#! SET`
    lines record (else `input_units`, else the run's units beside it, else kJ/mol).

        >>> fes = nc.read_fes("fes2d.dat")                               # doctest: +SKIP
    """
    from nucleate.analysis.fes_grid import FES
    from nucleate.analysis.run_units import units_beside

    beside = None if input_units else units_beside(path)
    return FES.read(path, energy_unit=input_units, unit_if_unsaid=beside.energy if beside else "kj/mol")


def _kt(temperature_K: float, energy_unit: str) -> float:
    """k_B T in `energy_unit`; the temperature is checked here because it is the user's number."""
    from nucleate.units import kbt

    if isinstance(temperature_K, bool) or not isinstance(temperature_K, (int, float)) \
            or not (temperature_K > 0 and math.isfinite(temperature_K)):
        raise NucleateError(f"temperature_K must be a positive temperature in K, got {temperature_K!r}")
    return kbt(float(temperature_K), energy_unit)


def sum_hills(hills, *, bins=None, mins=None, maxs=None, mintozero: bool = True, stride: int | None = None,
              input_units: str | None = None):
    """F = -(sum of the hills) on a grid, exactly as `plumed sum_hills` computes it.  `hills`: HILLS
    path(s), a Hills object or a RunOutputs.  Returns a FES (with `stride`, the list of FES after
    every `stride` hills, the last with all).

        >>> fes = nc.sum_hills("run/HILLS")                               # doctest: +SKIP
        >>> nc.plot_fes(fes).savefig("fes.png")                           # doctest: +SKIP
    """
    from nucleate.analysis.hills import Hills, auto_grid, read_hills
    from nucleate.analysis.hills import sum_hills as sum_on_grid

    if isinstance(hills, RunOutputs):
        hills = hills.hills
    elif not isinstance(hills, Hills):
        hills = read_hills([hills] if isinstance(hills, (str, Path)) else list(hills), units=input_units)
    surfaces = sum_on_grid(hills, auto_grid(hills, bins=bins, mins=mins, maxs=maxs), mintozero=mintozero,
                           stride=stride)
    return surfaces if stride else surfaces[-1]


@dataclass
class Reweighted:
    """A reweighted free-energy surface, its errors, and what the errors refer to.

    free, error: F and its one-standard-error block estimate on the grid (energy_unit; inf where
    no sample fell, error None without blocks); error_meaning: that statement in words; fes: the
    same as a FES (`.write(path)` records energy unit and kT); details: the estimator's full record
    (weights, bandwidth, sample sizes: nucleate.analysis.fes_estimate.ReweightResult)."""

    fes: "FES"
    temperature_K: float
    kt: float
    error_meaning: str
    details: "ReweightResult"

    @property
    def free(self) -> "np.ndarray":
        return self.fes.free

    @property
    def error(self) -> "np.ndarray | None":
        return self.fes.free_err

    @property
    def energy_unit(self) -> str:
        return self.fes.energy_unit

    @property
    def axes(self) -> list:
        """The grid's coordinates, one array per CV."""
        return self.fes.grid.axes()

    @property
    def n_effective(self) -> float:
        return self.details.n_effective

    @property
    def warning(self) -> str | None:
        return self.details.warning

    def write(self, path: str | Path) -> Path:
        return self.fes.write(path)

    def plot(self, ax=None, **options):
        """The FES (with its error band in 1D) drawn into `ax` or a new figure; returns the figure."""
        from nucleate.analysis.plot_fes import plot_fes

        return plot_fes(self.fes, ax=ax, **options)


def _error_meaning(result: "ReweightResult", blocks, kt: float, unit: str) -> str:
    if not result.n_blocks:
        return "no error: give blocks=K (K >= 2) for block-analysis errors"
    kind = "one block per walker" if blocks == "walkers" else f"{result.n_blocks} contiguous blocks in time"
    return (f"one standard error (1 sigma) of F at each grid point, from the spread of the estimates of "
            f"{kind} (effective number of blocks {result.blocks_effective:.3g}, weighted by their total weight), "
            f"propagated as kT sigma_P / P with kT = {kt:.6g} {unit}; F is defined up to a constant (shifted to "
            "a minimum of 0) and the error is that of -kT ln P(s) with P normalised over all samples, so it "
            "holds when each block is longer than the correlation time of the weighted samples")


def reweight(colvar, cvs: str | Sequence[str], bias: str | Sequence[str], *, temperature_K: float,
             skip: float = 0.0, tmin: float | None = None, hills=None, final_bias: bool = False,
             bins=None, mins=None, maxs=None, bandwidth="auto", blocks: int | str | None = 10,
             input_units: str | None = None, walkers: bool = False) -> Reweighted:
    """F(cvs) from biased samples, reweighted by exp((bias - c(t))/kT), with block errors.

    colvar: COLVAR path(s), a PlumedTable or a RunOutputs (with `walkers`: one COLVAR per walker of a
    multiple-walker run, each weighted by its own bias columns, which hold the bias all walkers share,
    and all samples put together in time order); cvs: one or two columns; bias: the bias
    column(s) acting on the run (LABEL.rbias, or LABEL.bias with its LABEL.rct, OPES and wall
    biases as they are); temperature_K: the simulation's temperature (kT in the COLVAR's energy
    unit follows); bandwidth: "auto" (Silverman on the Kish effective sample size), numbers per CV,
    or None for a histogram; blocks: K contiguous blocks for the error, "walkers", or None.

        >>> rw = nc.reweight("run/COLVAR", cvs="d", bias="metad.rbias", temperature_K=300)  # doctest: +SKIP
        >>> rw.free, rw.error, rw.error_meaning                                             # doctest: +SKIP
    """
    from nucleate.analysis.hills import Hills, read_hills
    from nucleate.analysis.plumed_files import PlumedTable
    from nucleate.analysis.fes_estimate import estimate_fes
    from nucleate.analysis.reweight import Reweighter
    from nucleate.analysis.weighted_samples import combine_walkers

    if walkers:
        sources = [colvar] if isinstance(colvar, (str, Path, PlumedTable)) else list(colvar)
        if len(sources) < 2:
            raise NucleateError("walkers=True needs two or more COLVAR files, one per walker")
        tables = [t if isinstance(t, PlumedTable) else read_colvar(t, input_units=input_units) for t in sources]
    else:
        tables = [colvar if isinstance(colvar, PlumedTable) else read_colvar(colvar, input_units=input_units)]
    table = tables[0]
    for other in tables[1:]:
        if not other.units.same_as(table.units):
            raise NucleateError(f"mixed units: {table.describe()} is in {table.units.energy}, {other.describe()} "
                                f"in {other.units.energy}")
    unit = table.units.energy
    kt = _kt(temperature_K, unit)
    if hills is not None and not isinstance(hills, Hills):
        hills = read_hills([hills] if isinstance(hills, (str, Path)) else list(hills), units=input_units)
    reweighters = [Reweighter(t, cvs, bias, kt, skip=skip, tmin=tmin, hills=hills,
                              method="final" if final_bias else "ct") for t in tables]
    samples = combine_walkers([r.weighted_samples() for r in reweighters])  # one run's samples as they are
    result = estimate_fes(samples, kt, unit, bins=bins, mins=mins, maxs=maxs, bandwidth=bandwidth, blocks=blocks,
                          time_unit=table.units.time,
                          meta={"bias": list(reweighters[0].bias), "skip": skip,
                                **({"walkers": len(tables)} if len(tables) > 1 else {})})
    if result.warning:
        log.warning("%s: %s", table.describe(), result.warning)
    return Reweighted(fes=result.fes, temperature_K=float(temperature_K), kt=kt,
                      error_meaning=_error_meaning(result, blocks, kt, unit), details=result)


def deltag(colvar, cvs: str | Sequence[str], bias: str | Sequence[str], *, reference, target,
           temperature_K: float, points: int = 20, blocks: int = 5, skip: float = 0.0, tmin: float | None = None,
           hills=None, input_units: str | None = None) -> "DeltaGSeries":
    """Delta G = G(target) - G(reference) from the reweighted samples up to each of `points` times,
    with a block error.  reference/target: "NAME=lo:hi" (one CV) or "NAME=lo:hi,lo:hi" (two CVs).

        >>> dg = nc.deltag("run/COLVAR", "s1", "metad.rbias", reference="D=0:1", target="A=2:3",
        ...                temperature_K=300)                                               # doctest: +SKIP
        >>> dg.delta_g[-1], dg.error[-1], dg.energy_unit                                    # doctest: +SKIP
    """
    from nucleate.analysis.basins import BasinRegion, delta_g_vs_time, parse_region
    from nucleate.analysis.hills import Hills, read_hills
    from nucleate.analysis.plumed_files import PlumedTable
    from nucleate.analysis.reweight import Reweighter

    table = colvar if isinstance(colvar, PlumedTable) else read_colvar(colvar, input_units=input_units)
    kt = _kt(temperature_K, table.units.energy)
    if hills is not None and not isinstance(hills, Hills):
        hills = read_hills([hills] if isinstance(hills, (str, Path)) else list(hills), units=input_units)
    reweighter = Reweighter(table, cvs, bias, kt, skip=skip, tmin=tmin, hills=hills)
    samples = reweighter.weighted_samples()
    regions = [r if isinstance(r, BasinRegion) else parse_region(r, len(reweighter.cvs)) for r in (reference, target)]
    return delta_g_vs_time(samples.values, samples.normalised_log_weights(), samples.times, regions[0], regions[1],
                           kt, table.units.energy, points=points, blocks=blocks)


def _fes_kt(fes: "FES", temperature_K: float | None) -> float:
    """kT for a FES: from the temperature given, else the one the surface records."""
    if temperature_K is not None:
        return _kt(temperature_K, fes.energy_unit)
    if fes.kt is None:
        raise NucleateError("this free-energy surface does not record kT: give temperature_K")
    return fes.kt


def _as_fes(fes) -> "FES":
    if isinstance(fes, Reweighted):
        return fes.fes
    if isinstance(fes, (str, Path)):
        return read_fes(fes)
    return fes


def basins(fes, *, temperature_K: float | None = None, max_free: float | None = None,
           radius: int = 2) -> list["Basin"]:
    """The basins of a FES (a FES, a Reweighted or a grid file): local minima lower than every point
    within `radius` grid steps, named A, B, ..., each with its basin free energy
    -kT ln(sum over its catchment of exp(-F/kT)).  kT from temperature_K, else the surface's own.

        >>> for b in nc.basins("fes2d.dat"): print(b.name, b.location, b.free_basin)      # doctest: +SKIP
    """
    from nucleate.analysis.basins import find_basins

    fes = _as_fes(fes)
    return find_basins(fes, kt=_fes_kt(fes, temperature_K), max_free=max_free, radius=radius)


def min_path(fes, start: "Basin | Sequence[int]", end: "Basin | Sequence[int]", *,
             temperature_K: float | None = None) -> "FreeEnergyPath":
    """The minimum free-energy path between two basins (or grid indices) of a FES, with its barrier.

        >>> found = {b.name: b for b in nc.basins(fes)}                                    # doctest: +SKIP
        >>> nc.min_path(fes, found["A"], found["D"]).barrier                               # doctest: +SKIP
    """
    from nucleate.analysis.basins import minimum_free_energy_path

    fes = _as_fes(fes)
    ends = [getattr(point, "index", point) for point in (start, end)]
    return minimum_free_energy_path(fes, ends[0], ends[1], kt=_fes_kt(fes, temperature_K))


def kde(run, pairs: Sequence[str] = (), angles: Sequence[str] = (), *, cutoffs: dict | None = None,
        bandwidths: dict | None = None, start: int | None = None, stop: int | None = None,
        step: int | None = None) -> dict[str, "KDEResult"]:
    """Kernel densities of bond distances (A) and bond angles (degrees) over a run's trajectory, by
    group names: pairs like "Ag-S", angles like "N-Ag-Ag" (vertex in the middle).  `run`: a run
    directory, a RunOutputs or a trajectory Run.  Returns {label: KDEResult} with grid, density,
    maxima.

        >>> found = nc.kde("run", pairs=["Ag-S"], angles=["S-Ag-S"])                      # doctest: +SKIP
        >>> found["Ag-S"].maxima                                                            # doctest: +SKIP
    """
    from nucleate.analysis.trajectory import structure_kde
    from nucleate.analysis.trajectory.io import Run, RunFiles

    if not pairs and not angles:
        raise NucleateError("nothing to estimate: give pairs (e.g. ['Ag-S']) and/or angles (e.g. ['S-Ag-S'])")
    if isinstance(run, RunOutputs):
        run = run.trajectory
    elif not isinstance(run, Run):
        run = Run(RunFiles.locate(run))
    return structure_kde(run, list(pairs), list(angles), cutoffs=cutoffs, bandwidths=bandwidths,
                         start=start, stop=stop, step=step)
