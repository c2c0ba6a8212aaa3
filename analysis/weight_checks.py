"""Is a reweighted estimate carried by a few samples?

The Kish effective sample size n_eff = (sum w)^2 / sum w^2 is reported with every reweighting.
An estimate is flagged when n_eff is below 1 % of the samples, or when the first 5 % of the run
carries more than half of the weight (a bias that was still far from its final shape, or a
c(t) that was missing, makes the first samples count most).  The flag says which samples carry
the weight, which bias column makes their weights large, and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nucleate.analysis.blocks import effective_sample_size
from nucleate.analysis.weighted_samples import WeightedSamples

FEW_EFFECTIVE = 0.01   # n_eff below this fraction of the samples
EARLY_PART = 0.05      # the first 5 % of the samples (in time) ...
EARLY_WEIGHT = 0.5     # ... carrying more than half of the weight


@dataclass
class WeightCheck:
    samples: int
    n_effective: float
    warning: str | None = None

    @property
    def summary(self) -> str:
        share = 100.0 * self.n_effective / self.samples if self.samples else 0.0
        return f"Kish effective sample size {self.n_effective:.1f} of {self.samples} samples ({share:.3g} %)"


def _heaviest(weights: np.ndarray, share: float) -> np.ndarray:
    """Indices of the fewest samples that carry `share` of the total weight."""
    order = np.argsort(weights)[::-1]
    carried = np.cumsum(weights[order])
    return order[:int(np.searchsorted(carried, share * carried[-1])) + 1]


def _driving_column(samples: WeightedSamples) -> tuple[str, float] | None:
    """The bias column whose weights alone are the most uneven (lowest Kish n_eff), if there are several."""
    if not samples.parts:
        return None
    alone = {name: effective_sample_size(np.exp(part - part.max())) for name, part in samples.parts.items()}
    name = min(alone, key=alone.get)
    return name, alone[name]


def check_weights(samples: WeightedSamples, time_unit: str = "", weights: np.ndarray | None = None) -> WeightCheck:
    """n_eff, and a warning with causes and remedies when a few samples carry the estimate
    (`weights`: samples.weights(), when the caller has them already)."""
    weights = samples.weights() if weights is None else weights
    check = WeightCheck(samples=len(weights), n_effective=effective_sample_size(weights))
    if len(weights) < 20:
        return check
    early = max(1, int(EARLY_PART * len(weights)))
    early_share = float(weights[:early].sum() / weights.sum())
    few = check.n_effective < FEW_EFFECTIVE * len(weights)
    if not few and early_share <= EARLY_WEIGHT:
        return check
    heavy = _heaviest(weights, 0.5)
    times = samples.times[heavy]
    unit = f" {time_unit}" if time_unit else ""
    when = f"{times.min():g}" if times.min() == times.max() else f"{times.min():g}-{times.max():g}"
    parts = [f"weights dominated by a few samples: {check.summary}; {len(heavy)} sample(s) at t = {when}{unit} "
             "carry half of the weight"]
    if early_share > EARLY_WEIGHT:
        parts.append(f"the first {100 * EARLY_PART:g} % of the run (t <= {samples.times[early - 1]:g}{unit}) carries "
                     f"{100 * early_share:.0f} % of it")
    driving = _driving_column(samples)
    if driving is not None:
        parts.append(f"the uneven weights come from {driving[0]} (its weights alone: n_eff {driving[1]:.1f})")
    remedies = ["skip the start (--skip FRACTION or --tmin TIME)"]
    if early_share > EARLY_WEIGHT:
        remedies[0] = f"skip the start (e.g. --tmin {samples.times[min(early, len(weights) - 1)]:g})"
    if driving is not None and driving[0] in samples.static_columns:
        remedies.append(f"leave the static bias {driving[0]} out of --bias if it is a wall, and keep the grid away "
                        "from the wall")
    remedies.append("run longer")
    check.warning = "; ".join(parts) + ". Remedies: " + "; ".join(remedies) + "."
    return check
