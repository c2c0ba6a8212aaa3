"""Readers for PLUMED's column files (COLVAR, HILLS, OPES KERNELS) and the run's units.

A PLUMED file is a `#! FIELDS a b c` line, optional `#! SET key value` lines, then rows of
numbers.  Restarted runs and concatenated files repeat the header; a run killed mid-write
leaves a partial last line.  Parsing uses pandas' C tokenizer (faster than
`plumed.read_as_pandas`, which wraps the same parser with extra per-file work).
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nucleate.errors import NucleateError
from nucleate.units import ENERGY_TO_KJMOL, LENGTH_TO_NM, TIME_TO_PS



class TruncatedLineWarning(UserWarning):
    """A row was dropped because the run was writing it when it stopped."""


@dataclass(frozen=True)
class PlumedUnits:
    """The units PLUMED wrote the file in (its UNITS line; PLUMED's defaults are kJ/mol, nm, ps)."""

    energy: str = "kj/mol"
    length: str = "nm"
    time: str = "ps"
    source: str = "PLUMED defaults (no manifest.json found and no units given)"

    def __post_init__(self):
        for value, table, kind in ((self.energy, ENERGY_TO_KJMOL, "energy"),
                                   (self.length, LENGTH_TO_NM, "length"),
                                   (self.time, TIME_TO_PS, "time")):
            if value.lower() not in table:
                raise NucleateError(f"unknown {kind} unit {value!r} ({self.source}); known: {', '.join(table)}")
        object.__setattr__(self, "energy", self.energy.lower())
        object.__setattr__(self, "length", self.length.lower())
        object.__setattr__(self, "time", self.time.lower())

    def same_as(self, other: "PlumedUnits") -> bool:
        return (self.energy, self.length, self.time) == (other.energy, other.length, other.time)


def units_from_manifest(run_dir: Path) -> PlumedUnits | None:
    """The `plumed_units` block of `run_dir/manifest.json`, or None if there is none."""
    manifest = Path(run_dir) / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise NucleateError(f"{manifest}: not readable JSON ({exc}); fix or remove it, or pass --units") from exc
    block = data.get("plumed_units")
    if not isinstance(block, dict):
        return None
    return PlumedUnits(energy=str(block.get("energy", "kj/mol")), length=str(block.get("length", "nm")),
                       time=str(block.get("time", "ps")), source=str(manifest))


def resolve_units(paths: list[Path], units: PlumedUnits | str | None) -> PlumedUnits:
    """Units given by the user win; otherwise every file's run directory must agree."""
    if isinstance(units, str):
        return PlumedUnits(energy=units, source="given by the user")
    if units is not None:
        return units
    found: list[tuple[Path, PlumedUnits]] = []
    for path in paths:
        declared = units_from_manifest(Path(path).resolve().parent)
        if declared is not None:
            found.append((Path(path), declared))
    if not found:
        return PlumedUnits()
    first_path, first = found[0]
    for path, other in found[1:]:
        if not first.same_as(other):
            raise NucleateError(
                f"mixed units: {first_path} was written in {first.energy}/{first.length}/{first.time} "
                f"({first.source}) but {path} in {other.energy}/{other.length}/{other.time} ({other.source}); "
                "analyse them separately or convert one of them")
    if len(found) < len(paths):
        missing = [str(p) for p in paths if all(p != f for f, _ in found)]
        warnings.warn(f"no manifest.json beside {', '.join(missing)}; assuming the units of {first.source}",
                      stacklevel=3)
    return first


_DOMAIN_TOKEN = re.compile(r"^\s*([+-]?)\s*(\d*\.?\d*(?:[eE][+-]?\d+)?)\s*\*?\s*(pi)?\s*$")


def parse_domain_value(text: str) -> float:
    """PLUMED writes periodic domains as numbers or as `pi`, `-pi`, `2pi`, `2*pi`."""
    match = _DOMAIN_TOKEN.match(text)
    if not match or (not match.group(2) and not match.group(3)):
        raise NucleateError(f"cannot read the periodic domain bound {text!r}")
    sign = -1.0 if match.group(1) == "-" else 1.0
    number = float(match.group(2)) if match.group(2) else 1.0
    return sign * number * (math.pi if match.group(3) else 1.0)


@dataclass
class PlumedTable:
    """Columns of one or more PLUMED files, concatenated in the order given."""

    fields: list[str]
    columns: dict[str, np.ndarray]
    constants: dict[str, str]
    paths: list[Path]
    units: PlumedUnits
    dropped_rows: int = 0
    segments: list[tuple[Path, int]] = field(default_factory=list)  # (file, rows) per header block

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise NucleateError(
                f"{self.describe()}: no column {name!r}; the FIELDS line has: {', '.join(self.fields)}")
        return self.columns[name]

    def describe(self) -> str:
        return ", ".join(str(p) for p in self.paths)

    def periodic_domain(self, name: str) -> tuple[float, float] | None:
        """(min, max) of a periodic CV from its `#! SET min_X/max_X` lines; None if not periodic."""
        lo, hi = self.constants.get(f"min_{name}"), self.constants.get(f"max_{name}")
        if lo is None or hi is None:
            return None
        return parse_domain_value(lo), parse_domain_value(hi)


@dataclass
class _Segment:
    fields: list[str]
    constants: dict[str, str]
    body: bytes
    first_line: int


def _header_spans(raw: bytes):
    """(start, end) of every line beginning with `#!`; bytes.find keeps this at memchr speed."""
    position = 0 if raw.startswith(b"#!") else raw.find(b"\n#!")
    while position != -1:
        start = position if position == 0 and raw.startswith(b"#!") else position + 1
        end = raw.find(b"\n", start)
        end = len(raw) if end == -1 else end + 1
        yield start, end
        position = raw.find(b"\n#!", end - 1)


def _split_segments(raw: bytes, path: Path) -> list[_Segment]:
    """Cut the file at each header block; each block's rows follow its own FIELDS line."""
    blocks: list[tuple[int, int, list[bytes]]] = []  # (start, end, header lines) of consecutive `#!` lines
    for start, end in _header_spans(raw):
        line = raw[start:end]
        if blocks and blocks[-1][1] == start:
            blocks[-1] = (blocks[-1][0], end, blocks[-1][2] + [line])
        else:
            blocks.append((start, end, [line]))
    if not blocks or blocks[0][0] != 0 and raw[:blocks[0][0]].strip():
        raise NucleateError(f"{path}: no `#! FIELDS` line at the top; this is not a PLUMED output file")
    segments: list[_Segment] = []
    fields: list[str] | None = None
    constants: dict[str, str] = {}
    for number, (start, end, lines) in enumerate(blocks):
        for line in lines:
            words = line.decode(errors="replace").split()
            if len(words) >= 2 and words[1] == "FIELDS":
                fields, constants = words[2:], {}
            elif len(words) >= 4 and words[1] == "SET":
                constants[words[2]] = " ".join(words[3:])
        first_data_line = raw.count(b"\n", 0, end) + 1
        if fields is None:
            raise NucleateError(f"{path}: the header before line {first_data_line} has no FIELDS line")
        if len(blocks) == 1:
            # one header at the top: hand pandas the whole file (it skips `#` lines) and avoid
            # copying tens of MB
            segments.append(_Segment(fields, dict(constants), raw, first_data_line))
            break
        body_end = blocks[number + 1][0] if number + 1 < len(blocks) else len(raw)
        segments.append(_Segment(fields, dict(constants), raw[end:body_end], first_data_line))
    return segments


def _has_data(body: bytes) -> bool:
    return any(line.strip() and not line.lstrip().startswith(b"#") for line in body.split(b"\n"))


def _parse_body(segment: _Segment, path: Path, wanted: list[str] | None, is_last: bool) -> tuple[dict, int]:
    import pandas as pd  # noqa: PLC0415  (0.2 s; only analysis commands pay it)

    body = segment.body
    dropped = 0
    if is_last and body and not body.endswith(b"\n"):
        # PLUMED flushes whole lines; no newline means the writer was stopped mid-line
        cut = body.rfind(b"\n") + 1
        warnings.warn(f"{path}: ignoring the partially written last line {body[cut:][:60]!r}",
                      TruncatedLineWarning, stacklevel=4)
        body = body[:cut]
        dropped += 1
    if body.isspace() or not body or not any(line.strip() and not line.lstrip().startswith(b"#")
                                             for line in body[:4096].split(b"\n")) and not _has_data(body):
        return {name: np.empty(0) for name in (wanted or segment.fields) if name in segment.fields}, dropped
    usecols = None if wanted is None else [name for name in wanted if name in segment.fields]
    first = next((line for line in body[:65536].split(b"\n")[:-1] if line.strip() and not line.lstrip().startswith(b"#")),
                 b"")
    if len(first.split()) > len(segment.fields):
        raise NucleateError(f"{path}: line {segment.first_line} has {len(first.split())} values but the FIELDS line "
                            f"names {len(segment.fields)} ({' '.join(segment.fields)}): rows do not match the FIELDS")
    options = dict(header=None, names=segment.fields, usecols=usecols, comment="#", dtype=np.float64, engine="c",
                   skip_blank_lines=True, index_col=False)
    try:
        try:
            # PLUMED separates fields with spaces only: the single-space tokenizer is ~20 % faster
            frame = pd.read_csv(io.BytesIO(body), sep=" ", skipinitialspace=True, **options)
        except (ValueError, pd.errors.ParserError):
            # tabs or trailing blanks (files edited by hand): the general whitespace tokenizer
            frame = pd.read_csv(io.BytesIO(body), sep=r"\s+", **options)
    except (ValueError, pd.errors.ParserError) as exc:
        raise NucleateError(f"{path}: rows after line {segment.first_line} do not match the FIELDS line "
                            f"({len(segment.fields)} columns: {' '.join(segment.fields)}): {exc}") from exc
    # a line cut short by a crash and then followed by a restart header has missing trailing fields
    last_field = segment.fields[-1]
    if len(frame) and last_field in frame.columns and np.isnan(frame[last_field].iloc[-1]):
        tail = body[-4096:].rstrip().rsplit(b"\n", 1)[-1]
        if len(tail.split()) < len(segment.fields):
            warnings.warn(f"{path}: ignoring the incomplete line {tail[:60]!r} before a restart header",
                          TruncatedLineWarning, stacklevel=4)
            frame = frame.iloc[:-1]
            dropped += 1
    return {name: frame[name].to_numpy() for name in frame.columns}, dropped


def read_plumed(paths, *, columns: list[str] | None = None, units: PlumedUnits | str | None = None) -> PlumedTable:
    """Read PLUMED column files (restarts and several files are concatenated in order).

    columns: read only these (faster on 10^7-row files); None reads every field.
    units: the energy unit string or a PlumedUnits; by default from each run directory's manifest.json.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise NucleateError("no input file given")
    resolved = resolve_units(paths, units)
    pieces: dict[str, list[np.ndarray]] = {}
    all_fields: list[str] = []
    constants: dict[str, str] = {}
    dropped = 0
    segment_rows: list[tuple[Path, int]] = []
    for path in paths:
        if not path.is_file():
            raise NucleateError(f"{path}: no such file")
        raw = path.read_bytes()
        if not raw or raw.isspace():
            raise NucleateError(f"{path}: the file is empty")
        segments = _split_segments(raw, path)
        for index, segment in enumerate(segments):
            if wanted_missing := [c for c in (columns or []) if c not in segment.fields]:
                raise NucleateError(f"{path}: no column {', '.join(map(repr, wanted_missing))} after line "
                                    f"{segment.first_line}; the FIELDS line has: {', '.join(segment.fields)}")
            data, lost = _parse_body(segment, path, columns, index == len(segments) - 1)
            dropped += lost
            if not all_fields:
                all_fields = list(segment.fields)
            for key, value in segment.constants.items():
                constants.setdefault(key, value)
            names = columns if columns is not None else segment.fields
            if pieces and set(names) != set(pieces):
                raise NucleateError(f"{path}: the FIELDS after line {segment.first_line} "
                                    f"({' '.join(segment.fields)}) differ from the earlier ones "
                                    f"({' '.join(all_fields)}); pass the columns you need")
            for name in names:
                pieces.setdefault(name, []).append(data[name])
            segment_rows.append((path, len(data[names[0]]) if names else 0))
    merged = {name: (np.concatenate(chunks) if len(chunks) > 1 else chunks[0]) for name, chunks in pieces.items()}
    table = PlumedTable(fields=all_fields, columns=merged, constants=constants, paths=paths, units=resolved,
                        dropped_rows=dropped, segments=segment_rows)
    if len(table) == 0:
        raise NucleateError(f"{table.describe()}: only a header, no data rows")
    return table
