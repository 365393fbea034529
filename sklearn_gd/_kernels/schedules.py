"""Learning-rate schedules.

Schedules that change within an epoch (``invscaling`` and ``optimal``, which
depend on the update counter ``t``) are evaluated in the kernel by
:func:`step_learning_rate`; the passive-aggressive ones ("pa1", "pa2") by the
one-sample loop, from each sample's loss. Schedules that change between epochs (``constant``,
``adaptive``, ``inverse_time``, ``step``, ``exponential``) are evaluated once per
epoch in Python by :func:`epoch_learning_rate` and reach the kernel as a
constant.
"""

import math

from ._jit import FASTMATH, kernel

# Codes seen by the kernel.
SCHED_PER_EPOCH = 0  # the kernel uses the rate it is given, unchanged
SCHED_INVSCALING = 1
SCHED_OPTIMAL = 2
# The passive-aggressive steps: the rate of the loss step is chosen per sample
# and output by the one-sample loop (``loops.passive_aggressive_rate``); the
# rate given, C, bounds it and sets the L2 shrink.
SCHED_PA1 = 3
SCHED_PA2 = 4


@kernel(fastmath=FASTMATH, error_model="numpy")
def step_learning_rate(code, eta, t, power_t, optimal_offset, alpha):
    """Learning rate for update number ``t`` (1-based)."""
    if code == SCHED_INVSCALING:
        return eta / math.pow(t, power_t)
    if code == SCHED_OPTIMAL:
        return 1.0 / (alpha * (optimal_offset + t - 1.0))
    return eta


def optimal_offset(alpha, dloss_at):
    """Léon Bottou's heuristic start ``t0`` for the ``optimal`` schedule.

    Chooses t0 so that the first step has the size of a typical weight,
    ``1 / sqrt(sqrt(alpha))``, damped by the loss derivative there (the same
    heuristic scikit-learn's SGD uses). ``dloss_at(p)`` is the absolute loss
    derivative at score ``p`` for a positive target.

    The absolute value is Bottou's intent (his losses return the derivative's
    magnitude). scikit-learn passes the signed derivative, which is negative
    there for every loss, so its ``max(1, .)`` is always 1 and never damps.
    Where the derivative's magnitude there exceeds 1 (squared error, squared
    epsilon-insensitive, squared hinge, modified Huber) the first steps here
    are smaller than scikit-learn's and the fits differ; for the other losses
    they agree.
    """
    typw = math.sqrt(1.0 / math.sqrt(alpha))
    initial_eta = typw / max(1.0, dloss_at(-typw))
    return 1.0 / (initial_eta * alpha)


def epoch_learning_rate(schedule, eta0, epoch, decay_rate, milestones):
    """Learning rate for a whole epoch of a per-epoch schedule.

    ``epoch`` counts completed epochs (0 for the first). ``adaptive`` is
    handled by the driver, which divides the rate when progress stalls, so
    here it behaves like ``constant``.
    """
    if schedule == "inverse_time":
        return eta0 / (1.0 + decay_rate * epoch)
    if schedule == "exponential":
        return eta0 * math.exp(-decay_rate * epoch)
    if schedule == "step":
        passed = sum(1 for m in milestones if epoch >= m)
        return eta0 * decay_rate**passed
    return eta0
