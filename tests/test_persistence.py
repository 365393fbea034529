"""Persistence: pickle and joblib round trips keep the model and its training state,
so a loaded model predicts and continues (partial_fit, warm_start) bit for bit.
"""

import numpy as np
import pytest
from helpers import (
    assert_same_state,
    classification_data,
    data_for,
    partial_fit_classes,
    regression_data,
    roundtrip,
    snapshot,
    state,
)
from numpy.testing import assert_array_equal

from sklearn_gd import GDClassifier, GDRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("start", ["fit", "partial_fit"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_persistence_round_trip(Est, start, how, tmp_path):
    X, y = data_for(Est)
    est = Est(solver="stochastic", optimizer="adam", max_iter=5, random_state=0)
    if start == "fit":
        est.fit(X[:200], y[:200])
    else:
        partial_fit_classes(est, X[:200], y[:200])
    loaded = roundtrip(est, how, tmp_path)

    assert_array_equal(loaded.predict(X), est.predict(X))
    if Est is GDClassifier:
        assert_array_equal(loaded.decision_function(X), est.decision_function(X))
        assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    assert_same_state(snapshot(loaded), snapshot(est))

    # Both continue identically (shuffling seed and optimizer moments included).
    partial_fit_classes(est, X[200:], y[200:])
    partial_fit_classes(loaded, X[200:], y[200:])
    assert_same_state(snapshot(loaded), snapshot(est))
    assert est.t_ > 0


_PERSISTENCE_CONFIGS = [
    (GDRegressor, dict(solver="stochastic", optimizer="adam", learning_rate="invscaling",
                       eta0=0.01, power_t=0.25)),
    (GDRegressor, dict(solver="stochastic", optimizer="sgd", penalty="l2", alpha=1e-3)),
    (GDRegressor, dict(solver="batch", optimizer="rmsprop", eta0=0.01, penalty="l1")),
    (GDClassifier, dict(solver="minibatch", optimizer="momentum", batch_size=10)),
    (GDClassifier, dict(solver="stochastic", loss="hinge", learning_rate="optimal",
                        alpha=1e-3)),
    (GDClassifier, dict(solver="minibatch", loss="focal", optimizer="adamw", eta0=0.01,
                        learning_rate="exponential", decay_rate=0.2)),
]


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("Est,params", _PERSISTENCE_CONFIGS)
def test_round_trip_mid_partial_fit_continues_bit_identically(Est, params, how, tmp_path):
    if Est is GDRegressor:
        X, y = regression_data(n=600)
        extra = {}
    else:
        X, y = classification_data(n=600)
        extra = {"classes": np.arange(3)}
    chunks = np.array_split(np.arange(600), 6)
    est = Est(random_state=0, **params)
    for idx in chunks[:3]:
        est.partial_fit(X[idx], y[idx], **extra)
    loaded = roundtrip(est, how, tmp_path)
    assert loaded is not est and state(loaded) == state(est)
    halfway = est.coef_.copy()
    for idx in chunks[3:]:
        est.partial_fit(X[idx], y[idx], **extra)
        loaded.partial_fit(X[idx], y[idx], **extra)
    assert state(loaded) == state(est)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert est.n_iter_ == 6
    # The continuation did train (a frozen model would pass the comparison).
    assert not np.array_equal(halfway, est.coef_)


def test_round_trip_then_warm_start_fit_continues_bit_identically(tmp_path):
    X, y = classification_data(n=400)
    est = GDClassifier(solver="stochastic", optimizer="adam", eta0=0.01, warm_start=True,
                       max_iter=3, tol=None, random_state=0).fit(X, y)
    loaded = roundtrip(est, "joblib", tmp_path)
    first = est.coef_.copy()
    est.fit(X, y)
    loaded.fit(X, y)
    assert state(loaded) == state(est)
    assert not np.array_equal(first, est.coef_)
