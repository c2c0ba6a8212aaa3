"""Reading rows in PLUMED's default layout with numpy alone: no pandas import, only the columns asked for.

PLUMED's PRINT writes every value as `" %f"` (or the FMT given): one blank before each value, a
newline after the last.  For such a body this module finds every separator (a byte at or below the
blank) in one vectorised pass, checks that EVERY row has exactly one blank before each of its values
and a newline after the last (so a missing, extra or empty value anywhere in the file is seen, and
no column can shift), then converts only the wanted columns.

A value is converted by digit arithmetic, exactly: its last 8 or 16 bytes are read as little-endian
64-bit words, the bytes before its first digit (the previous value, the blank, a minus) and its dot
become '0', every byte must then be a digit, and three multiplications per word turn eight digits
into their integer (the SWAR parse of Lemire's fast_float).  That integer N (at most 15 digits, so
exact in a double) divided by 10^d (d decimals, exact) is one correctly rounded division: the same
double that strtod and pandas' parser give, -0.000000 included.

The body is worked through in pieces of about 2 MB cut at row ends, so that the temporaries
of every pass stay in the CPU cache and are reused rather than being fresh memory: a 10^6-row
COLVAR is read in about 0.1 s, separators 40 %, three columns the rest.

Anything else (tabs, carriage returns, runs of blanks, comments, `nan`/`inf`, exponents, a `+`,
no digit before the dot, decimals that differ between rows of a piece, more than 15 digits)
returns None, and the caller reads the file with its general parser, which also names a bad line.
This module never raises on a file's content.
"""

from __future__ import annotations

import sys

import numpy as np

_BLANK, _NEWLINE, _MINUS, _DOT, _ZERO = 32, 10, 45, 46, 48
_MAX_DIGITS = 15  # 10^15 < 2^53: the digits of a value are an exact integer in a double
_PIECE = 2 << 20  # bytes of rows per piece (in a fresh process 2 MB beat 1 and 4 MB: fewer page faults)
_PAD = 32  # bytes kept before a piece, so that a value's window may reach back past its start


# KEEP[n]: a word's bytes from the n-th on (the first n are before the value); FILL[n]: '0' in the first n
_KEEP = np.array([(0xFFFFFFFFFFFFFFFF << 8 * n) & 0xFFFFFFFFFFFFFFFF for n in range(9)], dtype=np.uint64)
_FILL = np.array([0x3030303030303030 & ~int(keep) for keep in _KEEP], dtype=np.uint64)


_SWAR = ((np.uint64(10 * 256 + 1), np.uint64(8), np.uint64(0x00FF00FF00FF00FF)),
         (np.uint64(100 * 65536 + 1), np.uint64(16), np.uint64(0x0000FFFF0000FFFF)),
         (np.uint64(10000 * 2 ** 32 + 1), np.uint64(32), None))


def _words_of(text: np.ndarray, size: int) -> np.ndarray:
    """text seen as `size`-byte items starting at every byte (no copy): item i is text[i:i + size]."""
    return np.ndarray(shape=(len(text) - size + 1,), dtype=f"V{size}", buffer=text, strides=(1,))


def _column_values(text: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray) -> bool:
    """The numbers in text[starts[i]:ends[i]] into `out`; False if any is not `-?digits[.digits]`
    with the same number of decimals in every row.  text[ends[i] - 16:] must lie inside `text`."""
    negative = text[starts] == _MINUS
    digits = ends - starts
    digits -= negative  # the digits and the dot
    first = bytes(text[int(starts[0]):int(ends[0])])
    decimals = len(first) - 1 - first.find(b".") if b"." in first else -1
    fewest, most = int(digits.min()), int(digits.max())
    if fewest < decimals + 2 or most - (decimals >= 0) > _MAX_DIGITS:
        return False  # an empty value, no digit before the dot, or too many digits for an exact double
    # each value's digits right-aligned in `count` words (little-endian uint64) ending at its end:
    # one word for values such as -1.234567 (eight digits and dot), two up to 16
    count = (most + 7) // 8
    span = 8 * count
    words = _words_of(text, span)[ends - span].view(np.uint64).reshape(-1, count)
    chars = words.view(np.uint8)  # (rows, span): the value's last byte in the last column
    if decimals >= 0:
        dot = span - 1 - decimals
        if not (chars[:, dot] == _DOT).all():
            return False  # decimals differ between rows
        chars[:, dot] = _ZERO
    # the bytes before the first digit (the previous value, the separator, a minus) become '0'
    if fewest < span:
        ahead = np.empty(len(digits), dtype=np.intp)
        for k in range((span - fewest + 7) // 8):  # the words that may hold such bytes
            np.subtract(span - 8 * k, digits, out=ahead)
            np.clip(ahead, 0, 8, out=ahead)
            word = words[:, k]
            word &= _KEEP[ahead]
            word |= _FILL[ahead]
    chars -= np.uint8(_ZERO)  # wraps: any byte left that is not a digit becomes > 9
    if int(chars.max()) > 9:
        return False
    # eight digits (first digit in the lowest byte) to their integer in three multiplications
    # (Lemire's SWAR parse: pairs, then quartets, then the eight; products wrap modulo 2^64 by design)
    for factor, shift, mask in _SWAR:
        words *= factor
        words >>= shift
        if mask is not None:
            words &= mask
    number = words[:, 0] if count == 1 else words[:, 0] * np.uint64(10 ** 8) + words[:, 1]
    if decimals >= 0:  # the dot, read as a 0 digit, leaves the integer part one place too high
        number -= number // np.uint64(10 ** (decimals + 1)) * np.uint64(9 * 10 ** decimals)
    out[...] = number  # below 10^15 < 2^53: exact
    if decimals > 0:
        out /= 10.0 ** decimals  # one correctly rounded division, as strtod gives
    out *= np.where(negative, -1.0, 1.0)  # -0.000000 is -0.0, as strtod reads it
    return True


def _piece_end(body: np.ndarray, start: int) -> int:
    """The end (after its newline) of the last row that ends within _PIECE bytes of `start`, or of
    the first row that ends after that; len(body) at the end."""
    end = start + _PIECE
    if end >= len(body):
        return len(body)
    back = max(start, end - 4096)
    newlines = np.flatnonzero(body[back:end] == _NEWLINE)
    if len(newlines):
        return back + int(newlines[-1]) + 1
    newlines = np.flatnonzero(body[start:back] == _NEWLINE)
    if len(newlines):
        return start + int(newlines[-1]) + 1
    while end < len(body):  # a row longer than a piece
        newlines = np.flatnonzero(body[end:end + _PIECE] == _NEWLINE)
        if len(newlines):
            return end + int(newlines[0]) + 1
        end += _PIECE
    return len(body)


def _rows_of_piece(text: np.ndarray, pad: int, per_row: int, lead: int) -> np.ndarray | None:
    """The separators (rows, per_row) of the rows text[pad:], which start at a row and end with a
    newline, each row checked; None when they are not in the default layout."""
    piece = text[pad:]
    separators = np.flatnonzero(piece <= _BLANK)
    if len(separators) % per_row:
        return None
    grid = separators.reshape(-1, per_row)
    # each row's last separator is a newline, and no other byte is below the blank: so every other
    # separator is a blank (a tab, a carriage return, a newline inside a row: not the default layout)
    if np.count_nonzero(piece < _BLANK) != len(grid) or not (piece[grid[:, -1]] == _NEWLINE).all():
        return None
    # an empty value shows as two separators in a row; with a leading blank, each row's first
    # separator must be its first byte (right after the newline before it)
    gaps = np.diff(separators)
    if lead:
        if separators[0] != 0 or not (gaps[per_row - 1::per_row] == 1).all():
            return None
        gaps[per_row - 1::per_row] = 2
    elif separators[0] == 0:
        return None
    if len(gaps) and int(gaps.min()) < 2:
        return None
    return grid


def read_default_layout(body: np.ndarray, fields: list[str], wanted: list[str]) -> dict | None:
    """{name: values} for the wanted fields of `body` (the bytes after the header, ending with a
    newline), or None when the body is not in PLUMED's default layout throughout."""
    if len(body) == 0 or body[-1] != _NEWLINE or not wanted or sys.byteorder != "little":
        return None
    lead = 1 if body[0] == _BLANK else 0
    per_row = len(fields) + lead
    indices = [fields.index(name) for name in wanted]
    columns = np.empty((len(wanted), 0))
    rows = start = 0
    while start < len(body):
        end = _piece_end(body, start)
        if start >= _PAD:
            text = body[start - _PAD:end]
        else:  # the first piece: blanks in front (a copy of one piece)
            text = np.concatenate([np.full(_PAD, _BLANK, dtype=np.uint8), body[start:end]])
        grid = _rows_of_piece(text, _PAD, per_row, lead)
        if grid is None:
            return None
        count = len(grid)
        if rows + count > columns.shape[1]:
            # written in place: room for the rows to come (from the bytes per row so far), and some
            grown = np.empty((len(wanted), int((rows + count) * len(body) / end * 1.02) + 1024))
            grown[:, :rows] = columns[:, :rows]
            columns = grown
        for out, k in zip(columns, indices):
            ends = grid[:, k + lead] + _PAD
            if k + lead:
                starts = grid[:, k + lead - 1] + (_PAD + 1)
            else:  # the first value of a row without a leading blank starts after the previous newline
                starts = np.empty(count, dtype=grid.dtype)
                starts[0] = _PAD
                starts[1:] = grid[:-1, -1] + (_PAD + 1)
            if not _column_values(text, starts, ends, out[rows:rows + count]):
                return None
        rows += count
        start = end
    return {name: columns[k, :rows] for k, name in enumerate(wanted)}
