"""Block analysis of weighted samples.

The run is cut into K contiguous blocks; block b has total weight W_b and unnormalised
histogram H_b (sum of the weights of its samples per grid point).  The estimate is
P = sum_b H_b / sum_b W_b; its standard error treats the block probabilities P_b = H_b / W_b as
weighted draws with weights W_b and an effective number of blocks
K_eff = (sum W_b)^2 / sum W_b^2 (blocks that carry little weight count less):

    var P = K_eff / (K_eff - 1) * sum_b W_b (P_b - P)^2 / sum_b W_b / K_eff

The free-energy error is kT * sigma_P / P (first-order propagation of F = -kT ln P).
"""

from __future__ import annotations

import numpy as np

from nucleate.errors import NucleateError


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective number of samples, (sum w)^2 / sum w^2."""
    weights = np.asarray(weights, dtype=float)
    total = weights.sum()
    if total <= 0:
        return 0.0
    return float(total ** 2 / (weights ** 2).sum())


def block_average(block_hist: np.ndarray, block_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(P, sigma_P or None for one block, K_eff) from per-block histograms (K, ...) and weights (K,)."""
    block_weight = np.asarray(block_weight, dtype=float)
    total = block_weight.sum()
    if total <= 0:
        raise NucleateError("all sample weights are zero")
    mean = block_hist.sum(axis=0) / total
    if len(block_weight) < 2:
        return mean, None, 1.0
    k_eff = effective_sample_size(block_weight)
    if k_eff <= 1.0 + 1e-12:
        raise NucleateError("one block carries all the weight: the error cannot be estimated; use fewer "
                            "blocks or skip more equilibration (--skip)")
    safe = np.where(block_weight > 0, block_weight, 1.0)
    per_block = block_hist / safe.reshape((-1,) + (1,) * (block_hist.ndim - 1))
    spread = (block_weight.reshape((-1,) + (1,) * (block_hist.ndim - 1)) * (per_block - mean) ** 2).sum(axis=0)
    variance = k_eff / (k_eff - 1.0) * spread / total / k_eff
    return mean, np.sqrt(variance), k_eff


def ratio_error(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float]:
    """R = sum num_b / sum den_b and its block standard error (ratio-estimator variance)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    k = len(numerator)
    total_den = denominator.sum()
    if total_den <= 0:
        return float("nan"), float("nan")
    ratio = numerator.sum() / total_den
    if k < 2:
        return float(ratio), float("nan")
    residual = numerator - ratio * denominator
    variance = k / (k - 1.0) * (residual ** 2).sum() / total_den ** 2
    return float(ratio), float(np.sqrt(variance))
