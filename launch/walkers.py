"""Multiple-walker WT-MetaD: one rendered run directory's PLUMED input made into walker k of N.

PLUMED's METAD shares hills between independent processes through files (WALKERS_N, WALKERS_ID,
WALKERS_DIR, WALKERS_RSTRIDE): walker k writes `WALKERS_DIR/FILE.k` and reads the others' files
every RSTRIDE steps.  Two rules make that safe across walltime-chained jobs:

* every walker runs with PLUMED's RESTART from its first step, so no walker ever backs up (renames)
  its hills file while the others hold it open, and a restarting walker finds every file;
* every walker's file exists before any walker starts (empty: PLUMED reads an empty hills file
  as no hills), so a walker that restarts before another one has started is not refused.

OPES shares its bias between walkers only through MPI (WALKERS_MPI, one MPI job), which the
in-process engine cannot provide: such inputs are refused.
"""

from __future__ import annotations

from pathlib import Path

from nucleate.engine import rundir as rd
from nucleate.engine.plumed_input import keyword, logical_lines
from nucleate.errors import NucleateError

_OPES = {"OPES_METAD", "OPES_METAD_EXPLORE", "OPES_EXPANDED"}


def make_walker(run: rd.RunDirectory, *, walker: int, walkers: int, hills_dir: Path,
                walkers_dir: str | None = None) -> Path:
    """Rewrite run/plumed.dat for walker `walker` of `walkers`; returns this walker's hills file.
    `hills_dir` is made to hold every walker's (empty) file; `walkers_dir` is the folder PLUMED is told
    (WALKERS_DIR) when the jobs see that folder elsewhere, e.g. its copy on an SSH host."""
    path = run / rd.PLUMED
    if not path.is_file():
        raise NucleateError(f"{run.path}: --walkers needs a PLUMED input with METAD (the run has no plumed.dat)")
    text = path.read_text()
    lines = logical_lines(text)
    if any(line.action in _OPES for line in lines):
        raise NucleateError(f"{path}: OPES walkers share their bias only through MPI (WALKERS_MPI in one MPI job), "
                            "which the in-process engine cannot run; use WT-MetaD (METAD) for --walkers")
    metad = [line for line in lines if line.action == "METAD"]
    if len(metad) != 1:
        raise NucleateError(f"{path}: --walkers needs exactly one METAD action, found {len(metad)}")
    line = metad[0]
    if keyword(line, "WALKERS_N") or "WALKERS_MPI" in line.text.split():
        raise NucleateError(f"{path}, line {line.lineno}: METAD already sets up walkers; give a single-walker input")
    hills = keyword(line, "FILE") or "HILLS"
    stride = keyword(line, "PACE") or "1"
    words = (f"WALKERS_N={walkers} WALKERS_ID={walker} WALKERS_DIR={walkers_dir or hills_dir} "
             f"WALKERS_RSTRIDE={stride}")
    physical = text.split("\n")
    first = physical[line.lineno - 1]
    body, hash_, comment = first.partition("#")
    body = body.rstrip()
    if body.endswith("..."):  # a continuation block: the keywords go before its opening dots
        body = f"{body[:-3].rstrip()} {words} ..."
    else:
        body = f"{body} {words}"
    physical[line.lineno - 1] = body + (f" {hash_}{comment}" if hash_ else "")
    restart = [] if any(ln.action == "RESTART" for ln in lines) else [
        "# multiple walkers: every walker appends to its own hills file from the start (see nucleate.launch.walkers)",
        "RESTART"]
    path.write_text("\n".join(restart + physical))
    _rehash(run)
    own = hills_dir / f"{hills}.{walker}"
    for k in range(walkers):
        (hills_dir / f"{hills}.{k}").touch(exist_ok=True)
    return own


def _rehash(run: rd.RunDirectory) -> None:
    manifest = run.manifest()
    manifest.setdefault("input_hashes", {})[rd.PLUMED] = rd.sha256(run / rd.PLUMED)
    run.write_manifest(manifest)
