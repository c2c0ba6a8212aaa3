"""Small validators for the `plumed:` section: every user mistake becomes one clear NucleateError.

The rules shared with the run spec (labels, output file names, text without control characters)
live in nucleate.validate; these wrap them in the section's vocabulary.
"""

from __future__ import annotations

import math
import re
from numbers import Real
from typing import Any, Mapping

from nucleate import validate as check
from nucleate.errors import NucleateError
from nucleate.validate import known_keys as check_keys  # noqa: F401  (used across plumed_cvs)

# YAML 1.1 reads 1e-3 (no dot) as a string, so numbers may come as text; only plain decimal
# notation is taken (float() would also accept "nan", "1_0" and surrounding spaces)
_NUMBER_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def require(entry: Mapping, key: str, where: str) -> Any:
    if key not in entry or entry[key] is None:
        raise NucleateError(f"{where}: missing required key '{key}'")
    return entry[key]


def number(value, where: str, *, above: float | None = None, at_least: float | None = None) -> float:
    """nucleate.validate.number, also taking plain decimal text (see _NUMBER_TEXT) and numpy reals."""
    if isinstance(value, str) and _NUMBER_TEXT.match(value):
        value = float(value)
    elif isinstance(value, Real) and not isinstance(value, (bool, int, float)):
        value = float(value)
    return float(check.number(value, where, above=above, at_least=at_least))


def integer(value, where: str, *, at_least: int | None = None) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not math.isfinite(value) or int(value) != value):
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
    """A PLUMED label: a letter, then letters, digits and '_' ('.' is PLUMED's component separator)."""
    return check.plumed_label(name, where)


def flag(entry: Mapping, key: str, where: str, default: bool) -> bool:
    """An optional true/false key (the string "false" is not silently true)."""
    value = entry.get(key)
    return default if value is None else check.flag(value, f"{where}.{key}")


def comment(entry: Mapping, where: str) -> str | None:
    """An optional `comment:`, written as '#' lines above the action: one line of text."""
    value = entry.get("comment")
    return None if value is None else check.safe_text(value, f"{where}.comment", max_length=500)
