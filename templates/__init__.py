"""Jinja templates for LAMMPS (templates/lammps/) and PLUMED (templates/plumed/) input.

Rendered with StrictUndefined: a value missing from the context is an error, never an empty
string in an input file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from nucleate.errors import NucleateError

TEMPLATE_DIR = Path(__file__).parent


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
    )
    env.filters["fmt"] = _fmt
    env.filters["join_num"] = _join
    return env


def render(template: str, **context) -> str:
    """Render templates/<template> (e.g. "lammps/in.lammps.j2") with a strict context."""
    try:
        return environment().get_template(template).render(**context)
    except jinja2.UndefinedError as exc:
        raise NucleateError(f"template {template}: {exc.message} (a required value was not provided)") from None
    except jinja2.TemplateNotFound:
        raise NucleateError(f"template {template} not found under {TEMPLATE_DIR}") from None
