"""Progress reporting: a one-line bar on a terminal, plain periodic lines otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, start_step: int, target_step: int, timestep_fs: float, *, stream=None,
                 plain_interval_s: float = 30.0, label: str = "run", plumed_ms=None):
        self.start = start_step
        self.target = target_step
        self.timestep_fs = timestep_fs
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.plain_interval_s = plain_interval_s
        self.label = label
        self.plumed_ms = plumed_ms  # a callable giving PLUMED's ms per step so far, or None
        self.t0 = time.perf_counter()
        self._last_plain = self.t0

    def rate(self, step: int) -> float:
        elapsed = time.perf_counter() - self.t0
        return (step - self.start) / elapsed if elapsed > 0 else 0.0

    def ns_per_day(self, step: int) -> float:
        return self.rate(step) * self.timestep_fs * 86400.0 * 1.0e-6

    def line(self, step: int) -> str:
        done = step - self.start
        total = max(self.target - self.start, 1)
        rate = self.rate(step)
        eta = (self.target - step) / rate if rate > 0 else float("inf")
        text = (f"{self.label}: step {step}/{self.target} ({100.0 * done / total:5.1f}%)  "
                f"{rate:7.1f} steps/s  {self.ns_per_day(step):7.3f} ns/day  ETA {_hms(eta)}")
        if self.plumed_ms is not None and rate > 0 and done > 0:
            ms = self.plumed_ms()
            text += f"  PLUMED {ms:.2f} ms/step ({min(100.0, 0.1 * ms * rate):.1f}%)"
        return text

    def update(self, step: int) -> None:
        now = time.perf_counter()
        if self.tty:
            width = 24
            filled = int(width * (step - self.start) / max(self.target - self.start, 1))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.line(step)}")
            self.stream.flush()
        elif now - self._last_plain >= self.plain_interval_s:
            self._last_plain = now
            print(self.line(step), file=self.stream, flush=True)

    def close(self, step: int, status: str) -> None:
        if self.tty:
            self.stream.write("\n")
        print(f"{self.line(step)}  [{status}]", file=self.stream, flush=True)


def _hms(seconds: float) -> str:
    if seconds == float("inf"):
        return "--:--:--"
    seconds = int(seconds)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
