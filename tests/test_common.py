"""scikit-learn's estimator checks over several configurations of both estimators."""

from custom_losses import HINGE, SQUARED
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_gd import GDClassifier, GDRegressor

# The shuffled stochastic loops cannot match weighted and repeated samples to
# rtol 1e-7 (scikit-learn's own SGD estimators list the same failure); the
# batch loop can and is checked.
_STOCHASTIC_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data":
        "shuffled stochastic updates differ between weighted and repeated samples",
    "check_sample_weight_equivalence_on_sparse_data":
        "shuffled stochastic updates differ between weighted and repeated samples",
}

ESTIMATORS = [
    GDClassifier(),
    GDRegressor(),
    GDClassifier(loss="hinge", penalty="l1", optimizer="nesterov"),
    GDRegressor(loss="huber", penalty="elasticnet", optimizer="momentum"),
    GDClassifier(loss="focal", optimizer="adam", eta0=0.05, max_iter=300),
    GDClassifier(loss="modified_huber", solver="minibatch", batch_size=16,
                 optimizer="adagrad", eta0=0.1, max_iter=200, random_state=0),
    GDRegressor(solver="minibatch", optimizer="rmsprop", learning_rate="inverse_time",
                eta0=0.05, max_iter=200, random_state=0),
    GDClassifier(loss="squared_hinge", solver="stochastic", max_iter=50, random_state=0),
    GDClassifier(loss="hinge", solver="stochastic", learning_rate="optimal", max_iter=50,
                 random_state=0),
    # The defaults are L-BFGS (optimizer="auto"); the plain batch step as well.
    GDClassifier(optimizer="sgd"),
    GDRegressor(optimizer="sgd"),
    GDRegressor(loss="huber"),
    GDRegressor(loss="quantile", quantile=0.3, solver="batch", optimizer="nesterov",
                learning_rate="step", max_iter=200),
    GDRegressor(loss="epsilon_insensitive", solver="stochastic", optimizer="adamw",
                eta0=0.05, learning_rate="exponential", decay_rate=0.01, max_iter=100,
                random_state=0),
    # The adaptive optimizers and "normalized" at their automatic rates (the
    # customary constants failed check_class_weight_classifiers, and RMSprop
    # check_n_features_in, before eta0="auto" came from the data).
    GDClassifier(optimizer="adam"),
    GDClassifier(optimizer="rmsprop"),
    GDRegressor(loss="huber", optimizer="adam"),
    GDClassifier(optimizer="normalized"),
    GDRegressor(optimizer="normalized", solver="stochastic", random_state=0),
    GDClassifier(loss="log_loss", solver="stochastic", optimizer="adam", eta0=0.01,
                 learning_rate="invscaling", power_t=0.1, early_stopping=True, max_iter=50,
                 random_state=0),
    # Regression losses on the classifier's +-1 targets, as SGDClassifier allows.
    GDClassifier(loss="squared_error"),
    # The plain one-sample step; "auto" is SVRG there (next two), and SVRG's mini-batches.
    GDClassifier(loss="huber", solver="stochastic", optimizer="sgd", max_iter=50,
                 random_state=0),
    GDClassifier(solver="stochastic", random_state=0),
    GDRegressor(solver="stochastic", random_state=0),
    GDClassifier(solver="minibatch", batch_size=8, optimizer="svrg", random_state=0),
    # Averaged SGD (``average``; the batch solver refuses it): the lazy average
    # of plain SGD, and the dense one of the minibatch loop.
    GDClassifier(average=True, solver="stochastic", max_iter=50, random_state=0),
    GDRegressor(average=True, solver="stochastic", max_iter=50, random_state=0),
    GDRegressor(average=10, solver="minibatch", batch_size=8, optimizer="momentum",
                max_iter=100, random_state=0),
    # The passive-aggressive steps (scikit-learn's learning_rate="pa1"/"pa2").
    GDClassifier(loss="hinge", solver="stochastic", learning_rate="pa1", max_iter=50,
                 random_state=0),
    GDRegressor(loss="epsilon_insensitive", solver="stochastic", learning_rate="pa2",
                max_iter=50, random_state=0),
    # User-defined losses (``CustomLoss``), compiled for their pair of functions.
    GDRegressor(loss=SQUARED),
    GDClassifier(loss=HINGE),
]


# partial_fit refuses early_stopping=True, as scikit-learn's SGD estimators do
# (a ValueError, so the checks that stream through it fail; the fit checks run).
_PARTIAL_FIT_CHECKS = ("check_fit_score_takes_y", "check_n_features_in_after_fitting",
                       "check_estimators_partial_fit_n_features")


# L-BFGS's line search compares nearly equal objective values, and the sums over
# weighted and over repeated rows round differently: on the check's 15 x 30 rows
# a one-vs-rest least-squares fit (n < d, alpha 1e-4: a flat valley) takes
# another step and ends 7e-6 away, as far as tol allows. The weights enter the
# objective exactly as repeats do (tests/test_estimators.py checks it for L-BFGS).
_LBFGS_FLAT_XFAIL = {
    name: "L-BFGS's line search turns on rounding in a flat valley"
    for name in _STOCHASTIC_XFAIL
}


def _expected_failed_checks(estimator):
    failed = dict(_STOCHASTIC_XFAIL) if estimator.solver != "batch" else {}
    if isinstance(estimator, GDClassifier) and estimator.loss == "squared_error" \
            and estimator.optimizer in ("auto", "lbfgs"):
        failed.update(_LBFGS_FLAT_XFAIL)
    if estimator.early_stopping:
        failed.update(dict.fromkeys(
            _PARTIAL_FIT_CHECKS, "partial_fit refuses early_stopping=True, as SGDClassifier's"))
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
