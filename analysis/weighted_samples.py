"""Samples with their reweighting weights: what every estimate (FES, Delta G) starts from.

Log-weights are kept unshifted (beta (V - c) as computed), so that the samples of several walkers,
each weighted by its own LABEL.rbias against the one shared bias, can be put together on one
scale; `weights()` shifts by the maximum only when exponentiating.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nucleate.errors import NucleateError


@dataclass
class WeightedSamples:
    """CV values (n, d), log-weights and times of the samples used, and how the weights were made."""

    names: tuple[str, ...]
    values: np.ndarray
    log_weights: np.ndarray
    times: np.ndarray
    domains: tuple[tuple[float, float] | None, ...]   # periodic domain of each CV, None if not periodic
    source: str
    weighting: list[str] = field(default_factory=list)    # how each bias column entered the weights
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # beta x each bias column's share
    static_columns: tuple[str, ...] = ()                  # bias columns that do not change in time (walls)
    walkers: np.ndarray | None = None                     # walker (file) number of each sample
    walker_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.log_weights)

    def normalised_log_weights(self) -> np.ndarray:
        return self.log_weights - self.log_weights.max() if len(self) else self.log_weights

    def weights(self) -> np.ndarray:
        return np.exp(self.normalised_log_weights())


def combine_walkers(walkers: list[WeightedSamples]) -> WeightedSamples:
    """The samples of all walkers in time order (a stable sort: each walker's own order kept), each
    labelled with its walker, so that `up to time t` means every walker up to t.  One run's samples
    come back as they are (no walker labels)."""
    if not walkers:
        raise NucleateError("no walker files given")
    if len(walkers) == 1:
        return walkers[0]
    first = walkers[0]
    for other in walkers[1:]:
        if other.names != first.names or other.domains != first.domains:
            raise NucleateError(f"{other.source}: its CVs ({', '.join(other.names)}) or their periodicity differ from "
                                f"those of {first.source}; the walkers of one run print the same CVs")
    times = np.concatenate([w.times for w in walkers])
    order = np.argsort(times, kind="stable")
    labels = np.concatenate([np.full(len(w), number) for number, w in enumerate(walkers)])
    parts = {name: np.concatenate([w.parts[name] for w in walkers])[order] for name in first.parts
             if all(name in w.parts for w in walkers)}
    weighting = list(dict.fromkeys(note for w in walkers for note in w.weighting))
    return WeightedSamples(
        names=first.names, values=np.concatenate([w.values for w in walkers])[order],
        log_weights=np.concatenate([w.log_weights for w in walkers])[order], times=times[order],
        domains=first.domains, source=", ".join(w.source for w in walkers), weighting=weighting, parts=parts,
        static_columns=first.static_columns, walkers=labels[order], walker_names=tuple(w.source for w in walkers))
