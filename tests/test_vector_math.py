"""The exp and log1p the vectorised log-loss pass uses, against NumPy's."""

import numpy as np
import pytest
from numba import njit

from sklearn_gd._kernels.vector_math import exp_neg, log1p_unit

ULP = np.finfo(np.float64).eps


@njit
def _exp_neg_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp_neg(x[i])


@njit
def _log1p_unit_all(e, out):
    for i in range(e.shape[0]):
        out[i] = log1p_unit(e[i])


def _exp_neg(x):
    out = np.empty_like(x)
    _exp_neg_all(x, out)
    return out


def _log1p_unit(e):
    out = np.empty_like(e)
    _log1p_unit_all(e, out)
    return out


def _grid():
    rng = np.random.default_rng(0)
    return np.concatenate([
        np.linspace(0.0, 40.0, 200_001), np.linspace(40.0, 746.0, 20_001),
        np.geomspace(1e-300, 1.0, 10_001), rng.uniform(0.0, 745.0, 50_000),
        # Around the reduction's switch points k ln 2 +- ln 2 / 2.
        np.log(2.0) * (np.arange(1, 1075) + 0.5),
    ])


def test_exp_neg_within_two_ulp_of_numpy():
    x = _grid()
    ours, reference = _exp_neg(x), np.exp(-x)
    normal = reference >= np.finfo(np.float64).tiny
    assert np.max(np.abs(ours - reference)[normal] / reference[normal]) <= 2 * ULP
    # Subnormal results: within the spacing of the subnormals.
    assert np.max(np.abs(ours - reference)[~normal]) <= 2 * 5e-324


def test_exp_neg_special_values():
    out = _exp_neg(np.array([0.0, np.inf, np.nan, 1e300, 745.2]))
    assert out[0] == 1.0
    assert out[1] == 0.0 and out[3] == 0.0 and out[4] == 0.0
    assert np.isnan(out[2])  # the divergence checks need NaN to stay NaN


def test_log1p_unit_within_four_ulp_of_numpy():
    e = np.concatenate([np.linspace(0.0, 1.0, 500_001), np.geomspace(1e-300, 1.0, 10_001),
                        np.nextafter(np.sqrt(2.0) - 1.0, [0.0, 1.0])])
    ours, reference = _log1p_unit(e), np.log1p(e)
    positive = reference > 0.0
    assert np.max(np.abs(ours - reference)[positive] / reference[positive]) <= 4 * ULP
    assert ours[e == 0.0].tolist() == [0.0] * int(np.sum(e == 0.0))
    assert np.isnan(_log1p_unit(np.array([np.nan]))[0])


@pytest.mark.parametrize("z", [-800.0, -40.0, -1.0, 0.0, 1e-8, 3.0, 40.0, 800.0])
def test_log_loss_rows_matches_the_scalar_log_loss(z):
    from sklearn_gd._kernels.losses import log_loss, log_loss_rows

    # Called from a kernel, as the loops call it: a kernel that Python also
    # calls can be compiled differently (README, development notes).
    log_loss_rows = njit(lambda m, y, w, d, n, f=log_loss_rows: f(m, y, w, d, n))

    margins = np.array([z, -z])
    labels = np.array([1.0, -1.0])
    weights = np.array([0.5, 2.0])
    dscores = np.empty(2)
    total = log_loss_rows(margins, labels, weights, dscores, 2)
    value, deriv = log_loss(z, 1.0)  # both rows have margin y * p = z
    np.testing.assert_allclose(total, 2.5 * value, rtol=4 * ULP, atol=1e-300)
    # Unweighted derivatives in the score p = y * z of each row.
    np.testing.assert_allclose(dscores, [deriv, -deriv], rtol=4 * ULP, atol=1e-300)
