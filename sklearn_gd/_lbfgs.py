"""Batch quasi-Newton training: SciPy's L-BFGS-B driving the fused Numba gradient.

First-order methods with a constant step stall a little above the optimum;
L-BFGS reaches it to high precision in few passes over the data. Each
objective evaluation is one fused pass (scores, losses and gradient together)
over the rows, split into blocks run in threads (see ``_batch``).
"""

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from ._batch import BlockGradient
from ._convergence import Convergence
from ._kernels import loops as K
from ._warnings import warn


def fit_lbfgs(estimator, rows, targets, sample_weight, state, max_iter, callbacks):
    """Minimise the smooth objective from ``state.params``; returns (curve, n_iter).

    ``sample_weight`` is scaled to mean 1, so the objective is
    ``sum(w_i loss_i) / n + l2 / 2 ||W||^2``. ``tol`` is the projected-gradient
    tolerance (as in ``LogisticRegression(solver="lbfgs")``); None runs
    ``max_iter`` iterations unless L-BFGS cannot improve further.
    """
    params = state.params
    shape = params.shape
    codes, hyper = estimator._kernel_config(shape[0], 0.0)
    gradient = BlockGradient(rows, targets, sample_weight, params, codes, hyper,
                             estimator.n_jobs)
    l2 = float(hyper[K.H_L2])
    n = float(rows.n_samples)
    fit_intercept = bool(codes[K.C_FIT_INTERCEPT])

    def objective(theta):
        params[...] = theta.reshape(shape)
        value = gradient() / n
        grad = gradient.grads.sum(axis=0, dtype=np.float64) / n
        coef = params[:, :-1].astype(np.float64)
        value += 0.5 * l2 * float(np.sum(coef * coef))
        grad[:, :-1] += l2 * coef
        if not fit_intercept:
            grad[:, -1] = 0.0
        return value, grad.ravel()

    curve = []
    callbacks.begin_epoch(params)

    def record(intermediate_result):
        curve.append(float(intermediate_result.fun))
        params[...] = intermediate_result.x.reshape(shape)
        callbacks.end_epoch(params)
        callbacks.begin_epoch(params)
        if estimator.verbose:
            print(f"-- Iteration {len(curve)}: objective {curve[-1]:.8g}")

    tol = estimator.tol
    result = minimize(
        objective, params.astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
        callback=record,
        options={"maxiter": max_iter, "gtol": 0.0 if tol is None else tol,
                 "ftol": 64 * np.finfo(float).eps, "maxls": 50},
    )
    params[...] = result.x.reshape(shape)
    callbacks.end_epoch(params)  # the iteration L-BFGS started but did not finish
    if not np.all(np.isfinite(params)) or not np.isfinite(result.fun):
        estimator._raise_divergence(0, float("nan"))
    if result.status == 1 and tol is not None:
        warn(
            "L-BFGS reached max_iter before the gradient fell below tol. Consider "
            "increasing max_iter or scaling the features.",
            ConvergenceWarning,
        )
    state.convergence = Convergence(bool(result.status == 0 and tol is not None), "lbfgs")
    n_iter = int(result.nit)
    state.t += n_iter
    state.epochs += n_iter
    state.eta = float("nan")
    return curve, n_iter
