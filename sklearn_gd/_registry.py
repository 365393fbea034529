"""Public names of losses, optimizers and schedules, and what the code needs to know.

This is the one table that both the parameter validation (``StrOptions`` in
``_parameter_constraints``) and the kernels' integer codes are built from.
Adding a loss means: its formula in ``_kernels/losses.py``, a row here, tests.
"""

from dataclasses import dataclass

from ._kernels import losses as L
from ._kernels import optimizers as O


@dataclass(frozen=True)
class LossInfo:
    """What the driver needs to know about a loss.

    Attributes
    ----------
    code : int
        Kernel code.
    curvature : float
        Bound on the second derivative of the loss in the score (for
        non-smooth losses a scale that gives steps of a sensible size). Used
        by ``eta0="auto"`` to derive the step size from the data.
    probabilistic : bool
        Whether scores map to class probabilities (``predict_proba``).
    multinomial : bool
        Whether multi-class problems use a softmax over all classes (else
        one-vs-rest).
    smooth : bool
        Whether the derivative is continuous (and Lipschitz), so that the
        gradient vanishes at the optimum and certifies it; non-smooth losses
        use the aggregate-subgradient test (see ``_convergence``).
    """

    code: int
    curvature: float
    probabilistic: bool = False
    multinomial: bool = False
    smooth: bool = True


REGRESSION_LOSSES = {
    "squared_error": LossInfo(L.LOSS_SQUARED_ERROR, 1.0),
    "absolute_error": LossInfo(L.LOSS_ABSOLUTE_ERROR, 1.0, smooth=False),
    "huber": LossInfo(L.LOSS_HUBER, 1.0),
    "epsilon_insensitive": LossInfo(L.LOSS_EPSILON_INSENSITIVE, 1.0, smooth=False),
    "squared_epsilon_insensitive": LossInfo(L.LOSS_SQUARED_EPSILON_INSENSITIVE, 2.0),
    "quantile": LossInfo(L.LOSS_QUANTILE, 1.0, smooth=False),
}

CLASSIFICATION_LOSSES = {
    "log_loss": LossInfo(L.LOSS_LOG, 0.25, probabilistic=True, multinomial=True),
    "hinge": LossInfo(L.LOSS_HINGE, 1.0, smooth=False),
    "squared_hinge": LossInfo(L.LOSS_SQUARED_HINGE, 2.0),
    "modified_huber": LossInfo(L.LOSS_MODIFIED_HUBER, 2.0, probabilistic=True),
    "perceptron": LossInfo(L.LOSS_PERCEPTRON, 1.0, smooth=False),
    "focal": LossInfo(L.LOSS_FOCAL, 0.25, probabilistic=True, multinomial=True),
}

# The regression losses GDClassifier also takes, as scikit-learn's SGDClassifier
# does: fitted to the +-1 targets of each one-vs-rest column (never softmax, no
# probabilities). Absolute error and quantile are left out, as there.
CLASSIFIER_REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive",
                                "squared_epsilon_insensitive")

# Every loss GDClassifier accepts (its ``loss`` validation and kernel codes).
CLASSIFIER_LOSSES = {
    **CLASSIFICATION_LOSSES,
    **{name: REGRESSION_LOSSES[name] for name in CLASSIFIER_REGRESSION_LOSSES},
}

OPTIMIZERS = {
    "sgd": O.OPT_SGD,
    "momentum": O.OPT_MOMENTUM,
    "nesterov": O.OPT_NESTEROV,
    "adagrad": O.OPT_ADAGRAD,
    "rmsprop": O.OPT_RMSPROP,
    "adam": O.OPT_ADAM,
    "adamw": O.OPT_ADAMW,
    "normalized": O.OPT_NORMALIZED,
}

# Optimizers whose step is normalised by gradient magnitudes: "auto" is not 1/L.
# For the first four it is a distance from the data (``_step_size``) and these
# customary rates are only the fallback when the data say nothing (a zero
# gradient at the start); "normalized" takes Vowpal Wabbit's 0.5.
ADAPTIVE_DEFAULT_ETA = {"adagrad": 0.01, "rmsprop": 0.01, "adam": 0.001, "adamw": 0.001,
                        "normalized": 0.5}

SCHEDULES = (
    "constant",
    "invscaling",
    "optimal",
    "adaptive",
    "inverse_time",
    "step",
    "exponential",
    "pa1",
    "pa2",
)

# The passive-aggressive steps (Crammer et al. 2006), as scikit-learn's SGD has
# them: eta0 is their aggressiveness C ("auto": 1.0, as PassiveAggressive*'s
# default C), one sample per plain step, and the loss each works with.
PASSIVE_AGGRESSIVE = ("pa1", "pa2")
PASSIVE_AGGRESSIVE_C = 1.0
PASSIVE_AGGRESSIVE_LOSS = {"classifier": "hinge", "regressor": "epsilon_insensitive"}

SOLVERS = ("batch", "minibatch", "stochastic")

PENALTIES = ("l2", "l1", "elasticnet")
