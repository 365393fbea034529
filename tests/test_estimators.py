"""Behaviour of GDClassifier and GDRegressor in the scikit-learn ecosystem.

Model selection and persistence, partial_fit streaming and its failure modes,
optimizer state carried across warm_start / partial_fit, determinism, dtype and
sparse handling, divergence, parameter validation, fitted attributes, accuracy
against scikit-learn's SGD estimators, class weights and early stopping.

Everything is compared against something measured in the same test (a twin
estimator, scikit-learn's peer, the state before a call), never against
hard-coded numbers.
"""

import math
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from helpers import (
    CORE_STATE,
    assert_same_state,
    clf_data,
    data_for,
    partial_fit_classes,
    reg_data,
    scaled_data,
    snapshot,
    split_data,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    make_classification,
)
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import (
    LogisticRegression,
    Ridge,
    SGDClassifier,
    SGDRegressor,
)
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from sklearn_gd import DivergenceError, GDClassifier, GDRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # Unscaled data is used on purpose in the divergence tests.
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]


# --------------------------------------------------------------------- data


# ----------------------------------------------------------- state helpers


# ======================================================= 1. model selection
def test_grid_search_pipeline_parallel_matches_serial():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("clf", GDClassifier(max_iter=100, random_state=0))])
    grid = {"clf__alpha": [1e-4, 1e-1], "clf__solver": ["batch", "stochastic"]}
    parallel = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    serial = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)

    assert len(parallel.cv_results_["params"]) == 4
    # Worker processes train the same models as the main process, bit for bit.
    assert_array_equal(parallel.cv_results_["mean_test_score"],
                       serial.cv_results_["mean_test_score"])
    assert parallel.best_params_ == serial.best_params_
    best = parallel.best_estimator_.named_steps["clf"]
    check_is_fitted(best)
    assert best.alpha == parallel.best_params_["clf__alpha"]
    assert best.solver == parallel.best_params_["clf__solver"]
    # Better than always predicting the majority class by a wide margin.
    majority = np.bincount(y).max() / len(y)
    assert parallel.best_score_ > majority + 0.25


def test_cross_val_score_classifier_close_to_logistic_regression():
    X, y = load_breast_cancer(return_X_y=True)
    ours = cross_val_score(make_pipeline(StandardScaler(), GDClassifier(random_state=0)),
                           X, y, cv=5)
    ref = cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), X, y, cv=5)
    assert ours.shape == (5,) and np.all(np.isfinite(ours))
    assert ours.mean() >= ref.mean() - 0.02


def test_cross_val_score_regressor_close_to_ridge():
    X, y = load_diabetes(return_X_y=True)
    ours = cross_val_score(make_pipeline(StandardScaler(), GDRegressor(random_state=0)),
                           X, y, cv=5)
    ref = cross_val_score(make_pipeline(StandardScaler(), Ridge(alpha=1e-3)), X, y, cv=5)
    assert ours.shape == (5,) and np.all(np.isfinite(ours))
    assert ours.mean() >= ref.mean() - 0.02


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_clone_is_unfitted_with_equal_params(Est):
    params = dict(alpha=0.01, solver="minibatch", batch_size=16, optimizer="adam",
                  learning_rate="step", milestones=[3, 5], max_iter=10, random_state=3)
    if Est is GDClassifier:
        params["class_weight"] = {0: 2.0, 1: 1.0}
    est = Est(**params)
    X, y = data_for(Est)
    est.fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    # Nothing but the constructor parameters: no fitted or cached private state.
    assert set(vars(copy)) == set(est.get_params())
    with pytest.raises(NotFittedError):
        copy.predict(X)


# ======================================================== 2. partial_fit
@pytest.mark.parametrize(
    "name, solver",
    [("breast_cancer", "batch"), ("breast_cancer", "minibatch"),
     ("breast_cancer", "stochastic"), ("digits", "minibatch"), ("digits", "stochastic")],
)
def test_partial_fit_chunks_close_to_fit(name, solver):
    Xtr, Xte, ytr, yte = scaled_data(name)
    classes = np.unique(ytr)
    full = GDClassifier(solver=solver, random_state=0).fit(Xtr, ytr)
    stream = GDClassifier(solver=solver, random_state=0)
    chunks = np.array_split(np.arange(len(ytr)), 10)
    for _ in range(10):
        for idx in chunks:
            stream.partial_fit(Xtr[idx], ytr[idx], classes=classes)

    assert stream.n_iter_ == 100
    updates_per_pass = {
        "batch": len(chunks),
        "minibatch": sum(math.ceil(len(idx) / stream.batch_size) for idx in chunks),
        "stochastic": len(ytr),
    }[solver]
    assert stream.t_ == 10 * updates_per_pass
    k = len(classes)
    assert stream.coef_.shape == ((1, Xtr.shape[1]) if k == 2 else (k, Xtr.shape[1]))
    assert stream.score(Xte, yte) >= full.score(Xte, yte) - 0.03


def test_partial_fit_softmax_multiclass():
    Xtr, Xte, ytr, yte = scaled_data("iris")
    classes = np.unique(ytr)
    full = GDClassifier(loss="log_loss", random_state=0).fit(Xtr, ytr)
    stream = GDClassifier(loss="log_loss", solver="minibatch", batch_size=8, random_state=0)
    # The first chunk holds a single class: fine, as all classes are declared.
    only_first = np.flatnonzero(ytr == classes[0])[:10]
    stream.partial_fit(Xtr[only_first], ytr[only_first], classes=classes)
    assert_array_equal(stream.classes_, classes)
    for _ in range(30):
        for idx in np.array_split(np.arange(len(ytr)), 4):
            stream.partial_fit(Xtr[idx], ytr[idx])
    assert stream.coef_.shape == (3, Xtr.shape[1])
    assert stream.intercept_.shape == (3,)
    proba = stream.predict_proba(Xte)
    assert proba.shape == (len(yte), 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    # Softmax: the argmax of the probabilities is the prediction.
    assert_array_equal(classes[np.argmax(proba, axis=1)], stream.predict(Xte))
    assert stream.score(Xte, yte) >= full.score(Xte, yte) - 0.05


def test_partial_fit_first_call_requires_classes():
    X, y = clf_data()
    clf = GDClassifier()
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.partial_fit(X, y, classes=[0, 1])  # a correct retry works
    check_is_fitted(clf)


def test_partial_fit_unseen_label_is_named_and_changes_nothing():
    X, y = clf_data()
    labels = np.array(["ham", "spam"])[y]
    clf = GDClassifier(solver="stochastic", optimizer="adam", random_state=0)
    clf.partial_fit(X[:100], labels[:100], classes=["ham", "spam"])
    before = snapshot(clf)
    bad = labels[100:200].copy()
    bad[7] = "eggs"
    with pytest.raises(ValueError, match="eggs"):
        clf.partial_fit(X[100:200], bad)
    assert_same_state(snapshot(clf), before)


@pytest.mark.parametrize("loss, dataset", [("log_loss", "breast_cancer"),
                                           ("hinge", "iris"),
                                           ("log_loss", "iris")])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_partial_fit_lean_route_equals_general_route(loss, dataset, dtype):
    # NumPy chunks with numeric labels are checked and encoded by kernels
    # (_kernels.data_passes); lists take scikit-learn's validation and NumPy's
    # encoding (so do Fortran-ordered arrays, which keep the dtype). Both must
    # train the same model, to the bit: binary, one-vs-rest and multinomial
    # targets, labels of another dtype than the classes.
    Xtr, _, ytr, _ = scaled_data(dataset)
    Xtr = Xtr.astype(dtype)
    classes = np.unique(ytr)
    lean = GDClassifier(loss=loss, solver="stochastic", random_state=0)
    general = GDClassifier(loss=loss, solver="stochastic", random_state=0)
    for start in range(0, len(ytr) - 29, 30):
        rows = slice(start, start + 30)
        labels = ytr[rows].astype(np.int32) if start % 60 else ytr[rows]
        lean.partial_fit(Xtr[rows], labels, classes=classes)
        general.partial_fit(np.asfortranarray(Xtr[rows]), ytr[rows].tolist(),
                            classes=classes.tolist())
    assert lean.coef_.dtype == dtype
    assert_same_state(snapshot(lean), snapshot(general))


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_partial_fit_stream_buffers_follow_changes_between_calls(Est):
    # The lean stream keeps its scratch buffers, unit weights and target matrix
    # from call to call. Chunks of changing length and dtype, a switch to the
    # mini-batch loop (which leaves its last gradient in the buffer that the
    # one-sample loop with L1 needs zeroed), shuffling switched off after
    # shuffled epochs, and a new penalty must all train exactly as the general
    # driver does (on_divergence="recover" takes it), which allocates afresh.
    X, y = data_for(Est)
    params = dict(solver="stochastic", penalty="l1", alpha=1e-3, eta0=0.01,
                  random_state=0)
    lean = Est(**params)
    general = Est(on_divergence="recover", **params)
    steps = [(slice(0, 10), {}), (slice(10, 20), {}), (slice(20, 27), {}),
             (slice(27, 37), {"solver": "minibatch", "batch_size": 4}),
             (slice(37, 47), {"solver": "stochastic"}),
             (slice(47, 57), {"shuffle": False}), (slice(57, 67), {}),
             (slice(67, 77), {"penalty": "l2"}), (slice(77, 97), {})]
    for i, (rows, changes) in enumerate(steps):
        lean.set_params(**changes)
        general.set_params(**changes)
        # float32 chunks in the middle: another dtype of weights and targets.
        Xc = X[rows].astype(np.float32) if i in (6, 7) else X[rows]
        partial_fit_classes(lean, Xc, y[rows])
        partial_fit_classes(general, Xc, y[rows])
        assert_same_state(snapshot(lean), snapshot(general))


@pytest.mark.parametrize("Est, loss", [(GDRegressor, "squared_error"),
                                       (GDClassifier, "squared_hinge")])
def test_plain_sgd_failed_partial_fit_keeps_its_shared_moments(Est, loss):
    # Plain SGD's moment arrays are passed to the kernels uncopied when they
    # hold nothing; with L1 they hold the cumulative penalty's state, written
    # in place by the kernel, and a diverging chunk must still leave the whole
    # state, that one included, as it was.
    X, y = data_for(Est)
    params = dict(loss=loss, solver="stochastic", penalty="l1", eta0=0.5, random_state=0)
    est = partial_fit_classes(Est(**params), X[:100] * 0.01, y[:100])
    assert np.any(est.optimizer_state_["first_moment"])  # the penalty each weight received
    before = snapshot(est)
    with pytest.raises(DivergenceError):
        partial_fit_classes(est, X[100:] * 1000.0, y[100:])
    assert_same_state(snapshot(est), before)


@pytest.mark.parametrize("bad, message", [(np.nan, "NaN"), (np.inf, "infinity")])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_partial_fit_non_finite_chunk_is_rejected_and_changes_nothing(Est, bad, message):
    X, y = data_for(Est)
    est = partial_fit_classes(Est(solver="stochastic", random_state=0), X[:100], y[:100])
    before = snapshot(est)
    chunk = X[100:110].copy()
    chunk[3, 5] = bad
    with pytest.raises(ValueError, match=message):
        partial_fit_classes(est, chunk, y[100:110])
    assert_same_state(snapshot(est), before)


def test_partial_fit_unseen_numeric_label_is_named():
    X, y = clf_data()
    clf = GDClassifier(solver="stochastic", random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1])
    bad = y[100:110].copy()
    bad[4] = 7
    with pytest.raises(ValueError, match="labels not in classes_.*7"):
        clf.partial_fit(X[100:110], bad)


def test_partial_fit_failed_first_call_can_be_retried():
    Xtr, _, ytr, _ = scaled_data("iris")
    clf = GDClassifier()
    with pytest.raises(ValueError, match="2"):
        clf.partial_fit(Xtr, ytr, classes=[0, 1])
    clf.partial_fit(Xtr, ytr, classes=[0, 1, 2])
    assert_array_equal(clf.classes_, [0, 1, 2])


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_partial_fit_n_features_change(Est):
    X, y = data_for(Est)
    est = partial_fit_classes(Est(), X[:100], y[:100])
    before = snapshot(est)
    with pytest.raises(ValueError, match="features"):
        partial_fit_classes(est, X[100:200, :-1], y[100:200])
    assert_same_state(snapshot(est), before)
    assert est.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("solver", ["batch", "stochastic"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_partial_fit_zero_weight_chunk_changes_nothing(Est, solver):
    X, y = data_for(Est)
    est = Est(solver=solver, optimizer="adam", random_state=0)
    twin = Est(solver=solver, optimizer="adam", random_state=0)
    partial_fit_classes(est, X[:100], y[:100])
    partial_fit_classes(twin, X[:100], y[:100])
    before = snapshot(est)
    partial_fit_classes(est, X[100:200], y[100:200], sample_weight=np.zeros(100))
    assert_same_state(snapshot(est), before,
                       keys=CORE_STATE + ("learning_rate_", "eta0_"))
    # ... including the hidden state: the next chunk gives the same model as
    # for an estimator that never saw the zero-weight chunk.
    partial_fit_classes(est, X[200:], y[200:])
    partial_fit_classes(twin, X[200:], y[200:])
    assert_same_state(snapshot(est), snapshot(twin), keys=CORE_STATE)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_partial_fit_zero_weight_first_chunk(Est):
    X, y = data_for(Est)
    est = Est(solver="stochastic", random_state=0)
    twin = Est(solver="stochastic", random_state=0)
    partial_fit_classes(est, X[:100], y[:100], sample_weight=np.zeros(100))
    partial_fit_classes(est, X[100:], y[100:])
    partial_fit_classes(twin, X[100:], y[100:])
    assert_same_state(snapshot(est), snapshot(twin), keys=CORE_STATE)


def _failing_partial_fit(kind, Est, X, y):
    """Arguments (X, y, kwargs) of a partial_fit call that must fail."""
    X, y = np.array(X[200:300]), np.array(y[200:300])
    if kind == "nan":
        X[3, 4] = np.nan
        return X, y, {}
    if kind == "inf":
        X[5, 0] = np.inf
        return X, y, {}
    if kind == "n_features":
        return X[:, 1:], y, {}
    if kind == "n_features_contiguous":  # the fast path for plain C arrays
        return np.ascontiguousarray(X[:, 1:]), y, {}
    if kind == "negative_weight":
        sw = np.ones(len(y))
        sw[2] = -1.0
        return X, y, {"sample_weight": sw}
    if kind == "n_samples":
        return X, y[:-1], {}
    if kind == "unseen_label":
        y = y.copy()
        y[0] = 5
        return X, y, {}
    if kind == "other_classes":
        return X, y, {"classes": [0, 1, 2]}
    raise AssertionError(kind)


_COMMON_FAILURES = ["nan", "inf", "n_features", "n_features_contiguous",
                    "negative_weight", "n_samples"]


@pytest.mark.parametrize(
    "Est, kind",
    [(GDClassifier, k) for k in _COMMON_FAILURES + ["unseen_label", "other_classes"]]
    + [(GDRegressor, k) for k in _COMMON_FAILURES],
)
def test_failed_partial_fit_leaves_state_untouched(Est, kind):
    X, y = data_for(Est)
    est = Est(solver="stochastic", optimizer="adam", random_state=0)
    twin = Est(solver="stochastic", optimizer="adam", random_state=0)
    partial_fit_classes(est, X[:200], y[:200])
    partial_fit_classes(twin, X[:200], y[:200])
    before = snapshot(est)
    bad_X, bad_y, kwargs = _failing_partial_fit(kind, Est, X, y)
    with pytest.raises(ValueError):
        est.partial_fit(bad_X, bad_y, **kwargs)
    assert_same_state(snapshot(est), before)
    # The next good chunk continues exactly as if the failed call never happened.
    partial_fit_classes(est, X[200:], y[200:])
    partial_fit_classes(twin, X[200:], y[200:])
    assert_same_state(snapshot(est), snapshot(twin))


# ==================================================== 3. state carry-over
_CARRY_CASES = [
    ("adam", "constant", "batch"),
    ("adam", "invscaling", "batch"),
    ("sgd", "constant", "batch"),
    ("momentum", "inverse_time", "batch"),
    ("nesterov", "exponential", "batch"),
    ("adagrad", "step", "batch"),
    ("rmsprop", "constant", "minibatch"),
    ("adam", "constant", "stochastic"),
    ("sgd", "optimal", "stochastic"),
    ("normalized", "constant", "batch"),
    ("normalized", "constant", "minibatch"),
    ("normalized", "invscaling", "stochastic"),
]


def _carry_params(optimizer, schedule, solver):
    # Explicit milestones: the default ones depend on max_iter, which differs
    # between the runs compared here (documented behaviour).
    # "optimal" starts with steps of 1 / (alpha * t0): a larger alpha keeps the
    # regression problem from diverging.
    return dict(optimizer=optimizer, learning_rate=schedule, solver=solver, tol=None,
                milestones=[2, 5], batch_size=50, random_state=0,
                alpha=0.1 if schedule == "optimal" else 1e-4)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
@pytest.mark.parametrize("optimizer, schedule, solver", _CARRY_CASES)
def test_warm_start_fit_equals_fit_from_the_previous_weights(Est, optimizer, schedule, solver):
    """A warm-started fit is fit(coef_init=coef_, intercept_init=intercept_), bit for bit.

    As in scikit-learn: only the weights carry over; t_, the schedule and the
    optimizer state restart (partial_fit continues a run, see below).
    """
    X, y = data_for(Est)
    k = 4
    params = _carry_params(optimizer, schedule, solver)
    if schedule == "optimal" and Est is GDRegressor:
        # The restarted schedule's first steps, 1 / (alpha * t0), diverge here
        # with alpha=0.1 for most seeds, from zero or not.
        params["alpha"] = 0.3
    warm = Est(max_iter=k, warm_start=True, **params)
    warm.fit(X, y)
    first = snapshot(warm)
    warm.fit(X, y)
    init = Est(max_iter=k, **params).fit(X, y, coef_init=first["coef_"],
                                         intercept_init=first["intercept_"])

    assert warm.t_ == first["t_"] == init.t_
    assert_same_state(snapshot(warm), snapshot(init))
    # The second fit did train from the first's weights.
    assert not np.array_equal(warm.coef_, first["coef_"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
@pytest.mark.parametrize("optimizer, schedule, solver", _CARRY_CASES)
def test_repeated_partial_fit_equals_fit(Est, optimizer, schedule, solver):
    """N partial_fit calls on the data are N epochs of fit, bit for bit.

    partial_fit resolves eta0="auto" on its first chunk and keeps it; fit
    resolves it on the same data, so the two agree when every chunk is the
    whole data set. The shuffling seeds are per (random_state, epoch), so even
    the shuffled loops agree.
    """
    X, y = data_for(Est)
    n = 6
    params = _carry_params(optimizer, schedule, solver)
    stream = Est(**params)
    for _ in range(n):
        partial_fit_classes(stream, X, y)
    full = Est(max_iter=n, **params).fit(X, y)
    assert stream.n_iter_ == full.n_iter_ == n
    assert_same_state(snapshot(stream), snapshot(full))


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_partial_fit_after_fit_continues_from_fit(Est):
    X, y = data_for(Est)
    params = dict(optimizer="adam", solver="batch", tol=None)
    est = Est(max_iter=3, **params).fit(X, y)
    partial_fit_classes(est, X, y)
    longer = Est(max_iter=4, **params).fit(X, y)
    assert_same_state(snapshot(est), snapshot(longer), keys=CORE_STATE)


# ================================================== 4. dtypes and sparse
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_dtype_is_preserved(Est, method, dtype):
    X, y = data_for(Est)
    X = X.astype(dtype)
    est = Est(max_iter=20)
    if method == "fit":
        est.fit(X, y)
    else:
        partial_fit_classes(est, X, y)
    assert est.coef_.dtype == dtype
    assert est.intercept_.dtype == dtype
    for moment in est.optimizer_state_.values():
        assert moment.dtype == dtype
    if Est is GDRegressor:
        assert est.predict(X).dtype == dtype
    else:
        assert est.decision_function(X).dtype == dtype
        assert est.predict_proba(X).dtype == dtype
        assert est.predict(X).dtype == y.dtype
    # The float32 model is the float64 one up to float32 precision.
    ref = Est(max_iter=20)
    if method == "fit":
        ref.fit(X.astype(np.float64), y)
    else:
        partial_fit_classes(ref, X.astype(np.float64), y)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("bad_index", [-1, "n_features"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_sparse_column_index_out_of_range_is_rejected(Est, bad_index):
    # SciPy builds such a matrix without complaint; the kernels index the
    # weights with the column indices unchecked, so _Rows must refuse it.
    X, y = data_for(Est)
    Xs = sp.csr_matrix(np.asarray(X)[:50])
    Xs.indices[7] = Xs.shape[1] if bad_index == "n_features" else bad_index
    with pytest.raises(ValueError, match="column indices outside"):
        Est().fit(Xs, y[:50])
    est = partial_fit_classes(Est(solver="stochastic", random_state=0), np.asarray(X)[:50], y[:50])
    before = snapshot(est)
    with pytest.raises(ValueError, match="column indices outside"):
        partial_fit_classes(est, Xs, y[:50])
    assert_same_state(snapshot(est), before)


@pytest.mark.parametrize("solver", ["batch", "minibatch", "stochastic"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_sparse_input_gives_dense_model(Est, solver):
    X, y = data_for(Est)
    X = np.array(X)
    X[np.abs(X) < 0.7] = 0.0  # about half the entries
    Xs = sp.csr_matrix(X)
    assert Xs.nnz < 0.7 * X.size
    params = dict(solver=solver, batch_size=25, max_iter=15, tol=None, random_state=0)
    dense = Est(**params).fit(X, y)
    sparse = Est(**params).fit(Xs, y)
    assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=1e-9)
    assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-6, atol=1e-9)
    assert_allclose(sparse.predict(Xs) if Est is GDRegressor else sparse.decision_function(Xs),
                    dense.predict(X) if Est is GDRegressor else dense.decision_function(X),
                    rtol=1e-6, atol=1e-9)
    # partial_fit too.
    dense_pf = partial_fit_classes(Est(**params), X, y)
    sparse_pf = partial_fit_classes(Est(**params), Xs, y)
    assert_allclose(sparse_pf.coef_, dense_pf.coef_, rtol=1e-6, atol=1e-9)


# =================================================== 5. parameter checks
@pytest.mark.parametrize(
    "Est, param, value, allowed",
    [
        # squared_error is a classifier loss (as in SGDClassifier); quantile is not.
        (GDClassifier, "loss", "quantile", ["log_loss", "hinge", "focal", "squared_error"]),
        (GDRegressor, "loss", "hinge", ["squared_error", "huber", "quantile"]),
        (GDClassifier, "optimizer", "bfgs", ["sgd", "adam", "lbfgs"]),
        (GDRegressor, "optimizer", "Adam", ["adam", "rmsprop"]),
        (GDClassifier, "on_divergence", "ignore", ["raise", "recover"]),
        (GDClassifier, "solver", "full", ["batch", "minibatch", "stochastic"]),
        (GDRegressor, "solver", "sag", ["batch", "minibatch", "stochastic"]),
        (GDClassifier, "learning_rate", "cosine", ["constant", "invscaling", "step"]),
        (GDRegressor, "learning_rate", 0.1, ["constant", "optimal", "adaptive"]),
        (GDClassifier, "penalty", "l3", ["l1", "l2", "elasticnet"]),
        (GDClassifier, "class_weight", "auto", ["balanced"]),
        (GDClassifier, "alpha", -1.0, ["alpha", "range"]),
        (GDRegressor, "alpha", -0.5, ["alpha", "range"]),
        (GDClassifier, "eta0", 0.0, ["eta0", "auto"]),
        (GDRegressor, "eta0", "fast", ["eta0", "auto"]),
        (GDClassifier, "max_iter", 0, ["max_iter", "range"]),
        (GDRegressor, "batch_size", 0, ["batch_size", "range"]),
        (GDClassifier, "l1_ratio", 1.5, ["l1_ratio", "range"]),
        (GDRegressor, "validation_fraction", 1.0, ["validation_fraction", "range"]),
        (GDClassifier, "momentum", 1.0, ["momentum", "range"]),
        (GDRegressor, "tol", -1e-3, ["tol", "range"]),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_invalid_parameters(Est, param, value, allowed, method):
    X, y = data_for(Est)
    est = Est(**{param: value})
    with pytest.raises(InvalidParameterError) as info:
        if method == "fit":
            est.fit(X, y)
        else:
            partial_fit_classes(est, X, y)
    message = str(info.value)
    assert repr(param) in message
    for word in allowed:
        assert word in message
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_optimal_schedule_needs_positive_alpha(Est):
    X, y = data_for(Est)
    with pytest.raises(ValueError, match="alpha"):
        Est(learning_rate="optimal", alpha=0.0).fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        Est(learning_rate="optimal", penalty=None).fit(X, y)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_predict_before_fit_raises_not_fitted(Est):
    X, _ = data_for(Est)
    est = Est()
    methods = ["predict", "score"] if Est is GDRegressor else \
        ["predict", "decision_function", "predict_proba", "predict_log_proba"]
    for name in methods:
        with pytest.raises(NotFittedError):
            if name == "score":
                est.score(X, np.zeros(len(X)))
            else:
                getattr(est, name)(X)


_LABELS = {
    "binary int64": np.array([0, 1, 1, 0, 1]),
    "shifted negatives": np.array([-7, 3, -7, 5, 3, 3]),
    "int8 at both ends": np.array([-128, 127, 0, 127], dtype=np.int8),
    "uint64 beyond int64": np.array([2**64 - 1, 2**64 - 3, 2**64 - 1], dtype=np.uint64),
    "uint8": np.array([200, 3, 3, 255], dtype=np.uint8),
    "wide range (np.unique's path)": np.array([0, 10**9, 5, 0]),
    "int64 extremes (np.unique's path)": np.array([-(2**63), 2**63 - 1, 0]),
}


@pytest.mark.parametrize("y", list(_LABELS.values()), ids=list(_LABELS))
def test_fit_labels_are_np_unique_s(y):
    from sklearn_gd._classification import _small_range_labels

    expected_classes, expected_index = np.unique(y, return_inverse=True)
    found = _small_range_labels(y)
    if found is not None:  # the counting path: np.unique's answer, dtype included
        classes, index = found
        assert classes.dtype == expected_classes.dtype and index.dtype == expected_index.dtype
        np.testing.assert_array_equal(classes, expected_classes)
        np.testing.assert_array_equal(index, expected_index)
    else:
        assert "np.unique" in next(k for k, v in _LABELS.items() if v is y)
    X = np.random.default_rng(0).normal(size=(y.shape[0], 3))
    est = GDClassifier(max_iter=5, tol=None).fit(X, y)
    np.testing.assert_array_equal(est.classes_, expected_classes)
    assert est.classes_.dtype == expected_classes.dtype
    assert set(est.predict(X).tolist()) <= set(y.tolist())


def test_many_integer_classes_still_warn_as_scikit_learn_does():
    """scikit-learn's target check gets the classes fit found; it still counts them."""
    y = np.arange(40) % 30
    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.warns(UserWarning, match="number of unique classes is greater than 50%"):
        GDClassifier(max_iter=2, tol=None).fit(X, y)


def test_single_class_raises():
    X, _ = clf_data()
    with pytest.raises(ValueError, match="class"):
        GDClassifier().fit(X[:50], np.ones(50))
    with pytest.raises(ValueError, match="class"):
        GDClassifier().partial_fit(X[:50], np.ones(50), classes=[1])
    # Two classes but one with zero total weight is a single class to learn.
    y = np.r_[np.zeros(25), np.ones(25)]
    with pytest.raises(ValueError, match="class"):
        GDClassifier().fit(X[:50], y, sample_weight=np.r_[np.ones(25), np.zeros(25)])


@pytest.mark.parametrize("loss", ["log_loss", "modified_huber", "focal"])
@pytest.mark.parametrize("name", ["breast_cancer", "iris"])
def test_predict_proba_available(loss, name):
    Xtr, Xte, ytr, _ = scaled_data(name)
    clf = GDClassifier(loss=loss, max_iter=100, random_state=0).fit(Xtr, ytr)
    assert hasattr(clf, "predict_proba") and hasattr(clf, "predict_log_proba")
    proba = clf.predict_proba(Xte)
    k = len(clf.classes_)
    assert proba.shape == (len(Xte), k)
    assert np.all(proba >= 0) and np.all(proba <= 1)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-7)
    with np.errstate(divide="ignore"):
        assert_allclose(clf.predict_log_proba(Xte), np.log(proba))
    # Probabilities follow the decision: the predicted class is (nearly
    # always) the most probable one; ties only for clipped modified_huber.
    agree = np.mean(clf.classes_[np.argmax(proba, axis=1)] == clf.predict(Xte))
    assert agree >= (0.95 if loss == "modified_huber" else 1.0)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge", "perceptron"])
def test_predict_proba_unavailable(loss):
    X, y = clf_data()
    clf = GDClassifier(loss=loss, max_iter=20).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    assert not hasattr(clf, "predict_log_proba")
    with pytest.raises(AttributeError, match="predict_proba"):
        clf.predict_proba(X)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_lbfgs_has_no_partial_fit_and_needs_batch(Est):
    X, y = data_for(Est)
    est = Est(optimizer="lbfgs")
    assert not hasattr(est, "partial_fit")
    assert hasattr(Est(optimizer="adam"), "partial_fit")
    for bad in (dict(solver="stochastic"), dict(penalty="l1"), dict(early_stopping=True)):
        with pytest.raises(ValueError, match="lbfgs"):
            Est(optimizer="lbfgs", **bad).fit(X, y)


@pytest.mark.parametrize("loss", ["squared_error", "log_loss"])
def test_lbfgs_integer_weights_equal_repeated_rows(loss):
    """The check_estimator data (15 x 30, 3 classes, weights 0-4): weights enter the
    objective as repeats do. Fitted to a tight certificate, both land on one optimum,
    the distance between them bounded by what the certificate allows."""
    from sklearn.utils import shuffle

    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15)
    sw = rng.randint(0, 5, size=15)
    X_repeated, y_repeated = X.repeat(sw, axis=0), y.repeat(sw)
    X_weighted, y_weighted, sw = shuffle(X, y, sw, random_state=0)
    est = GDClassifier(loss=loss, alpha=1e-2, optimizer="lbfgs", tol=1e-6, max_iter=2000)
    weighted = clone(est).fit(X_weighted, y_weighted, sample_weight=sw)
    repeated = clone(est).fit(X_repeated, y_repeated)
    assert weighted.convergence_.converged and repeated.convergence_.converged
    # Each certificate puts its weights within residual / alpha (1e-4 times a start
    # residual below 1) of the optimum; rows of norm ~3 carry that into the scores.
    # Measured: 1.7e-5 apart for least squares, 2e-11 for the log loss.
    assert_allclose(weighted.decision_function(X), repeated.decision_function(X),
                    rtol=0, atol=1e-4)
    # A weight of 0 is a removed row: refitting without those rows changes nothing.
    kept = sw > 0
    removed = clone(est).fit(X_weighted[kept], y_weighted[kept], sample_weight=sw[kept])
    assert_allclose(weighted.decision_function(X), removed.decision_function(X),
                    rtol=0, atol=1e-4)


def test_lbfgs_matches_logistic_regression():
    """Same objective as LogisticRegression with C = 1 / (alpha * n_samples)."""
    X, y = clf_data()
    alpha = 1e-2
    ours = GDClassifier(optimizer="lbfgs", alpha=alpha, max_iter=500, tol=1e-7).fit(X, y)
    ref = LogisticRegression(C=1 / (alpha * len(y)), tol=1e-12, max_iter=10_000).fit(X, y)
    assert ours.convergence_.converged and ours.n_iter_ < 500
    # A residual of 1e-7 (of a start below 1) bounds the distance to the optimum by
    # residual / alpha = 1e-5 in this alpha-strongly convex objective; the objective's
    # float64 rounding stops both L-BFGS runs near a residual of 1e-8, some 1e-6 apart.
    assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=5e-6)
    assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=5e-6)


# =================================================== 6. fitted attributes
@pytest.mark.parametrize(
    "Est, name, coef_shape, intercept_shape",
    [(GDClassifier, "breast_cancer", (1, 30), (1,)),
     (GDClassifier, "iris", (3, 4), (3,)),
     (GDRegressor, "diabetes", (10,), (1,))],
)
@pytest.mark.parametrize("loss", [None, "hinge"])
def test_attribute_shapes(Est, name, coef_shape, intercept_shape, loss):
    if loss is not None and Est is GDRegressor:
        loss = "huber"
    Xtr, _, ytr, _ = scaled_data(name)
    est = Est(max_iter=30) if loss is None else Est(loss=loss, max_iter=30)
    est.fit(Xtr, ytr)
    assert est.coef_.shape == coef_shape
    assert est.intercept_.shape == intercept_shape
    assert est.n_features_in_ == Xtr.shape[1]
    n_outputs = intercept_shape[0]
    for moment in est.optimizer_state_.values():
        assert moment.shape == (n_outputs, Xtr.shape[1] + 1)
    if Est is GDClassifier:
        assert_array_equal(est.classes_, np.unique(ytr))
        assert est.decision_function(Xtr).shape == \
            ((len(Xtr),) if n_outputs == 1 else (len(Xtr), n_outputs))


@pytest.mark.parametrize("solver", ["batch", "minibatch", "stochastic"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_update_count_and_loss_curve(Est, solver):
    X, y = data_for(Est)
    X, y = X[:100], y[:100]
    est = Est(solver=solver, batch_size=32, max_iter=40, tol=1e-3, random_state=0)
    est.fit(X, y)
    assert 1 <= est.n_iter_ <= est.max_iter
    per_epoch = {"batch": 1, "minibatch": math.ceil(100 / 32), "stochastic": 100}[solver]
    assert est.t_ == est.n_iter_ * per_epoch
    assert len(est.loss_curve_) == est.n_iter_
    assert np.all(np.isfinite(est.loss_curve_))
    # With tol=None every epoch runs.
    est.set_params(tol=None, max_iter=7).fit(X, y)
    assert est.n_iter_ == 7 and est.t_ == 7 * per_epoch and len(est.loss_curve_) == 7


@pytest.mark.parametrize("optimizer", ["sgd", "nesterov"])
def test_batch_squared_loss_curve_is_non_increasing(optimizer):
    X, y = reg_data()
    reg = GDRegressor(solver="batch", optimizer=optimizer, momentum=0.0, max_iter=200,
                      tol=None).fit(X, y)
    curve = np.asarray(reg.loss_curve_)
    assert len(curve) == 200
    assert np.all(np.diff(curve) <= 1e-12 * np.abs(curve[1:]))
    assert curve[-1] < curve[0]


def test_loss_curve_check_detects_too_large_step():
    """Control for the test above: with a step of 3 / lambda_max (beyond the
    stable 2 / lambda_max) the same monotonicity check fails."""
    X, y = reg_data()
    design = np.column_stack([X, np.ones(len(X))])
    lambda_max = np.linalg.eigvalsh(design.T @ design / len(X))[-1]
    # fit would now report this run as diverging (its objective ends over ten
    # times its first epoch's); partial_fit epochs only guard against blow-ups.
    reg = GDRegressor(solver="batch", eta0=3.0 / lambda_max, penalty=None)
    for _ in range(8):
        reg.partial_fit(X, y)
    assert np.all(np.isfinite(reg.coef_))
    assert np.any(np.diff(reg.loss_curve_) > 0)
    with pytest.raises(DivergenceError, match="objective rose"):
        GDRegressor(solver="batch", eta0=3.0 / lambda_max, penalty=None, max_iter=8,
                    tol=None).fit(X, y)


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_dataframe_sets_feature_names(Est):
    pd = pytest.importorskip("pandas")
    X, y = data_for(Est)
    columns = [f"feature_{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=columns)
    est = Est(max_iter=20).fit(df, y)
    assert_array_equal(est.feature_names_in_, columns)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        pred_df = est.predict(df)
    with pytest.warns(UserWarning, match="feature names"):
        pred_array = est.predict(X)
    # (a DataFrame arrives column-major: BLAS may round the last bit differently)
    assert_allclose(pred_df, pred_array, rtol=1e-12, atol=1e-12)
    # partial_fit with renamed columns is refused.
    stream = partial_fit_classes(Est(), df, y)
    assert_array_equal(stream.feature_names_in_, columns)
    with pytest.raises(ValueError, match="feature names"):
        partial_fit_classes(stream, df.rename(columns={"feature_0": "other"}), y)
    # Plain arrays set no feature names.
    assert not hasattr(Est(max_iter=5).fit(X, y), "feature_names_in_")


@pytest.mark.parametrize("tol", [None, 1e-2])
def test_verbose_prints_one_line_per_epoch(capsys, tol):
    X, y = clf_data()
    clf = GDClassifier(optimizer="sgd", max_iter=12, tol=tol, verbose=1).fit(X, y)
    lines = [line for line in capsys.readouterr().out.splitlines() if "Epoch" in line]
    assert len(lines) == clf.n_iter_
    for epoch, line in enumerate(lines, start=1):
        assert f"Epoch {epoch}:" in line
    GDClassifier(max_iter=12, tol=tol, verbose=0).fit(X, y)
    assert capsys.readouterr().out == ""


# ======================================= 7. accuracy against scikit-learn
@pytest.mark.parametrize(
    "name, loss, solver",
    [("breast_cancer", "log_loss", "batch"), ("breast_cancer", "log_loss", "stochastic"),
     ("breast_cancer", "hinge", "batch"), ("breast_cancer", "modified_huber", "minibatch"),
     ("digits", "log_loss", "batch"), ("digits", "hinge", "minibatch")],
)
def test_classification_accuracy_vs_sgdclassifier(name, loss, solver):
    Xtr, Xte, ytr, yte = split_data(name)
    ours = make_pipeline(StandardScaler(),
                         GDClassifier(loss=loss, solver=solver, random_state=0))
    peer = make_pipeline(StandardScaler(), SGDClassifier(loss=loss, random_state=0))
    ours_score = ours.fit(Xtr, ytr).score(Xte, yte)
    peer_score = peer.fit(Xtr, ytr).score(Xte, yte)
    assert ours_score >= peer_score - 0.01


def test_regression_r2_vs_sgdregressor():
    Xtr, Xte, ytr, yte = split_data("diabetes")
    ours = make_pipeline(StandardScaler(), GDRegressor(random_state=0))
    peer = make_pipeline(StandardScaler(), SGDRegressor(random_state=0))
    assert ours.fit(Xtr, ytr).score(Xte, yte) >= peer.fit(Xtr, ytr).score(Xte, yte) - 0.01


# ======================================= 8. class weights, early stopping
def _imbalanced():
    X, y = make_classification(n_samples=600, n_features=8, n_informative=4,
                               weights=[0.85, 0.15], class_sep=1.5, flip_y=0.05,
                               random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("solver", ["batch", "stochastic"])
def test_class_weight_shifts_predictions(solver):
    X, y = _imbalanced()
    params = dict(solver=solver, max_iter=200, random_state=0)
    plain = (GDClassifier(**params).fit(X, y).predict(X) == 1).sum()
    balanced = (GDClassifier(class_weight="balanced", **params).fit(X, y).predict(X)
                == 1).sum()
    up = (GDClassifier(class_weight={1: 5.0}, **params).fit(X, y).predict(X) == 1).sum()
    down = (GDClassifier(class_weight={0: 5.0}, **params).fit(X, y).predict(X) == 1).sum()
    assert 0 < plain < (y == 1).sum()
    assert balanced > plain
    assert up > plain
    assert down < plain
    # "balanced" is the same as the dict of n / (k * count) weights (batch is exact).
    counts = np.bincount(y)
    as_dict = {c: len(y) / (2 * counts[c]) for c in (0, 1)}
    a = GDClassifier(class_weight="balanced", **params).fit(X, y)
    b = GDClassifier(class_weight=as_dict, **params).fit(X, y)
    assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_class_weight_equals_sample_weight():
    X, y = _imbalanced()
    params = dict(solver="batch", max_iter=30, tol=None)
    a = GDClassifier(class_weight={0: 1.0, 1: 3.0}, **params).fit(X, y)
    b = GDClassifier(**params).fit(X, y, sample_weight=np.where(y == 1, 3.0, 1.0))
    assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_class_weight_balanced_refused_by_partial_fit():
    X, y = _imbalanced()
    with pytest.raises(ValueError, match="balanced"):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize("solver", ["batch", "stochastic"])
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_early_stopping_stops_early(Est, solver):
    if Est is GDClassifier:
        X, y = clf_data()
    else:
        rng = np.random.RandomState(0)
        X = rng.normal(size=(300, 5))
        y = X @ np.arange(1.0, 6.0) + 0.01 * rng.normal(size=300)
    params = dict(solver=solver, max_iter=500, random_state=0, n_iter_no_change=3)
    est = Est(early_stopping=True, **params).fit(X, y)
    assert est.n_iter_ < est.max_iter
    assert len(est.loss_curve_) == est.n_iter_
    n_train = len(y) - math.ceil(0.1 * len(y))
    assert est.t_ == est.n_iter_ * (1 if solver == "batch" else n_train)
    assert est.score(X, y) > (0.9 if Est is GDClassifier else 0.99)
    # It stops because of the validation score, not the training objective:
    # without early stopping and with tol=None every epoch runs.
    full = Est(early_stopping=False, tol=None, **{**params, "max_iter": est.n_iter_ + 3})
    full.fit(X, y)
    assert full.n_iter_ == est.n_iter_ + 3


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_partial_fit_scratch_stays_out_of_pickles_and_large_chunks(Est):
    # Buffers kept between partial_fit calls are scratch: a pickle leaves them
    # out (and the unpickled model continues identically), and chunks too
    # large for allocation to matter keep none.
    from sklearn_gd._base import _KEEP_BUFFER_ROWS, _KEPT_BUFFER_NAMES

    X, y = data_for(Est)
    est = partial_fit_classes(Est(solver="stochastic", random_state=0), X[:10], y[:10])
    partial_fit_classes(est, X[10:20], y[10:20])
    assert "_stream_buffers" in est.__dict__ and "_unit_weight_cache" in est.__dict__
    copy = pickle.loads(pickle.dumps(est))
    assert not set(_KEPT_BUFFER_NAMES) & set(copy.__dict__)
    assert set(_KEPT_BUFFER_NAMES) & set(est.__dict__)  # the original keeps its own
    partial_fit_classes(est, X[20:30], y[20:30])
    partial_fit_classes(copy, X[20:30], y[20:30])
    assert_same_state(snapshot(est), snapshot(copy))

    big = np.repeat(X, _KEEP_BUFFER_ROWS // len(X) + 1, axis=0)
    big_y = np.repeat(y, _KEEP_BUFFER_ROWS // len(X) + 1)
    assert len(big) > _KEEP_BUFFER_ROWS
    fresh = Est(solver="stochastic", random_state=0)
    partial_fit_classes(fresh, big[:10], big_y[:10])
    for name in _KEPT_BUFFER_NAMES:
        fresh.__dict__.pop(name, None)
    partial_fit_classes(fresh, big, big_y)
    assert not set(_KEPT_BUFFER_NAMES) & set(fresh.__dict__)
