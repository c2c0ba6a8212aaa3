"""Readers for PLUMED's column files (COLVAR, HILLS, OPES KERNELS) and the run's units.

A PLUMED file is a `#! FIELDS a b c` line, optional `#! SET key value` lines, then rows of
numbers.  Restarted runs and concatenated files repeat the header; a run killed mid-write
leaves a partial last line.  Parsing uses pandas' C tokenizer.  Rows in PLUMED's own layout
(values one blank apart) take a faster path: the file is memory-mapped rather than read into
Python, and the tokenizer runs without comment or blank-run handling; with this, reading is
faster than `plumed.read_as_pandas` (the same tokenizer in its general whitespace mode).
"""

from __future__ import annotations

import io
import json
import math
import os
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
    data_start: int = 0  # rows begin at body[data_start:] (the header is left in place to avoid a copy)


def _header_spans(raw: bytes):
    """(start, end) of every line beginning with `#!`.  Searching for the single byte `#` runs at
    memchr speed (a two-byte pattern is several times slower on a 100 MB file)."""
    position = raw.find(b"#")
    while position != -1:
        end = raw.find(b"\n", position)
        end = len(raw) if end == -1 else end + 1
        if raw.startswith(b"!", position + 1) and (position == 0 or raw[position - 1] == 10):  # 10: "\n"
            yield position, end
        position = raw.find(b"#", end)


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
            segments.append(_Segment(fields, dict(constants), raw, first_data_line, data_start=end))
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
    start = segment.data_start  # cutting a partial last line keeps the start
    if body.find(b"#", start) == -1:
        row_end = body.find(b"\n", start)
        lead = _plain_lead(body[start:row_end if row_end != -1 else len(body)], len(segment.fields))
        plain = None if lead is None else _parse_plain(pd, io.BytesIO(body), body.count(b"\n", 0, start),
                                                       segment.fields, usecols or segment.fields, lead)
        if plain is not None:
            return plain, dropped
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


def _plain_lead(first_row: bytes, n_fields: int) -> int | None:
    """1 or 0 leading blanks if the row is in PLUMED's default layout (values one space apart,
    as `%f` writes them); None for padded, tabbed or mis-sized rows."""
    lead = 1 if first_row.startswith(b" ") else 0
    row = first_row.rstrip(b"\r")
    if not row.strip() or b"  " in row or b"\t" in row or row.count(b" ") != n_fields - 1 + lead:
        return None
    return lead


def _parse_plain(pd, source, skiprows: int, fields: list[str], wanted: list[str], lead: int) -> dict | None:
    """Rows in PLUMED's default layout through the tokenizer's fastest mode (one-space separator,
    no comment or blank-run handling).  Every field is read so that nothing can be misread
    silently: a longer row raises, a shorter or re-spaced one leaves an empty (NaN) value or a
    value in the leading-blank column.  None sends the rows to the general parser."""
    names = (["_lead"] if lead else []) + list(fields)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)  # a longer row may only warn
        try:
            frame = pd.read_csv(source, sep=" ", header=None, names=names, skiprows=skiprows, dtype=np.float64,
                                engine="c", index_col=False, skip_blank_lines=False)
        except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning):
            return None
    if lead and not np.isnan(frame["_lead"].to_numpy()).all():
        return None
    columns = {name: frame[name].to_numpy() for name in fields}
    if any(np.isnan(values).any() for values in columns.values()):
        return None  # an empty value or PLUMED's `nan`: the general parser tells them apart
    return {name: columns[name] for name in wanted}


def _read_plain_file(path: Path, columns: list[str] | None) -> tuple[_Segment, dict] | None:
    """The common case at its fastest: one header at the top, no other `#`, whole lines only.
    pandas reads the memory-mapped file (no copy into Python), and only the bytes present when it
    was mapped, so rows a running simulation appends meanwhile cannot slip in half-written.
    None sends the file to the general reader."""
    import mmap  # noqa: PLC0415

    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return None
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            header_end = 0
            while mapped[header_end:header_end + 2] == b"#!":
                newline = mapped.find(b"\n", header_end)
                if newline == -1:
                    return None
                header_end = newline + 1
            if header_end == 0 or mapped[-1:] != b"\n" or mapped.find(b"#", header_end) != -1:
                return None  # not PLUMED's, a restart or comment, or a partial last line
            header = mapped[:header_end]
            segment = _split_segments(header, path)[0]
            lead = _plain_lead(mapped[header_end:mapped.find(b"\n", header_end)], len(segment.fields))
            if lead is None or any(name not in segment.fields for name in columns or []):
                return None
            import pandas as pd  # noqa: PLC0415

            data = _parse_plain(pd, mapped, header.count(b"\n"), segment.fields, list(columns or segment.fields),
                                lead)
    return None if data is None else (segment, data)


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
        plain = _read_plain_file(path, columns)
        if plain is not None:
            segments, parsed = [plain[0]], [(plain[1], 0)]
        else:
            raw = path.read_bytes()
            if not raw or raw.isspace():
                raise NucleateError(f"{path}: the file is empty")
            segments, parsed = _split_segments(raw, path), None
        for index, segment in enumerate(segments):
            if wanted_missing := [c for c in (columns or []) if c not in segment.fields]:
                raise NucleateError(f"{path}: no column {', '.join(map(repr, wanted_missing))} after line "
                                    f"{segment.first_line}; the FIELDS line has: {', '.join(segment.fields)}")
            data, lost = parsed[index] if parsed else _parse_body(segment, path, columns,
                                                                   index == len(segments) - 1)
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
