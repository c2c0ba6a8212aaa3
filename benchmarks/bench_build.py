"""Time `nucleate build ag6/dimers30` (30 Ag2L2 dimers in liquid methanol, 50 A box).

    python benchmarks/bench_build.py [--repeat N]

Prints wall time of the whole build (placement + packmol + checks + writing) and of packmol alone.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

from nucleate.systems import build
from nucleate.systems import packing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--preset", default="ag6/dimers30")
    args = parser.parse_args()
    for k in range(args.repeat):
        packmol_seconds = []
        original = packing.pack_solvent

        def timed(*a, _original=original, _seconds=packmol_seconds, **kw):
            t = time.perf_counter()
            try:
                return _original(*a, **kw)
            finally:
                _seconds.append(time.perf_counter() - t)

        with tempfile.TemporaryDirectory() as tmp, mock.patch("nucleate.systems.builder.pack_solvent", timed):
            t = time.perf_counter()
            result = build(args.preset, Path(tmp) / "box", seed=k + 1)
            total = time.perf_counter() - t
        print(f"{args.preset} seed {k + 1}: {result.natoms} atoms, total {total:.1f} s, packmol {sum(packmol_seconds):.1f} s; "
              f"{result.summary()}")


if __name__ == "__main__":
    main()
