"""The epoch driver: runs epochs, sizes the steps, guards against divergence, stops.

``run_epochs`` is shared by ``fit``, the general ``partial_fit`` path and the
Dask path (which brings its own epoch step and gradient pass). Three small
parts do the work it used to do inline:

* :class:`StepSize`: the learning rate of each epoch from the schedule, and
  the cuts (after a failed certificate check, or a recovery) applied to
  whatever really sets the rate;
* :class:`DivergenceGuard`: the blow-up yardstick, the slow-rise rule, the
  checkpoints and the recovery budget;
* :class:`~sklearn_gd._convergence.Certifier`: when to stop (see
  ``_convergence``).
"""

import functools
import math
import time

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._batch import FullGradient
from ._callbacks import NoCallbacks
from ._convergence import Certifier, Convergence, Objective, StoppingRule, feature_scales
from ._kernels import loops as builtin_loops
from ._kernels import schedules
from ._kernels.loops import C_FIT_INTERCEPT, H_ETA, H_L1, H_L2, H_OPTIMAL_OFFSET, STATUS_DIVERGED
from ._step_size import column_mean_squares as column_mean_squares_of
from ._warnings import warn

# An epoch objective this many times (a bound on) that of the all-zero model
# (see BaseGD._reference_objective) counts as divergence; a warm start that
# far above it is a diverged model already.
BLOWUP = 1e6
# A fit whose last objective is this many times its first epoch's has diverged.
RISE = 10.0
# Each recovery divides the step size by 10: after 10 the rate is 1e-10 of the
# original, and training that still diverges has another cause (e.g. inf data).
MAX_RECOVERIES = 10


class DivergenceError(ValueError, ArithmeticError):
    """Training diverged: the loss or the weights became infinite or NaN.

    Raised instead of returning a model with NaN coefficients. The message names
    the step size that was used and suggests a smaller one.
    """


class DivergenceWarning(UserWarning):
    """Training diverged and ``on_divergence="recover"`` restarted the epoch.

    The message says which epoch and the reduced learning rate.
    """


def blown_up(status, objective, limit):
    """Whether an epoch diverged: NaN/inf in the kernel, or an objective over ``limit``."""
    return status == STATUS_DIVERGED or not objective <= limit


class StepSize:
    """The learning rate of each epoch, and the cuts made to it.

    A cut multiplies the schedule's base (``eta0`` for the per-epoch and
    per-update schedules), the carried rate of "adaptive", and, for
    "optimal", which ignores ``eta0``, its offset ``t0``: at the current
    update count the rate ``1 / (alpha (t0 + t))`` then shrinks by the same
    factor.
    """

    def __init__(self, estimator, state, hyper):
        self.schedule = estimator.schedule_
        self.eta0 = estimator.eta0_
        self.decay_rate = estimator.decay_rate
        self.milestones = estimator._milestones()
        self.state, self.hyper = state, hyper
        self.scale = 1.0
        if state.eta is None:
            state.eta = self.eta0

    def start_epoch(self, epoch):
        if self.schedule != "adaptive":
            self.state.eta = self.scale * schedules.epoch_learning_rate(
                self.schedule, self.eta0, epoch, self.decay_rate, self.milestones)
        self.hyper[H_ETA] = self.state.eta

    def cut(self, factor):
        self.scale *= factor
        self.state.eta *= factor
        if self.schedule == "optimal":
            # Python floats: with a tiny alpha the offset is near the float
            # range already, and a cut may take it to inf, i.e. a rate of 0,
            # which is what cutting a rate of almost nothing amounts to.
            elapsed = float(self.hyper[H_OPTIMAL_OFFSET]) + self.state.t
            self.hyper[H_OPTIMAL_OFFSET] = elapsed / factor - self.state.t


class DivergenceGuard:
    """Blow-up yardstick, checkpoints and recovery budget of one run of epochs.

    With ``recover`` the limit is the all-zero model's objective itself: an
    oscillating step that never overflows would otherwise be kept silently.
    The batch loop measures each epoch's loss before its step, so a step that
    blows up shows in the next epoch: recovery then goes back two epochs'
    starts, hence the previous checkpoint is kept as well.
    """

    def __init__(self, reference, recover, batch):
        self.reference = reference
        self.recover = recover
        self.batch = batch
        self.limit = reference if recover else BLOWUP * reference
        self.checkpoints = []
        self.recoveries = 0

    def keep(self, checkpoint):
        if self.recover:
            self.checkpoints = self.checkpoints[-1:] + [checkpoint]

    def restart_point(self):
        if not self.checkpoints:
            return None
        return self.checkpoints[0] if self.batch else self.checkpoints[-1]

    def rose(self, curve):
        """The slow-rise rule: a run ending ``RISE`` times above its first epoch.

        Noise on unlearnable data moves the objective by far less; the zero
        model's objective is the floor, for first epochs that are nearly
        perfect.
        """
        return len(curve) > 1 and curve[-1] > RISE * max(curve[0], self.reference)

    def may_recover(self, restart_from):
        return self.recover and self.recoveries < MAX_RECOVERIES and restart_from is not None

    def recovered(self):
        self.checkpoints = []
        self.recoveries += 1


def run_epochs(estimator, rows, targets, sample_weight, state, max_iter, *, stopping=True,
               validation=None, callbacks=None, epoch_factory=None, reference=None,
               total_weight=None, gradient_factory=None, column_mean_squares=None):
    """Train for up to ``max_iter`` epochs, updating ``state`` in place.

    ``sample_weight`` must already be scaled to mean 1 (see the kernels in
    ``_kernels.loops``). Returns the list of per-epoch objectives and the
    number of epochs run; ``state.convergence`` says how the run ended.

    With ``stopping`` and a ``tol``, a run ends early only on a certificate
    (see ``_convergence``); a failed check halves the step size (divides it
    by 5 for the "adaptive" schedule) and training goes on. With ``average``
    the certificates, the early-stopping score and the last check judge the
    weights a fit returns, the average (``state.returned``), while the
    objectives of the curve and of the stopping rule are those the epoch's
    iterates met. Data that is not
    in memory (``sklearn_gd.dask``) brings its own epoch step
    (``epoch_factory``), divergence yardstick, weight total and
    ``gradient_factory(codes, hyper)``, which gives ``params -> (loss sum,
    gradient sum)`` over all the rows, and the columns' weighted mean squares
    (the scales of the certificate's norm).
    """
    est = estimator
    callbacks = callbacks or NoCallbacks()
    params = state.params
    codes, hyper = est._kernel_config(params.shape[0], est.eta0_ if state.eta is None
                                      else state.eta)
    step = StepSize(est, state, hyper)
    l2, l1 = hyper[H_L2], hyper[H_L1]
    epoch_fn = (epoch_factory or est._epoch_function)(rows, targets, sample_weight, state,
                                                       codes, hyper)
    if total_weight is None:
        total_weight = float(sample_weight.sum())
    # Whether each epoch measures its loss and full gradient at its start, before
    # its steps: the batch loop's and SVRG's (its snapshot).
    batch = est.solver == "batch" or est._measures_at_epoch_start()
    certify = stopping and est.tol is not None and validation is None
    early = stopping and est.tol is not None and validation is not None
    objective_of = certifier = early_rule = None
    if certify:
        if gradient_factory is None:
            gradient_factory = functools.partial(FullGradient, rows, targets, sample_weight,
                                                 params, n_jobs=est.n_jobs,
                                                 loops=est._loops())
        if column_mean_squares is None:
            column_mean_squares = column_mean_squares_of(rows, sample_weight)
        objective_of = Objective(gradient_factory(codes, hyper), total_weight, l2, l1,
                                 bool(codes[C_FIT_INTERCEPT]),
                                 feature_scales(column_mean_squares))
        certifier = Certifier(objective_of, est.tol, est.n_iter_no_change, batch,
                              est._loss_info().smooth, params)
        convergence = Convergence(False, certifier.criterion)
    else:
        early_rule = StoppingRule(est.tol, est.n_iter_no_change) if early else None
        convergence = Convergence(False, "validation" if early else "none")
    if reference is None:
        reference = est._reference_objective(targets, sample_weight, codes, total_weight)
    guard = DivergenceGuard(reference, est.on_divergence == "recover", batch)

    curve = []
    n_epochs = 0
    stopped = False
    epochs_left = max_iter

    def checkpoint():
        return state.snapshot(), n_epochs, epochs_left

    initial = checkpoint() if guard.recover else None
    while epochs_left > 0:
        start = time.perf_counter()
        epoch = state.epochs
        step.start_epoch(epoch)
        guard.keep(checkpoint() if guard.recover else None)
        callbacks.begin_epoch(params)
        loss_sum, t, status = epoch_fn(epoch, state.t)
        objective = loss_sum / total_weight + builtin_loops.penalty_value(params, l2, l1)
        reason = None
        if blown_up(status, objective, guard.limit):
            if batch and status != STATUS_DIVERGED and n_epochs:
                # The batch loss is measured before the step: the step that
                # blew up was the previous epoch's.
                epoch -= 1
            restart_from = guard.restart_point()
            callbacks.abandon_epoch()
        else:
            epochs_left -= 1
            state.t = int(t)
            state.epochs = epoch + 1
            n_epochs += 1
            curve.append(float(objective))
            stop_requested = callbacks.end_epoch(params)
            if est.verbose:
                print(f"-- Epoch {epoch + 1}: objective {objective:.6g}, learning rate "
                      f"{state.eta:.4g}, updates {t}, {time.perf_counter() - start:.4f} s")
            if stop_requested:
                stopped = True
                break
            if certify:
                verdict = certifier.after_epoch(epoch_fn, state.returned, objective)
                if verdict == "converged":
                    state.returned[...] = certifier.weights
                    convergence = certifier.certified
                    if est.verbose:
                        print(f"Converged after {n_epochs} epochs: optimality residual "
                              f"{convergence.residual:.3g} of its start value.")
                    break
                if verdict == "cut":
                    adaptive = est.schedule_ == "adaptive"
                    # "adaptive" keeps its documented division by 5.
                    step.cut(0.2 if adaptive else 0.5)
                    certifier.cut(grow_patience=not adaptive)
                elif verdict == "stalled":
                    certifier.stalled()
            elif early and early_rule.observe(-est._validation_score(state.returned,
                                                                      *validation)):
                stopped = True
                break
            if not (epochs_left == 0 and stopping and validation is None
                    and guard.rose(curve)):
                continue
            reason = (f"the objective rose from {curve[0]:.6g} in its first epoch to "
                      f"{curve[-1]:.6g}")
            restart_from = initial
            if certifier is not None:
                certifier.restart()
        # Diverged: raise, or restore a checkpoint, cut the step size tenfold
        # and train on from there.
        if not guard.may_recover(restart_from):
            est._raise_divergence(epoch, state.eta, reason)
        snapshot, n_epochs, epochs_left = restart_from
        state.restore(snapshot)
        del curve[n_epochs:]
        guard.recovered()
        step.cut(0.1)
        est.eta0_ = est.eta0_ / 10.0
        warn(
            f"Training diverged in epoch {epoch + 1}"
            f"{'' if reason is None else ' (' + reason + ')'}; restored the weights of "
            f"epoch {state.epochs + 1}'s start and cut the learning rate to "
            f"{state.eta:.4g} (recovery {guard.recoveries} of at most {MAX_RECOVERIES}).",
            DivergenceWarning,
        )
    if n_epochs and not convergence.converged and (epoch_factory is None or certify):
        # Each loss is measured before the update it feeds, so the last update
        # of the run (all of it, for the batch loop) has not been checked yet:
        # one more pass measures the objective it left.
        if certify:
            final_point = objective_of.point(state.returned)
            final = objective_of.full_value(final_point)
        else:
            final = objective_of_rows(rows, targets, sample_weight, rows.n_samples,
                                      total_weight, params, codes, hyper, loops=est._loops())
        if not final <= guard.limit:
            if not guard.recover or not guard.checkpoints:
                est._raise_divergence(state.epochs - 1, state.eta,
                                      f"its last update took the objective to {final:.6g}")
            snapshot, n_epochs, _ = guard.checkpoints[-1]
            state.restore(snapshot)
            del curve[n_epochs:]
            est.eta0_ = est.eta0_ / 10.0
            state.eta /= 10.0
            warn(
                f"The last epoch diverged (objective {final:.6g}); restored the weights "
                f"of its start and cut the learning rate to {state.eta:.4g}.",
                DivergenceWarning,
            )
        elif certify and not stopped:
            convergence, weights = certifier.final(final_point)
            state.returned[...] = weights
            if not convergence.converged:
                _warn_not_converged(est, convergence)
    state.convergence = convergence
    return curve, n_epochs


def _warn_not_converged(estimator, convergence):
    error = (f", with a linearisation error of {convergence.error:.3g} of the objective"
             if convergence.error > estimator.tol else "")
    warn(
        f"Maximum number of iteration reached before convergence: the optimality residual "
        f"is {convergence.residual:.3g} of its value at the start (tol={estimator.tol:g})"
        f"{error}, after {convergence.step_cuts} cuts of the learning rate. Consider "
        f"increasing max_iter, scaling the features, or {_converging_method(estimator)}.",
        ConvergenceWarning,
    )


def _converging_method(estimator):
    """The optimizers that certify a smooth loss, for the warning's advice."""
    if estimator.solver == "batch":
        return "optimizer='lbfgs' for a smooth loss"
    if estimator.optimizer_ == "svrg":
        return "optimizer='lbfgs' with solver='batch'"
    # The sampled solvers' steps hover at a noise floor that SVRG removes.
    return ("optimizer='svrg', or optimizer='lbfgs' with solver='batch', for a smooth "
            "loss")


def reference_objective(loops, targets, sample_weight, multinomial, total_weight):
    """``zero_model_bound`` of the targets per unit of weight, or inf (see
    ``BaseGD._reference_objective``); ``loops``: the kernel module of the loss."""
    reference = loops.zero_model_bound(targets, sample_weight, multinomial) / total_weight
    return reference if math.isfinite(reference) else math.inf


def objective_of_rows(rows, targets, sample_weight, stop, weight, params, codes, hyper,
                       scratch=None, penalty=None, loops=builtin_loops):
    """Objective of ``params`` on rows [0, stop) of weight total ``weight``.

    The check of the last update of a run (nothing is updated; the gradient
    the pass also computes goes to a scratch buffer). ``scratch`` may give the
    buffers: one shaped like ``params`` and two of n_outputs; ``penalty`` the
    penalty of ``params``, if the caller has it already; ``loops`` the kernel module of
    the loss (see ``BaseGD._loops``).
    """
    n_outputs = params.shape[0]
    if scratch is None:
        scratch = (np.empty(params.shape, dtype=params.dtype), np.empty(n_outputs),
                   np.empty(n_outputs))
    grad, scores, dscores = scratch
    gradient = loops.batch_gradient_kernel(codes, n_outputs)
    loss = gradient(rows.data, targets, sample_weight, 0, stop, params, grad, scores, dscores,
                    codes, hyper)
    if penalty is None:
        penalty = builtin_loops.penalty_value(params, hyper[H_L2], hyper[H_L1])
    return loss / weight + penalty
