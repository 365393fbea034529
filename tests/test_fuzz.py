"""Property-based fuzzing of both estimators with hypothesis.

Every example draws a small data set (1-50 rows, 1-8 features, float32 or
float64, C or Fortran order, dense or CSR, values scaled by 1e-8 .. 1e8) and a
combination of solver, loss, optimizer, schedule and penalty (plus the knobs
that change the kernels' paths: clipping, sample weights, early stopping,
warm start, divergence recovery), and fits with at most 20 epochs.

The property: ``fit`` either succeeds with finite ``coef_`` / ``intercept_``
and finite predictions (and, for probabilistic losses, finite probabilities
whose rows sum to 1), or raises ``ValueError`` (which includes
``DivergenceError`` and scikit-learn's parameter validation) and leaves the
estimator as it was. Any other exception type (``ZeroDivisionError``,
``IndexError``, a Numba typing error, a NumPy ``RuntimeWarning`` turned into an
error) fails the test, and so does a slow example (hypothesis ``deadline``, 5 s)
or a hang (a faulthandler watchdog aborts the run with every thread's stack
after 120 s in one example). A quarter of the examples also push single
hyperparameters to extreme valid values (eta0 1e-300..1e6, alpha up to 1e8,
beta_2 = 0.999999, epsilon 1e9, ...), and some start from ``coef_init``.

Budget: the hypothesis profile is chosen with the environment variable
``HYPOTHESIS_PROFILE``: "ci" (default, 400 examples of the fit property, the
file runs in well under a minute on 2 cores once compiled) or "dev" (5,000,
for hunting). The kernels are
compiled once in a module fixture so that no example pays for compilation.

Findings are kept as minimal explicit regression tests at the end of the
file (all fixed: a zero-weight early-stopping split, float32 validation R^2
overflow, partial_fit after an all-zero first chunk, 'auto' steps with
momentum; the last-update and cache findings are in test_determinism.py and
test_kernel_cache.py).
"""

import contextlib
import faulthandler
import os
import re
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd import DivergenceError, DivergenceWarning, GDClassifier, GDRegressor
from sklearn_gd._registry import (
    CLASSIFICATION_LOSSES,
    OPTIMIZERS,
    PENALTIES,
    REGRESSION_LOSSES,
    SCHEDULES,
    SOLVERS,
)

# ---------------------------------------------------------------- profiles
_COMMON = dict(
    # ms; compilation happens in the warm-up fixture, not here. An example takes
    # milliseconds, but on 2 shared cores, beside the other worker's tests that
    # compile in two fresh interpreters at once, one was starved for seconds
    # (and took milliseconds on its rerun): the deadline catches runaway
    # examples, the watchdog hangs.
    deadline=20000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
# "ci" is sized for the README's test command (the whole suite has a 4-minute
# budget on 2 cores); "dev" draws 12x as many, for hunting before a release:
# HYPOTHESIS_PROFILE=dev python -m pytest tests/test_fuzz.py
settings.register_profile("ci", max_examples=400, **_COMMON)
settings.register_profile("dev", max_examples=5000, **_COMMON)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if _PROFILE not in ("ci", "dev"):
    # Another name may have been registered elsewhere (e.g. a conftest).
    try:
        settings.get_profile(_PROFILE)
    except Exception:  # pragma: no cover - misconfiguration
        _PROFILE = "ci"
# Applied per test (not with settings.load_profile) so that importing this
# module does not change the settings of other test modules.
fuzz_settings = settings(settings.get_profile(_PROFILE))
# Partial-fit and predict-only properties are cheaper; use a share of the budget.
_SMALL_EXAMPLES = max(20, settings.get_profile(_PROFILE).max_examples // 3)

ALL_OPTIMIZERS = tuple(OPTIMIZERS) + ("lbfgs",)
ALL_PENALTIES = PENALTIES + (None,)

# Under pytest-xdist (`--dist loadgroup`) the file runs in one worker, so the
# warm-up fixture compiles the kernels once.
pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.xdist_group("fuzz")]

# Warnings a fit may emit on odd data: they are warnings, not failures.
_TOLERATED_WARNINGS = (ConvergenceWarning, DivergenceWarning, UserWarning)


@contextlib.contextmanager
def _watchdog(seconds=120):
    """Abort the test process with all stacks if the block hangs (a Numba kernel
    that never returns cannot be interrupted from Python)."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


# ----------------------------------------------------------------- warm-up
@pytest.fixture(scope="module", autouse=True)
def _compiled_kernels():
    """Compile (or load from the on-disk cache) every kernel signature up front.

    One kernel compilation serves every loss/optimizer/schedule for a given row
    format and dtype; what varies is dtype x dense/CSR x solver loop.
    """
    rng = np.random.RandomState(0)
    X = rng.randn(12, 3)
    y = X[:, 0]
    labels = np.arange(12) % 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for dtype in (np.float64, np.float32):
            for to_sparse in (False, True):
                Xt = X.astype(dtype)
                Xt = sp.csr_matrix(Xt) if to_sparse else Xt
                for solver in SOLVERS:
                    for optimizer in ("sgd", "adam"):  # plain and general SGD loops
                        fitted = [
                            GDRegressor(solver=solver, optimizer=optimizer, max_iter=2,
                                        random_state=0).fit(Xt, y),
                            GDClassifier(solver=solver, optimizer=optimizer, max_iter=2,
                                         random_state=0).fit(Xt, labels),
                            GDClassifier(loss="hinge", solver=solver, optimizer=optimizer,
                                         max_iter=2, random_state=0).fit(Xt, labels),
                            # The held-out score of early stopping.
                            GDClassifier(loss="hinge", solver=solver, optimizer=optimizer,
                                         early_stopping=True, validation_fraction=0.5,
                                         max_iter=2, random_state=0).fit(Xt, labels),
                        ]
                # And the prediction kernels, which an example calls after its fit.
                for est in fitted:
                    est.predict(Xt)
                    if hasattr(est, "predict_proba"):
                        est.predict_proba(Xt)
                GDRegressor(optimizer="lbfgs", max_iter=2).fit(Xt, y)
                GDClassifier(optimizer="lbfgs", max_iter=2).fit(Xt, labels)
                GDRegressor(solver="stochastic", optimizer="svrg", max_iter=2,
                            random_state=0).fit(Xt, y)
                GDRegressor(solver="stochastic", max_iter=1, random_state=0) \
                    .partial_fit(Xt, y)


# -------------------------------------------------------------- strategies
def _data_matrix(draw, n_rows, n_features):
    """A float64 matrix of one of a few shapes of data, before scaling."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.RandomState(seed)
    kind = draw(st.sampled_from(["normal", "uniform", "binary", "constant_column",
                                 "zeros", "duplicate_rows", "spread_columns"]))
    if kind == "normal":
        X = rng.standard_normal((n_rows, n_features))
    elif kind == "uniform":
        X = rng.uniform(-1, 1, (n_rows, n_features))
    elif kind == "binary":
        X = (rng.uniform(size=(n_rows, n_features)) < 0.3).astype(float)
    elif kind == "constant_column":
        X = rng.standard_normal((n_rows, n_features))
        X[:, 0] = 1.0
    elif kind == "zeros":
        X = np.zeros((n_rows, n_features))
    elif kind == "duplicate_rows":
        X = np.repeat(rng.standard_normal((1, n_features)), n_rows, axis=0)
    else:  # columns of very different scales
        X = rng.standard_normal((n_rows, n_features)) * np.logspace(
            -3, 3, n_features)
    density = draw(st.sampled_from([1.0, 1.0, 0.5, 0.1]))
    if density < 1.0:
        X[rng.uniform(size=X.shape) > density] = 0.0
    # Rarely, a non-finite value: validation must reject it with a ValueError.
    bad = draw(st.sampled_from([None] * 18 + [np.nan, np.inf]))
    if bad is not None:
        X[rng.randint(n_rows), rng.randint(n_features)] = bad
    return X, rng


@st.composite
def problems(draw, classifier=None):
    """(estimator class, params, X, y, sample_weight, description dict)."""
    if classifier is None:
        classifier = draw(st.booleans())
    n_rows = draw(st.integers(1, 50))
    n_features = draw(st.integers(1, 8))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    order = draw(st.sampled_from(["C", "F"]))
    sparse = draw(st.booleans())
    x_scale = 10.0 ** draw(st.floats(-8, 8))
    X, rng = _data_matrix(draw, n_rows, n_features)
    X = X * x_scale

    if classifier:
        loss = draw(st.sampled_from(sorted(CLASSIFICATION_LOSSES)))
        n_classes = draw(st.integers(2, 4))
        labels_kind = draw(st.sampled_from(["int", "str", "bool"])) if n_classes == 2 \
            else draw(st.sampled_from(["int", "str"]))
        idx = np.arange(n_rows) % n_classes
        rng.shuffle(idx)
        if labels_kind == "str":
            y = np.array(["a", "b", "c", "d"])[idx]
        elif labels_kind == "bool":
            y = idx.astype(bool)
        else:
            y = idx * 3 - 1
    else:
        loss = draw(st.sampled_from(sorted(REGRESSION_LOSSES)))
        y_scale = 10.0 ** draw(st.floats(-8, 8))
        w = rng.standard_normal(n_features)
        y = (X / x_scale) @ w * y_scale + 0.1 * y_scale * rng.standard_normal(n_rows)
        if draw(st.booleans()):
            y = y.astype(dtype)

    params = dict(
        loss=loss,
        solver=draw(st.sampled_from(SOLVERS)),
        optimizer=draw(st.sampled_from(ALL_OPTIMIZERS)),
        learning_rate=draw(st.sampled_from(tuple(SCHEDULES))),
        penalty=draw(st.sampled_from(ALL_PENALTIES)),
        alpha=draw(st.sampled_from([0.0, 1e-6, 1e-4, 0.1, 10.0])),
        l1_ratio=draw(st.sampled_from([0.0, 0.15, 1.0])),
        fit_intercept=draw(st.booleans()),
        batch_size=draw(st.integers(1, 64)),
        eta0=draw(st.sampled_from(["auto", "auto", 1e-4, 0.01, 0.5, 10.0])),
        power_t=draw(st.sampled_from([0.5, 0.1, 1.0])),
        decay_rate=draw(st.sampled_from([0.1, 0.5, 0.0])),
        max_iter=draw(st.integers(1, 20)),
        tol=draw(st.sampled_from([1e-4, None, 0.0])),
        n_iter_no_change=draw(st.integers(1, 5)),
        early_stopping=draw(st.booleans()),
        shuffle=draw(st.booleans()),
        random_state=draw(st.integers(0, 2**31 - 1)),
        on_divergence=draw(st.sampled_from(["raise", "recover"])),
        clip_value=draw(st.sampled_from([None, None, 1.0])),
        clip_norm=draw(st.sampled_from([None, None, 1.0])),
        warm_start=draw(st.sampled_from([False, False, True])),
    )
    if params["optimizer"] in ("momentum", "nesterov"):
        params["momentum"] = draw(st.sampled_from([0.9, 0.0, 0.99]))
    if loss in ("huber", "epsilon_insensitive", "squared_epsilon_insensitive"):
        params["epsilon"] = draw(st.sampled_from([0.1, 0.0, 1.0]))
    if loss == "quantile":
        params["quantile"] = draw(st.sampled_from([0.5, 0.1, 0.9]))
    if loss == "focal":
        params["gamma"] = draw(st.sampled_from([2.0, 0.0, 5.0]))
    if classifier:
        params["class_weight"] = draw(st.sampled_from(
            [None, None, "balanced", {idx_label: 1e3 for idx_label in y[:1].tolist()}]))
    if draw(st.integers(0, 3)) == 0:
        # Extreme but valid hyperparameters.
        params.update(draw(st.fixed_dictionaries({}, optional={
            "eta0": st.sampled_from([1e-300, 1e-12, 1e3, 1e6]),
            "alpha": st.sampled_from([1e-300, 1e3, 1e8]),
            "l1_ratio": st.sampled_from([1e-9, 0.5, 1 - 1e-9]),
            "power_t": st.sampled_from([-1.0, 1e-9, 5.0]),
            "decay_rate": st.sampled_from([10.0, 1e3]),
            "milestones": st.sampled_from([[0], [1, 1, 2], [100]]),
            "momentum": st.sampled_from([0.999999, 0.0]),
            "beta_1": st.sampled_from([0.0, 0.999999]),
            "beta_2": st.sampled_from([0.0, 0.999999]),
            "optimizer_epsilon": st.sampled_from([1e-300, 1e3]),
            "clip_value": st.sampled_from([1e-300, 1e-8]),
            "clip_norm": st.sampled_from([1e-300, 1e-8]),
            "tol": st.sampled_from([1e9, 0.0]),
            "validation_fraction": st.sampled_from([1e-3, 0.5, 0.99]),
            "n_iter_no_change": st.sampled_from([1, 100]),
            "batch_size": st.sampled_from([1, 10**6]),
            "epsilon": st.sampled_from([0.0, 1e9]),
            "quantile": st.sampled_from([1e-9, 1 - 1e-9]),
            "gamma": st.sampled_from([0.0, 50.0]),
            "n_jobs": st.sampled_from([1, 2, -1]),
        })))
        if not classifier:
            params.pop("gamma", None)
    init = draw(st.sampled_from([None, None, None, 1e-3, 1.0, 1e6]))

    weights = draw(st.sampled_from(["none", "random", "some_zero", "huge_spread"]))
    if weights == "none":
        sample_weight = None
    elif weights == "random":
        sample_weight = rng.uniform(0.1, 2.0, n_rows)
    elif weights == "some_zero":
        sample_weight = rng.uniform(0.1, 2.0, n_rows) * (rng.uniform(size=n_rows) > 0.3)
    else:
        sample_weight = 10.0 ** rng.uniform(-6, 6, n_rows)

    X = X.astype(dtype)
    if sparse:
        X = sp.csr_matrix(X)
    elif order == "F":
        X = np.asfortranarray(X)
    fit_params = {"sample_weight": sample_weight}
    if init is not None:
        n_out = 1 if not classifier or len(np.unique(y)) <= 2 else len(np.unique(y))
        fit_params["coef_init"] = rng.standard_normal(
            (n_out, n_features) if classifier else n_features) * init
        fit_params["intercept_init"] = rng.standard_normal(n_out) * init
    description = dict(estimator=("GDClassifier" if classifier else "GDRegressor"),
                       n_rows=n_rows, n_features=n_features, dtype=np.dtype(dtype).name,
                       order=order, sparse=sparse, x_scale=x_scale, weights=weights,
                       fit_params=fit_params)
    est_class = GDClassifier if classifier else GDRegressor
    return est_class, params, X, y, sample_weight, description


# --------------------------------------------------------------- property
def _check_fitted(est, X):
    coef, intercept = np.asarray(est.coef_), np.asarray(est.intercept_)
    assert np.all(np.isfinite(coef)), f"non-finite coef_: {coef}"
    assert np.all(np.isfinite(intercept)), f"non-finite intercept_: {intercept}"
    assert all(np.isfinite(v) for v in est.loss_curve_), est.loss_curve_
    assert est.n_iter_ >= 0
    pred = est.predict(X)
    assert pred.shape == (X.shape[0],)
    if isinstance(est, GDRegressor):
        assert np.all(np.isfinite(pred)), f"non-finite predictions: {pred}"
    else:
        assert set(np.unique(pred)) <= set(est.classes_.tolist())
        scores = est.decision_function(X)
        assert np.all(np.isfinite(scores)), f"non-finite decision_function: {scores}"
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(X)
            assert proba.shape == (X.shape[0], len(est.classes_))
            assert np.all(np.isfinite(proba)), f"non-finite predict_proba: {proba}"
            assert np.all(proba >= 0) and np.all(proba <= 1 + 1e-6)
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


def _fit_or_documented_error(est, X, y, sample_weight, case=None, init=None):
    """Fit; return the ValueError raised (documented), or None if fit succeeded.

    Any other exception propagates and fails the test.
    RuntimeWarnings are errors (as in the pytest configuration); the warnings
    a fit may legitimately emit are ignored. ``init`` holds ``coef_init`` and
    ``intercept_init`` for the first fit. With ``warm_start`` the estimator is
    fitted a second time, continuing from the first fit.
    """
    case = case or {}
    with _watchdog(), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for category in _TOLERATED_WARNINGS:
            warnings.simplefilter("ignore", category)
        before = None
        try:
            est.fit(X, y, sample_weight=sample_weight, **(init or {}))
            if est.warm_start:
                before = (est.coef_.copy(), est.intercept_.copy())
                est.fit(X, y, sample_weight=sample_weight)
        except ValueError as exc:  # includes DivergenceError
            assert str(exc), "a ValueError without a message"
            # A failed fit leaves the estimator as it was (unfitted, or as the
            # first fit of a warm start left it).
            if before is None:
                assert not hasattr(est, "coef_")
            else:
                np.testing.assert_array_equal(est.coef_, before[0])
                np.testing.assert_array_equal(est.intercept_, before[1])
            return exc
        _check_fitted(est, X)
    return None


@fuzz_settings
@given(problems())
def test_fit_is_finite_or_raises_value_error(problem):
    est_class, params, X, y, sample_weight, description = problem
    est = est_class(**params)
    case = dict(params, sample_weight=sample_weight, **description)
    init = {k: v for k, v in description["fit_params"].items() if k != "sample_weight"}
    exc = _fit_or_documented_error(est, X, y, sample_weight, case, init)
    event("outcome: " + ("fitted" if exc is None else type(exc).__name__))
    if isinstance(exc, ValueError) and not isinstance(exc, DivergenceError):
        event("ValueError: " + " ".join(str(exc).split()[:4]))
    if not np.all(np.isfinite(X.data if sp.issparse(X) else X)):
        assert isinstance(exc, ValueError), "non-finite X was accepted"
    if isinstance(exc, DivergenceError):
        # Divergence is reported with the epoch and the step size, never turned
        # into a model with NaN coefficients.
        assert re.search(r"diverged in epoch \d+", str(exc)), str(exc)
        assert "learning rate" in str(exc)


@settings(fuzz_settings, max_examples=_SMALL_EXAMPLES)
@given(problems(), st.integers(1, 4))
def test_partial_fit_is_finite_or_raises_value_error(problem, n_chunks):
    est_class, params, X, y, sample_weight, description = problem
    assume(params["optimizer"] not in ("lbfgs", "svrg"))  # no partial_fit there
    params = dict(params, early_stopping=False)
    params.pop("class_weight", None)  # "balanced" is rejected by partial_fit
    est = est_class(**params)
    n = X.shape[0]
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)
    chunks = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if a < b]
    extra = {"classes": np.unique(y)} if est_class is GDClassifier else {}
    with _watchdog(), warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for category in _TOLERATED_WARNINGS:
            warnings.simplefilter("ignore", category)
        try:
            for a, b in chunks:
                sw = None if sample_weight is None else sample_weight[a:b]
                est.partial_fit(X[a:b], y[a:b], sample_weight=sw, **extra)
        except ValueError as exc:
            assert str(exc)
            return
        _check_fitted(est, X)


@settings(fuzz_settings, max_examples=_SMALL_EXAMPLES)
@given(st.integers(2, 4), st.floats(-8, 8), st.sampled_from([np.float64, np.float32]),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_predict_proba_finite_for_any_coefficients(n_classes, log_scale, dtype, sparse, seed):
    """Probabilities stay finite and normalised whatever the size of the scores."""
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((20, 3))
    y = np.arange(20) % n_classes
    Xt = X.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for loss in ("log_loss", "focal", "modified_huber"):
            clf = GDClassifier(loss=loss, max_iter=2).fit(Xt, y)
            clf.coef_ = (rng.standard_normal(clf.coef_.shape)
                         * 10.0 ** log_scale).astype(clf.coef_.dtype)
            Xp = sp.csr_matrix(Xt) if sparse else Xt
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                proba = clf.predict_proba(Xp)
                log_proba = clf.predict_log_proba(Xp)
            assert np.all(np.isfinite(proba)), (loss, proba)
            assert np.all(proba >= 0)
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
            assert not np.any(np.isnan(log_proba))
            np.testing.assert_array_equal(clf.predict(Xp),
                                          clf.classes_[np.argmax(clf.decision_function(Xp)
                                                                 .reshape(20, -1), axis=1)]
                                          if n_classes > 2 else
                                          clf.classes_[(clf.decision_function(Xp) > 0)
                                                       .astype(int)])


# -------------------------------------------------------- explicit checks
@pytest.mark.parametrize("solver,optimizer",
                         [(s, o) for s in SOLVERS for o in ALL_OPTIMIZERS])
def test_every_solver_optimizer_pair_fits_or_rejects(solver, optimizer):
    """The grid the fuzzer samples from, enumerated once on well-scaled data (30 fits):
    default parameters fit without divergence, or are rejected (lbfgs needs batch, svrg
    sampled steps)."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    est = GDRegressor(solver=solver, optimizer=optimizer, max_iter=10, random_state=0)
    exc = _fit_or_documented_error(est, X, y, None)
    needs = {"lbfgs": ("batch",), "svrg": ("stochastic", "minibatch")}.get(optimizer, (solver,))
    if solver not in needs:
        assert exc is not None and f"optimizer='{optimizer}'" in str(exc)
    else:
        assert exc is None, exc


def test_optimal_schedule_without_penalty_is_a_value_error():
    X = np.ones((5, 2))
    y = np.arange(5.0)
    with pytest.raises(ValueError, match="optimal"):
        GDRegressor(learning_rate="optimal", penalty=None).fit(X, y)
    with pytest.raises(ValueError, match="optimal"):
        GDRegressor(learning_rate="optimal", alpha=0.0).fit(X, y)






# ------------------------------------------- regression tests for findings
# Minimal reproductions of what the fuzzer found, now regression tests.

def test_regression_early_stopping_zero_weight_training_split():
    # With 2 samples one is held out; random_state=0 holds out sample 1, the
    # only one of positive weight, so the training part has total weight 0.
    # Expected: a clear ValueError (or a fit), not a RuntimeWarning ("divide by
    # zero" in _unit_mean) and then a DivergenceError with "learning rate nan".
    X = np.array([[-0.13, -0.20, -1.69], [-0.79, 1.53, 2.24]])
    y = np.array([-2.9, 7.1])
    est = GDRegressor(early_stopping=True, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            est.fit(X, y, sample_weight=[0.0, 1.0])
        except DivergenceError:
            pytest.fail("a zero-weight training split is reported as divergence")
        except ValueError:
            pass


@pytest.mark.parametrize("est", [GDRegressor(), GDClassifier()], ids=["reg", "clf"])
def test_regression_partial_fit_after_all_zero_weight_first_chunk(est):
    """Finding 2 (TypeError: float(None) on learning_rate_), fixed in 278c608."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.5, -1.0]])
    y = np.array([0, 1, 1, 0])
    extra = {"classes": [0, 1]} if isinstance(est, GDClassifier) else {}
    est.partial_fit(X[:2], y[:2], sample_weight=[0.0, 0.0], **extra)
    assert est.n_iter_ == 0
    est.partial_fit(X[2:], y[2:], **extra)
    assert np.all(np.isfinite(est.coef_)) and np.any(est.coef_ != 0)
    assert est.n_iter_ == 1


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
def test_regression_auto_eta0_with_momentum_stochastic(optimizer):
    """Finding 3: eta0='auto' was 1/L whatever the optimizer; with momentum=0.9 the
    stochastic steps were ~10x too long and diverged in epoch 5 (fixed concurrently
    by scaling the rate by 1 - momentum)."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((30, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    # Well-scaled data and default parameters apart from the optimizer.
    est = GDRegressor(solver="stochastic", optimizer=optimizer, max_iter=10,
                      random_state=0).fit(X, y)
    assert np.all(np.isfinite(est.coef_))
    assert est.score(X, y) > 0.9


def test_regression_float32_validation_score_overflows():
    # One batch step with a far too large eta0 gives weights ~1e13 and held-out
    # predictions ~1e20, whose squares overflow float32 (max ~3.4e38). The batch
    # loop checks the loss before its step, so with max_iter=1 nothing reports
    # the divergence first. Expected: a DivergenceError (or a finite score), not
    # a RuntimeWarning from inside r2_score.
    X = np.full((20, 1), 1e7, dtype=np.float32)
    y = np.linspace(0, 1, 20).astype(np.float32)
    est = GDRegressor(loss="absolute_error", eta0=1e6, max_iter=1, alpha=0.0,
                      fit_intercept=False, early_stopping=True, validation_fraction=0.5,
                      random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            est.fit(X, y)
        except DivergenceError:
            pass
