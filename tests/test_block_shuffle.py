"""``shuffle="blocks"``: runs of ``batch_size`` consecutive rows in random order.

The order is checked against its definition (a permutation made of runs whose
boundaries move each epoch), a fit against a fit on rows put in that order by
hand, and the mini-batch fit's end against scikit-learn's ``LogisticRegression``
on the same objective.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._kernels.shuffle import shuffled_block_order, shuffled_order


def _block_order(n, seed, epoch, block):
    order = np.full(n, -1, dtype=np.int64)
    shuffled_block_order(order, seed, epoch, block)
    return order


def _runs(order):
    """The maximal runs of consecutive rows of ``order``, as (first, length) pairs."""
    breaks = np.flatnonzero(np.diff(order) != 1) + 1
    return [(int(run[0]), len(run)) for run in np.split(order, breaks)]


@pytest.mark.parametrize("n, block", [(1, 4), (10, 3), (100, 32), (257, 16), (5, 8)])
def test_block_order_is_a_permutation_in_runs_of_the_block(n, block):
    offsets = set()
    for epoch in range(8):
        order = _block_order(n, 7, epoch, block)
        assert_array_equal(np.sort(order), np.arange(n))
        assert_array_equal(order, _block_order(n, 7, epoch, block))
        # Every run of ``order`` is made of whole runs of the epoch's grid: rows
        # ``offset + k * block`` start one, and none is longer than ``block``.
        starts = sorted({first for first, _ in _runs(order)} - {0})
        grid = {s % block for s in starts}
        assert len(grid) <= 1
        offset = grid.pop() if grid else None
        if n > block:
            offsets.add(offset)
            pieces = np.split(np.sort(order), np.arange(offset or block, n, block))
            assert max(len(p) for p in pieces) <= block
    if n > 4 * block:
        assert len(offsets) > 1  # the boundaries move from epoch to epoch


def test_block_order_differs_between_epochs_and_seeds():
    orders = [_block_order(1000, seed, epoch, 32) for seed in (1, 2) for epoch in (0, 1)]
    for a in range(len(orders)):
        for b in range(a):
            assert not np.array_equal(orders[a], orders[b])


def test_blocks_of_one_row_are_the_full_shuffle():
    full = np.empty(50, dtype=np.int64)
    shuffled_order(full, 3, 2)
    assert_array_equal(_block_order(50, 3, 2, 1), full)


def _data(n=300, seed=0):
    X, y = make_classification(n_samples=n, n_features=6, random_state=seed)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_blocks_fit_is_the_unshuffled_fit_of_the_reordered_rows(Est):
    X, y = _data()
    y = y if Est is GDClassifier else X @ np.arange(6.0)
    params = dict(solver="minibatch", batch_size=16, optimizer="sgd", eta0=0.05,
                  max_iter=1, tol=None, random_state=3)
    blocks = Est(shuffle="blocks", **params).fit(X, y)
    order = _block_order(len(X), blocks._seed(), 0, 16)
    assert not np.array_equal(order, np.arange(len(X)))
    by_hand = Est(shuffle=False, **params).fit(X[order], y[order])
    assert_array_equal(blocks.coef_, by_hand.coef_)
    assert_array_equal(blocks.intercept_, by_hand.intercept_)
    full = Est(shuffle=True, **params).fit(X, y)
    assert not np.array_equal(blocks.coef_, full.coef_)


def test_blocks_in_the_stochastic_solver_are_the_full_shuffle():
    X, y = _data()
    params = dict(solver="stochastic", optimizer="sgd", eta0=0.01, max_iter=3, tol=None,
                  random_state=0)
    blocks = GDClassifier(shuffle="blocks", **params).fit(X, y)
    full = GDClassifier(shuffle=True, **params).fit(X, y)
    assert_array_equal(blocks.coef_, full.coef_)


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_blocks_minibatch_fit_reaches_logistic_regressions_optimum(random_state):
    # With the runs' boundaries fixed the mini-batches held the same rows
    # every epoch, and these fits ended at max_iter short of their
    # certificate; with the boundaries moved each epoch they certify, as with
    # a full shuffle.
    X, y = _data(2000)
    alpha = 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = GDClassifier(solver="minibatch", shuffle="blocks", alpha=alpha,
                           random_state=random_state).fit(X, y)
    assert est.convergence_.converged
    ref = LogisticRegression(C=1.0 / (alpha * len(X)), tol=1e-12, max_iter=10_000).fit(X, y)

    def objective(coef, intercept):
        margins = (2 * y - 1) * (X @ coef.ravel() + intercept[0])
        return np.mean(np.logaddexp(0.0, -margins)) + 0.5 * alpha * coef.ravel() @ coef.ravel()

    # The objective is alpha-strongly convex, so the certificate's gradient
    # norm (under 1e-4) bounds the gap by 1e-4**2 / (2 * alpha) = 5e-6.
    gap = objective(est.coef_, est.intercept_) - objective(ref.coef_, ref.intercept_)
    assert -1e-9 < gap < 5e-6
    assert_allclose(est.coef_, ref.coef_, atol=5e-3)


def test_blocks_partial_fit_streams_are_deterministic():
    X, y = _data()
    models = []
    for _ in range(2):
        est = GDClassifier(solver="minibatch", shuffle="blocks", batch_size=8, random_state=0)
        for chunk in np.array_split(np.arange(len(X)), 5):
            est.partial_fit(X[chunk], y[chunk], classes=[0, 1])
        models.append(est.coef_)
    assert_array_equal(models[0], models[1])


def test_an_unknown_shuffle_is_refused_by_name():
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="'shuffle' parameter"):
        GDClassifier(shuffle="rows").fit(X, y)
