"""argparse types for numbers that only make sense in a range (a step of 0, a negative stride,
a NaN cutoff).  argparse prints `error: argument --step: '0' is not a positive integer` and
exits 2, before any file is opened."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _number(kind: type, accept: Callable[[float], bool], wanted: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}") from None
        if not (math.isfinite(value) and accept(value)):
            raise argparse.ArgumentTypeError(f"{text!r} is not {wanted}")
        return value

    return parse


positive_int = _number(int, lambda v: v > 0, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "a non-negative integer")
positive_float = _number(float, lambda v: v > 0, "a positive number")
non_negative_float = _number(float, lambda v: v >= 0, "a non-negative number")
finite_float = _number(float, lambda v: True, "a finite number")
