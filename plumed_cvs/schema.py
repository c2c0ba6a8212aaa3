"""Small validators for the `plumed:` section: every user mistake becomes one clear NucleateError."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from nucleate.errors import NucleateError

_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def check_keys(entry: Mapping, allowed: set[str], where: str) -> None:
    if not isinstance(entry, Mapping):
        raise NucleateError(f"{where}: expected a mapping of keys, got {entry!r}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise NucleateError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def require(entry: Mapping, key: str, where: str) -> Any:
    if key not in entry or entry[key] is None:
        raise NucleateError(f"{where}: missing required key '{key}'")
    return entry[key]


def number(value, where: str, *, above: float | None = None, at_least: float | None = None) -> float:
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise NucleateError(f"{where} must be a number, got {value!r}") from None
    if not math.isfinite(result):
        raise NucleateError(f"{where} must be finite, got {value!r}")
    if above is not None and not result > above:
        raise NucleateError(f"{where} must be > {above:g}, got {value!r}")
    if at_least is not None and not result >= at_least:
        raise NucleateError(f"{where} must be >= {at_least:g}, got {value!r}")
    return result


def integer(value, where: str, *, at_least: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
        raise NucleateError(f"{where} must be an integer, got {value!r}")
    if at_least is not None and value < at_least:
        raise NucleateError(f"{where} must be >= {at_least}, got {value!r}")
    return int(value)


def numbers(value, count: int | None, where: str, **limits) -> list[float]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if count is not None and len(values) != count:
        raise NucleateError(f"{where} needs {count} value(s) (one per argument), got {len(values)}: {value!r}")
    return [number(v, f"{where}[{i}]", **limits) for i, v in enumerate(values)]


def label(name, where: str) -> str:
    if not isinstance(name, str) or not _LABEL.match(name):
        raise NucleateError(f"{where}: name {name!r} must start with a letter and use only letters, digits and _")
    return name
