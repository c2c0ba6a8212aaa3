"""Jinja templates for LAMMPS (templates/lammps/) and PLUMED (templates/plumed/) input.

Rendered with StrictUndefined: a value missing from the context is an error, never an empty
string in an input file. Both languages are line-oriented, so a value that holds a line break
would add a command: every `{{ value }}` must be one line (only text these templates rendered
themselves, marked `Rendered`, may span lines), and no rendered input may contain any line
break other than "\n" (\r, form feed, U+2028, ... are what str.splitlines() also splits on).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from nucleate.errors import NucleateError
from nucleate.validate import LINE_BREAKS, describe_char

TEMPLATE_DIR = Path(__file__).parent
_VALUE_BREAKS = frozenset(LINE_BREAKS + "\n")


class Rendered(str):
    """Text produced by render(): trusted to span lines when placed into another template."""


class UnsafeValue(NucleateError):
    """A value with a line break reached a template: validation upstream missed it."""


def _one_line(value):
    """Jinja `finalize`: every printed value stays on its line (defence behind the validators)."""
    if isinstance(value, str) and not isinstance(value, Rendered):
        bad = next((c for c in value if c in _VALUE_BREAKS), None)
        if bad is not None:
            raise UnsafeValue(f"a value to be written into an input holds a line break ({describe_char(bad)}): "
                              f"{value!r}; refusing to write it")
    return value


def _fmt(value, digits: int = 10) -> str:
    """Numbers as PLUMED/LAMMPS read them: no numpy reprs, no trailing noise."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    try:
        return f"{float(value):.{digits}g}"
    except (TypeError, ValueError):
        return str(value)


def _join(values, sep: str = ",") -> str:
    return sep.join(_fmt(v) for v in values)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=_one_line,
    )
    env.filters["fmt"] = _fmt
    env.filters["join_num"] = _join
    return env


def render(template: str, **context) -> Rendered:
    """Render templates/<template> (e.g. "lammps/in.lammps.j2") with a strict context."""
    try:
        text = environment().get_template(template).render(**context)
    except UnsafeValue as exc:
        raise NucleateError(f"template {template}: {exc}") from None
    except jinja2.UndefinedError as exc:
        raise NucleateError(f"template {template}: {exc.message} (a required value was not provided)") from None
    except jinja2.TemplateNotFound:
        raise NucleateError(f"template {template} not found under {TEMPLATE_DIR}") from None
    bad = next((c for c in text if c in LINE_BREAKS), None)
    if bad is not None:
        raise NucleateError(f"template {template}: the rendered input holds a line break other than \\n "
                            f"({describe_char(bad)}); refusing to write it")
    return Rendered(text)
