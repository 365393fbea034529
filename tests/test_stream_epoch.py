"""partial_fit's kept epoch (sklearn_gd._stream): the set-up of a chunk's epoch is
made once per stream and reused, and must train exactly as a fresh set-up does."""

import numpy as np
import pytest
from helpers import assert_same_state, snapshot

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor, _stream


def _stream_data(n_outputs=1, n_classes=2):
    rng = np.random.RandomState(0)
    X = rng.standard_normal((600, 6))
    scores = X @ rng.standard_normal((6, max(n_outputs, n_classes)))
    if n_classes:
        return X, np.argmax(scores + rng.standard_normal(scores.shape), axis=1)
    y = scores[:, :n_outputs] + 0.1 * rng.standard_normal((600, n_outputs))
    return X, y.ravel() if n_outputs == 1 else y


def _feed(est, X, y, rows, fresh_set_up=False):
    if fresh_set_up:
        est.__dict__.pop("_stream_epoch_kept", None)
    if isinstance(est, GDClassifier):
        est.partial_fit(X[rows], y[rows], classes=np.unique(y))
    else:
        est.partial_fit(X[rows], y[rows])


@pytest.fixture
def kept_steps(monkeypatch):
    """How many chunks ran through a kept epoch."""
    calls = []
    step = _stream.StreamEpoch.step

    def counted(self, *args):
        calls.append(1)
        return step(self, *args)

    monkeypatch.setattr(_stream.StreamEpoch, "step", counted)
    return calls


_CONFIGS = [
    (GDClassifier, dict(), {}),  # the "optimal" schedule, eta0="auto"
    (GDClassifier, dict(optimizer="adam", solver="minibatch", batch_size=4), {}),
    (GDClassifier, dict(optimizer="momentum", learning_rate="adaptive", eta0=0.05), {}),
    (GDClassifier, dict(penalty="elasticnet", l1_ratio=0.5, alpha=1e-3, eta0=0.05,
                        learning_rate="constant"), {}),
    (GDClassifier, dict(loss="log_loss"), dict(n_classes=4)),  # softmax
    (GDClassifier, dict(loss="hinge", shuffle=False), dict(n_classes=3)),  # one-vs-rest
    (GDRegressor, dict(), dict(n_classes=0)),
    (GDRegressor, dict(optimizer="rmsprop", learning_rate="step", max_iter=40, eta0=0.01),
     dict(n_classes=0, n_outputs=2)),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("Est, params, data", _CONFIGS)
def test_kept_epoch_trains_as_a_fresh_set_up(kept_steps, Est, params, data, dtype):
    X, y = _stream_data(**data)
    X = X.astype(dtype)
    params = {"solver": "stochastic", "random_state": 0, **params}
    kept, fresh = Est(**params), Est(**params)
    for start in range(0, 400, 10):
        rows = slice(start, start + 10)
        _feed(kept, X, y, rows)
        _feed(fresh, X, y, rows, fresh_set_up=True)
        assert_same_state(snapshot(kept), snapshot(fresh))
    # Every chunk after the scale check's first 100 rows reused the set-up.
    assert len(kept_steps) >= 30
    assert kept.coef_.dtype == dtype


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_kept_epoch_follows_changes_between_calls(kept_steps, Est):
    """New parameters (by set_params, by assignment, a milestones list grown in
    place), a replaced eta0_, a fit, a pickle round trip, a weighted chunk and
    chunks of another length or dtype: each call trains as a fresh set-up would."""
    import pickle

    X, y = _stream_data(n_classes=2 if Est is GDClassifier else 0)
    params = dict(solver="stochastic", learning_rate="step", milestones=[20, 40],
                  max_iter=60, random_state=0)
    kept, fresh = Est(**params), Est(**params)
    # fit derives eta0_ from its 200 rows, partial_fit from its first chunk.
    changes = {10: lambda e: setattr(e, "eta0_", e.eta0_ / 2),  # a fitted attribute
               12: lambda e: e.set_params(alpha=1e-3),
               14: lambda e: e.fit(X[:200], y[:200]),
               18: lambda e: setattr(e, "eta0", 0.02),
               20: lambda e: e.milestones.append(24),
               26: lambda e: e.set_params(solver="minibatch", batch_size=3),
               34: lambda e: e.set_params(shuffle=False)}
    start = 0
    for call in range(44):
        if call in changes:
            changes[call](kept)
            changes[call](fresh)
        if call == 38:
            kept = pickle.loads(pickle.dumps(kept))
        length = 7 if call == 40 else 10
        rows = slice(start, start + length)
        start += length
        if call == 41:
            weights = np.linspace(0.5, 2.0, length)
            for est in (kept, fresh):
                est.partial_fit(X[rows], y[rows], sample_weight=weights)
        elif call == 42:
            _feed(kept, X.astype(np.float32), y, rows)
            _feed(fresh, X.astype(np.float32), y, rows, fresh_set_up=True)
        else:
            _feed(kept, X, y, rows)
            _feed(fresh, X, y, rows, fresh_set_up=True)
        assert_same_state(snapshot(kept), snapshot(fresh))
    assert len(kept_steps) >= 20


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_diverging_chunk_on_the_kept_epoch_changes_nothing(kept_steps, Est):
    X, y = _stream_data(n_classes=2 if Est is GDClassifier else 0)
    est = Est(solver="stochastic", learning_rate="constant", eta0=0.05, penalty=None,
              random_state=0)
    for start in range(0, 200, 10):
        _feed(est, X, y, slice(start, start + 10))
    before, used = snapshot(est), len(kept_steps)
    with pytest.raises(DivergenceError):
        _feed(est, X * 1e6, y, slice(200, 210))
    assert len(kept_steps) == used + 1  # the kept epoch ran it, and raised
    assert_same_state(snapshot(est), before)
    # The stream goes on from where it was, as a fresh set-up would.
    fresh = Est(**est.get_params())
    for start in range(0, 200, 10):
        _feed(fresh, X, y, slice(start, start + 10), fresh_set_up=True)
    _feed(est, X, y, slice(210, 220))
    _feed(fresh, X, y, slice(210, 220), fresh_set_up=True)
    assert_same_state(snapshot(est), snapshot(fresh))


def _csr_stream(n_classes=2):
    import scipy.sparse as sp

    rng = np.random.RandomState(1)
    X = sp.random(600, 40, density=0.1, format="csr", random_state=rng)
    scores = X @ rng.standard_normal((40, n_classes))
    return X, np.argmax(scores + 0.3 * rng.standard_normal(scores.shape), axis=1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("params", [dict(), dict(optimizer="adam", solver="minibatch",
                                                 batch_size=4, eta0=0.01)])
def test_csr_chunks_take_the_lean_path_and_train_as_the_general_one(kept_steps, params,
                                                                     dtype):
    """CSR chunks are validated without validate_data and reuse the set-up; CSC
    chunks of the same values take validate_data (which converts them to CSR) and
    a fresh set-up: the same model, to the bit."""
    X, y = _csr_stream()
    X = X.astype(dtype)
    params = {"solver": "stochastic", "random_state": 0, **params}
    lean, general = GDClassifier(**params), GDClassifier(**params)
    for start in range(0, 400, 10):
        rows = slice(start, start + 10)
        lean.partial_fit(X[rows], y[rows], classes=[0, 1])
        general.__dict__.pop("_stream_epoch_kept", None)
        general.partial_fit(X[rows].tocsc(), y[rows], classes=[0, 1])
        assert_same_state(snapshot(lean), snapshot(general))
    assert len(kept_steps) >= 30
    chunk = X[400:410]
    np.testing.assert_array_equal(lean.decision_function(chunk),
                                  general.decision_function(chunk.tocsc()))


def test_bad_csr_chunks_raise_the_general_paths_errors():
    import scipy.sparse as sp

    X, y = _csr_stream()
    est = GDClassifier(solver="stochastic", random_state=0)
    for start in range(0, 200, 10):
        est.partial_fit(X[start:start + 10], y[start:start + 10], classes=[0, 1])
    before = snapshot(est)
    nan = X[200:210].copy()
    nan.data[3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.partial_fit(nan, y[200:210])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict(nan)
    with pytest.raises(ValueError, match="X has 39 features, but GDClassifier is expecting 40"):
        est.partial_fit(X[200:210, :39], y[200:210])
    bad = X[200:210].copy()
    bad.indices[0] = 40  # SciPy does not check it; the kernels would write past the weights
    with pytest.raises(ValueError, match="column indices outside"):
        est.partial_fit(sp.csr_matrix((bad.data, bad.indices, bad.indptr), shape=bad.shape),
                        y[200:210])
    assert_same_state(snapshot(est), before)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_weighted_chunks_reuse_the_set_up(kept_steps, Est):
    """Weighted chunks (one of them all zero: no update) run through the kept epoch
    and train as a fresh set-up does."""
    X, y = _stream_data(n_classes=2 if Est is GDClassifier else 0)
    weights = np.random.RandomState(2).uniform(0.0, 3.0, len(y))
    weights[250:260] = 0.0
    kept, fresh = Est(solver="stochastic", random_state=0), Est(solver="stochastic",
                                                                random_state=0)
    for start in range(0, 400, 10):
        rows = slice(start, start + 10)
        for est in (kept, fresh):
            if est is fresh:
                est.__dict__.pop("_stream_epoch_kept", None)
            kwargs = {"classes": [0, 1]} if Est is GDClassifier else {}
            est.partial_fit(X[rows], y[rows], sample_weight=weights[rows], **kwargs)
        assert_same_state(snapshot(kept), snapshot(fresh))
    assert len(kept_steps) >= 28
