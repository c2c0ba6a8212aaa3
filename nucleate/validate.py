"""Checks for every value a user can put into a generated LAMMPS or PLUMED input.

Both inputs are line-oriented command languages: a value holding a line break (\\n, \\r, form
feed, vertical tab, U+0085, U+2028, ...) would start a command of its own (`shell ...` in LAMMPS,
`LOAD FILE=x.so` in PLUMED), and a value holding a space or `=` adds keywords. So each kind of
value gets a small, strict rule here, and each rule raises one NucleateError that names the key
(e.g. "spec.yaml: plumed.bias.name") and shows the bad value with repr() (which keeps the
message on one line whatever the value holds):

  no_control_chars[_anywhere]     any text anywhere: no control, format or line-separator char
  safe_text                       free text in comments (titles): one printable line
  run_name / identifier           the run's name; group names
  plumed_label                    PLUMED labels (CVs, walls, restraints, bias)
  element                         type-map entries: Ag, S, ...
  lammps_arguments                pair_style / pair_coeff: letters, digits, / . _ - + * : and spaces
  output_name                     files the run writes: a plain name inside the run directory
  walkers_dir                     the one path allowed outside the run directory (shared hills)
  print_format                    a printf float format such as %.10g
  number / integer / flag         finite numbers, integers that are not booleans, true/false

load_yaml reads a YAML document refusing duplicate keys (PyYAML silently keeps the last one).
"""

from __future__ import annotations

import math
import re
import unicodedata
from pathlib import PurePosixPath
from collections.abc import Mapping
from typing import Any

import yaml

from nucleate.errors import NucleateError

MAX_NAME_LENGTH = 64
MAX_TEXT_LENGTH = 200

# Control (Cc, includes \t \n \r \x0b \x0c \x1c-\x1f \x85 \x00), format (Cf: zero-width and
# bidi overrides, which hide what a line says), surrogates, and the line/paragraph separators.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
# What str.splitlines() splits on besides "\n": none may appear in a rendered input.
LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")          # run names: may start with a digit
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")       # group names
_PLUMED_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")        # PLUMED reserves '.' for components
_ELEMENT = re.compile(r"^[A-Z][a-z]?$")
_LAMMPS_ARGUMENTS = re.compile(r"^[A-Za-z0-9/._*:+ -]+$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_PRINT_FORMAT = re.compile(r"^%[-+0#]?[0-9]{0,2}(\.[0-9]{1,2})?[eEfFgG]$")


# ---- text -----------------------------------------------------------------------------------
def describe_char(char: str) -> str:
    """U+2028 (LINE SEPARATOR); control characters have no Unicode name, so only the code."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else " (a control character)")


def forbidden_char(text: str) -> str | None:
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return char
    return None


def known_keys(mapping: Any, allowed, where: str) -> None:
    """The one check for keys a section does not know: `WHERE: unknown key(s) a, b; allowed: ...`."""
    if not isinstance(mapping, Mapping):
        raise NucleateError(f"{where}: expected a mapping of keys, got {mapping!r}")
    unknown = sorted(str(k) for k in set(mapping) - set(allowed))
    if unknown:
        raise NucleateError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def no_control_chars(value: str, key: str) -> str:
    char = forbidden_char(value)
    if char is not None:
        raise NucleateError(f"{key}: {_short(value)} contains {describe_char(char)}; values may not contain "
                            "line breaks, tabs or other control or line-separator characters")
    return value


def no_control_chars_anywhere(value: Any, key: str) -> None:
    """Every string (and mapping key) of a parsed value, at any depth, free of control chars;
    `key` names the value ("plumed"), nested keys are added as in "plumed.bias.name"."""
    if isinstance(value, str):
        no_control_chars(value, key)
    elif isinstance(value, dict):
        for name, item in value.items():
            _key_is_text(name, key)
            no_control_chars_anywhere(item, f"{key}.{name}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            no_control_chars_anywhere(item, f"{key}[{index}]")


def no_control_chars_in_document(document: dict, source: str) -> None:
    """no_control_chars_anywhere for a whole file: keys named as "spec.yaml: md.steps"."""
    for name, item in document.items():
        _key_is_text(name, source)
        no_control_chars_anywhere(item, f"{source}: {name}")


def _key_is_text(name: Any, where: str) -> None:
    if not isinstance(name, str):
        raise NucleateError(f"{where}: keys must be names (text), got {name!r}")
    no_control_chars(name, f"{where} (a key)")


def text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise NucleateError(f"{key} must be text, got {value!r}")
    return no_control_chars(value, key)


def safe_text(value: Any, key: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Free text for a comment line (a title): one printable line of reasonable length."""
    value = text(value, key)
    if len(value) > max_length:
        raise NucleateError(f"{key}: {_short(value)} is {len(value)} characters long; at most {max_length}")
    return value


def printable(value: str) -> str:
    """`value` with every non-printable character replaced by '?': for file paths echoed in
    comments and messages, which must not be refused (the user did not choose them for us)."""
    return "".join(c if c.isprintable() else "?" for c in str(value))


# ---- names ----------------------------------------------------------------------------------
def _named(value: Any, key: str, pattern: re.Pattern, rule: str) -> str:
    value = text(value, key)
    if not value:
        raise NucleateError(f"{key}: the name is empty; {rule}")
    if len(value) > MAX_NAME_LENGTH:
        raise NucleateError(f"{key}: the name {_short(value)} is {len(value)} characters long; "
                            f"at most {MAX_NAME_LENGTH}")
    if not pattern.match(value):
        raise NucleateError(f"{key}: {value!r} is not allowed as a name; {rule}")
    return value


def run_name(value: Any, key: str) -> str:
    return _named(value, key, _NAME, "use letters, digits, '_', '.' and '-' (not first: '.' or '-')")


def identifier(value: Any, key: str) -> str:
    return _named(value, key, _IDENTIFIER, "start with a letter or '_' and use only letters, digits, '_', '.' and '-'")


def plumed_label(value: Any, key: str) -> str:
    return _named(value, key, _PLUMED_LABEL, "start with a letter and use only letters, digits and '_' "
                  "(PLUMED keeps '.' for components)")


def element(value: Any, key: str) -> str:
    value = text(value, key)
    if not _ELEMENT.match(value):
        raise NucleateError(f"{key}: {value!r} is not an element symbol (such as Ag, S, N)")
    return value


def lammps_arguments(value: Any, key: str) -> str:
    """pair_style / pair_coeff: free-form LAMMPS arguments, kept to the characters they need, so
    no '#' comment, '&' continuation, '$' variable, quote or line break can change the command."""
    value = text(value, key)
    if not value.strip():
        raise NucleateError(f"{key} is empty")
    if not _LAMMPS_ARGUMENTS.match(value):
        bad = sorted({c for c in value if not _LAMMPS_ARGUMENTS.match(c)})
        raise NucleateError(f"{key}: {value!r} contains {', '.join(repr(c) for c in bad)}; only letters, digits, "
                            "spaces and / . _ - + * : are allowed here")
    return value


# ---- files ----------------------------------------------------------------------------------
def output_name(value: Any, key: str) -> str:
    """A file the run writes: a plain name inside the run directory (no '/', no '..')."""
    value = text(value, key)
    if value.startswith("/") or "/" in value or "\\" in value or value in (".", ".."):
        raise NucleateError(f"{key}: {value!r} must be a plain file name inside the run directory "
                            "(no directory, no '..', no absolute path)")
    if len(value) > MAX_NAME_LENGTH or not _FILE_NAME.match(value):
        raise NucleateError(f"{key}: file name {_short(value)} is not allowed; use at most {MAX_NAME_LENGTH} letters, "
                            "digits, '_', '.', '+' and '-' (not first: '.', '+' or '-')")
    return value


def walkers_dir(value: Any, key: str, *, shared: bool) -> str:
    """The directory file-shared walkers exchange hills through: outside every walker's run
    directory by design, so a relative path may start with '..' (../walkers); an absolute path
    pins a place on one machine and is taken only when the spec says `shared: true`."""
    value = text(value, key)
    path = PurePosixPath(value)
    parts = path.parts[1:] if path.is_absolute() else path.parts
    if not parts:
        raise NucleateError(f"{key}: {value!r} names no directory")
    if path.is_absolute() and not shared:
        raise NucleateError(f"{key}: {value!r} is an absolute path; shared walker hills may live at an absolute "
                            "path only when walkers.shared is true (otherwise use a relative one such as ../walkers)")
    leading = 0
    while leading < len(parts) and parts[leading] == "..":
        leading += 1
    for part in parts[leading:]:
        if part == ".." or not _FILE_NAME.match(part):
            raise NucleateError(f"{key}: {value!r} is not allowed; use directory names of letters, digits, "
                                "'_', '.', '+' and '-', with '..' only at the start")
    return value


# ---- numbers --------------------------------------------------------------------------------
def number(value: Any, key: str, *, above: float | None = None, at_least: float | None = None) -> float:
    """A finite number (int or float, never a boolean: YAML's `true` is not 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NucleateError(f"{key} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise NucleateError(f"{key} must be a finite number, got {value!r}")
    if above is not None and not value > above:
        raise NucleateError(f"{key} must be > {above:g}, got {value!r}")
    if at_least is not None and not value >= at_least:
        raise NucleateError(f"{key} must be >= {at_least:g}, got {value!r}")
    return value


def integer(value: Any, key: str, *, at_least: int | None = None, at_most: int | None = None) -> int:
    """An int that is not a boolean (`steps: true` would otherwise run one step)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NucleateError(f"{key} must be an integer, got {value!r}")
    if at_least is not None and value < at_least:
        raise NucleateError(f"{key} must be >= {at_least}, got {value!r}")
    if at_most is not None and value > at_most:
        raise NucleateError(f"{key} must be <= {at_most}, got {value!r}")
    return value


def flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise NucleateError(f"{key} must be true or false, got {value!r}")
    return value


def print_format(value: Any, key: str) -> str:
    value = text(value, key)
    if not _PRINT_FORMAT.match(value):
        raise NucleateError(f"{key}: {value!r} is not a number format; use one such as %.10g, %12.6f or %.8e")
    return value


# ---- YAML -----------------------------------------------------------------------------------
class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    source = "YAML"

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first_line: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    seen = key in first_line
                except TypeError:  # an unhashable key: SafeLoader's own error says so
                    continue
                line = key_node.start_mark.line + 1
                if seen:
                    raise NucleateError(f"{self.source} line {line}: duplicate key {key!r} (first given on line "
                                        f"{first_line[key]}); each key may appear only once")
                first_line[key] = line
        return super().construct_mapping(node, deep)


def load_document(text: str, suffix: str, source: str) -> Any:
    """A spec document: TOML for a `.toml` suffix, YAML (duplicate keys refused) otherwise."""
    if suffix != ".toml":
        return load_yaml(text, source)
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NucleateError(f"{source}: not valid TOML ({printable(str(exc))})") from None


def load_yaml(content: str, source: str) -> Any:
    """Parse YAML safely; duplicate keys and syntax errors are one NucleateError naming the line."""
    loader = _UniqueKeyLoader(content)
    loader.source = printable(source)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise NucleateError(f"{printable(source)}{line}: not valid YAML ({problem})") from None
    finally:
        loader.dispose()


def _short(value: str, limit: int = 60) -> str:
    """repr() of a value, cut for messages (a 10,000-character name should not fill the screen)."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."
