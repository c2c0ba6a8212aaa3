"""Analysis benchmarks, timed as a user runs them (whole commands, in fresh processes).

1. 2D FES from 1e5 hills on a 200x200 grid: `nucleate fes` vs `plumed sum_hills`, same file.
2. Reweighted Gaussian KDE of a 1e6-row COLVAR with block errors, 1D (100 bins, 5 blocks) and 2D
   (50x50 bins, 5 blocks): `nucleate reweight --bandwidth` vs FES_from_Reweighting.py (the OPES
   tutorial script, ../shared/reference/peer-tools), same file, same bandwidth; the 2D reference
   runs once (it takes minutes).
3. `nucleate reweight` of a 1e6-row COLVAR to a 2D histogram with 10 blocks (issue 4's target < 3 s).
4. Reading a 1e6-row COLVAR: nucleate's reader vs `plumed.read_as_pandas`.
5. The in-process kernel sums alone (no start-up, no reading): nucleate's kernel_density vs the
   peer script's loop over grid points (np.logaddexp.reduce per point), 1D, 1e6 samples.

Each command runs --repeat times (alternating with its reference); the best wall and CPU times
are reported, CPU time being the one to trust on a loaded machine.  Python writes the bytecode of
nucleate's modules on the first run even when PYTHONDONTWRITEBYTECODE is set here, as an installed
package has it: otherwise every run would compile the modules edited since their bytecode was written.

Usage: python benchmarks/bench_analysis.py [--hills N] [--rows N] [--repeat N] [--keep DIR] [--skip-2d-peer]
       [--only fes kde1d kde2d histogram read sums]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nucleate.runtime import plumed_cli

PEER = Path(__file__).resolve().parents[2] / "shared" / "reference" / "peer-tools" / "FES_from_Reweighting.py"


def write_hills(path: Path, n: int, seed: int = 0) -> None:
    """A well-tempered 2D HILLS file in PLUMED's format (a random walk's hills)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.05, size=(n, 2)), axis=0)
    walk = np.mod(walk + 3, 6) - 3  # keep it in [-3, 3) so the grid is not mostly empty
    height = 1.2 * 8 / 7 * np.exp(-np.arange(n) / n)
    with path.open("w") as handle:
        handle.write("#! FIELDS time s1 s2 sigma_s1 sigma_s2 height biasf\n#! SET multivariate false\n"
                     "#! SET kerneltype stretched-gaussian\n")
        np.savetxt(handle, np.column_stack([np.arange(1, n + 1) * 0.2, walk, np.full(n, 0.1), np.full(n, 0.1),
                                            height, np.full(n, 8.0)]), fmt="%.10g")


def write_colvar(path: Path, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, 2))
    bias = 0.5 * (s ** 2).sum(axis=1)
    with path.open("w") as handle:
        handle.write("#! FIELDS time s1 s2 d1 d2 metad.bias metad.rbias metad.rct\n")
        np.savetxt(handle, np.column_stack([np.arange(n) * 0.1, s, rng.random((n, 2)), bias, bias - 1.0,
                                            np.ones(n)]), fmt=" %.6f", delimiter="")  # PLUMED writes " %f" per value


def timed_once(cmd, env=None, cwd=None) -> tuple[float, float]:
    """(wall s, CPU s) of one run; CPU time (user + sys of the child) barely moves with the load
    of a shared machine, wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{done.stderr[-2000:]}")
    return elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def timed_pair(ours, theirs, repeat: int, env=None, cwd=None, their_repeat: int | None = None):
    """Best-of-`repeat` (wall, CPU) for two commands run alternately, so both see the same load."""
    runs = {"ours": [], "theirs": []}
    their_repeat = repeat if their_repeat is None else their_repeat
    for number in range(repeat):
        runs["ours"].append(timed_once(ours, cwd=cwd))
        if theirs is not None and number < their_repeat:
            runs["theirs"].append(timed_once(theirs, env=env, cwd=cwd))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) if v else None for k, v in runs.items()}
    return best["ours"], best["theirs"]


def peer_pair(nucleate, colvar: Path, work: Path, cvs: str, sigma: str, bins: str, repeat: int,
              their_repeat: int) -> tuple:
    """`nucleate reweight` and FES_from_Reweighting.py on the same KDE; (ours, theirs, max |dF|)."""
    ours_out, their_out = work / f"rew_{cvs}.dat", work / f"peer_{cvs}.dat"
    ours = nucleate + ["reweight", str(colvar), "--cv", cvs, "--bias", "metad.rbias", "--kt", "2.494",
                       "--bandwidth", sigma, "--bin", bins, "--blocks", "5", "--no-plot", "-o", str(ours_out)]
    theirs = [sys.executable, str(PEER), f"--colvar={colvar}", f"--cv={cvs}", "--bias=metad.rbias", "--kt=2.494",
              f"--sigma={sigma}", f"--bin={bins}", "--blocks=5", f"--outfile={their_out}"]
    mine, ref = timed_pair(ours, theirs if their_repeat else None, repeat, their_repeat=their_repeat)
    if not their_repeat:
        return mine, None, "reference skipped"
    from nucleate.analysis.fes_grid import read_grid

    grid, values = read_grid(ours_out)
    theirs = np.loadtxt(their_out)
    # the script's rows carry their own coordinates (its 2D loop is transposed): match them to our points
    index = tuple(np.rint((theirs[:, k] - grid.mins[k]) / grid.spacing[k]).astype(int) for k in range(grid.ndim))
    return mine, ref, f"max |dF| {np.abs(values['free'][index] - theirs[:, grid.ndim]).max():.1e}"


def kernel_sums_alone(rows: int) -> tuple[float, float]:
    """Seconds for the 1D kernel sum of `rows` samples on 101 points: nucleate vs the peer's loop."""
    from nucleate.analysis.fes_grid import GridSpec
    from nucleate.analysis.kernel_density import kernel_density

    rng = np.random.default_rng(2)
    x, logw = rng.normal(size=rows), rng.normal(size=rows)
    grid = GridSpec(("x",), (-4.0,), (4.0,), (100,), (False,))
    start = time.process_time()
    kernel_density(grid, x[:, None], np.exp(logw - logw.max()), [0.1])
    ours = time.process_time() - start
    start = time.process_time()
    for point in grid.axis(0):  # FES_from_Reweighting.py's calcFESpoint
        distance = (point - x) / 0.1
        np.logaddexp.reduce(logw - 0.5 * distance * distance)
    return ours, time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hills", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the best is reported")
    parser.add_argument("--skip-2d-peer", action="store_true", help="do not run FES_from_Reweighting.py in 2D "
                        "(minutes per run)")
    parts = ["fes", "kde1d", "kde2d", "histogram", "read", "sums"]
    parser.add_argument("--only", nargs="+", choices=parts, default=parts, help="run these benchmarks only")
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # the commands below inherit it
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_analysis_"))
    work.mkdir(parents=True, exist_ok=True)
    nucleate = [sys.executable, "-m", "nucleate.cli"]
    plumed, env = plumed_cli()
    rows = []

    if "fes" in args.only:
        hills = work / "HILLS"
        write_hills(hills, args.hills)
        grid = ["--min", "-3.5,-3.5", "--max", "3.5,3.5", "--bin", "199,199"]  # 200 x 200 points
        ours, theirs = timed_pair(nucleate + ["fes", str(hills), *grid, "--no-plot", "-o", str(work / "fes.dat")],
                                  plumed + ["sum_hills", "--hills", str(hills), *grid, "--outfile",
                                            str(work / "plumed_fes.dat")], args.repeat, env=env, cwd=work)
        a = np.loadtxt(work / "fes.dat")[:, 2]
        b = np.loadtxt(work / "plumed_fes.dat")[:, 2]
        rows.append((f"2D FES, {args.hills:.0e} hills, 200x200", ours, theirs,
                     f"max |diff| {np.abs(a - b).max():.1e}"))

    colvar = work / "COLVAR"
    if {"kde1d", "kde2d", "histogram", "read"} & set(args.only):
        write_colvar(colvar, args.rows)
    if PEER.exists() and "kde1d" in args.only:
        ours, theirs, note = peer_pair(nucleate, colvar, work, "s1", "0.1", "100", args.repeat, args.repeat)
        rows.append((f"KDE reweight {args.rows:.0e} rows, 1D, 5 blocks", ours, theirs, f"peer script; {note}"))
    if PEER.exists() and "kde2d" in args.only:
        ours, theirs, note = peer_pair(nucleate, colvar, work, "s1,s2", "0.1,0.1", "50,50", args.repeat,
                                       0 if args.skip_2d_peer else 1)
        rows.append((f"KDE reweight {args.rows:.0e} rows, 2D 51x51, 5 blocks", ours, theirs, f"peer script; {note}"))
    if "histogram" in args.only:
        ours, _ = timed_pair(nucleate + ["reweight", str(colvar), "--cv", "s1,s2", "--bias", "metad.bias", "--kt",
                                         "2.494", "--histogram", "--bin", "100,100", "--blocks", "10", "-o",
                                         str(work / "rew.dat")], None, args.repeat)
        rows.append((f"reweight {args.rows:.0e} rows, 2D histogram, 10 blocks (+PNG)", ours, None, "target < 3 s"))

    if "read" in args.only:
        read_ours = ("from nucleate.analysis.plumed_files import read_plumed; "
                     f"t = read_plumed({str(colvar)!r}); print(len(t))")
        read_theirs = ("import plumed; "
                       f"d = plumed.read_as_pandas({str(colvar)!r}); print(len(d))")
        ours, theirs = timed_pair([sys.executable, "-c", read_ours], [sys.executable, "-c", read_theirs],
                                  args.repeat)
        rows.append((f"read {args.rows:.0e}-row COLVAR (8 columns)", ours, theirs, "plumed.read_as_pandas"))

    if "sums" in args.only:
        ours_cpu, theirs_cpu = kernel_sums_alone(args.rows)
        rows.append((f"1D kernel sums alone, {args.rows:.0e} samples, in process", (ours_cpu, ours_cpu),
                     (theirs_cpu, theirs_cpu), "CPU s; peer's logaddexp loop"))

    print(f"best of {args.repeat}; wall s (CPU s); load average {Path('/proc/loadavg').read_text().split()[0]}")
    print(f"{'benchmark':48s} {'nucleate':>14s} {'reference':>15s} {'speed-up':>15s}  note")
    for name, mine, ref, note in rows:
        speed = f"{ref[0] / mine[0]:6.1f}x ({ref[1] / mine[1]:5.1f}x)" if ref else f"{'':15s}"
        ref_text = f"{ref[0]:7.2f} ({ref[1]:5.2f})" if ref else f"{'':15s}"
        print(f"{name:48s} {mine[0]:6.2f} ({mine[1]:5.2f}) {ref_text} {speed}  {note}")
    print(f"(files in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
