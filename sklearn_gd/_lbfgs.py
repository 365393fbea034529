"""Batch quasi-Newton training: SciPy's L-BFGS-B driving the fused Numba gradient.

First-order methods with a constant step stall a little above the optimum;
L-BFGS reaches it to high precision in few passes over the data. Each
objective evaluation is one fused pass (scores, losses and gradient together)
over the rows, split into blocks run in threads (see ``_batch``).
"""

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from ._blas import single_threaded_blas
from ._convergence import Convergence, feature_scales, residual_norm
from ._kernels.loops import C_FIT_INTERCEPT, H_L2
from ._warnings import warn

# L-BFGS's memory (SciPy's maxcor): its default, and as many pairs as ever pay.
MIN_MEMORY, MAX_MEMORY = 10, 40


def lbfgs_memory(pass_work, n_params):
    """How many correction pairs L-BFGS keeps, from what a pass costs against a pair.

    Each pair costs L-BFGS-B work in proportion to the number of variables
    (``n_params``) at every iteration; a pass over the data costs
    ``pass_work``, its multiply-adds (stored entries times score columns).
    More pairs model more of the curvature, which on one-hot columns (whose
    groups are collinear with the intercept, a direction only the L2 term
    curves) cut the flights benchmark's iterations from 89 to 55 at
    ``alpha=1e-4`` and from 103 to 43 at ``3e-5`` (beyond 40 no fewer), and
    cost no iterations on dense rows. Where the variables are as many as the
    entries (TF-IDF: 10,878 columns, 17 entries per row) the pairs' work is
    the pass's, and 40 pairs made the fit 1.5x slower: the pairs are kept
    while their work stays under an eighth of a pass's, between SciPy's
    default of 10 and 40.
    """
    return int(min(MAX_MEMORY, max(MIN_MEMORY, pass_work // (8 * max(n_params, 1)))))


def fit_lbfgs(estimator, gradient_factory, n, column_mean_squares, state, max_iter,
              callbacks, preconditioner=None, memory=MIN_MEMORY):
    """Minimise the smooth objective from ``state.params``; returns (curve, n_iter).

    ``gradient_factory(codes, hyper)`` gives ``params -> (weighted loss sum,
    gradient sum)`` over all rows (``_batch.FullGradient`` in memory, the
    workers' sums on Dask); the weights are scaled to mean 1 over the ``n``
    rows, so the objective is ``sum(w_i loss_i) / n + l2 / 2 ||W||^2``.
    ``column_mean_squares`` are the rows' weighted column mean squares (the
    certificate's scales). L-BFGS stops on the certificate
    the other solvers use (``_convergence``): the optimality residual, in the
    columns' scales, at most ``tol`` times its value at the start (at the
    all-zero model for a warm start), checked after each iteration from the
    gradient L-BFGS just computed. SciPy's own tests are switched off but for
    "no further progress is possible" (its ``ftol`` near machine precision and
    failed line searches): stopping there without the certificate warns.
    ``tol=None`` runs ``max_iter`` iterations unless L-BFGS cannot improve.

    ``preconditioner`` (``p``, one per coefficient and the intercept, see
    ``_step_size.diagonal_preconditioner``) makes L-BFGS work on
    ``theta_j / sqrt(p_j)``: the change of variables that gives the
    objective's curvature bound a unit diagonal. L-BFGS starts every search
    from a multiple of the identity, so on columns of very different scales
    (one-hot categories of any frequency, TF-IDF terms) it otherwise spends
    its first iterations, and its memory, learning the diagonal. The optimum
    and the certificate are those of the unscaled objective.

    ``memory`` is the number of correction pairs (see :func:`lbfgs_memory`).
    """
    params = state.params
    shape = params.shape
    codes, hyper = estimator._kernel_config(shape[0], 0.0)
    gradient = gradient_factory(codes, hyper)
    l2 = float(hyper[H_L2])
    n = float(n)
    fit_intercept = bool(codes[C_FIT_INTERCEPT])

    # L-BFGS sees x = theta * unscale; the gradient in x is grad / unscale.
    unscale = np.ones(shape)
    if preconditioner is not None:
        unscale *= 1.0 / np.sqrt(np.asarray(preconditioner, dtype=np.float64))
    unscale = unscale.ravel()
    last = {}  # the latest evaluation: L-BFGS's iterate is one of its trial points

    def objective(x):
        start_point = last.pop("start", None)
        if start_point is not None and np.array_equal(start_point[0], x):
            # L-BFGS begins where the certificate's reference was just computed
            # (a cold start): the same deterministic pass, so not run twice.
            return start_point[1]
        theta = x / unscale
        params[...] = theta.reshape(shape)
        loss_sum, grad_sum = gradient(params)
        value = float(loss_sum) / n
        grad = np.asarray(grad_sum, dtype=np.float64) / n
        coef = params[:, :-1].astype(np.float64)
        value += 0.5 * l2 * float(np.sum(coef * coef))
        grad[:, :-1] += l2 * coef
        if not fit_intercept:
            grad[:, -1] = 0.0
        last.update(theta=theta, grad=grad)
        return value, grad.ravel() / unscale

    tol = estimator.tol
    x0 = params.astype(np.float64).ravel() * unscale
    scales = start = None
    if tol is not None:
        scales = feature_scales(column_mean_squares)
        warm = bool(np.any(x0 != 0.0))
        reference = np.zeros_like(x0) if warm else x0
        value_and_grad = objective(reference)
        start = residual_norm(last["grad"], last["theta"].reshape(shape), 0.0,
                              fit_intercept, scales)
        if not warm:
            last["start"] = (reference.copy(), value_and_grad)

    def residual_at(theta):
        """Residual at ``theta`` if L-BFGS evaluated it last (None otherwise)."""
        if "theta" not in last or not np.array_equal(last["theta"], theta):
            return None
        return residual_norm(last["grad"], theta.reshape(shape), 0.0, fit_intercept, scales)

    curve = []
    callbacks.begin_epoch(params)

    def record(intermediate_result):
        theta = intermediate_result.x / unscale
        curve.append(float(intermediate_result.fun))
        params[...] = theta.reshape(shape)
        callbacks.end_epoch(params)
        callbacks.begin_epoch(params)
        if estimator.verbose:
            print(f"-- Iteration {len(curve)}: objective {curve[-1]:.8g}")
        if tol is not None:
            residual = residual_at(theta)
            if residual is not None and residual <= tol * start:
                raise StopIteration

    with single_threaded_blas():
        result = minimize(
            objective, x0, jac=True, method="L-BFGS-B", callback=record,
            options={"maxiter": max_iter, "gtol": 0.0, "ftol": 64 * np.finfo(float).eps,
                     "maxls": 50, "maxcor": int(memory)},
        )
    theta = result.x / unscale
    params[...] = theta.reshape(shape)
    callbacks.end_epoch(params)  # the iteration L-BFGS started but did not finish
    if not np.all(np.isfinite(params)) or not np.isfinite(result.fun):
        estimator._raise_divergence(0, float("nan"))
    if tol is None:
        state.convergence = Convergence(False, "none")
    else:
        residual = residual_at(theta)
        if residual is None:
            objective(result.x)
            residual = residual_at(theta)
        relative = residual / start if start else 0.0
        converged = relative <= tol
        state.convergence = Convergence(converged, "gradient", relative)
        if not converged:
            why = ("reached max_iter" if result.status == 1 else
                   f"stopped ({result.message})")
            warn(
                f"L-BFGS {why} with the optimality residual at {relative:.3g} of its value "
                f"at the start (tol={tol:g}). Consider increasing max_iter or scaling the "
                "features.",
                ConvergenceWarning,
            )
    n_iter = int(result.nit)
    state.t += n_iter
    state.epochs += n_iter
    state.eta = float("nan")
    return curve, n_iter
