"""Do the block errors of a reweighted FES mean what they say?  Coverage on weighted, correlated samples.

Many short replicas sample a double well U(x) = 3 (x^2 - 1)^2 kT under a known static bias
V = -0.7 U (so the biased barrier is 0.9 kT and the walkers cross it), by Metropolis Monte Carlo:
successive samples are correlated, as in MD.  Each replica is reweighted with w = exp(V/kT) through
the same code as `nucleate reweight --histogram --blocks 10` (fes_estimate.estimate_fes, blocks.py),
and at every grid point the exact F = -kT ln(integral of exp(-U/kT) over the point's bin / Z) is
compared with the estimate.  A one-standard-error bar from 10 blocks should hold the exact value in
about 66 % of cases (Student's t with 9 degrees of freedom: 65.7 %; 68.3 % for a known sigma), a
two-sigma bar in about 92 %.  The tolerance is binomial with one independent case per replica (the
grid points of one replica share its samples), three standard deviations wide.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from nucleate.analysis.fes_estimate import estimate_fes
from nucleate.analysis.fes_grid import GridSpec
from nucleate.analysis.weighted_samples import WeightedSamples

KT = 1.0
BARRIER = 3.0          # U(0) - U(+-1), in kT
BIAS_SHARE = 0.7       # V = -0.7 U: the bias a converged well-tempered run would hold at gamma = 1/0.3
REPLICAS = 300
STEPS = 8000           # samples per replica, every Monte Carlo step kept (correlated)
STEP_SIZE = 0.6
BLOCKS = 10
GRID = GridSpec(("x",), (-1.6,), (1.6,), (8,), (False,))  # 9 points 0.4 apart, each the centre of its bin


def potential(x):
    return BARRIER * KT * (x * x - 1.0) ** 2


def bias(x):
    return -BIAS_SHARE * potential(x)


def biased_chains(rng: np.random.Generator) -> np.ndarray:
    """(REPLICAS, STEPS) Metropolis chains in exp(-(U + V)/kT), all replicas advanced together."""
    x = rng.choice([-1.0, 1.0], size=REPLICAS)  # start in either well, as runs started in one state do
    energy = potential(x) + bias(x)
    chains = np.empty((REPLICAS, STEPS))
    for step in range(STEPS):
        trial = x + rng.uniform(-STEP_SIZE, STEP_SIZE, size=REPLICAS)
        trial_energy = potential(trial) + bias(trial)
        accept = rng.random(REPLICAS) < np.exp(np.minimum(0.0, -(trial_energy - energy) / KT))
        x = np.where(accept, trial, x)
        energy = np.where(accept, trial_energy, energy)
        chains[:, step] = x
    return chains


def exact_free_energy() -> np.ndarray:
    """-kT ln(probability of each grid point's bin), the quantity the estimate's error refers to."""
    z, _ = quad(lambda x: math.exp(-potential(x) / KT), -4.0, 4.0)
    half = GRID.spacing[0] / 2
    return np.array([-KT * math.log(quad(lambda x: math.exp(-potential(x) / KT), c - half, c + half)[0] / z)
                     for c in GRID.axis(0)])


def reweighted(chain: np.ndarray):
    samples = WeightedSamples(names=("x",), values=chain[:, None], log_weights=bias(chain) / KT,
                              times=np.arange(len(chain), dtype=float), domains=(None,), source="metropolis")
    return estimate_fes(samples, KT, "kj/mol", GRID, blocks=BLOCKS).fes


def unshifted(chain: np.ndarray) -> np.ndarray:
    """-kT ln(weighted share of the samples in each bin), computed here independently of nucleate:
    the estimate is shifted to a minimum of 0, and this gives back the constant."""
    edges = np.append(GRID.axis(0) - GRID.spacing[0] / 2, GRID.maxs[0] + GRID.spacing[0] / 2)
    weights = np.exp(bias(chain) / KT)
    counts, _ = np.histogram(chain, bins=edges, weights=weights)
    return -KT * np.log(counts / weights.sum())


@pytest.fixture(scope="module")
def estimates():
    chains = biased_chains(np.random.default_rng(20240611))
    exact = exact_free_energy()
    deviations, errors = [], []
    for chain in chains:
        fes = reweighted(chain)
        absolute = unshifted(chain)
        np.testing.assert_allclose(fes.free, absolute - absolute.min(), atol=1e-9)  # same estimate, shifted
        deviations.append(absolute - exact)
        errors.append(fes.free_err)
    return np.array(deviations), np.array(errors)


def test_errors_are_finite_and_of_the_right_size(estimates):
    deviations, errors = estimates
    assert np.isfinite(errors).all() and (errors > 0).all()
    # the stated error is about the real scatter of the estimates across replicas (not 3x off either way)
    ratio = np.median(errors, axis=0) / deviations.std(axis=0)
    assert np.all((ratio > 0.6) & (ratio < 1.4)), ratio


@pytest.mark.parametrize("sigmas, expected", [(1.0, 0.657), (2.0, 0.923)])
def test_exact_value_inside_the_error_bar_as_often_as_stated(estimates, sigmas, expected):
    deviations, errors = estimates
    covered = np.abs(deviations) <= sigmas * errors
    tolerance = 3.0 * math.sqrt(expected * (1.0 - expected) / REPLICAS)
    assert covered.mean() == pytest.approx(expected, abs=tolerance), covered.mean(axis=0)


def test_coverage_would_notice_errors_too_small_by_half(estimates):
    """The check above can fail: bars half as wide as stated hold the exact value far too rarely."""
    deviations, errors = estimates
    assert (np.abs(deviations) <= 0.5 * errors).mean() < 0.657 - 3.0 * math.sqrt(0.657 * 0.343 / REPLICAS)
