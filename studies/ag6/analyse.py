"""Analysis of each simulation: numbers (plain floats, units in the key names) and PNG figures.

Every function takes the run directory and a figure folder, and returns {"numbers": {...},
"figures": [relative paths], "notes": [...]}. A quantity the run did not reach is None, never a
made-up number; the report turns it into "not reached".
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.geometry import minimum_image, wrap
from nucleate.studies.ag6.plan import TEMPERATURE_K, TIMESTEP_FS
from nucleate.studies.ag6.published import STUDY_KDE_MAXIMA

MONOMERS_S1_MAX = 1.0   # state D: s1 <= 1 (no Ag-Ag or Ag-N contact formed)
DIMER_S1_MIN = 2.0      # state A (and B, C): s1 >= 2 (the Ag2N2 ring mostly closed)
AG_CLUSTER_CUTOFF_A = 3.5


def _finite(value) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _note_figure(path: Path, text: str) -> Path:
    """A placeholder figure that says why the real one could not be drawn (a short run, a failed one)."""
    from nucleate.analysis.plot_traj import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 2.5))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- biased runs
def _colvar(rundirs: list[Path]):
    """The COLVAR of the run, or of each of its walkers (units from the manifests), and k_B T in their
    energy unit."""
    from nucleate.analysis.plumed_files import read_plumed
    from nucleate.analysis.reweight import kt_from

    tables = [read_plumed([rundir / "COLVAR"]) for rundir in rundirs]
    for table in tables[1:]:
        if not table.units.same_as(tables[0].units):
            raise NucleateError(f"the walkers' COLVAR files differ in units: {tables[0].describe()}, {table.describe()}")
    return tables, kt_from(TEMPERATURE_K, None, tables[0].units.energy)


class _Reweighted:
    """The weighted samples of one biased simulation on some of its CVs: of its one run, or of all its
    walkers together in time order (each walker weighted by its own bias columns, which hold the bias the
    walkers share), with the few queries the analyses ask."""

    def __init__(self, tables, cvs: list[str], kt: float):
        from nucleate.analysis.reweight import Reweighter
        from nucleate.analysis.weighted_samples import combine_walkers

        # every bias acting on the run: WT-MetaD (minus c(t), from its rct column), walls, restraint
        biases = [f for f in tables[0].fields if f.endswith(".bias")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # walls and restraints are static: no c(t), as intended
            parts = [Reweighter(table, cvs, biases, kt).weighted_samples() for table in tables]
        self.weighted = combine_walkers(parts)
        self.kt, self.unit, self.time_unit = kt, tables[0].units.energy, tables[0].units.time

    def samples(self) -> np.ndarray:
        return self.weighted.values

    def times(self) -> np.ndarray:
        return self.weighted.times

    def log_weights(self) -> np.ndarray:
        return self.weighted.normalised_log_weights()

    def run(self, *, bins, blocks=None):
        from nucleate.analysis.fes_estimate import estimate_fes

        return estimate_fes(self.weighted, self.kt, self.unit, bins=bins, blocks=blocks, time_unit=self.time_unit)


def _reweighter(tables, cvs: list[str], kt: float) -> _Reweighted:
    return _Reweighted(tables, cvs, kt)


def _fes_2d(reweighter, bins: int = 60):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reweighter.run(bins=[bins, bins]).fes


def _fes_1d_blocks(tables, cv: str, kt: float, blocks: int = 5):
    """F(cv) with block-averaged errors; fewer blocks when one block holds nearly all the weight
    (a short WT-MetaD run), none as a last resort. Returns (FES, blocks used)."""
    reweighter = _reweighter(tables, [cv], kt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(min(blocks, len(reweighter.samples()) // 2), 1, -1):
            try:
                return reweighter.run(bins=[50], blocks=k).fes, k
            except NucleateError:
                continue
        return reweighter.run(bins=[50]).fes, 0


def _basins_and_path(fes, kt: float, start_point, end_rule):
    """Basins of a 2D FES and the minimum free-energy path from the basin nearest `start_point`
    to the basin chosen by end_rule(basins)."""
    from nucleate.analysis.basins import find_basins, minimum_free_energy_path

    basins = find_basins(fes, kt=kt)
    if not basins:
        return basins, None, None, None
    start = min(basins, key=lambda b: float(np.hypot(*(np.subtract(b.location, start_point) / _spans(fes)))))
    end = end_rule(basins)
    path = None
    if end is not start:
        try:
            path = minimum_free_energy_path(fes, start.index, end.index, kt=kt)
        except NucleateError:
            path = None  # unvisited grid points separate the basins: a short run
    return basins, start, end, path


def _spans(fes) -> np.ndarray:
    return np.array([max(hi - lo, 1e-12) for lo, hi in zip(fes.grid.mins, fes.grid.maxs)])


def monomer_dimer(rundir: Path, figures: Path, walkers: list[Path] | None = None) -> dict:
    """(s1, s2) FES, states D (monomers) and A (dimer), Delta G(A - D) against time, the barrier along
    the minimum free-energy path, and the Ag1-Ag2 distance in each state; from all `walkers` (their run
    directories) when the simulation ran as several."""
    from nucleate.analysis.basins import BasinRegion, delta_g_vs_time
    from nucleate.analysis.plot_fes import plot_delta_g, plot_fes_1d, plot_fes_2d

    rundirs = walkers or [rundir]
    tables, kt = _colvar(rundirs)
    reweighter = _reweighter(tables, ["s1", "s2"], kt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logw = reweighter.log_weights()
    samples, times_fs = reweighter.samples(), reweighter.times()
    fes = _fes_2d(reweighter)
    basins, start, end, path = _basins_and_path(fes, kt, samples[0], lambda bs: max(bs, key=lambda b: b.location[0]))
    out_figs = [plot_fes_2d(fes, figures / "fes_s1_s2.png", basins=basins,
                            path_points=path.points if path else None, title="monomer -> dimer: F(s1, s2)")]
    fes1, blocks = _fes_1d_blocks(tables, "s1", kt)
    out_figs.append(plot_fes_1d(fes1, figures / "fes_s1_blocks.png",
                                title=f"F(s1), errors from {blocks} blocks" if blocks else "F(s1), too few samples for block errors"))
    numbers = {"samples": int(len(samples)), "s1_max_visited": float(samples[:, 0].max()),
               "kT_kcal_per_mol": kt, "basins": len(basins), "walkers": len(rundirs)}
    in_d, in_a = samples[:, 0] <= MONOMERS_S1_MAX, samples[:, 0] >= DIMER_S1_MIN
    numbers["frames_in_D"], numbers["frames_in_A"] = int(in_d.sum()), int(in_a.sum())
    reference = BasinRegion("D", ((-np.inf, MONOMERS_S1_MAX), (-np.inf, np.inf)))
    target = BasinRegion("A", ((DIMER_S1_MIN, np.inf), (-np.inf, np.inf)))
    numbers["delta_g_A_minus_D_kcal"] = numbers["delta_g_A_minus_D_err_kcal"] = None
    try:
        series = delta_g_vs_time(samples, logw, times_fs * 1e-3, reference, target, kt, reweighter.unit)
        out_figs.append(plot_delta_g(series, figures / "delta_g_vs_time.png", time_unit="ps",
                                     title="G(dimer, s1>=2) - G(monomers, s1<=1)"))
        numbers["delta_g_A_minus_D_kcal"] = _finite(series.delta_g[-1])
        numbers["delta_g_A_minus_D_err_kcal"] = _finite(series.error[-1])
    except NucleateError as exc:
        out_figs.append(_note_figure(figures / "delta_g_vs_time.png", f"Delta G(t) not available:\n{exc}"))
    numbers["barrier_D_to_A_kcal"] = None
    if path is not None and start.location[0] <= MONOMERS_S1_MAX and end.location[0] >= DIMER_S1_MIN:
        numbers["barrier_D_to_A_kcal"] = float(path.barrier)
    distances, states, weights = [], [], []
    for k, (walker_dir, table) in enumerate(zip(rundirs, tables)):
        # each walker's frames with its own samples' weights, on the scale all walkers share
        mine = reweighter.weighted.walkers == k if len(rundirs) > 1 else slice(None)
        frames = _ag_ag_frames(walker_dir, table, logw[mine])
        for collected, part in zip((distances, states, weights), frames):
            collected += part
    numbers.update(state_means(np.array(distances), np.array(states), np.array(weights)))
    return {"numbers": numbers, "figures": out_figs}


def _ag_ag_frames(rundir: Path, table, logw) -> tuple[list, list, list]:
    """Ag1-Ag2 distance (A), s1 and log-weight of each dump frame that shares a step with a COLVAR row
    (`logw`: one per COLVAR row, in the file's order)."""
    from nucleate.analysis.trajectory.io import Run, RunFiles

    run = Run(RunFiles.locate(rundir))
    a1, a2 = run.ids("mol1_Ag")[0] - 1, run.ids("mol2_Ag")[0] - 1
    steps = run.scan.steps
    colvar_steps = np.rint(table.column("time") / TIMESTEP_FS).astype(np.int64)  # time in fs (UNITS TIME=fs)
    s1 = table.column("s1")
    row_of = {int(s): k for k, s in enumerate(colvar_steps)}
    distances, states, weights = [], [], []
    universe = run.universe
    for frame, step in enumerate(steps):
        k = row_of.get(int(step))
        if k is None:
            continue
        ts = universe.trajectory[frame]
        d = minimum_image(ts.positions[a1] - ts.positions[a2], ts.dimensions[:3])
        distances.append(float(np.linalg.norm(d)))
        states.append(s1[k])
        weights.append(logw[k])
    return distances, states, weights


def state_means(distances: np.ndarray, s1: np.ndarray, logw: np.ndarray) -> dict:
    """Reweighted mean distance in D (s1 <= 1) and in A/B/C (s1 >= 2); None for an unvisited state."""
    out = {"ag1_ag2_A_in_D": None, "ag1_ag2_A_in_A": None}
    for key, mask in (("ag1_ag2_A_in_D", s1 <= MONOMERS_S1_MAX), ("ag1_ag2_A_in_A", s1 >= DIMER_S1_MIN)):
        if mask.any():
            # normalised within the state: a huge bias elsewhere (a wall) must not underflow every weight here
            out[key] = float(np.average(distances[mask], weights=np.exp(logw[mask] - logw[mask].max())))
    return out


def dimer_octahedral(rundir: Path, figures: Path, walkers: list[Path] | None = None) -> dict:
    """(s3, s4) FES, basins, minimum free-energy path from the dispersed start to the most aggregated
    basin, and whether the path is L-shaped (the solvent leaves before the dimers reorganise); from all
    `walkers` when the simulation ran as several."""
    from nucleate.analysis.plot_fes import plot_fes_2d

    tables, kt = _colvar(walkers or [rundir])
    reweighter = _reweighter(tables, ["s3", "s4"], kt)
    samples = reweighter.samples()
    fes = _fes_2d(reweighter)
    basins, start, end, path = _basins_and_path(fes, kt, samples[0], lambda bs: max(bs, key=lambda b: b.location[0]))
    figs = [plot_fes_2d(fes, figures / "fes_s3_s4.png", basins=basins, path_points=path.points if path else None,
                        title="dimers -> octahedron: F(s3, s4)")]
    numbers = {"samples": int(len(samples)), "s3_start": float(samples[0, 0]), "s4_start": float(samples[0, 1]),
               "s3_max_visited": float(samples[:, 0].max()), "s4_min_visited": float(samples[:, 1].min()),
               "basins": len(basins), "walkers": len(walkers or [rundir]),
               "delta_g_end_minus_start_kcal": None, "barrier_kcal": None,
               "drying_done_at_half_reorganisation": None}
    if path is not None:
        numbers["delta_g_end_minus_start_kcal"] = float(end.free_basin - start.free_basin)
        numbers["barrier_kcal"] = float(path.barrier)
        numbers["drying_done_at_half_reorganisation"] = _drying_first(path.points)
    return {"numbers": numbers, "figures": figs}


def _drying_first(points: np.ndarray) -> float | None:
    """Fraction of the path's s4 drop already done where s3 has made half of its rise (1 = L-shaped,
    solvent out first; about 0.5 = diagonal; 0 = reorganisation first)."""
    s3, s4 = points[:, 0], points[:, 1]
    rise, drop = s3[-1] - s3[0], s4[0] - s4[-1]
    if rise <= 0 or drop <= 0:
        return None
    k = int(np.argmax(s3 - s3[0] >= 0.5 * rise))
    return float(np.clip((s4[0] - s4[: k + 1].min()) / drop, 0.0, 1.0))


# --------------------------------------------------------------------------- unbiased runs
def ag6l6(rundir: Path, figures: Path) -> dict:
    """KDE of the study's distances and angles, and how often the Ag6 core is a complete octahedron."""
    from nucleate.analysis.plot_traj import plot_kde_panels
    from nucleate.analysis.trajectory import nuclei, structure_kde
    from nucleate.analysis.trajectory.io import Run, RunFiles

    run = Run(RunFiles.locate(rundir))
    kdes = structure_kde(run)
    figs = [plot_kde_panels(kdes, figures / "kde_ag6l6", references=STUDY_KDE_MAXIMA)[0]]
    found = nuclei(run, "Ag", cutoff=AG_CLUSTER_CUTOFF_A)
    numbers = {"frames": int(run.n_frames), "kde_maxima": {k: [float(m) for m in r.maxima] for k, r in kdes.items()},
               "octahedral_fraction": float(np.mean(found.n_octahedra >= 1)),
               "largest_ag_cluster_last_frame": int(found.largest[-1])}
    return {"numbers": numbers, "figures": figs}


def dimers30(rundir: Path, figures: Path) -> dict:
    """Nuclei against time (largest cluster, complete octahedra), the Ag-Ag coordination number, and the
    Ag and methanol-O coordination around the nucleation point (Ag centre of the final largest nucleus)."""
    from nucleate.analysis.plot_traj import plot_nuclei, plot_time_series
    from nucleate.analysis.switching import RationalSwitch
    from nucleate.analysis.trajectory import coordination_series, nuclei
    from nucleate.analysis.trajectory.io import Run, RunFiles

    run = Run(RunFiles.locate(rundir))
    found = nuclei(run, "Ag", cutoff=AG_CLUSTER_CUTOFF_A)
    times = found.times
    figs = [plot_nuclei(found, "ps", figures / "nuclei_dimers30")[0]]
    point = _nucleation_point(run)
    point_text = ",".join(f"{v:.4f}" for v in point)
    ag_ag = coordination_series(run, "Ag", RationalSwitch(r0=3.25, nn=6, mm=8))
    ag_c = coordination_series(run, "Ag", RationalSwitch(r0=3.0, nn=6, mm=8), point=point_text)
    solvent_c = coordination_series(run, "solvent_O", RationalSwitch(r0=3.0, nn=6, mm=10), point=point_text)
    figs.append(plot_time_series(times, {"Ag-Ag CN (all Ag)": ag_ag.cn, "Ag - c": ag_c.cn,
                                         "methanol O - c": solvent_c.cn}, "CN", "ps",
                                 figures / "coordination_dimers30")[0])
    first = np.flatnonzero(found.n_octahedra >= 1)
    numbers = {"frames": int(run.n_frames), "length_ps": float(times[-1]) if len(times) else 0.0,
               "first_octahedron_ps": float(times[first[0]]) if len(first) else None,
               "octahedra_last_frame": int(found.n_octahedra[-1]),
               "largest_cluster_last_frame": int(found.largest[-1]),
               "ag_ag_cn_first": float(ag_ag.cn[0]), "ag_ag_cn_last": float(ag_ag.cn[-1]),
               "ag_c_first": float(ag_c.cn[0]), "ag_c_last": float(ag_c.cn[-1]),
               "solvent_c_first": float(solvent_c.cn[0]), "solvent_c_last": float(solvent_c.cn[-1]),
               "nucleation_point_A": [float(v) for v in point]}
    return {"numbers": numbers, "figures": figs}


def _nucleation_point(run) -> np.ndarray:
    """Centre (A, minimum image) of the Ag atoms of the largest Ag cluster in the last frame."""
    from MDAnalysis.lib.distances import distance_array

    from nucleate.analysis.trajectory.clusters import contact_clusters

    silver = run.atoms("Ag")
    ts = run.universe.trajectory[-1]
    x = silver.positions.astype(float)
    cluster = contact_clusters(distance_array(x, x, box=ts.dimensions), AG_CLUSTER_CUTOFF_A)[0]
    box = ts.dimensions[:3].astype(float)
    ref = x[cluster[0]]
    return wrap(ref + minimum_image(x[cluster] - ref, box).mean(axis=0), box)


def methanol_integrity(*rundirs: Path) -> dict:
    """Whether the model kept the solvent chemically intact: per frame, methanol bonds past their limit
    (C-H 1.5, C-O 1.8, O-H 1.3 A) and hydroxyl H nearer to a foreign O. A run that breaks methanol
    measures the model's failure, not the study's chemistry; the report says so next to its numbers.
    Several run directories (the walkers of one simulation) are counted together; the first damage is
    the earliest in any of them."""
    from nucleate.analysis.trajectory.io import read_dump_frames, scan_dump
    from nucleate.studies.ag6.training.evaluate import methanol_damage_by_frame
    from nucleate.studies.ag6.training.sampling import read_box

    totals = {"frames": 0, "broken_bonds": 0, "foreign_o_protons": 0, "first_damage_ps": None}
    for rundir in rundirs:
        box = read_box(rundir / "system.data", rundir / "groups.json")
        scan = scan_dump(rundir / "traj.lammpstrj")
        frames, dims = read_dump_frames(scan)
        broken, scrambled = methanol_damage_by_frame(frames.astype(float), dims[:, :3], box.elements, box.molecules,
                                                     box.solvent)
        damaged = np.flatnonzero(broken + scrambled)
        totals["frames"] += int(len(frames))
        totals["broken_bonds"] += int(broken.sum())
        totals["foreign_o_protons"] += int(scrambled.sum())
        if len(damaged):
            first = float(scan.steps[damaged[0]] * TIMESTEP_FS * 1e-3)
            earlier = totals["first_damage_ps"]
            totals["first_damage_ps"] = first if earlier is None else min(first, earlier)
    return totals


ANALYSES = {"ag6l6": ag6l6, "monomer_dimer": monomer_dimer, "dimer_octahedral": dimer_octahedral,
            "dimers30": dimers30}
