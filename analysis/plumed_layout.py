"""Reading rows in PLUMED's default layout with numpy alone: no pandas import, only the columns asked for.

PLUMED's PRINT writes every value as `" %f"` (or the FMT given): one blank before each value, a
newline after the last.  For such a body this module finds every separator in one vectorised pass,
checks that EVERY row has exactly one blank before each of its values and a newline after the last
(so a missing, extra or empty value anywhere in the file is seen, and no column can shift), then
converts only the wanted columns.  A value is converted by digit arithmetic: its digits as one
integer N (at most 15 digits, so exact in a double) divided by 10^d (d decimals, exact): one
correctly rounded division, the same double that strtod and pandas' parser give.

Anything else (tabs, runs of blanks, comments, `nan`/`inf`, exponents, decimals that differ from
row to row, more than 15 digits) returns None, and the caller reads the file with its general
parser, which also names a bad line.  This module never raises on a file's content.
"""

from __future__ import annotations

import numpy as np

_BLANK, _NEWLINE, _MINUS, _DOT, _ZERO = 32, 10, 45, 46, 48
_MAX_DIGITS = 15  # 10^15 < 2^53: the digits of a value are an exact integer in a double


def _column_values(body: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """The numbers in body[starts[i]:ends[i]], or None if any is not `-?digits[.digits]` with the
    same number of decimals in every row."""
    lengths = ends - starts
    width = int(lengths.max())
    if int(lengths.min()) < 1 or width > _MAX_DIGITS + 2:
        return None
    # each value right-aligned in a row of `width` bytes: row i is body[ends[i] - width : ends[i]]
    negative = body[starts] == _MINUS
    first_window = ends - width
    if int(first_window[0]) < 0:  # the file's first value, shorter than the widest: pad the front
        body = np.concatenate([np.full(width, _BLANK, dtype=np.uint8), body])
        first_window = ends
    windows = np.lib.stride_tricks.as_strided(body, shape=(len(body) - width + 1, width), strides=(1, 1),
                                              writeable=False)
    chars = windows[first_window].T.copy()  # (width, rows)
    in_value = np.arange(width)[:, None] >= (width - lengths)[None, :]
    dot_at = np.flatnonzero(chars[:, 0] == _DOT)
    decimals = 0
    if len(dot_at):
        column = int(dot_at[0])
        decimals = width - 1 - column
        if not (chars[column] == _DOT).all():
            return None  # decimals differ between rows
        if not (lengths - negative >= decimals + 2).all():
            return None  # no digit before the dot
    digits = chars
    digits -= np.uint8(_ZERO)  # wraps: non-digits become > 9
    is_digit = digits <= 9
    # the only non-digits allowed in a value are its dot (checked above, one per row) and a
    # leading minus: any other shows as one more non-digit than those
    not_digits = int(np.count_nonzero(in_value)) - int(np.count_nonzero(is_digit & in_value))
    if not_digits != (len(lengths) if len(dot_at) else 0) + int(np.count_nonzero(negative)):
        return None
    is_digit &= in_value
    digits *= is_digit  # blanks and the end of the previous value, the minus and the dot count as 0
    skip = width - 1 - decimals if len(dot_at) else -1
    if width - (skip >= 0) > _MAX_DIGITS:
        return None
    mantissa = np.zeros(len(lengths), dtype=np.int64)
    for k in range(width):  # Horner over the digit columns, most significant first
        if k != skip:
            mantissa *= 10
            mantissa += digits[k]
    values = mantissa.astype(np.float64)
    if decimals:
        values /= 10.0 ** decimals
    np.negative(values, out=values, where=negative)  # -0.000000 is -0.0, as strtod reads it
    return values


def read_default_layout(body: np.ndarray, fields: list[str], wanted: list[str]) -> dict | None:
    """{name: values} for the wanted fields of `body` (the bytes after the header, ending with a
    newline), or None when the body is not in PLUMED's default layout throughout."""
    count = len(fields)
    lead = 1 if len(body) and body[0] == _BLANK else 0
    separators = np.flatnonzero(body <= _BLANK)
    per_row = count - 1 + lead + 1
    if len(separators) == 0 or len(separators) % per_row:
        return None
    grid = separators.reshape(-1, per_row)
    kinds = body[grid]
    if not ((kinds[:, -1] == _NEWLINE).all() and (kinds[:, :-1] == _BLANK).all()):
        return None  # tabs, carriage returns, a newline inside a row: not the default layout
    line_starts = np.empty(len(grid), dtype=np.int64)
    line_starts[0] = 0
    line_starts[1:] = grid[:-1, -1] + 1
    if lead:
        if not (grid[:, 0] == line_starts).all():
            return None
        bounds = grid  # value k lies between separators k and k+1
    else:
        bounds = np.column_stack([line_starts - 1, grid])
    # an empty value shows as two separators in a row
    if not (np.diff(bounds, axis=1) > 1).all():
        return None
    columns = {}
    for name in wanted:
        k = fields.index(name)
        values = _column_values(body, bounds[:, k] + 1, bounds[:, k + 1])
        if values is None:
            return None
        columns[name] = values
    return columns
