"""``average``: averaged SGD, against scikit-learn's and across partial_fit and pickling."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import SGDClassifier, SGDRegressor

from sklearn_gd import GDClassifier, GDRegressor


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((200, 8))
    # Some exact zeros, so the CSR rows skip columns (the lazy average's case).
    X[rng.rand(*X.shape) < 0.3] = 0.0
    w = rng.standard_normal(8)
    y = X @ w + 0.3 * rng.standard_normal(200) + 1.0
    return X, y, (X @ w > 0).astype(int)


def _settings(learning_rate, average, sparse, alpha=1e-3):
    # scikit-learn damps the intercept's steps on sparse data (intercept_decay
    # 0.01): compared without an intercept there.
    return dict(learning_rate=learning_rate, eta0=0.01, alpha=alpha, shuffle=False,
                tol=None, max_iter=5, average=average, fit_intercept=not sparse)


def _fit_pair(ours, theirs, X, y):
    with warnings.catch_warnings():
        # tol=None with a few epochs: scikit-learn's ConvergenceWarning.
        warnings.simplefilter("ignore")
        return ours.fit(X, y), theirs.fit(X, y)


def _assert_same_model(ours, theirs):
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-6)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("average", [True, 10])
def test_regressor_matches_sklearn(data, average, sparse):
    # "constant" only: the "optimal" schedule of the squared error diverges
    # here in both, and ours differs slightly from scikit-learn's for it.
    X, y, _ = data
    X = sp.csr_matrix(X) if sparse else X
    settings = _settings("constant", average, sparse)
    ours, theirs = _fit_pair(GDRegressor(solver="stochastic", optimizer="sgd", **settings),
                             SGDRegressor(**settings), X, y)
    _assert_same_model(ours, theirs)
    assert not np.allclose(ours.coef_, ours._standard_params[0, :-1])


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("average", [True, 10])
@pytest.mark.parametrize("learning_rate", ["constant", "optimal"])
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_binary_classifier_matches_sklearn(data, loss, learning_rate, average, sparse):
    X, _, y = data
    X = sp.csr_matrix(X) if sparse else X
    settings = dict(_settings(learning_rate, average, sparse), loss=loss)
    ours, theirs = _fit_pair(GDClassifier(solver="stochastic", optimizer="sgd", **settings),
                             SGDClassifier(**settings), X, y)
    _assert_same_model(ours, theirs)


@pytest.mark.parametrize("average", [True, 10])
def test_multiclass_classifier_matches_sklearn(data, average):
    # One-vs-rest: each class's weights and average are those of its binary fit.
    X, y, _ = data
    y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    settings = dict(_settings("constant", average, False), loss="hinge")
    ours, theirs = _fit_pair(GDClassifier(solver="stochastic", optimizer="sgd", **settings),
                             SGDClassifier(**settings), X, y)
    _assert_same_model(ours, theirs)


def test_average_not_started_returns_last_iterate(data):
    # Averaging from an update past the fit's last: coef_ is the last
    # iterate, as scikit-learn's (average > t_ - 1).
    X, y, _ = data
    settings = _settings("constant", 10_000, False)
    ours, theirs = _fit_pair(GDRegressor(solver="stochastic", optimizer="sgd", **settings),
                             SGDRegressor(**settings), X, y)
    _assert_same_model(ours, theirs)
    plain = GDRegressor(solver="stochastic", optimizer="sgd",
                        **_settings("constant", False, False)).fit(X, y)
    np.testing.assert_array_equal(ours.coef_, plain.coef_)


def _stream_model(average, sparse=False, **extra):
    settings = dict(solver="stochastic", optimizer="sgd", learning_rate="constant",
                    eta0=0.01, alpha=1e-3, shuffle=False, tol=None, average=average,
                    fit_intercept=not sparse)
    return GDRegressor(**{**settings, **extra})


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("average", [True, 300])
def test_partial_fit_equals_fit(data, average, sparse):
    X, y, _ = data
    X = sp.csr_matrix(X) if sparse else X
    fitted = _stream_model(average, sparse, max_iter=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit(X, y)
    streamed = _stream_model(average, sparse)
    for _ in range(4):
        streamed.partial_fit(X, y)
    np.testing.assert_allclose(streamed.coef_, fitted.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(streamed.intercept_, fitted.intercept_, rtol=1e-12,
                               atol=1e-14)
    assert streamed.t_ == fitted.t_ == 4 * X.shape[0]


@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_pickle_mid_stream_continues_the_stream(data, sparse, penalty):
    X, y, _ = data
    X = sp.csr_matrix(X) if sparse else X
    chunks = [slice(0, 70), slice(70, 140), slice(140, 200)]
    whole = _stream_model(True, sparse, penalty=penalty, l1_ratio=0.5)
    for part in chunks * 2:
        whole.partial_fit(X[part], y[part])
    interrupted = _stream_model(True, sparse, penalty=penalty, l1_ratio=0.5)
    for part in chunks:
        interrupted.partial_fit(X[part], y[part])
    resumed = pickle.loads(pickle.dumps(interrupted))
    for part in chunks:
        resumed.partial_fit(X[part], y[part])
    np.testing.assert_array_equal(resumed.coef_, whole.coef_)
    np.testing.assert_array_equal(resumed.intercept_, whole.intercept_)
    np.testing.assert_array_equal(resumed._standard_params, whole._standard_params)


@pytest.mark.parametrize("penalty", ["l2", "elasticnet"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_lazy_average_is_the_mean_of_the_iterates(data, sparse, penalty):
    # One sample per partial_fit call, so that the plain model exposes every
    # iterate; the cumulative L1 state carries over the calls. Strong
    # penalties, so that the scale and the L1 steps both move the weights.
    X, y, _ = data
    X = sp.csr_matrix(X[:60]) if sparse else X[:60]
    settings = dict(penalty=penalty, l1_ratio=0.5, alpha=0.5, eta0=0.05)
    model = _stream_model(5, sparse, **settings)
    plain = _stream_model(False, sparse, **settings)
    iterates = []
    for i in range(60):
        model.partial_fit(X[i:i + 1], y[i:i + 1])
        plain.partial_fit(X[i:i + 1], y[i:i + 1])
        iterates.append(np.append(plain.coef_, plain.intercept_))
    expected = np.mean(iterates[4:], axis=0)
    if penalty == "elasticnet":
        # The L1 steps made some iterate's weights exactly zero.
        assert any(np.any(w[:-1] == 0.0) for w in iterates)
    np.testing.assert_allclose(np.append(model.coef_, model.intercept_), expected,
                               rtol=1e-10, atol=1e-14)
    # And in one epoch, where the average stays lazy from row to row.
    whole = _stream_model(5, sparse, **settings).partial_fit(X, y[:60])
    np.testing.assert_allclose(np.append(whole.coef_, whole.intercept_), expected,
                               rtol=1e-10, atol=1e-14)


def test_lazy_average_equals_dense_average(data):
    # The dense loop (chosen by clip_value) averages explicitly; with L2 its
    # update is plain SGD's (their L1 steps differ by design).
    X, y, _ = data
    for Xf in (X, sp.csr_matrix(X)):
        common = dict(solver="stochastic", optimizer="sgd", learning_rate="constant",
                      eta0=0.01, alpha=1e-2, shuffle=False, tol=None, max_iter=3,
                      average=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lazy = GDRegressor(**common).fit(Xf, y)
            dense = GDRegressor(clip_value=1e300, **common).fit(Xf, y)
        np.testing.assert_allclose(lazy.coef_, dense.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(lazy.intercept_, dense.intercept_, rtol=1e-9)


def test_average_is_the_mean_of_the_iterates(data):
    # The minibatch loop's dense average, checked against the iterates
    # themselves, one update per partial_fit call of one batch.
    X, y, _ = data
    model = GDRegressor(solver="minibatch", batch_size=20, optimizer="momentum",
                        eta0=0.01, shuffle=False, tol=None, average=3)
    plain = GDRegressor(solver="minibatch", batch_size=20, optimizer="momentum",
                        eta0=0.01, shuffle=False, tol=None)
    iterates = []
    for start in range(0, 200, 20):
        model.partial_fit(X[start:start + 20], y[start:start + 20])
        plain.partial_fit(X[start:start + 20], y[start:start + 20])
        iterates.append(np.append(plain.coef_, plain.intercept_))
    expected = np.mean(iterates[2:], axis=0)
    np.testing.assert_allclose(np.append(model.coef_, model.intercept_), expected,
                               rtol=1e-10)


@pytest.mark.parametrize("params", [dict(solver="batch"),
                                    dict(solver="batch", optimizer="lbfgs")])
def test_batch_solver_refuses_average(data, params):
    X, y, _ = data
    with pytest.raises(ValueError, match="average=True is supported by solver='stochastic'"):
        GDRegressor(average=True, **params).fit(X, y)


def test_certificate_judges_the_average(data):
    X, y, _ = data
    model = GDRegressor(solver="stochastic", optimizer="sgd", average=True, max_iter=200,
                        tol=1e-3, random_state=0).fit(X, y)
    assert model.convergence_.converged
    # The weights returned, certified, are the average, not the last iterate.
    raw = model._standard_params
    assert not np.array_equal(model.coef_, raw[0, :-1])


def test_user_arrays_not_modified(data):
    X, y, _ = data
    X_copy, y_copy = X.copy(), y.copy()
    coef = np.ones(X.shape[1])
    GDRegressor(solver="stochastic", optimizer="sgd", average=True, max_iter=3, tol=None,
                shuffle=False).fit(X, y, coef_init=coef)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(coef, np.ones(X.shape[1]))
