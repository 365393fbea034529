"""Per-coordinate update rules of the first-order optimizers.

Each rule is a few lines in :func:`optimizer_step`, chosen by an integer code
that is constant for a whole epoch (so the branch costs next to nothing beside
a row's dot product). State is two arrays shaped like the parameters:

=========  ==========================  =============================
optimizer  first_moment                second_moment
=========  ==========================  =============================
sgd        unused                      unused
momentum   velocity (heavy ball)       unused
nesterov   velocity                    unused
adagrad    unused                      sum of squared gradients
rmsprop    unused                      running mean of squared grads
adam(w)    running mean of gradients   running mean of squared grads
=========  ==========================  =============================

The rules follow ``torch.optim`` (velocity ``v = momentum*v + g``, Nesterov
step ``g + momentum*v``; Adam with bias correction). AdamW's decoupled weight
decay is applied by the caller, which also applies the L1 proximal step with the
per-coordinate step size returned here.
"""

import math

from ._jit import kernel

OPT_SGD = 0
OPT_MOMENTUM = 1
OPT_NESTEROV = 2
OPT_ADAGRAD = 3
OPT_RMSPROP = 4
OPT_ADAM = 5
OPT_ADAMW = 6


@kernel()
def optimizer_step(code, w, g, m1, m2, lr, momentum, beta_1, beta_2, eps, bias1, bias2):
    """Return (new weight, new first moment, new second moment, effective step).

    ``bias1`` and ``bias2`` are Adam's bias corrections ``1 - beta**t`` for the
    current step count ``t``. The effective step is the factor the gradient was
    multiplied by, used by the caller for the L1 proximal (soft-threshold) step.
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
