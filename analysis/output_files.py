"""Writing analysis outputs: a whole file or none, and one clear error naming the path.

Every table and figure an analysis command writes goes through `write_output(path, writer)`:
the writer fills a temporary file beside the target, which then replaces the target in one
step (os.replace, atomic on one file system).  A refused permission, a full disk or a crash
part-way therefore never leaves a half-written table behind, and an OSError becomes a
NucleateError that names the path and the reason instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from nucleate.errors import NucleateError


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _file_in_the_way(folder: Path) -> Path | None:
    """The nearest existing ancestor of `folder` (itself included) when it is not a folder."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def folder_problem(folder: Path) -> str | None:
    """Why outputs cannot go into `folder` (created here when missing), or None when they can."""
    blocker = _file_in_the_way(folder)
    if blocker is not None:
        return f"{blocker} is a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot create {folder}: {_reason(exc)}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"no permission to write in {folder}"
    return None


def ensure_folder(folder) -> Path:
    """Create the output folder `folder` (and its parents), or say in one line why it cannot be."""
    folder = Path(folder)
    problem = folder_problem(folder)
    if problem:
        raise NucleateError(f"cannot write into the folder {folder}: {problem}")
    return folder


def check_output(path) -> Path:
    """Refuse an output path that can never be written (a folder, under a file, no permission)
    before the work that would fill it; creates the folder it goes in."""
    path = Path(path)
    if path.is_dir():
        raise NucleateError(f"cannot write {path}: it is a folder; give a file name")
    problem = folder_problem(path.parent)
    if problem:
        raise NucleateError(f"cannot write {path}: {problem}")
    return path


def write_output(path, writer: Callable[[Path], object]) -> Path:
    """Call writer(temporary path), then move the result onto `path`; the temporary keeps the
    suffix, so writers that pick a format by suffix (matplotlib) write the right one."""
    path = check_output(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        writer(temporary)
        os.replace(temporary, path)
    except OSError as exc:
        raise NucleateError(f"cannot write {path}: {_reason(exc)}") from None
    finally:
        _remove_if_left(temporary)
    return path


def write_text_output(path, text: str) -> Path:
    return write_output(path, lambda temporary: temporary.write_text(text))


def _remove_if_left(temporary: Path) -> None:
    try:
        temporary.unlink(missing_ok=True)
    except OSError:
        pass  # the folder refused the file in the first place: nothing was left
