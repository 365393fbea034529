"""Per-coordinate update rules of the first-order optimizers.

Each rule is a few lines in :func:`optimizer_step` (NAG's in
:func:`normalized_step`), chosen by an integer code that is constant for a
whole epoch (so the branch costs next to nothing beside a row's dot product).
State is two arrays shaped like the parameters, ``TrainingState.first_moment`` and
``second_moment`` (``optimizer_state_``'s keys); the kernels call them ``m1`` and
``m2``, short because they appear in every update formula:

==========  ==========================  =============================
optimizer   first_moment                second_moment
==========  ==========================  =============================
sgd         unused                      unused
momentum    velocity (heavy ball)       unused
nesterov    velocity                    unused
adagrad     unused                      sum of squared gradients
rmsprop     unused                      running mean of squared grads
adam(w)     running mean of gradients   running mean of squared grads
normalized  feature columns: largest    sum of squared gradients
            ``|x_j|`` seen (``s_j``,    (intercept column included)
            the same in every row);
            intercept column: mean of
            ``sum_j (x_j / s_j)**2``
            over the updates so far
==========  ==========================  =============================

The rules follow ``torch.optim`` (velocity ``v = momentum*v + g``, Nesterov
step ``g + momentum*v``; Adam with bias correction). AdamW's decoupled weight
decay is applied by the caller, which also applies the L1 proximal step with the
per-coordinate step size returned here.

"normalized" is NAG, the normalized adaptive gradient of Ross, Mineiro and
Langford, "Normalized Online Learning" (UAI 2013), the default update of
Vowpal Wabbit without its importance-invariant step. The step of feature
``j`` is ``lr * sqrt(t / N) / (s_j * sqrt(G_j))``: ``s_j`` makes it invariant
to the scale of column ``j``, ``G_j`` (AdaGrad's sum of squared gradients)
to the scale of the gradients, and ``N / t``, the mean over updates of
``sum_j (x_j / s_j)**2`` (the intercept's constant feature counts as 1),
keeps the change of a prediction near ``lr`` whatever the number of
features. Keeping that mean rather than ``N`` itself means a float32 state
neither overflows nor stops moving on long streams (``N + x`` rounds to
``N`` once ``N`` is 2**24 times larger). The loops keep ``s_j`` and the
mean (see ``loops.py``); :func:`normalized_step` only reads ``s_j`` and
updates ``G_j``, and its caller passes ``s = 1`` for the intercept and the
learning rate already multiplied by ``sqrt(t / N)``.
"""

import math

from ._jit import FASTMATH, kernel

OPT_SGD = 0
OPT_MOMENTUM = 1
OPT_NESTEROV = 2
OPT_ADAGRAD = 3
OPT_RMSPROP = 4
OPT_ADAM = 5
OPT_ADAMW = 6
OPT_NORMALIZED = 7
# SVRG has an epoch loop of its own (``variance_reduced.py``); optimizer_step never
# sees this code.
OPT_SVRG = 8


@kernel(fastmath=FASTMATH, error_model="numpy")
def optimizer_step(code, w, g, m1, m2, lr, momentum, beta_1, beta_2, eps, bias1, bias2):
    """Return (new weight, new first moment, new second moment, effective step).

    ``bias1`` and ``bias2`` are Adam's bias corrections ``1 - beta**t`` for the
    current step count ``t``. The effective step is the factor the gradient
    was multiplied by, used by the caller for the L1 proximal (soft-threshold)
    step. "normalized" has its own :func:`normalized_step`.
    """
    if code == OPT_SGD:
        return w - lr * g, m1, m2, lr
    # With momentum the velocity builds up to g / (1 - momentum), so that is the
    # effective step at a fixed point: the L1 soft-threshold must use it, or the
    # fit converges to the lasso of alpha * (1 - momentum).
    if code == OPT_MOMENTUM:
        v = momentum * m1 + g
        return w - lr * v, v, m2, lr / (1.0 - momentum)
    if code == OPT_NESTEROV:
        v = momentum * m1 + g
        return w - lr * (g + momentum * v), v, m2, lr / (1.0 - momentum)
    if code == OPT_ADAGRAD:
        s = m2 + g * g
        step = lr / (math.sqrt(s) + eps)
        return w - step * g, m1, s, step
    if code == OPT_RMSPROP:
        s = beta_2 * m2 + (1.0 - beta_2) * g * g
        step = lr / (math.sqrt(s) + eps)
        return w - step * g, m1, s, step
    # Adam and AdamW share the moment update; AdamW differs only in how the
    # caller applies weight decay.
    m = beta_1 * m1 + (1.0 - beta_1) * g
    s = beta_2 * m2 + (1.0 - beta_2) * g * g
    step = (lr / bias1) / (math.sqrt(s / bias2) + eps)
    return w - step * m, m, s, step


# Not a branch of optimizer_step: one more branch there made LLVM stop inlining
# it into the loops, and a stochastic epoch of every other optimizer took more
# than twice as long (docs/benchmarks.md, "Behind the code").
@kernel(fastmath=FASTMATH, error_model="numpy")
def normalized_step(w, g, scale, m2, lr):
    """NAG's step: (new weight, new sum of squared gradients, effective step).

    ``scale`` is the feature's ``s_j`` and ``lr`` already includes
    ``sqrt(t / N)``.
    """
    s = m2 + g * g
    # A feature never seen non-zero (s_j 0) has had no loss gradient, and
    # G_j 0 means no gradient at all yet: neither has a step to take. The
    # test also keeps a state left by another optimizer (warm_start after a
    # change of optimizer: a velocity, possibly negative, where s_j belongs)
    # from stepping uphill.
    if scale > 0.0 and s > 0.0:
        step = lr / (scale * math.sqrt(s))
        return w - step * g, s, step
    return w, s, 0.0
