"""Public names of losses, optimizers and schedules, and what the code needs to know.

These are the tables that the parameter validation (``StrOptions`` in
``_parameter_constraints``), the kernels' integer codes and the driver's
decisions (step sizes, preconditioning, warnings) are built from. Adding a
loss, an optimizer or a schedule means: its kernel branch, a row here, tests
(see the README's development notes).
"""

from dataclasses import dataclass

from ._kernels.losses import (
    LOSS_ABSOLUTE_ERROR,
    LOSS_EPSILON_INSENSITIVE,
    LOSS_FOCAL,
    LOSS_HINGE,
    LOSS_HUBER,
    LOSS_LOG,
    LOSS_MODIFIED_HUBER,
    LOSS_PERCEPTRON,
    LOSS_QUANTILE,
    LOSS_SQUARED_EPSILON_INSENSITIVE,
    LOSS_SQUARED_ERROR,
    LOSS_SQUARED_HINGE,
)
from ._kernels.optimizers import (
    OPT_ADAGRAD,
    OPT_ADAM,
    OPT_ADAMW,
    OPT_MOMENTUM,
    OPT_NESTEROV,
    OPT_NORMALIZED,
    OPT_RMSPROP,
    OPT_SGD,
    OPT_SVRG,
)
from ._kernels.schedules import (
    SCHED_INVSCALING,
    SCHED_OPTIMAL,
    SCHED_PA1,
    SCHED_PA2,
    SCHED_PER_EPOCH,
)


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
    "squared_error": LossInfo(LOSS_SQUARED_ERROR, 1.0),
    "absolute_error": LossInfo(LOSS_ABSOLUTE_ERROR, 1.0, smooth=False),
    "huber": LossInfo(LOSS_HUBER, 1.0),
    "epsilon_insensitive": LossInfo(LOSS_EPSILON_INSENSITIVE, 1.0, smooth=False),
    "squared_epsilon_insensitive": LossInfo(LOSS_SQUARED_EPSILON_INSENSITIVE, 2.0),
    "quantile": LossInfo(LOSS_QUANTILE, 1.0, smooth=False),
}

CLASSIFICATION_LOSSES = {
    "log_loss": LossInfo(LOSS_LOG, 0.25, probabilistic=True, multinomial=True),
    "hinge": LossInfo(LOSS_HINGE, 1.0, smooth=False),
    "squared_hinge": LossInfo(LOSS_SQUARED_HINGE, 2.0),
    "modified_huber": LossInfo(LOSS_MODIFIED_HUBER, 2.0, probabilistic=True),
    "perceptron": LossInfo(LOSS_PERCEPTRON, 1.0, smooth=False),
    "focal": LossInfo(LOSS_FOCAL, 0.25, probabilistic=True, multinomial=True),
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

@dataclass(frozen=True)
class OptimizerInfo:
    """What the driver needs to know about a first-order optimizer.

    Attributes
    ----------
    code : int
        Kernel code (its branch in ``_kernels/optimizers.py``).
    per_coordinate : bool
        Whether the step is scaled per coordinate by the optimizer's own
        statistics (the adaptive and normalized steps). Otherwise the step is
        one rate for every coordinate, bounded by the largest feature scale:
        ``eta0="auto"`` is ``1/L``, the diagonal preconditioner applies
        (``precondition``), and badly scaled features are worth a warning.
    velocity : bool
        Whether the state holds a velocity (heavy ball, Nesterov): its steady
        state multiplies the step by ``1 / (1 - momentum)``, which the L1
        soft-threshold, the sampled loops' ``eta0="auto"`` and the batch
        loop's restart take into account.
    fallback_eta : float or None
        ``eta0="auto"`` of a per-coordinate optimizer when the data say
        nothing (a zero gradient at the start); None for the ``1/L`` ones.
    distance_rule : tuple of (float, float) or None
        ``(factor, power)`` of the data-derived rate of a per-coordinate
        optimizer: ``rate = D * factor / updates_per_epoch ** power``, with
        ``D`` the largest distance to the optimum of the quadratic bound
        along one coordinate (see ``_step_size.adaptive_rate``).
    scale_free : bool
        Whether the steps are invariant to the scale of each feature
        ("normalized": the data-derived rate is then in its own units, and
        only for the batch and mini-batch loops).
    variance_reduced : bool
        Whether each epoch starts with a full pass at a snapshot of the
        weights whose gradient corrects every step ("svrg"): the step's noise
        vanishes at the optimum, so a constant rate converges, and the pass is
        the certificate of the weights the epoch starts from.
    auto_rate_factor : float
        ``eta0="auto"`` of a ``1/L`` step is this fraction of ``1/L``.
    """

    code: int
    per_coordinate: bool = False
    velocity: bool = False
    fallback_eta: float | None = None
    distance_rule: tuple[float, float] | None = None
    scale_free: bool = False
    variance_reduced: bool = False
    auto_rate_factor: float = 1.0


# Adagrad, RMSprop and Adam(W) move each coordinate by about their rate per
# update: "auto" is a distance from the data (``_step_size``), and these
# customary rates only the fallback; "normalized" takes Vowpal Wabbit's 0.5 for
# one sample per step and Adagrad's rule in its own units otherwise.
_ADAM_RULE = (1.0 / 8.0, 0.5)
_ADAGRAD_RULE = (2.0, 0.25)
OPTIMIZERS = {
    "sgd": OptimizerInfo(OPT_SGD),
    "momentum": OptimizerInfo(OPT_MOMENTUM, velocity=True),
    "nesterov": OptimizerInfo(OPT_NESTEROV, velocity=True),
    "adagrad": OptimizerInfo(OPT_ADAGRAD, per_coordinate=True, fallback_eta=0.01,
                             distance_rule=_ADAGRAD_RULE),
    "rmsprop": OptimizerInfo(OPT_RMSPROP, per_coordinate=True, fallback_eta=0.01,
                             distance_rule=(1.0 / 16.0, 0.5)),
    "adam": OptimizerInfo(OPT_ADAM, per_coordinate=True, fallback_eta=0.001,
                          distance_rule=_ADAM_RULE),
    "adamw": OptimizerInfo(OPT_ADAMW, per_coordinate=True, fallback_eta=0.001,
                           distance_rule=_ADAM_RULE),
    "normalized": OptimizerInfo(OPT_NORMALIZED, per_coordinate=True, fallback_eta=0.5,
                                distance_rule=_ADAGRAD_RULE, scale_free=True),
    # 1 / (3 L) of the largest row, SAGA's rate (Defazio, Bach & Lacoste-Julien
    # 2014): in a prototype of this epoch on the real-data sets, to a gradient
    # residual of 1e-4 it took 9 epochs on flights where 1 / L took 24 (1/4 L:
    # 8, 1/2 L: 11), and 14 on tweets against 13 (19, 12).
    "svrg": OptimizerInfo(OPT_SVRG, variance_reduced=True, auto_rate_factor=1.0 / 3.0),
}


@dataclass(frozen=True)
class ScheduleInfo:
    """What the driver needs to know about a learning-rate schedule.

    Attributes
    ----------
    code : int
        Kernel code: the schedules that change within an epoch have their own
        (``_kernels/schedules.py``); the others are evaluated once per epoch in
        Python (``schedules.epoch_learning_rate``) and reach the kernels as
        ``SCHED_PER_EPOCH``, a constant rate.
    passive_aggressive : bool
        Whether the rate of each loss step is chosen per sample from its loss
        (Crammer et al. 2006): ``eta0`` is the aggressiveness C, one sample
        per plain step.
    """

    code: int
    passive_aggressive: bool = False


SCHEDULES = {
    "constant": ScheduleInfo(SCHED_PER_EPOCH),
    "invscaling": ScheduleInfo(SCHED_INVSCALING),
    "optimal": ScheduleInfo(SCHED_OPTIMAL),
    "adaptive": ScheduleInfo(SCHED_PER_EPOCH),
    "inverse_time": ScheduleInfo(SCHED_PER_EPOCH),
    "step": ScheduleInfo(SCHED_PER_EPOCH),
    "exponential": ScheduleInfo(SCHED_PER_EPOCH),
    "pa1": ScheduleInfo(SCHED_PA1, passive_aggressive=True),
    "pa2": ScheduleInfo(SCHED_PA2, passive_aggressive=True),
}

# The passive-aggressive steps, as scikit-learn's SGD has them: "auto" eta0 is
# 1.0 (PassiveAggressive*'s default C), and the loss each works with.
PASSIVE_AGGRESSIVE = tuple(name for name, info in SCHEDULES.items() if info.passive_aggressive)
PASSIVE_AGGRESSIVE_C = 1.0
PASSIVE_AGGRESSIVE_LOSS = {"classifier": "hinge", "regressor": "epsilon_insensitive"}

SOLVERS = ("batch", "minibatch", "stochastic")

PENALTIES = ("l2", "l1", "elasticnet")
