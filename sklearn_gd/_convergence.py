"""Certificates of optimality, and the stopping rule that asks for them.

A fit may say it converged only when a certificate says it is near the
minimum of the objective it defines; an objective that stopped falling (or
rose, as momentum overshoot makes it) proves nothing. The objective is
``F(w) = f(w) + l1 ||coef||_1`` with ``f`` the weighted mean loss plus the L2
term.

* Smooth losses: the optimality residual at one point ``w``: the gradient of
  ``f`` plus the element of ``l1 d||coef||_1`` that makes the sum smallest
  (the minimum-norm subgradient of F, zero exactly at the minimum).
* Non-smooth losses (hinge, absolute, epsilon-insensitive, quantile,
  perceptron) have no gradient that vanishes at the minimum: near it, the
  subgradient jumps between the sides of the kinks. Their certificate is the
  aggregate-subgradient test of bundle methods: over the last few points
  ``w_k`` with subgradients ``g_k``, the mean ``g`` is an
  ``eps``-subgradient of ``f`` at the mean point ``w``, with
  ``eps = f(w) - mean_k(f(w_k) + g_k . (w - w_k)) >= 0`` (convexity), so
  ``F(w) - min F <= eps + |r| * |w - w*|`` with ``r`` the residual of ``g``
  as above. Both ``|r|`` (relative to its value at the start) and ``eps``
  (relative to ``F(w)``) must be within ``tol``.

Both reduce to the same code: a list of points, each with its objective and
gradient, one pass at their mean when there are several.
"""

import collections
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Convergence:
    """How a fit ended, as recorded in ``convergence_``.

    Attributes
    ----------
    converged : bool
        Whether the certificate met ``tol``.
    criterion : str
        "gradient" (smooth losses: minimum-norm gradient of the objective),
        "subgradient" (non-smooth losses: aggregate subgradient and its
        linearisation error), "validation" (``early_stopping``: the held-out
        score stopped improving; says nothing about the training optimum)
        or "none" (``tol=None``: no check was made). ``optimizer="lbfgs"``
        uses "gradient" too.
    residual : float
        The optimality residual at the returned weights relative to its value
        at the start of the fit (NaN when not measured).
    error : float
        For "subgradient", the linearisation error relative to the
        objective; 0 otherwise.
    step_cuts : int
        How many times a failed check halved the learning rate.
    """

    converged: bool
    criterion: str
    residual: float = float("nan")
    error: float = 0.0
    step_cuts: int = 0


def residual_norm(grad, params, l1, fit_intercept, scales=None):
    """Norm of the minimum-norm subgradient of ``f + l1 ||coef||_1`` given ``grad f``.

    ``grad`` and ``params`` are (n_outputs, n_features + 1) float64 arrays whose
    last column is the intercept's (left out when it is not fitted). With
    ``scales`` (one per feature) the norm is ``sqrt(sum_j (r_j / scale_j)**2)``.
    """
    g = grad[:, :-1]
    if l1 > 0.0:
        w = params[:, :-1]
        g = np.where(w != 0.0, g + l1 * np.sign(w),
                     np.sign(g) * np.maximum(np.abs(g) - l1, 0.0))
    if scales is not None:
        g = g / scales
    sq = float(np.sum(g * g))
    if fit_intercept:
        sq += float(np.sum(grad[:, -1] ** 2))
    return float(np.sqrt(sq))


def feature_scales(column_mean_squares):
    """Root mean squares of the columns, for a residual norm that ignores their units.

    A gradient component of a column measured in thousands is a thousand times
    larger for the same progress; dividing by the column's scale (the square
    root of the diagonal of the Gram matrix, that of the intercept's column of
    ones being 1) measures every coordinate alike, so features all scaled by
    1e4 cannot hide the intercept's residual. All-zero columns keep 1.
    """
    rms = np.sqrt(np.asarray(column_mean_squares, dtype=np.float64))
    return np.where(rms > 0.0, rms, 1.0)


class Point:
    """Weights with their smooth objective ``f`` and its gradient (float64 copies)."""

    __slots__ = ("params", "value", "grad")

    def __init__(self, params, value, grad):
        self.params = np.array(params, dtype=np.float64)
        self.value = float(value)
        self.grad = np.asarray(grad, dtype=np.float64)


class Objective:
    """``f`` (mean loss plus the L2 term) and its gradient at any weights.

    ``gradient(params) -> (weighted loss sum, gradient sum)`` is one pass over
    the data (in memory or on a cluster); ``total_weight`` divides the sums;
    ``scales`` (see :func:`feature_scales`) sets the norm of the residual.
    """

    def __init__(self, gradient, total_weight, l2, l1, fit_intercept, scales=None):
        self.gradient = gradient
        self.total_weight = float(total_weight)
        self.l2, self.l1 = float(l2), float(l1)
        self.fit_intercept = bool(fit_intercept)
        self.scales = scales

    def point(self, params, loss_sum=None, grad_sum=None):
        """A :class:`Point` at ``params``; the sums, when the caller has them, save a pass."""
        if loss_sum is None:
            loss_sum, grad_sum = self.gradient(params)
        coef = np.asarray(params[:, :-1], dtype=np.float64)
        grad = np.asarray(grad_sum, dtype=np.float64) / self.total_weight
        grad[:, :-1] += self.l2 * coef
        if not self.fit_intercept:
            grad[:, -1] = 0.0
        value = loss_sum / self.total_weight + 0.5 * self.l2 * float(np.sum(coef * coef))
        return Point(params, value, grad)

    def residual(self, point):
        return residual_norm(point.grad, point.params, self.l1, self.fit_intercept,
                             self.scales)

    def full_value(self, point):
        return point.value + self.l1 * float(np.sum(np.abs(point.params[:, :-1])))

    def certify(self, points):
        """(weights, relative-free residual, linearisation error) of the mean of ``points``.

        One point: its own residual and no error. Several: the aggregate
        subgradient at their mean (one more pass), see the module docstring.
        """
        if len(points) == 1:
            p = points[0]
            return p.params, self.residual(p), 0.0, p
        aggregate = Aggregate()
        for p in points:
            aggregate.add(p)
        return aggregate.certify(self)


class Aggregate:
    """Running sums of points for :meth:`Objective.certify` over many epochs, in O(weights).

    The batch loop of a non-smooth loss adds every epoch's point since the
    last step cut: the longer the run at one step size, the smaller the mean
    subgradient of a zig-zagging subgradient method gets (its ergodic rate),
    while the linearisation error stays of the order of the step.
    """

    def __init__(self):
        self.count = 0

    def add(self, point):
        if self.count == 0:
            self.params = np.zeros_like(point.params)
            self.grad = np.zeros_like(point.grad)
            self.value = 0.0
            self.cross = 0.0
        self.count += 1
        self.params += point.params
        self.grad += point.grad
        self.value += point.value
        self.cross += float(np.sum(point.grad * point.params))

    def clear(self):
        self.count = 0

    def certify(self, objective):
        """(mean weights, residual, linearisation error, point at the mean), one pass."""
        mean = self.params / self.count
        at_mean = objective.point(mean)
        g = self.grad / self.count
        model = self.value / self.count + float(np.sum(g * mean)) - self.cross / self.count
        error = max(at_mean.value - model, 0.0)
        return mean, objective.residual(Point(mean, at_mean.value, g)), error, at_mean


class StoppingRule:
    """Decides, epoch by epoch, when to look for a certificate and what a failed one means.

    ``observe(objective)`` counts the epochs whose objective did not fall by
    ``tol`` below the best so far (a rise counts as one of those, never as
    convergence); after ``n_iter_no_change`` of them it answers True: time to
    check. The caller then checks and either stops (certified) or cuts the
    step and calls :meth:`restart`.
    """

    def __init__(self, tol, n_iter_no_change):
        self.tol = 0.0 if tol is None else float(tol)
        self.patience = int(n_iter_no_change)
        self.restart()

    def restart(self):
        self.best = np.inf
        self.last = np.inf
        self.stall = 0
        self.rose = False

    def observe(self, objective):
        scale = max(abs(self.best), 1.0) if np.isfinite(self.best) else 1.0
        if objective > self.best - self.tol * scale:
            self.stall += 1
        else:
            self.stall = 0
        # Whether the objective went up since the last restart: for a
        # deterministic (batch) objective, the sign of a step that is too long.
        self.rose = self.rose or objective > self.last
        self.last = objective
        self.best = min(self.best, objective)
        return self.stall >= self.patience


class Certifier:
    """The stopping rule and the certificates of one run of epochs.

    ``after_epoch`` answers "go", "stalled" (the batch objective of a smooth
    loss stopped falling without rising: its step is not too long), "cut" (a
    check failed: the caller cuts the step and calls :meth:`cut`) or
    "converged" (then ``certified`` holds the weights to return). ``final``
    judges the weights a run ends with. One pass at the start, for the
    stochastic loops and warm starts, gives the residual everything is
    relative to (at the all-zero model for a warm start, which may begin near
    the optimum); the batch loop takes it from its first epoch.

    Parameters
    ----------
    objective : Objective
    tol : float
    n_iter_no_change : int
    batch : bool
        Whether each epoch computes the full gradient at its start (then
        exposed by the epoch function as ``last_gradient``).
    smooth : bool
    params : ndarray
        The weights the run starts from.
    """

    def __init__(self, objective, tol, n_iter_no_change, batch, smooth, params):
        self.objective = objective
        self.tol = float(tol)
        self.patience = int(n_iter_no_change)
        self.batch, self.smooth = batch, smooth
        self.criterion = "gradient" if smooth else "subgradient"
        self.rule = StoppingRule(tol, n_iter_no_change)
        self.window = collections.deque(maxlen=self.patience)
        self.aggregate = Aggregate()
        self.cuts = 0
        self.start_residual = None
        warm = bool(np.any(params != 0.0))
        if not batch or warm:
            self.start_residual = objective.residual(objective.point(
                np.zeros_like(params) if warm else params))
        self.certified = None

    # ---------------------------------------------------------------- tests
    def _small_error(self, error, at):
        return error <= self.tol * max(abs(self.objective.full_value(at)), 1e-300)

    def _small_residual(self, residual):
        return residual <= self.tol * self.start_residual

    def _aggregates(self):
        """Certificates of the last epochs' points, and of all since the last cut."""
        found = [self.objective.certify(list(self.window))]
        if self.aggregate.count > len(self.window):
            found.append(self.aggregate.certify(self.objective))
        return found

    def _converged(self, weights, residual, error):
        self.certified = Convergence(True, self.criterion, self.relative(residual), error,
                                     self.cuts)
        self.weights = weights
        return "converged"

    def relative(self, residual):
        return residual / self.start_residual if self.start_residual else 0.0

    # ---------------------------------------------------------------- epochs
    def after_epoch(self, epoch_fn, params, objective):
        if self.batch:
            point = self.objective.point(*epoch_fn.last_gradient)
            if self.start_residual is None:
                self.start_residual = self.objective.residual(point)
            self.window.append(point)
            if self.smooth:
                residual = self.objective.residual(point)
                if self._small_residual(residual):
                    return self._converged(point.params, residual, 0.0)
            else:
                self.aggregate.add(point)
        else:
            self.window.append(np.array(params, dtype=np.float64))
        if not self.rule.observe(objective):
            return "go"
        if self.batch and self.smooth:
            # Slow but steady descent keeps its step; a rise means it is too long.
            return "cut" if self.rule.rose else "stalled"
        if self.batch:
            small_error = False
            for weights, residual, error, at in self._aggregates():
                if self._small_error(error, at):
                    if self._small_residual(residual):
                        return self._converged(weights, residual, error)
                    small_error = True
            # A large linearisation error means the step swings too far; a small
            # one with a large mean subgradient means the mean needs more epochs
            # to cancel (cutting the step then only slows that down).
            return "stalled" if small_error else "cut"
        if self.smooth:
            # The last iterate, and the mean of the last epochs' ends (their
            # noise averages out): the better of the two.
            candidates = [self.objective.point(self.window[-1])]
            if len(self.window) > 1:
                candidates.append(self.objective.point(np.mean(self.window, axis=0)))
            points = [min(candidates, key=self.objective.residual)]
        else:
            points = [self.objective.point(w) for w in self.window]
        weights, residual, error, at = self.objective.certify(points)
        if self._small_residual(residual) and self._small_error(error, at):
            return self._converged(weights, residual, error)
        return "cut"

    def cut(self, grow_patience=True):
        """After a failed check: forget the points of the old step size."""
        self.cuts += 1
        if grow_patience:
            # Each cut waits longer before the next: a noisy or non-smooth
            # objective would otherwise halve the step every few epochs until
            # it froze far from the optimum.
            self.rule.patience = self.patience * (1 + self.cuts)
        self.restart()

    def restart(self):
        self.rule.restart()
        self.window.clear()
        self.aggregate.clear()

    def stalled(self):
        self.rule.restart()

    def final(self, point):
        """(Convergence, weights) for a run that ends at ``point`` without a certificate yet.

        The weights are those of ``point``, or, for a non-smooth loss, the mean
        of the last epochs' points when their aggregate certificate holds.
        """
        if self.start_residual is None:
            self.start_residual = self.objective.residual(point)
        residual = self.objective.residual(point)
        if self._small_residual(residual):
            return Convergence(True, self.criterion, self.relative(residual), 0.0,
                               self.cuts), point.params
        error = 0.0
        # The batch loop's window holds points (weights with their gradients);
        # the stochastic loops' holds weights only.
        if not self.smooth and self.batch and len(self.window) > 1:
            found = self._aggregates()
            for weights, mean_residual, mean_error, at in found:
                if self._small_residual(mean_residual) and self._small_error(mean_error, at):
                    return Convergence(True, self.criterion, self.relative(mean_residual),
                                       mean_error, self.cuts), weights
            residual, error = min((residual, error), *((r, e) for _, r, e, _ in found))
        return Convergence(False, self.criterion, self.relative(residual), error,
                           self.cuts), point.params
