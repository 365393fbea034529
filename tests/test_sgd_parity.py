"""Behaviour that must match scikit-learn's SGDClassifier / SGDRegressor (issue 13).

Where the algorithms are the same (plain SGD, one sample per step, samples in
storage order, ``tol=None``) the coefficients are compared with scikit-learn's
to 1e-6; elsewhere the tests state the behaviour scikit-learn documents (its
errors and their wording, what ``warm_start`` means).
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import Lasso, SGDClassifier, SGDRegressor

from sklearn_gd import GDClassifier, GDRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]

# The settings under which both libraries run the same algorithm.
_SAME = dict(shuffle=False, tol=None, max_iter=5)


def _iris():
    X, y = load_iris(return_X_y=True)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _regression():
    X, y = make_regression(n_samples=100, n_features=4, noise=1.0, random_state=0)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


# ------------------------------------------------------------ 1. strong L2
@pytest.mark.parametrize("learning_rate", ["constant", "optimal"])
def test_strong_l2_plain_sgd_matches_sklearn(learning_rate):
    """eta0 * alpha > 2: scikit-learn clips the shrink 1 - eta * alpha at 0.

    With "constant" every step sets the weights to zero before the loss's
    step (and the hinge's last steps have no gradient, so coef_ is exactly
    0); "optimal" has eta * alpha > 1 in its first step only.
    """
    X, y = _iris()
    params = dict(loss="hinge", alpha=1e5, eta0=0.1, learning_rate=learning_rate, **_SAME)
    ours = GDClassifier(solver="stochastic", **params).fit(X, y)
    theirs = SGDClassifier(**params).fit(X, y)
    if learning_rate == "constant":
        assert_array_equal(theirs.coef_, 0.0)
        assert_array_equal(ours.coef_, 0.0)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-12)


def test_strong_l2_plain_sgd_regressor_matches_sklearn():
    X, y = _regression()
    params = dict(alpha=1e3, eta0=0.01, learning_rate="constant", **_SAME)
    ours = GDRegressor(solver="stochastic", **params).fit(X, y)
    theirs = SGDRegressor(**params).fit(X, y)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("solver", ["stochastic", "minibatch", "batch"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adamw"])
def test_strong_l2_other_loops_stay_bounded(solver, optimizer):
    """The same clip in the loops without scikit-learn's counterpart.

    ``clip_value`` (too large to clip anything) sends plain stochastic SGD to
    the general one-sample kernel (an L1 part would hide the problem: its
    soft-threshold zeroes the weights too).
    With the penalty's part of each step stopping at zero, what is left of a
    weight is at most one step of the loss gradient (a plain step's
    ``eta0 * max |x|``, amplified by ``1 / (1 - momentum)`` by a velocity).
    """
    X, y = _iris()
    est = GDClassifier(loss="hinge", alpha=1e5, eta0=0.1, solver=solver, optimizer=optimizer,
                       clip_value=1e6, batch_size=16, **_SAME)
    est.fit(X, y)
    bound = 0.1 * np.abs(X).max() / (1.0 - est.momentum)
    assert np.all(np.isfinite(est.coef_))
    assert np.abs(est.coef_).max() <= bound


# ----------------------------------------------------- 2. shapes of the inits
def _binary_iris():
    X, y = _iris()
    return X, (y == 2).astype(int)


@pytest.mark.parametrize("data, name, value, expected", [
    (_iris, "intercept_init", np.zeros(1), "(3,)"),
    (_binary_iris, "intercept_init", np.zeros(3), "(1,) or ()"),
    (_iris, "coef_init", np.zeros((2, 3)), "(3, 4)"),
    (_iris, "coef_init", np.zeros(6), "(3, 4)"),
    (_iris, "coef_init", np.zeros((4, 3)), "(3, 4)"),
    (_binary_iris, "coef_init", np.zeros((2, 4)), "(1, 4) or (4,)"),
], ids=["intercept-1-for-3-classes", "intercept-3-for-binary", "coef-2x3", "coef-flat-6",
        "coef-transposed", "coef-2-rows-for-binary"])
def test_classifier_init_of_wrong_shape_names_the_expected_one(data, name, value, expected):
    X, y = data()
    est = GDClassifier(max_iter=2, tol=None)
    # scikit-learn refuses the same inputs (with a message that names no shape).
    with pytest.raises(ValueError, match="does not match dataset"):
        SGDClassifier(max_iter=2, tol=None).fit(X, y, **{name: value})
    message = (rf"Provided {name} does not match dataset: expected shape "
               rf"{re.escape(expected)} .*got {re.escape(str(value.shape))}")
    with pytest.raises(ValueError, match=message):
        est.fit(X, y, **{name: value})
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize("name, value, expected", [
    ("coef_init", np.zeros(3), "(4,) or (1, 4)"),
    ("coef_init", np.zeros((2, 2)), "(4,) or (1, 4)"),
    ("intercept_init", np.zeros(2), "(1,) or ()"),
])
def test_regressor_init_of_wrong_shape_names_the_expected_one(name, value, expected):
    X, y = _regression()
    with pytest.raises(ValueError, match=rf"Provided {name} does not match dataset: "
                       rf"expected shape {re.escape(expected)}"):
        GDRegressor(max_iter=2, tol=None).fit(X, y, **{name: value})


@pytest.mark.parametrize("Est, data, coef_init, intercept_init", [
    (GDClassifier, _iris, np.full((3, 4), 0.1), np.array([0.5, -0.5, 0.25])),
    (GDClassifier, _binary_iris, np.full((1, 4), 0.1), np.array([0.5])),
    (GDClassifier, _binary_iris, np.full(4, 0.1), 0.5),
    (GDRegressor, _regression, np.full(4, 0.1), np.array([0.5])),
    (GDRegressor, _regression, np.full((1, 4), 0.1), 0.5),
], ids=["multiclass", "binary-2d", "binary-flat", "regressor", "regressor-2d"])
def test_init_of_the_fitted_shapes_matches_sklearn(Est, data, coef_init, intercept_init):
    """The shapes scikit-learn takes are accepted, trained from as scikit-learn does.

    Plain SGD, one sample per step in storage order: the same updates, so the
    models agree to 1e-6. The inits are not modified.
    """
    X, y = data()
    frozen = [np.array(v, copy=True) for v in (coef_init, intercept_init)]
    for v in frozen:
        v.flags.writeable = False
    if Est is GDClassifier:
        Peer, params = SGDClassifier, dict(loss="hinge", learning_rate="optimal")
    else:
        # "optimal" starts the squared error with steps too long for this data.
        Peer, params = SGDRegressor, dict(learning_rate="constant", eta0=0.01)
    params.update(alpha=1e-3, **_SAME)
    ours = Est(solver="stochastic", **params).fit(X, y, coef_init=frozen[0],
                                                   intercept_init=frozen[1])
    theirs = Peer(**params).fit(X, y, coef_init=np.array(coef_init, copy=True),
                                intercept_init=np.array(intercept_init, copy=True))
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-9)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-9)
    assert_array_equal(frozen[0], coef_init)
    assert_array_equal(frozen[1], intercept_init)


# ------------------------------------- 3. early_stopping in partial_fit, l1_ratio=None
@pytest.mark.parametrize("Est, data, extra", [
    (GDClassifier, _iris, {"classes": np.arange(3)}),
    (GDRegressor, _regression, {}),
])
def test_partial_fit_refuses_early_stopping_as_sklearn(Est, data, extra):
    X, y = data()
    Peer = SGDClassifier if Est is GDClassifier else SGDRegressor
    with pytest.raises(ValueError, match="early_stopping should be False with partial_fit"):
        Peer(early_stopping=True).partial_fit(X, y, **extra)
    est = Est(early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping should be False with partial_fit"):
        est.partial_fit(X, y, **extra)
    assert not hasattr(est, "coef_")
    # Also once a stream has started: set_params must not make it silently ignored.
    est.set_params(early_stopping=False).partial_fit(X, y, **extra)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="early_stopping should be False with partial_fit"):
        est.set_params(early_stopping=True).partial_fit(X, y)
    assert_array_equal(est.coef_, coef)


@pytest.mark.parametrize("penalty", ["l2", "l1", None])
def test_l1_ratio_none_is_accepted_unless_elasticnet(penalty):
    X, y = _iris()
    params = dict(loss="hinge", penalty=penalty, alpha=1e-3, learning_rate="optimal"
                  if penalty else "constant", eta0=0.01, **_SAME)
    ours = GDClassifier(solver="stochastic", l1_ratio=None, **params).fit(X, y)
    reference = GDClassifier(solver="stochastic", **params).fit(X, y)
    assert_array_equal(ours.coef_, reference.coef_)
    stream = GDClassifier(solver="stochastic", l1_ratio=None, **params)
    reference_stream = GDClassifier(solver="stochastic", **params)
    for est in (stream, reference_stream):
        est.partial_fit(X, y, classes=np.arange(3))
    assert_array_equal(stream.coef_, reference_stream.coef_)
    if penalty == "l2":
        theirs = SGDClassifier(l1_ratio=None, **params).fit(X, y)
        assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-9)


def test_l1_ratio_none_with_elasticnet_is_refused_as_sklearn():
    X, y = _iris()
    message = "l1_ratio must be set when penalty is 'elasticnet'"
    with pytest.raises(ValueError, match=message):
        SGDClassifier(penalty="elasticnet", l1_ratio=None).fit(X, y)
    for call in (lambda est: est.fit(X, y),
                 lambda est: est.partial_fit(X, y, classes=np.arange(3))):
        est = GDClassifier(penalty="elasticnet", l1_ratio=None)
        with pytest.raises(ValueError, match=message):
            call(est)
        assert not hasattr(est, "coef_")


# ---------------------------------------------------------------- 4. warm_start
def test_warm_start_refit_matches_sklearn():
    """A second fit restarts t_ and the "optimal" schedule from the first fit's weights."""
    X, y = _iris()
    params = dict(loss="hinge", alpha=1e-3, learning_rate="optimal", warm_start=True, **_SAME)
    ours = GDClassifier(solver="stochastic", **params)
    theirs = SGDClassifier(**params)
    for _ in range(2):
        ours.fit(X, y)
        theirs.fit(X, y)
        assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-9)
        assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-9)
        # scikit-learn's counter starts at 1.
        assert ours.t_ == theirs.t_ - 1 == X.shape[0] * _SAME["max_iter"]


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "normalized"])
def test_warm_start_restarts_the_optimizer_state(optimizer):
    """Moments, velocity and scales restart: the fit equals one from coef_init, bit for bit."""
    X, y = _iris()
    params = dict(solver="minibatch", batch_size=16, optimizer=optimizer, eta0=0.01,
                  random_state=0, **_SAME)
    warm = GDClassifier(warm_start=True, **params).fit(X, y)
    first_state = {k: v.copy() for k, v in warm.optimizer_state_.items()}
    coef, intercept = warm.coef_.copy(), warm.intercept_.copy()
    warm.fit(X, y)
    cold = GDClassifier(**params).fit(X, y, coef_init=coef, intercept_init=intercept)
    assert warm.t_ == cold.t_
    assert warm.learning_rate_ == cold.learning_rate_
    assert_array_equal(warm.coef_, cold.coef_)
    assert_array_equal(warm.intercept_, cold.intercept_)
    for key, value in warm.optimizer_state_.items():
        assert_array_equal(value, cold.optimizer_state_[key])
    # Not the previous run's state carried on (the "normalized" scales, a
    # property of the data, come out the same; its squared-gradient sums do not).
    assert any(not np.array_equal(value, first_state[key])
               for key, value in warm.optimizer_state_.items())


def test_warm_start_keeps_the_certificate_measured_from_zero():
    """A warm start at the optimum is certified at once, as a coef_init there is.

    The certificate's residual is relative to that of the all-zero model for
    any non-zero start: a warm start must not measure against its own (tiny)
    start, which would make ``tol`` unreachable.
    """
    X, y = _regression()
    params = dict(alpha=1e-2, tol=1e-6, max_iter=2000)
    est = GDRegressor(warm_start=True, **params).fit(X, y)
    assert est.convergence_.converged
    first_epochs = est.n_iter_
    coef, intercept = est.coef_.copy(), est.intercept_.copy()
    est.fit(X, y)
    assert est.convergence_.converged
    assert est.convergence_.residual <= params["tol"]
    assert est.n_iter_ < first_epochs
    cold = GDRegressor(**params).fit(X, y, coef_init=coef, intercept_init=intercept)
    assert cold.convergence_ == est.convergence_
    assert_array_equal(cold.coef_, est.coef_)


def test_warm_start_with_other_features_is_refused():
    X, y = _regression()
    est = GDRegressor(warm_start=True, max_iter=3, tol=None).fit(X, y)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match="warm_start=True but X has 3 features while the "
                       "model was fitted on 4"):
        est.fit(X[:, :3], y)
    assert_array_equal(est.coef_, coef)
    assert est.n_features_in_ == 4


# --------------------------------------------------- 5. helpful error messages
def test_balanced_class_weight_in_partial_fit_says_what_to_do_instead():
    """scikit-learn's advice (compute_class_weight, then pass the weights), on every call."""
    X, y = _iris()
    classes = np.arange(3)
    with pytest.raises(ValueError, match="compute_class_weight"):
        SGDClassifier(class_weight="balanced").partial_fit(X, y, classes=classes)
    advice = (r"class_weight 'balanced' is not supported for partial_fit.*"
              r"compute_class_weight\('balanced', classes=classes, y=y\).*"
              r"dict\(zip\(classes, weights\)\)")
    with pytest.raises(ValueError, match=advice):
        GDClassifier(class_weight="balanced").partial_fit(X, y, classes=classes)
    # Set after the first call it used to weigh each chunk by its own counts.
    est = GDClassifier(solver="stochastic", random_state=0).partial_fit(X, y, classes=classes)
    coef = est.coef_.copy()
    with pytest.raises(ValueError, match=advice):
        est.set_params(class_weight="balanced").partial_fit(X, y)
    assert_array_equal(est.coef_, coef)


# ------------------------------------------------------------ cumulative L1
def _sparse_regression():
    X, y = make_regression(n_samples=300, n_features=10, n_informative=3, noise=1.0,
                           random_state=0)
    mask = np.random.RandomState(0).rand(*X.shape) < 0.3
    return X, sp.csr_matrix(X * mask), y


@pytest.mark.parametrize("penalty", ["l1", "elasticnet"])
@pytest.mark.parametrize("sparse", [False, True])
def test_cumulative_l1_matches_sklearn(penalty, sparse):
    """Plain SGD with L1 is Tsuruoka et al.'s cumulative penalty, as scikit-learn's:
    same steps, same exact zeros (dense rows: every weight after each update;
    CSR rows: the row's columns only). No intercept: scikit-learn damps it on
    sparse data."""
    X, Xs, y = _sparse_regression()
    data = Xs if sparse else X
    params = dict(penalty=penalty, l1_ratio=0.5, alpha=0.1, learning_rate="constant",
                  eta0=0.01, fit_intercept=False, **dict(_SAME, max_iter=20))
    ours = GDRegressor(solver="stochastic", **params).fit(data, y)
    theirs = SGDRegressor(**params).fit(data, y)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-10, atol=1e-12)
    assert_array_equal(ours.coef_ == 0.0, theirs.coef_ == 0.0)


def test_plain_sgd_l1_leaves_irrelevant_weights_exactly_zero():
    """With defaults, the weights of the 7 features the target ignores end at
    exactly 0, the lasso's (coordinate descent, same objective) zero pattern; a
    per-update soft threshold left them 2-3e-4 off zero."""
    X, _, y = _sparse_regression()
    alpha = 0.1
    ours = GDRegressor(solver="stochastic", penalty="l1", alpha=alpha, random_state=0,
                       max_iter=50).fit(X, y)
    lasso = Lasso(alpha=alpha).fit(X, y)
    assert (lasso.coef_ == 0).sum() == 7
    assert_array_equal(ours.coef_ == 0.0, lasso.coef_ == 0.0)
    assert_allclose(ours.coef_, lasso.coef_, rtol=1e-2)


def test_cumulative_l1_carries_over_partial_fit_calls():
    """Its state lives with the optimizer's: a stream of partial_fit calls over the
    epochs equals fit's epochs (constant step, no shuffle)."""
    X, y = _regression()
    params = dict(penalty="l1", alpha=0.5, learning_rate="constant", eta0=0.01,
                  shuffle=False, tol=None)
    fitted = GDRegressor(solver="stochastic", max_iter=4, **params).fit(X, y)
    stream = GDRegressor(solver="stochastic", **params)
    for _ in range(4):
        stream.partial_fit(X, y)
    assert_allclose(stream.coef_, fitted.coef_, rtol=1e-12, atol=1e-14)
    assert_array_equal(stream.coef_ == 0.0, fitted.coef_ == 0.0)


# ---------------------------------------------------- 7. passive-aggressive steps
@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("penalty", [None, "l2", "l1"])
@pytest.mark.parametrize("C", [0.01, 1.0])
@pytest.mark.parametrize("sparse", [False, True])
def test_passive_aggressive_classifier_matches_sklearn(learning_rate, penalty, C, sparse):
    """One-vs-rest hinge with PA-I / PA-II steps (eta0 is C), as SGDClassifier's."""
    X, y = _iris()
    if sparse:
        # No intercept: scikit-learn scales the intercept's updates on sparse data.
        X = sp.csr_matrix(X)
    params = dict(loss="hinge", learning_rate=learning_rate, eta0=C, penalty=penalty,
                  fit_intercept=not sparse, **_SAME)
    ours = GDClassifier(solver="stochastic", **params).fit(X, y)
    theirs = SGDClassifier(**params).fit(X, y)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("learning_rate", ["pa1", "pa2"])
@pytest.mark.parametrize("average", [False, True])
def test_passive_aggressive_regressor_matches_sklearn(learning_rate, average):
    X, y = _regression()
    params = dict(loss="epsilon_insensitive", learning_rate=learning_rate, eta0=0.1,
                  penalty=None, average=average, **_SAME)
    ours = GDRegressor(solver="stochastic", **params).fit(X, y)
    theirs = SGDRegressor(**params).fit(X, y)
    assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-12)
    assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-12)


def test_passive_aggressive_step_is_the_closed_form():
    """One PA-I step from zero on one sample: tau = min(C, hinge / ||x||^2), computed here."""
    x = np.array([[3.0, -4.0]])  # ||x||^2 = 25
    for C, tau in ((1.0, 1.0 / 25.0), (0.01, 0.01)):
        est = GDClassifier(loss="hinge", solver="stochastic", learning_rate="pa1", eta0=C,
                           penalty=None, max_iter=1, tol=None, fit_intercept=False,
                           shuffle=False)
        est.partial_fit(x, [1], classes=[0, 1])
        assert_allclose(est.coef_, tau * x, rtol=1e-12)
    est = GDClassifier(loss="hinge", solver="stochastic", learning_rate="pa2", eta0=0.5,
                       penalty=None, fit_intercept=False)
    est.partial_fit(x, [1], classes=[0, 1])
    assert_allclose(est.coef_, x / (25.0 + 1.0), rtol=1e-12)


@pytest.mark.parametrize("Est, loss, message", [
    (GDClassifier, "log_loss", "Learning rate 'pa1' only works with loss 'hinge'."),
    (GDRegressor, "squared_error",
     "Learning rate 'pa1' only works with loss 'epsilon_insensitive'."),
])
def test_passive_aggressive_needs_its_loss_as_sklearn(Est, loss, message):
    X, y = _iris() if Est is GDClassifier else _regression()
    with pytest.raises(ValueError, match=re.escape(message)):
        Est(loss=loss, solver="stochastic", learning_rate="pa1").fit(X, y)
    theirs = SGDClassifier if Est is GDClassifier else SGDRegressor
    with pytest.raises(ValueError, match=re.escape(message)):
        theirs(loss=loss, learning_rate="pa1").fit(X, y)


@pytest.mark.parametrize("params", [dict(solver="batch"), dict(optimizer="adam"),
                                    dict(clip_value=1.0)])
def test_passive_aggressive_refuses_other_loops(params):
    X, y = _iris()
    params = {"solver": "stochastic", **params}
    with pytest.raises(ValueError, match="learning_rate='pa2' does not support"):
        GDClassifier(loss="hinge", learning_rate="pa2", **params).fit(X, y)


def test_passive_aggressive_auto_c_is_one():
    X, y = _iris()
    est = GDClassifier(loss="hinge", solver="stochastic", learning_rate="pa1", max_iter=3,
                       tol=None, random_state=0).fit(X, y)
    assert est.eta0_ == 1.0
