"""Readers for PLUMED's column files (COLVAR, HILLS, OPES KERNELS) and the run's units.

A PLUMED file is a `#! FIELDS a b c` line, optional `#! SET key value` lines, then rows of
numbers.  Restarted runs and concatenated files repeat the header; a run killed mid-write
leaves a partial last line.  Files PLUMED wrote gzipped (FILE=COLVAR.gz) are read the same way,
every gzip member (a restart appends one) and, of a stream cut short, what was complete.

Parsing: files up to 8 MB go through numpy's reader (importing pandas costs 0.2 s, more than
reading 10^5 rows); any row it cannot read as one number per field sends the file on to pandas'
C tokenizer, which is used for larger files and names the bad line.  Rows in PLUMED's own layout
(values one blank apart) take a faster path there: the file is memory-mapped rather than read
into Python and parsed by numpy alone (`plumed_layout`: every row's separators checked, only the
columns asked for converted, the same doubles as strtod), so pandas is not even imported; so are
the header blocks of a restarted file, one by one.  A body that path does not take goes to the
tokenizer (without comment or blank-run handling when it has no comment).

What is refused and what is dropped (a wrong row would shift the FES without a word):
- Every row must have exactly as many values as its FIELDS line names, each a number (PLUMED's
  `nan` and `inf` included).  A row with a missing, extra or unreadable value anywhere in the
  file is refused with a NucleateError naming the file and line.  The checks cost little: a
  short row leaves its last value empty, which the parser refuses (only PLUMED's spellings of
  nan are read as NaN); a long one makes it raise or, when only some columns are converted,
  shows in a vectorised count of the values.  Only then are the lines scanned one by one, to
  name the first bad one.
- A run killed mid-write leaves one row without its newline: at the end of the file, or glued
  to the header a restarted run appended.  That row (complete or not: its last number may be
  cut) is dropped, with a note on the `nucleate.analysis.plumed_files` logger and a
  TruncatedLineWarning (ignored unless a caller turns it on, so the note is not printed twice).
  For the same reason a short row just before a restart header (the crashed run's last row) is
  dropped with a note.  A short or long row anywhere else, or a short last row that does end
  with its newline, is refused: PLUMED writes whole lines, so it is damage, not a crash.
- Non-finite values are read as they are; the analyses that cannot use them (CV, bias and hill
  columns) refuse them with `PlumedTable.finite_column`, naming the file and line.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nucleate.analysis.plumed_layout import read_default_layout
from nucleate.analysis.run_units import PlumedUnits, resolve_units, units_from_manifest  # noqa: F401  (re-exported)
from nucleate.errors import NucleateError

log = logging.getLogger(__name__)


class TruncatedLineWarning(UserWarning):
    """A row was dropped because the run was writing it when it stopped."""


# The note goes to the logger; the warning is for callers who want to escalate it
# (warnings.simplefilter("error", TruncatedLineWarning)) and is otherwise not shown twice.
warnings.filterwarnings("ignore", category=TruncatedLineWarning)


_NUMBER = r"(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
_DOMAIN_TOKEN = re.compile(rf"^([+-]?)(?:{_NUMBER})?(\*?pi)?(?:/{_NUMBER})?$", re.IGNORECASE)


def parse_domain_value(text: str) -> float:
    """A bound as PLUMED writes or accepts it: a number, or a multiple of pi (`pi`, `-pi`, `2pi`,
    `2*pi`, `pi/2`, `-3*pi/4`)."""
    match = _DOMAIN_TOKEN.match(text.replace(" ", ""))
    if not match or (match.group(2) is None and match.group(3) in (None, "*pi")):
        raise NucleateError(f"cannot read the bound {text!r}: write a number or a multiple of pi (-pi, 2pi, pi/2)")
    sign = -1.0 if match.group(1) == "-" else 1.0
    number = float(match.group(2)) if match.group(2) is not None else 1.0
    divisor = float(match.group(4)) if match.group(4) is not None else 1.0
    if divisor == 0:
        raise NucleateError(f"cannot read the bound {text!r}: division by zero")
    return sign * number * (math.pi if match.group(3) else 1.0) / divisor


@dataclass(frozen=True)
class SegmentRows:
    """Where the rows of one header block came from: `rows` data rows from line `first_line` of `path`."""

    path: Path
    rows: int
    first_line: int


@dataclass
class PlumedTable:
    """Columns of one or more PLUMED files, concatenated in the order given."""

    fields: list[str]
    columns: dict[str, np.ndarray]
    constants: dict[str, str]
    paths: list[Path]
    units: PlumedUnits
    dropped_rows: int = 0
    segments: list[SegmentRows] = field(default_factory=list)  # one per header block, in row order
    # after rows were left out (a restart's superseded rows): the row each row was when read, so
    # that messages still name the right line
    read_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def column(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise NucleateError(
                f"{self.describe()}: no column {name!r}; the FIELDS line has: {', '.join(self.fields)}")
        return self.columns[name]

    def finite_column(self, name: str, start: int = 0, why: str = "") -> np.ndarray:
        """The column, refusing NaN or inf in rows start: (one vectorised test; the file is only
        searched again for the line number when there is something to report)."""
        values = self.column(name)
        finite = np.isfinite(values[start:])
        if not finite.all():
            row = start + int(np.argmin(finite))
            raise NucleateError(f"{self.where(row)}: {name} is {values[row]}, not a finite number"
                                f"{f' ({why})' if why else ''}; remove the row or fix the run that wrote it")
        return values

    def keep_rows(self, keep: np.ndarray) -> "PlumedTable":
        """A table of the rows where `keep` is true (its messages still name the lines read)."""
        read_rows = np.flatnonzero(keep) if self.read_rows is None else self.read_rows[keep]
        return PlumedTable(self.fields, {name: values[keep] for name, values in self.columns.items()},
                           self.constants, self.paths, self.units, self.dropped_rows, self.segments, read_rows)

    def where(self, row: int) -> str:
        """`FILE line N` of data row `row` (counted over all files), for messages."""
        if self.read_rows is not None:
            row = int(self.read_rows[row])
        for segment in self.segments:
            if row < segment.rows:
                return f"{segment.path} line {_line_of_data_row(segment.path, segment.first_line, row)}"
            row -= segment.rows
        return self.describe()

    def describe(self) -> str:
        return ", ".join(str(p) for p in self.paths)

    def periodic_domain(self, name: str) -> tuple[float, float] | None:
        """(min, max) of a periodic CV from its `#! SET min_X/max_X` lines; None if not periodic."""
        lo, hi = self.constants.get(f"min_{name}"), self.constants.get(f"max_{name}")
        if lo is None or hi is None:
            return None
        try:
            return parse_domain_value(lo), parse_domain_value(hi)
        except NucleateError as exc:
            raise NucleateError(f"{self.describe()}: #! SET min_{name}/max_{name}: {exc}") from None


def _line_of_data_row(path: Path, first_line: int, index: int) -> int | str:
    """Line number of the index-th data row (not blank, not a comment) from line first_line on.
    Only called to word an error, so a plain scan is fine."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number >= first_line and line.split(b"#", 1)[0].strip():
                if index == 0:
                    return number
                index -= 1
    return "?"


@dataclass
class _Segment:
    fields: list[str]
    constants: dict[str, str]
    body: bytes
    first_line: int
    data_start: int = 0  # rows begin at body[data_start:] (the header is left in place to avoid a copy)


def _header_spans(raw: bytes):
    """(start, end) of every line beginning with `#!`, and of a `#! FIELDS` glued to the partial
    row a killed run left (PLUMED appends its restart header right after it).  Searching for the
    single byte `#` runs at memchr speed (a two-byte pattern is several times slower on a 100 MB
    file)."""
    position = raw.find(b"#")
    while position != -1:
        end = raw.find(b"\n", position)
        end = len(raw) if end == -1 else end + 1
        at_line_start = position == 0 or raw[position - 1] == 10  # 10: "\n"
        if raw.startswith(b"!", position + 1) and (at_line_start or raw.startswith(b"! FIELDS", position + 1)):
            yield position, end
        position = raw.find(b"#", end)


def _check_field_names(fields: list[str], raw: bytes, start: int, path: Path) -> None:
    if fields and len(set(fields)) == len(fields):
        return
    line = raw.count(b"\n", 0, start) + 1
    if not fields:
        raise NucleateError(f"{path} line {line}: the FIELDS line names no column")
    twice = sorted({name for name in fields if fields.count(name) > 1})
    raise NucleateError(f"{path} line {line}: the FIELDS line names {', '.join(twice)} twice")


def _split_segments(raw: bytes, path: Path) -> list[_Segment]:
    """Cut the file at each header block; each block's rows follow its own FIELDS line."""
    blocks: list[tuple[int, int, list[tuple[int, bytes]]]] = []  # (start, end, header lines) of consecutive `#!` lines
    for start, end in _header_spans(raw):
        line = (start, raw[start:end])
        if blocks and blocks[-1][1] == start:
            blocks[-1] = (blocks[-1][0], end, blocks[-1][2] + [line])
        else:
            blocks.append((start, end, [line]))
    if not blocks or blocks[0][0] != 0 and raw[:blocks[0][0]].strip():
        raise NucleateError(f"{path}: no `#! FIELDS` line at the top; this is not a PLUMED output file")
    segments: list[_Segment] = []
    fields: list[str] | None = None
    constants: dict[str, str] = {}
    for number, (_start, end, lines) in enumerate(blocks):
        for line_start, line in lines:
            words = line.decode(errors="replace").split()
            if len(words) >= 2 and words[1] == "FIELDS":
                fields, constants = words[2:], {}
                _check_field_names(fields, raw, line_start, path)
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


def _data_lines(body: bytes, start: int, first_line: int):
    """(line number, offset, values) of each row from body[start:]: blank lines and comments are
    skipped as pandas skips them.  A lazy Python scan, for the rare paths only."""
    offset, number = start, first_line
    while offset < len(body):
        end = body.find(b"\n", offset)
        end = len(body) if end == -1 else end
        words = body[offset:end].split(b"#", 1)[0].split()
        if words:
            yield number, offset, words
        offset, number = end + 1, number + 1


def _has_data(body: bytes, start: int) -> bool:
    return next(_data_lines(body, start, 0), None) is not None


def _note_dropped_row(path: Path, line: int, row: bytes, reason: str) -> None:
    text = row.strip()[:60].decode(errors="replace")
    message = f"{path} line {line}: dropped the row {text!r} ({reason})"
    log.warning(message)
    warnings.warn(message, TruncatedLineWarning, stacklevel=5)


def _without_partial_row(segment: _Segment, path: Path, is_last: bool) -> tuple[bytes, int]:
    """The body without a final row that lacks its newline: PLUMED writes whole lines, so that row
    was being written when the run stopped (and its last number may be cut short)."""
    body = segment.body
    if body.endswith(b"\n") or len(body) <= segment.data_start:
        return body, 0
    cut = max(body.rfind(b"\n") + 1, segment.data_start)
    if not body[cut:].split(b"#", 1)[0].strip():
        return body, 0
    line = segment.first_line + body.count(b"\n", segment.data_start, cut)
    where = "at the end of the file" if is_last else "before the restart header"
    _note_dropped_row(path, line, body[cut:], f"no newline {where}: the run stopped while writing it")
    return body[:cut], 1


@dataclass
class _Misfit:
    """The first row that does not match its FIELDS line."""

    line: int
    offset: int       # where the row starts in the body
    problem: str
    short: bool       # fewer values than fields (what a crash leaves)
    final: bool       # no row follows it in this header block


def _first_misfit(body: bytes, segment: _Segment, path: Path) -> _Misfit | None:
    """The first row that does not match the FIELDS, or None.  Called only when the parser failed
    or the value count is off, so only damaged files pay for this line-by-line scan."""
    fields = segment.fields
    misfit = None
    for number, offset, words in _data_lines(body, segment.data_start, segment.first_line):
        if misfit is not None:
            misfit.final = False
            break
        problem = _row_problem(words, fields)
        if problem:
            misfit = _Misfit(number, offset, f"{path} line {number}: {problem}", len(words) < len(fields), True)
    return misfit


def _row_problem(words: list[bytes], fields: list[str]) -> str:
    if len(words) != len(fields):
        return (f"{len(words)} values, but the FIELDS line names {len(fields)} ({' '.join(fields)}); rows that "
                "do not match the FIELDS are refused, not read with shifted columns")
    for word, name in zip(words, fields):
        try:
            float(word)
        except ValueError:
            return f"{word[:30].decode(errors='replace')!r} in column {name} is not a number"
    return ""


_TOKEN_CHUNK = 1 << 20  # bytes per numpy pass: temporaries stay in cache (1.5x faster than 16 MB)


def _token_count(body: bytes, start: int, first_comment: int) -> int:
    """Values in body[start:] outside comments, counted without Python loops over lines: a value
    starts wherever a byte above the blank (32) follows one at or below it."""
    data = np.frombuffer(body, dtype=np.uint8)[start:]
    total, after_blank = 0, True
    for first in range(0, len(data), _TOKEN_CHUNK):
        nonblank = data[first:first + _TOKEN_CHUNK] > 32
        total += int(after_blank and nonblank[0]) + int(np.count_nonzero(nonblank[1:] > nonblank[:-1]))
        after_blank = not nonblank[-1]
    return total - _comment_tokens(body, start, first_comment)


def _comment_tokens(body: bytes, start: int, position: int) -> int:
    """What _token_count saw inside `#` comments (the first at `position`, -1 for none), which the
    parser skips; a `#` glued to a value does not start a value of its own."""
    seen = 0
    while position != -1:
        end = body.find(b"\n", position)
        end = len(body) if end == -1 else end
        glued = position > start and body[position - 1] > 32
        seen += len(body[position:end].split()) - int(glued)
        position = body.find(b"#", end)
    return seen


# How printf and numpy spell NaN.  Only these are NaN: a missing value stays an empty string,
# which cannot become a float, so a short row makes the parser raise instead of reading NaN.
_NAN_SPELLINGS = ["nan", "-nan", "+nan", "NaN", "-NaN", "NAN", "-NAN"]


def _read_rows(pd, body: bytes, segment: _Segment, usecols: list[str] | None):
    """(frame, None) or (None, the parser's complaint)."""
    options = dict(header=None, names=segment.fields, usecols=usecols, comment="#", dtype=np.float64, engine="c",
                   skip_blank_lines=True, index_col=False, keep_default_na=False, na_values=_NAN_SPELLINGS)
    # PLUMED separates fields with spaces only: the single-space tokenizer is ~20 % faster; tabs,
    # trailing blanks or blank-only lines (files edited by hand) need the general whitespace one
    separators = [{"sep": r"\s+"}]
    if body.find(b"\t", segment.data_start) == -1:
        separators.insert(0, {"sep": " ", "skipinitialspace": True})
    error = None
    for separator in separators:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a longer first row may only warn
            try:
                return pd.read_csv(io.BytesIO(body), **separator, **options), None
            except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning) as exc:
                error = exc
    return None, error


def _long_row_hidden(frame, body: bytes, segment: _Segment, usecols: list[str] | None, first_comment: int) -> bool:
    """A short row makes the parser raise (its last value, always read, is empty).  So does a long
    one, except with usecols, which drops the surplus: then the values are counted.  With no
    row short, the total is rows x fields only if every row has exactly that many."""
    if usecols is None:
        return False
    return _token_count(body, segment.data_start, first_comment) != len(frame) * len(segment.fields)


# Below this many bytes of rows numpy's own reader is faster than importing pandas (0.2 s) is.
SMALL_BODY = 8 << 20


def _parse_small(body: bytes, segment: _Segment, names: list[str]) -> dict | None:
    """The rows of a small body through numpy's reader, or None to leave them to pandas' (which
    names the line of any row numpy could not read as exactly one number per field)."""
    if len(body) - segment.data_start > SMALL_BODY:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy only warns about a body without rows
        try:
            data = np.loadtxt(io.BytesIO(memoryview(body)[segment.data_start:]), dtype=np.float64, comments="#",
                              ndmin=2)
        except (ValueError, UserWarning):
            return None
    if data.shape[1] != len(segment.fields):
        return None
    return {name: np.ascontiguousarray(data[:, segment.fields.index(name)]) for name in names}


def _few_columns(wanted: list[str]) -> bool:
    """Whether to try numpy's reader of PLUMED's layout (`plumed_layout`): ~15 ms per column per 10^6
    rows, all 8 columns of a COLVAR in half the time of pandas' import and tokenizer.  It works a
    column at a time, so a great many columns are left to pandas."""
    return len(wanted) <= 32


def _parse_default_layout(body: bytes, segment: _Segment, names: list[str]) -> dict | None:
    """The rows of one header block (a restarted run's part of the file) through `plumed_layout`,
    or None to leave them to pandas' reader: a comment, a row cut short before a restart header or
    anything else out of PLUMED's layout."""
    start = segment.data_start
    if not body.endswith(b"\n") or body.find(b"#", start) != -1 or not _few_columns(names):
        return None
    return read_default_layout(np.frombuffer(body, dtype=np.uint8, offset=start), segment.fields, names)


def _parse_rows(body: bytes, segment: _Segment, path: Path, wanted: list[str] | None,
                is_last: bool) -> tuple[dict, int]:
    names = wanted or segment.fields
    start = segment.data_start
    if not _has_data(body, start):
        return {name: np.empty(0) for name in names}, 0
    small = _parse_small(body, segment, names)
    if small is not None:
        return small, 0
    laid_out = _parse_default_layout(body, segment, names)
    if laid_out is not None:
        return laid_out, 0
    import pandas as pd

    first_comment = body.find(b"#", start)
    if first_comment == -1:
        row_end = body.find(b"\n", start)
        lead = _plain_lead(body[start:row_end if row_end != -1 else len(body)], len(segment.fields))
        plain = None if lead is None else _parse_plain(pd, io.BytesIO(body), body.count(b"\n", 0, start),
                                                       segment.fields, names, lead)
        if plain is not None:
            return plain, 0
    # the last field is always read: a short row shows there
    usecols = None if wanted is None else list(dict.fromkeys([*wanted, segment.fields[-1]]))
    frame, error = _read_rows(pd, body, segment, usecols)
    if frame is None or _long_row_hidden(frame, body, segment, usecols, first_comment):
        misfit = _first_misfit(body, segment, path)
        if misfit is not None:
            if not (misfit.short and misfit.final and not is_last):
                raise NucleateError(misfit.problem)
            # the crashed run's last row, cut short before the restart header
            _note_dropped_row(path, misfit.line, body[misfit.offset:].split(b"\n", 1)[0],
                              "too few values before the restart header: the run stopped while writing it")
            columns, dropped = _parse_rows(body[:misfit.offset], segment, path, wanted, is_last)
            return columns, dropped + 1
        if frame is None:
            raise NucleateError(f"{path}: rows after line {segment.first_line} do not match the FIELDS line "
                                f"({len(segment.fields)} columns: {' '.join(segment.fields)}): {error}")
    return {name: frame[name].to_numpy() for name in names}, 0


def _parse_body(segment: _Segment, path: Path, wanted: list[str] | None, is_last: bool) -> tuple[dict, int]:
    body, dropped = _without_partial_row(segment, path, is_last)
    columns, lost = _parse_rows(body, segment, path, wanted, is_last)
    return columns, dropped + lost


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
    numpy (`plumed_layout`) or pandas reads the memory-mapped file (no copy into Python), and only
    the bytes present when it was mapped, so rows a running simulation appends meanwhile cannot
    slip in half-written.
    None sends the file to the general reader."""
    import mmap

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
            wanted = list(columns or segment.fields)
            if _few_columns(wanted):
                body = np.frombuffer(mapped, dtype=np.uint8, offset=header_end)
                try:
                    data = read_default_layout(body, segment.fields, wanted)
                finally:
                    del body  # the map cannot close while an array looks into it
                if data is not None:
                    return segment, data
            import pandas as pd

            data = _parse_plain(pd, mapped, header.count(b"\n"), segment.fields, list(columns or segment.fields),
                                lead)
    return None if data is None else (segment, data)


def require_file(path: Path) -> Path:
    """A readable input file, or one clear error (a folder or a missing file is a common slip)."""
    if path.is_dir():
        raise NucleateError(f"{path} is a folder, not a PLUMED file")
    if not path.is_file():
        raise NucleateError(f"{path}: no such file")
    return path


_GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """PLUMED writes FILE=COLVAR.gz compressed (when built with zlib); known by its first bytes."""
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _gunzip(path: Path, data: bytes) -> bytes:
    """The text of a gzip file: every member (a RESTART appends one), and of a stream cut short by
    a killed run whatever was complete (its partial last row is then dropped like any other)."""
    parts = []
    while data:
        stream = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            parts.append(stream.decompress(data))
        except zlib.error as exc:
            raise NucleateError(f"{path}: not a readable gzip file ({exc})") from None
        if not stream.eof:
            log.warning("%s: the compressed data ends early (the run stopped while writing it); read what was "
                        "complete", path)
            break
        data = stream.unused_data.lstrip(b"\x00")
    return b"".join(parts)


def _file_segments(path: Path, columns: list[str] | None) -> tuple[list[_Segment], list | None]:
    """The header blocks of one file, already parsed when the file took the fast path."""
    require_file(path)
    try:
        if is_gzip(path):
            raw = _gunzip(path, path.read_bytes())
        elif path.stat().st_size <= SMALL_BODY:
            raw = path.read_bytes()  # numpy reads it (_parse_small) without pandas' import
        else:
            plain = _read_plain_file(path, columns)
            if plain is not None:
                return [plain[0]], [(plain[1], 0)]
            raw = path.read_bytes()
    except OSError as exc:
        raise NucleateError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not raw or raw.isspace():
        raise NucleateError(f"{path}: the file is empty")
    return _split_segments(raw, path), None


def read_plumed(paths, *, columns: list[str] | None = None, units: PlumedUnits | str | None = None) -> PlumedTable:
    """Read PLUMED column files (restarts and several files are concatenated in order).

    columns: read only these (faster on 10^7-row files); None reads every field.
    units: the energy unit string or a PlumedUnits; by default from each run directory's manifest.json.
    Rows that do not match their FIELDS line are refused; see the module docstring for the one
    partial row a killed run may leave, which is dropped with a note.
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
    segment_rows: list[SegmentRows] = []
    for path in paths:
        segments, parsed = _file_segments(path, columns)
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
                                    f"({' '.join(all_fields)}); analyse the parts separately, or read only "
                                    "the columns they share")
            for name in names:
                pieces.setdefault(name, []).append(data[name])
            segment_rows.append(SegmentRows(path, len(data[names[0]]) if names else 0, segment.first_line))
    merged = {name: (np.concatenate(chunks) if len(chunks) > 1 else chunks[0]) for name, chunks in pieces.items()}
    table = PlumedTable(fields=all_fields, columns=merged, constants=constants, paths=paths, units=resolved,
                        dropped_rows=dropped, segments=segment_rows)
    if len(table) == 0:
        raise NucleateError(f"{table.describe()}: only a header, no data rows")
    return table
