"""optimizer="normalized": scale-free online learning (NAG, Ross, Mineiro & Langford 2013).

A stream whose columns span 1e-3..1e3 must train as well as the same stream
standardized, with no scaler; scaling a column must not change the model
(beyond rounding); the per-feature state must survive pickling between
``partial_fit`` calls; and ``partial_fit`` warns about badly scaled features,
once per estimator, pointing to this optimizer. The references are measured
in the same test (the standardized stream, a twin estimator, the rows seen),
never hard-coded accuracies.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_gd import GDClassifier, GDRegressor

# Under pytest-xdist (`-n auto`, `--dist loadgroup`) this file's tests run in one
# worker, so its plain-SGD reference (module fixture) is built once.
pytestmark = pytest.mark.xdist_group("normalized")

N_FEATURES = 20
CHUNK = 10


def _stream(n_rows, seed=0):
    """(standardized rows, the same rows with column j times 10**(-3 + 6 j / 19), labels).

    The labels follow a noisy linear rule on the standardized features, so
    that no feature is negligible and the best accuracy is about 0.96.
    """
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_rows, N_FEATURES))
    w = rng.standard_normal(N_FEATURES)
    noise = 0.125 * np.linalg.norm(w) * rng.standard_normal(n_rows)
    y = (Z @ w + noise > 0).astype(np.int64)
    scales = 10.0 ** (-3.0 + 6.0 * np.arange(N_FEATURES) / (N_FEATURES - 1))
    return Z, Z * scales, y


def _feed(est, X, y, chunk=CHUNK, classes=(0, 1)):
    """partial_fit over X in chunks; returns the progressive (predict-then-learn) accuracy."""
    correct = 0
    for start in range(0, X.shape[0], chunk):
        Xc, yc = X[start:start + chunk], y[start:start + chunk]
        if start:
            correct += int(np.sum(est.predict(Xc) == yc))
        est.partial_fit(Xc, yc, classes=np.asarray(classes))
    return correct / (X.shape[0] - min(chunk, X.shape[0]))


def _quiet_feed(est, X, y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _feed(est, X, y, **kwargs)


# ================================================== 1. scale-free accuracy
@pytest.fixture(scope="module")
def plain_sgd_accuracy():
    """Progressive accuracy of plain SGD (step size from the data) on both streams."""
    Z, X, y = _stream(20_000)
    return {name: _quiet_feed(GDClassifier(solver="stochastic", random_state=0), rows, y)
            for name, rows in (("standardized", Z), ("unscaled", X))}


@pytest.mark.parametrize("solver", ["stochastic", "minibatch", "batch"])
def test_badly_scaled_stream_learns_as_well_as_standardized(solver, plain_sgd_accuracy):
    Z, X, y = _stream(20_000)
    params = dict(optimizer="normalized", solver=solver, batch_size=CHUNK, penalty=None,
                  random_state=0)
    bad = _feed(GDClassifier(**params), X, y)
    standardized = _feed(GDClassifier(**params), Z, y)
    # The reference is that of a good learner on standardized rows: the better
    # of this optimizer and plain SGD there.
    reference = max(standardized, plain_sgd_accuracy["standardized"])
    assert bad >= reference - 0.01, (bad, standardized, plain_sgd_accuracy)
    # The stream is a real test: plain SGD on the unscaled rows falls far short.
    assert plain_sgd_accuracy["unscaled"] < reference - 0.05, plain_sgd_accuracy


def test_batch_fit_on_unscaled_rows_equals_fit_on_standardized_rows():
    """With solver="batch" the scales come from the training rows before the first epoch."""
    Z, X, y = _stream(2_000)
    params = dict(optimizer="normalized", penalty=None, max_iter=30, tol=None)
    bad = GDClassifier(**params).fit(X, y)
    standardized = GDClassifier(**params).fit(Z, y)
    assert_allclose(bad.decision_function(X), standardized.decision_function(Z),
                    rtol=1e-6, atol=1e-9)
    assert_allclose(bad.optimizer_state_["first_moment"][0, :-1], np.abs(X).max(axis=0),
                    rtol=1e-15)


def _nag_reference(X, y, sw, eta, l2):
    """NAG, one sample at a time, for the squared error 0.5 (x.w + b - y)**2, in NumPy.

    Algorithm 2 of Ross, Mineiro & Langford (2013) with N / t kept as a mean,
    the intercept's constant feature (scale 1) and an L2 gradient term.
    """
    n, p = X.shape
    w, b = np.zeros(p), 0.0
    s, G, G_b, mean = np.zeros(p), np.zeros(p), 0.0, 0.0
    for t, (x, target, weight) in enumerate(zip(X, y, sw), start=1):
        grows = np.abs(x) > s
        w[grows & (s > 0)] *= s[grows & (s > 0)] / np.abs(x[grows & (s > 0)])
        s[grows] = np.abs(x[grows])
        seen = s > 0
        norm = np.sum((x[seen] / s[seen]) ** 2) + 1.0
        mean = norm if t == 1 else mean + (norm - mean) / t
        d = weight * (x @ w + b - target)
        g, g_b = d * x + l2 * w, d
        G, G_b = G + g * g, G_b + g_b * g_b
        rate = eta / np.sqrt(mean)
        moving = seen & (G > 0)
        w[moving] -= rate * g[moving] / (s[moving] * np.sqrt(G[moving]))
        if G_b > 0:
            b -= rate * g_b / np.sqrt(G_b)
    return w, b


@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_stochastic_updates_match_the_written_out_algorithm(alpha):
    rng = np.random.default_rng(5)
    # Growing scales (the weights are rescaled along the way), a column first
    # seen late, and one never seen.
    X = rng.standard_normal((40, 5)) * np.linspace(0.1, 3.0, 40)[:, None] \
        * np.array([1e-3, 1.0, 1e3, 1.0, 1.0])
    X[:25, 3] = 0.0
    X[:, 4] = 0.0
    y = X @ np.array([1e3, -1.0, 1e-3, 2.0, 0.0]) + 0.1 * rng.standard_normal(40)
    sw = rng.uniform(0.5, 1.5, 40)
    sw *= len(sw) / sw.sum()  # the estimators scale weights to mean 1
    reg = GDRegressor(optimizer="normalized", solver="stochastic", shuffle=False, alpha=alpha,
                      eta0=0.3, max_iter=1, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the penalty on unscaled rows
        reg.fit(X, y, sample_weight=sw)
    w, b = _nag_reference(X, y, sw, 0.3, alpha)
    assert_allclose(reg.coef_, w, rtol=1e-10, atol=1e-12)
    assert reg.intercept_[0] == pytest.approx(b, rel=1e-10)


# ====================================================== 2. invariance
@pytest.mark.parametrize("solver", ["stochastic", "minibatch", "batch"])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("sparse", [False, True])
def test_scaling_a_column_changes_predictions_only_by_rounding(solver, dtype, rtol, sparse):
    _, X, y = _stream(1_000, seed=1)
    X = X.astype(dtype)
    # Sparse chunks take scikit-learn's full validation (slower): one column.
    for column in (15,) if sparse else (3, 15):
        X2 = X.copy()
        X2[:, column] *= 1e3
        models = []
        for rows in (X, X2):
            est = GDClassifier(optimizer="normalized", solver=solver, batch_size=CHUNK,
                               penalty=None, random_state=0)
            _quiet_feed(est, sp.csr_matrix(rows) if sparse else rows, y)
            models.append(est)
        scores = models[0].decision_function(X)
        scaled = models[1].decision_function(X2)
        assert_allclose(scaled, scores, rtol=0, atol=rtol * np.abs(scores).max())
        assert_array_equal(models[1].predict(X2), models[0].predict(X))
        # The weight of the scaled column is 1e3 times smaller.
        assert_allclose(models[1].coef_[0, column] * 1e3, models[0].coef_[0, column],
                        rtol=100 * rtol)


def test_adagrad_is_not_invariant_on_the_same_check():
    """The invariance check above can fail: Adagrad's steps ignore the columns' scales."""
    _, X, y = _stream(3_000, seed=1)
    X2 = X.copy()
    X2[:, 15] *= 1e3
    scores = []
    for rows in (X, X2):
        est = GDClassifier(optimizer="adagrad", solver="stochastic", penalty=None,
                           random_state=0)
        _quiet_feed(est, rows, y)
        scores.append(est.decision_function(rows))
    assert np.abs(scores[1] - scores[0]).max() > 0.01 * np.abs(scores[0]).max()


# ============================================== 3. state: layout, pickling
@pytest.mark.parametrize("sparse", [False, True])
def test_state_holds_the_scales_and_the_mean_row_norm(sparse):
    """first_moment: s_j = max |x_j| seen in every row, and the mean of sum_j (x_j / s_j)**2."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 5)) * np.array([1e-3, 1.0, 1e3, 1.0, 1.0])
    X[:, 3] = 0.0  # a feature never seen: no scale, no weight
    y = np.arange(60) % 3
    est = GDClassifier(optimizer="normalized", solver="stochastic", shuffle=False,
                       penalty=None, random_state=0)
    _feed(est, sp.csr_matrix(X) if sparse else X, y, classes=(0, 1, 2))
    first = est.optimizer_state_["first_moment"]
    assert first.shape == (3, 6)
    assert_array_equal(first[:, :-1], np.tile(np.abs(X).max(axis=0), (3, 1)))
    # Row by row, with the running scales (shuffle=False: the order of X).
    running = np.maximum.accumulate(np.abs(X), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(X != 0.0, X / running, 0.0)
    norms = (ratios**2).sum(axis=1) + 1.0  # + the intercept's constant feature
    assert_allclose(first[:, -1], norms.mean(), rtol=1e-12)
    assert_array_equal(est.coef_[:, 3], 0.0)
    assert est.t_ == 60


@pytest.mark.parametrize("solver", ["stochastic", "minibatch", "batch"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_state_survives_pickling_between_partial_fit_calls(Est, solver):
    Z, X, labels = _stream(1_000, seed=3)
    y = labels if Est is GDClassifier else Z @ np.linspace(-1.0, 1.0, N_FEATURES)
    params = dict(optimizer="normalized", solver=solver, batch_size=CHUNK, penalty=None,
                  random_state=0)
    kwargs = {"classes": np.array([0, 1])} if Est is GDClassifier else {}

    def feed(est, rows, target):
        for start in range(0, rows.shape[0], CHUNK):
            est.partial_fit(rows[start:start + CHUNK], target[start:start + CHUNK],
                            **kwargs)

    half = X.shape[0] // 2
    once = Est(**params)
    feed(once, X[:half], y[:half])
    resumed = pickle.loads(pickle.dumps(once))
    for key in ("first_moment", "second_moment"):
        assert_array_equal(resumed.optimizer_state_[key], once.optimizer_state_[key])
    feed(once, X[half:], y[half:])
    feed(resumed, X[half:], y[half:])
    assert_array_equal(resumed.coef_, once.coef_)
    assert_array_equal(resumed.intercept_, once.intercept_)
    for key in ("first_moment", "second_moment"):
        assert_array_equal(resumed.optimizer_state_[key], once.optimizer_state_[key])
    # Losing the state is not the same: a model restarted from the weights
    # alone (no scales, no sums, no update count) goes elsewhere.
    restarted = Est(**params)
    feed(restarted, X[:CHUNK], y[:CHUNK])
    restarted.coef_ = resumed.coef_.copy()
    restarted.intercept_ = resumed.intercept_.copy()
    feed(restarted, X[half:], y[half:])
    assert not np.allclose(restarted.coef_, once.coef_)


# ================================================ 4. the scale warning
def _warnings_of(est, X, y, n_chunks):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _feed(est, X[:n_chunks * CHUNK], y[:n_chunks * CHUNK])
    return [w for w in caught if issubclass(w.category, UserWarning)
            and "scales span" in str(w.message)]


def test_partial_fit_warns_about_scales_once_per_estimator():
    Z, X, y = _stream(1_000)
    # The stochastic loop's plain steps: those of "batch" and "minibatch" are
    # preconditioned (precondition="auto"), which needs no warning.
    caught = _warnings_of(GDClassifier(solver="stochastic"), X, y, n_chunks=50)
    assert len(caught) == 1
    assert "optimizer='normalized'" in str(caught[0].message)
    # Another estimator warns again, once.
    assert len(_warnings_of(GDClassifier(solver="stochastic"), X, y, n_chunks=50)) == 1
    # Well-scaled rows, and the scale-free optimizer without a penalty: no warning.
    assert _warnings_of(GDClassifier(solver="stochastic"), Z, y, n_chunks=50) == []
    assert _warnings_of(GDClassifier(), X, y, n_chunks=50) == []
    assert _warnings_of(GDClassifier(optimizer="normalized", penalty=None), X, y,
                        n_chunks=50) == []


def _alternating_rows(n_rows):
    """Rows with one non-zero feature each, alternately of scale 1e-3 and 1e3.

    Every row alone has one scale (nothing to compare); two rows together span 1e6.
    """
    rng = np.random.default_rng(4)
    X = np.zeros((n_rows, 2))
    X[0::2, 0] = 1e-3 * rng.standard_normal(len(X[0::2]))
    X[1::2, 1] = 1e3 * rng.standard_normal(len(X[1::2]))
    return X, np.arange(n_rows) % 2


def test_partial_fit_judges_the_first_chunks_together():
    """One-row chunks are judged with the rows before them, and warned about once."""
    X, y = _alternating_rows(300)
    # A fixed small step: "auto" from a first row of scale 1e-3 would diverge.
    est = GDClassifier(eta0=1e-8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(300):
            est.partial_fit(X[i:i + 1], y[i:i + 1], classes=np.array([0, 1]))
    caught = [w for w in caught if "scales span" in str(w.message)]
    assert len(caught) == 1 and "factor of 1" in str(caught[0].message)
    # A stored model does not warn again when it resumes.
    resumed = pickle.loads(pickle.dumps(est))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        resumed.partial_fit(X, y)


def test_partial_fit_judges_only_the_first_rows():
    """After the first 100 rows the check stops (later calls pay nothing for it)."""
    Z, X, y = _stream(400)
    rows = np.vstack([Z[:100], X[100:]])
    assert _warnings_of(GDClassifier(solver="stochastic"), rows, y, n_chunks=40) == []
    assert len(_warnings_of(GDClassifier(solver="stochastic"), X, y, n_chunks=40)) == 1


def test_penalty_with_normalized_updates_is_warned_about():
    """The steps are scale-free, an L2 penalty is not: it costs accuracy on unscaled rows."""
    Z, X, y = _stream(1_000)
    caught = _warnings_of(GDClassifier(optimizer="normalized"), X, y, n_chunks=50)
    assert len(caught) == 1 and "penalty=None" in str(caught[0].message)
    with pytest.warns(UserWarning, match="penalty=None"):
        GDClassifier(optimizer="normalized", max_iter=2, tol=None).fit(X, y)


def test_fit_warning_points_to_normalized():
    _, X, y = _stream(300)
    with pytest.warns(UserWarning, match="optimizer='normalized'"):
        GDClassifier(solver="stochastic", max_iter=2, tol=None).fit(X, y)
