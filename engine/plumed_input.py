"""Light reading of a PLUMED input without running PLUMED: logical lines, UNITS, output files,
and the checks that must fail before a run starts (e.g. a bias without TEMP)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nucleate.errors import NucleateError
from nucleate.units import PLUMED_DEFAULT_UNITS

# Actions that need k_B T; LAMMPS's fix plumed does not pass the temperature to PLUMED.
_NEEDS_TEMP = {"METAD", "OPES_METAD", "OPES_METAD_EXPLORE", "OPES_EXPANDED", "PBMETAD", "REWEIGHT_BIAS",
               "REWEIGHT_METAD", "OPES_UMBRELLA"}


@dataclass
class LogicalLine:
    lineno: int  # first physical line, 1-based
    text: str    # comment-free, continuation-joined
    action: str  # upper-case action name
    label: str | None


def logical_lines(text: str) -> list[LogicalLine]:
    """Join `...` continuation blocks and drop comments, keeping the first line number."""
    out: list[LogicalLine] = []
    pending: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if pending:
            if line.startswith("..."):
                out.append(_make(start, " ".join(pending)))
                pending = []
            elif line:
                pending.append(line)
            continue
        if not line:
            continue
        if line.endswith("..."):
            start = lineno
            pending = [line[:-3]]
            continue
        out.append(_make(lineno, line))
    if pending:
        out.append(_make(start, " ".join(pending)))
    return out


def _make(lineno: int, text: str) -> LogicalLine:
    words = text.split()
    label = None
    if words and words[0].endswith(":"):
        label = words[0][:-1]
        words = words[1:]
    action = words[0].upper() if words else ""
    match = re.search(r"\bLABEL=(\S+)", text)
    if match:
        label = match.group(1)
    return LogicalLine(lineno=lineno, text=text, action=action, label=label)


def keyword(line: LogicalLine, name: str) -> str | None:
    match = re.search(rf"(?:^|\s){name}=(\S+)", line.text)
    return match.group(1) if match else None


def plumed_units(text: str) -> dict[str, str]:
    """The UNITS declared by the input (PLUMED's defaults where it declares none)."""
    found = dict(PLUMED_DEFAULT_UNITS)
    for line in logical_lines(text):
        if line.action == "UNITS":
            for key in ("ENERGY", "LENGTH", "TIME"):
                value = keyword(line, key)
                if value:
                    found[key.lower()] = value.lower() if not _is_number(value) else value
            if "NATURAL" in line.text.split():
                raise NucleateError("PLUMED UNITS NATURAL cannot be used with LAMMPS metal units")
    return found


def check_plumed_input(path: Path) -> None:
    """Fail before LAMMPS starts on mistakes PLUMED would only report mid-run or not at all."""
    text = path.read_text()
    for line in logical_lines(text):
        if line.action in _NEEDS_TEMP and keyword(line, "TEMP") is None:
            raise NucleateError(
                f"PLUMED input {path}, line {line.lineno}: {line.action} has no TEMP=. LAMMPS does not pass "
                "the temperature to PLUMED, so add TEMP=<thermostat temperature in K> to this line."
            )


# Keywords naming a file an action writes (inputs such as INCLUDE FILE= or READ FILE= are not outputs).
_OUTPUT_KEYS = ("FILE", "STATE_WFILE", "GRID_WFILE")
_READ_ONLY_ACTIONS = {"INCLUDE", "READ", "LOAD", "PDB2CONSTANT", "PATHMSD", "PROPERTYMAP", "RMSD", "DRMSD"}


def run_outputs(rundir: Path) -> list[Path]:
    """Files a run directory's plumed.dat writes, resolved from the run directory (PLUMED's working
    directory): COLVAR, HILLS, ... and a walker's hills in the shared folder."""
    plumed = Path(rundir) / "plumed.dat"
    if not plumed.exists():
        return []
    return [(Path(rundir) / name).resolve() for name in output_files(plumed.read_text(errors="replace"))]


def output_files(text: str) -> list[str]:
    """Files the input writes (FILE=, STATE_WFILE=, GRID_WFILE=), so restarts can protect them.

    Multiple-walker METAD writes its hills as `WALKERS_DIR/FILE.WALKERS_ID` (PLUMED's naming, checked
    with `plumed driver`); the other walkers' files are only read and are not listed."""
    names = []
    for line in logical_lines(text):
        if line.action in _READ_ONLY_ACTIONS:
            continue
        for key in _OUTPUT_KEYS:
            value = keyword(line, key)
            if not value:
                continue
            walkers_dir, walker_id = keyword(line, "WALKERS_DIR"), keyword(line, "WALKERS_ID")
            if key == "FILE" and line.action == "METAD" and keyword(line, "WALKERS_N") and walker_id is not None:
                value = f"{walkers_dir or '.'}/{value}.{walker_id}"
            if value not in names:
                names.append(value)
    return names


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
