"""Parity with scikit-learn's SGD estimators (issue 13): three features they have or lack.

1. Regression losses in ``GDClassifier`` (on +-1 targets, one-vs-rest), checked
   against ``SGDClassifier`` with the same loss and the same plain SGD updates.
2. ``sparsify()`` / ``densify()`` (scikit-learn's ``SparseCoefMixin``), checked
   against the dense model's own predictions and SciPy's CSR conversion.
3. Multi-output ``GDRegressor`` (a 2-D ``y``), checked against ``Ridge`` (its
   objective times ``2 S``, see ``test_correctness``) and against single-target
   fits of each column.
"""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge, SGDClassifier
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor

REGRESSION_LOSSES_IN_CLASSIFIER = ("squared_error", "huber", "epsilon_insensitive",
                                   "squared_epsilon_insensitive")


def _classification(n_classes, seed=0, n=150, p=5):
    X, y = make_classification(n_samples=n, n_features=p, n_informative=3,
                               n_redundant=0, n_classes=n_classes, n_clusters_per_class=1,
                               random_state=seed)
    return StandardScaler().fit_transform(X), y


def _np_ovr_objective(coef, intercept, X, y, classes, loss, alpha, epsilon=0.1):
    """Sum over the one-vs-rest columns of the mean loss on +-1 targets, plus L2."""
    scores = X @ np.atleast_2d(coef).T + intercept
    if len(classes) == 2:
        targets = np.where(y == classes[1], 1.0, -1.0)[:, None]
    else:
        targets = np.where(y[:, None] == classes[None, :], 1.0, -1.0)
    r = scores - targets
    a = np.abs(r)
    if loss == "squared_error":
        values = 0.5 * r * r
    elif loss == "huber":
        values = np.where(a <= epsilon, 0.5 * r * r, epsilon * a - 0.5 * epsilon**2)
    elif loss == "epsilon_insensitive":
        values = np.maximum(a - epsilon, 0.0)
    else:
        values = np.maximum(a - epsilon, 0.0) ** 2
    return values.sum(axis=1).mean() + 0.5 * alpha * np.sum(np.asarray(coef) ** 2)


# ============================================ 1. regression losses in the classifier
def _sgd_pair(loss, learning_rate, alpha=1e-2, eta0=0.01, max_iter=5):
    common = dict(loss=loss, penalty="l2", alpha=alpha, learning_rate=learning_rate,
                  eta0=eta0, max_iter=max_iter, tol=None, shuffle=False)
    ours = GDClassifier(solver="stochastic", optimizer="sgd", **common)
    theirs = SGDClassifier(random_state=0, **common)
    return ours, theirs


# "optimal" starts its rate 1 / (alpha (t0 + t - 1)) from Bottou's t0, which both
# damp by the loss derivative at a score of -1/alpha**0.25: scikit-learn takes
# max(1, derivative), whose sign is negative there for every loss, so it never
# damps; sklearn_gd takes its magnitude. They agree where that magnitude is <= 1
# (huber with epsilon 0.1, epsilon_insensitive), not for the two squared losses.
# (With alpha=1e-3, "optimal" steps start at 5.6: huber's kinks then amplify
# last-bit differences of the two implementations from 1e-11 after two epochs
# to 1e-1 after five, so the comparison uses alpha=1e-2.)
_SAME_ALGORITHM = [(loss, "constant") for loss in REGRESSION_LOSSES_IN_CLASSIFIER] + [
    ("huber", "optimal"), ("epsilon_insensitive", "optimal")]


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("loss, learning_rate", _SAME_ALGORITHM)
def test_classifier_regression_loss_matches_sgdclassifier(loss, learning_rate, n_classes):
    X, y = _classification(n_classes)
    ours, theirs = _sgd_pair(loss, learning_rate)
    ours.fit(X, y)
    theirs.fit(X, y)
    assert ours.coef_.shape == theirs.coef_.shape
    assert_allclose(ours.coef_, theirs.coef_, rtol=0, atol=1e-6)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=0, atol=1e-6)
    assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X, y) > 0.7


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("loss", ["squared_error", "squared_epsilon_insensitive"])
def test_classifier_squared_losses_optimal_schedule_close_to_sgdclassifier(loss, n_classes):
    # Different t0 (see _SAME_ALGORITHM): compare what the models achieve.
    X, y = _classification(n_classes, seed=1)
    # Scaled down: scikit-learn's first steps (1 / alpha**0.25, about 3.2) would
    # make the squared losses diverge on unit-variance features.
    X = 0.2 * X
    alpha = 1e-2
    ours, theirs = _sgd_pair(loss, "optimal", alpha=alpha, max_iter=20)
    ours.fit(X, y)
    theirs.fit(X, y)
    classes = np.unique(y)
    obj_ours = _np_ovr_objective(ours.coef_, ours.intercept_, X, y, classes, loss, alpha)
    obj_theirs = _np_ovr_objective(theirs.coef_, theirs.intercept_, X, y, classes, loss,
                                   alpha)
    assert obj_ours <= 1.05 * obj_theirs
    assert ours.score(X, y) >= theirs.score(X, y) - 0.03


@pytest.mark.parametrize("loss", REGRESSION_LOSSES_IN_CLASSIFIER)
def test_classifier_regression_loss_has_no_probabilities(loss):
    X, y = _classification(3)
    clf = GDClassifier(loss=loss).fit(X, y)
    for method in ("predict_proba", "predict_log_proba"):
        assert not hasattr(clf, method)
        with pytest.raises(AttributeError) as excinfo:
            getattr(clf, method)
        assert "not available for loss" in str(excinfo.value.__cause__)
    assert clf.decision_function(X).shape == (X.shape[0], 3)


def test_classifier_squared_error_lbfgs_is_least_squares_on_pm1_targets():
    # Binary squared error on +-1 targets + L2 is ridge regression of those targets.
    X, y = _classification(2, seed=3)
    alpha = 0.01
    clf = GDClassifier(loss="squared_error", optimizer="lbfgs", alpha=alpha, tol=1e-8,
                       max_iter=500).fit(X, y)
    ref = Ridge(alpha=alpha * len(y), solver="cholesky").fit(X, np.where(y == 1, 1.0, -1.0))
    assert_allclose(clf.coef_.ravel(), ref.coef_, rtol=0, atol=1e-8)
    assert_allclose(clf.intercept_, ref.intercept_, rtol=0, atol=1e-8)


# ================================================================ 2. sparsify
def _l1_problem(seed=0, n=120, p=40):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.5]
    return X, X @ w + 0.1 * rng.standard_normal(n)


def _sparse_estimators():
    X, t = _l1_problem()
    y_class = np.digitize(t, [-1.0, 1.0])  # three classes
    clf = GDClassifier(loss="log_loss", penalty="l1", alpha=0.02, max_iter=300,
                       tol=None).fit(X, y_class)
    reg = GDRegressor(penalty="l1", alpha=0.05, max_iter=300, tol=None).fit(X, t)
    return X, [(clf, y_class), (reg, t)]


def test_sparsify_keeps_predictions_exactly():
    X, fitted = _sparse_estimators()
    X_csr = sp.csr_matrix(X)
    for est, y in fitted:
        dense_coef = est.coef_.copy()
        assert np.mean(dense_coef == 0.0) > 0.5  # L1 made most weights exactly 0
        methods = ["predict", "score"] + [m for m in ("decision_function", "predict_proba")
                                          if hasattr(est, m)]
        before = {(m, kind): (getattr(est, m)(data, y) if m == "score" else
                              getattr(est, m)(data))
                  for m in methods for kind, data in (("dense", X), ("csr", X_csr))}
        assert est.sparsify() is est
        assert sp.issparse(est.coef_) and est.coef_.format == "csr"
        assert est.coef_.shape == np.atleast_2d(dense_coef).shape
        assert est.coef_.nnz == np.count_nonzero(dense_coef)
        assert_array_equal(est.coef_.toarray(), np.atleast_2d(dense_coef))
        for (m, kind), value in before.items():
            data = X if kind == "dense" else X_csr
            after = getattr(est, m)(data, y) if m == "score" else getattr(est, m)(data)
            assert_array_equal(after, value, err_msg=f"{type(est).__name__}.{m} {kind}")
        assert est.densify() is est
        assert type(est.coef_) is np.ndarray
        assert_array_equal(est.coef_, dense_coef)  # shape included (1-D for GDRegressor)
        est.densify()  # a no-op on a dense model
        assert_array_equal(est.coef_, dense_coef)


def test_sparsified_model_pickles():
    X, fitted = _sparse_estimators()
    for est, _ in fitted:
        expected = est.predict(X)
        est.sparsify()
        copy = pickle.loads(pickle.dumps(est))
        assert sp.issparse(copy.coef_)
        assert_array_equal(copy.predict(X), expected)
        assert_array_equal(copy.coef_.toarray(), est.coef_.toarray())


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_training_continues_after_sparsify(how):
    X, fitted = _sparse_estimators()
    for est, y in fitted:
        twin = pickle.loads(pickle.dumps(est))  # the same model, left dense
        est.sparsify()
        for model in (est, twin):
            if how == "partial_fit":
                model.partial_fit(X[:50], y[:50])
            else:
                model.set_params(warm_start=True, max_iter=5, tol=None).fit(X, y)
        assert type(est.coef_) is np.ndarray  # training writes a dense coef_
        assert_array_equal(est.coef_, twin.coef_)
        assert_array_equal(est.intercept_, twin.intercept_)


def test_sparsify_before_fit_raises():
    for est in (GDClassifier(), GDRegressor()):
        for method in ("sparsify", "densify"):
            with pytest.raises(NotFittedError, match="must be fitted before"):
                getattr(est, method)()


# ============================================================ 3. multi-output
def _multi_target(seed=0, n=80, p=5, k=3):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, p))
    W = rng.standard_normal((p, k))
    Y = X @ W + np.arange(k) + 0.3 * rng.standard_normal((n, k))
    return X, Y, rng.uniform(0.2, 3.0, n)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("optimizer", ["lbfgs", "sgd"])
def test_multioutput_squared_l2_equals_ridge(optimizer, weighted):
    X, Y, sw = _multi_target()
    sw = sw if weighted else None
    S = len(Y) if sw is None else sw.sum()
    alpha = 0.05
    kw = dict(max_iter=500, tol=1e-8) if optimizer == "lbfgs" else \
        dict(max_iter=3000, tol=None)
    reg = GDRegressor(alpha=alpha, optimizer=optimizer, **kw).fit(X, Y, sample_weight=sw)
    ref = Ridge(alpha=alpha * S, solver="cholesky").fit(X, Y, sample_weight=sw)
    assert reg.coef_.shape == ref.coef_.shape == (3, 5)
    assert reg.intercept_.shape == (3,)
    # L-BFGS stops where the objective's float64 rounding hides further progress,
    # with the weights ~1e-8 from the closed form.
    atol = 5e-8 if optimizer == "lbfgs" else 1e-8
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=atol)
    assert_allclose(reg.intercept_, ref.intercept_, rtol=0, atol=atol)
    assert reg.predict(X).shape == Y.shape
    assert_allclose(reg.predict(X), ref.predict(X), rtol=0, atol=1e-7)
    # The objective: the sum over targets of each target's weighted mean loss.
    w = np.ones(len(Y)) if sw is None else sw
    residual = X @ ref.coef_.T + ref.intercept_ - Y
    expected = np.sum(w[:, None] * 0.5 * residual**2) / w.sum() \
        + 0.5 * alpha * np.sum(ref.coef_**2)
    assert reg.loss_curve_[-1] == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("solver", ["batch", "minibatch", "stochastic"])
@pytest.mark.parametrize("loss", ["squared_error", "huber"])
def test_multioutput_columns_equal_single_target_fits(solver, loss):
    X, Y, sw = _multi_target(seed=1)
    kw = dict(loss=loss, solver=solver, alpha=0.01, max_iter=30, tol=None, random_state=0,
              batch_size=16, optimizer="sgd")
    multi = GDRegressor(**kw).fit(X, Y, sample_weight=sw)
    for k in range(Y.shape[1]):
        single = GDRegressor(**kw).fit(X, Y[:, k], sample_weight=sw)
        assert multi.eta0_ == single.eta0_
        assert_allclose(multi.coef_[k], single.coef_, rtol=0, atol=1e-10)
        assert_allclose(multi.intercept_[k], single.intercept_[0], rtol=0, atol=1e-10)


def test_multioutput_partial_fit_columns_equal_single_target_streams():
    X, Y, _ = _multi_target(seed=2)
    kw = dict(solver="stochastic", eta0=0.01, random_state=0)
    multi = GDRegressor(**kw)
    singles = [GDRegressor(**kw) for _ in range(Y.shape[1])]
    for start in range(0, len(Y), 20):
        chunk = slice(start, start + 20)
        multi.partial_fit(X[chunk], Y[chunk])
        for k, single in enumerate(singles):
            single.partial_fit(X[chunk], Y[chunk, k])
    for k, single in enumerate(singles):
        assert_allclose(multi.coef_[k], single.coef_, rtol=0, atol=1e-10)
        assert_allclose(multi.intercept_[k], single.intercept_[0], rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="3 targets"):
        multi.partial_fit(X[:5], Y[:5, :2])
    with pytest.raises(ValueError, match="3 targets"):
        multi.partial_fit(X[:5], Y[:5, 0])


def test_single_column_y_behaves_as_ridge():
    X, Y, _ = _multi_target(seed=3, k=1)
    ref = Ridge(alpha=0.01 * len(Y), solver="cholesky").fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DataConversionWarning, as with Ridge
        reg = GDRegressor(alpha=0.01, optimizer="lbfgs", tol=1e-7).fit(X, Y)
    flat = GDRegressor(alpha=0.01, optimizer="lbfgs", tol=1e-7).fit(X, Y[:, 0])
    assert reg.coef_.shape == ref.coef_.shape
    assert reg.predict(X).shape == ref.predict(X).shape
    assert_array_equal(reg.coef_, flat.coef_)
    assert_array_equal(reg.intercept_, flat.intercept_)
    # tol=1e-7 is what float64 lets L-BFGS certify here (1e-8 is at the objective's
    # rounding); the weights are then within residual / alpha of the closed form.
    assert reg.convergence_.converged
    assert_allclose(reg.coef_, ref.coef_, rtol=0, atol=1e-6)


def test_multioutput_certificate_and_score():
    X, Y, sw = _multi_target(seed=4)
    Y = Y * [1.0, 10.0, 0.1]  # targets of different scales
    alpha = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = GDRegressor(alpha=alpha, tol=1e-7, max_iter=5000).fit(X, Y, sample_weight=sw)
    assert reg.convergence_.converged and reg.convergence_.criterion == "gradient"
    ref = Ridge(alpha=alpha * sw.sum(), solver="cholesky").fit(X, Y, sample_weight=sw)
    assert_allclose(reg.coef_, ref.coef_, rtol=1e-4, atol=1e-5)
    pred = reg.predict(X)
    expected = np.mean([r2_score(Y[:, k], pred[:, k], sample_weight=sw) for k in range(3)])
    assert reg.score(X, Y, sample_weight=sw) == pytest.approx(expected, rel=1e-12)
    # Early stopping holds out rows of all targets and scores them the same way.
    stopped = GDRegressor(alpha=alpha, early_stopping=True, random_state=0).fit(X, Y)
    assert stopped.convergence_.criterion == "validation"
    assert stopped.predict(X).shape == Y.shape
    assert stopped.score(X, Y) > 0.9


def test_multioutput_with_init_sparse_x_and_sparsify():
    X, Y, _ = _multi_target(seed=5)
    coef_init = np.full((3, 5), 0.1)
    reg = GDRegressor(max_iter=20, tol=None).fit(sp.csr_matrix(X), Y, coef_init=coef_init,
                                                 intercept_init=[1.0, 2.0, 3.0])
    dense = GDRegressor(max_iter=20, tol=None).fit(X, Y, coef_init=coef_init,
                                                   intercept_init=[1.0, 2.0, 3.0])
    assert_allclose(reg.coef_, dense.coef_, rtol=1e-12)
    expected = reg.predict(X)
    reg.sparsify()
    assert reg.coef_.shape == (3, 5)
    assert_array_equal(reg.predict(X), expected)
    assert reg.densify().coef_.shape == (3, 5)
