"""Analysis benchmarks, timed as a user runs them (whole commands, in fresh processes).

1. 2D FES from 1e5 hills on a 200x200 grid: `nucleate fes` vs `plumed sum_hills`, same file.
2. `nucleate reweight` of a 1e6-row COLVAR to a 2D FES with 10 blocks (target < 3 s).
3. Reading a 1e6-row COLVAR: nucleate's reader vs `plumed.read_as_pandas`.

Each command runs --repeat times (alternating with its reference); the best wall and CPU times
are reported, CPU time being the one to trust on a loaded machine.

Usage: python benchmarks/bench_analysis.py [--hills N] [--rows N] [--repeat N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nucleate.runtime import plumed_cli


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


def timed_pair(ours, theirs, repeat: int, env=None, cwd=None):
    """Best-of-`repeat` (wall, CPU) for two commands run alternately, so both see the same load."""
    runs = {"ours": [], "theirs": []}
    for _ in range(repeat):
        runs["ours"].append(timed_once(ours, cwd=cwd))
        if theirs is not None:
            runs["theirs"].append(timed_once(theirs, env=env, cwd=cwd))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) if v else None for k, v in runs.items()}
    return best["ours"], best["theirs"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hills", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command; the best is reported")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_analysis_"))
    work.mkdir(parents=True, exist_ok=True)
    nucleate = [sys.executable, "-m", "nucleate.cli"]
    plumed, env = plumed_cli()
    rows = []

    hills = work / "HILLS"
    write_hills(hills, args.hills)
    grid = ["--min", "-3.5,-3.5", "--max", "3.5,3.5", "--bin", "199,199"]  # 200 x 200 points
    ours, theirs = timed_pair(nucleate + ["fes", str(hills), *grid, "--no-plot", "-o", str(work / "fes.dat")],
                              plumed + ["sum_hills", "--hills", str(hills), *grid, "--outfile",
                                        str(work / "plumed_fes.dat")], args.repeat, env=env, cwd=work)
    a = np.loadtxt(work / "fes.dat")[:, 2]
    b = np.loadtxt(work / "plumed_fes.dat")[:, 2]
    rows.append((f"2D FES, {args.hills:.0e} hills, 200x200", ours, theirs, f"max |diff| {np.abs(a - b).max():.1e}"))

    colvar = work / "COLVAR"
    write_colvar(colvar, args.rows)
    ours, _ = timed_pair(nucleate + ["reweight", str(colvar), "--cv", "s1,s2", "--bias", "metad.bias", "--kt", "2.494",
                                     "--bin", "100,100", "--blocks", "10", "-o", str(work / "rew.dat")], None,
                         args.repeat)
    rows.append((f"reweight {args.rows:.0e} rows, 2D, 10 blocks (+PNG)", ours, None, "target < 3 s"))

    read_ours = ("from nucleate.analysis.plumed_files import read_plumed; "
                 f"t = read_plumed({str(colvar)!r}); print(len(t))")
    read_theirs = ("import plumed; "
                   f"d = plumed.read_as_pandas({str(colvar)!r}); print(len(d))")
    ours, theirs = timed_pair([sys.executable, "-c", read_ours], [sys.executable, "-c", read_theirs], args.repeat)
    rows.append((f"read {args.rows:.0e}-row COLVAR (8 columns)", ours, theirs, "plumed.read_as_pandas"))

    print(f"best of {args.repeat}; wall s (CPU s); load average {Path('/proc/loadavg').read_text().split()[0]}")
    print(f"{'benchmark':44s} {'nucleate':>13s} {'reference':>13s} {'speed-up':>9s}  note")
    for name, mine, ref, note in rows:
        speed = f"{ref[0] / mine[0]:8.2f}x" if ref else f"{'':9s}"
        ref_text = f"{ref[0]:6.2f} ({ref[1]:4.2f})" if ref else f"{'':13s}"
        print(f"{name:44s} {mine[0]:6.2f} ({mine[1]:4.2f}) {ref_text} {speed}  {note}")
    print(f"(files in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
