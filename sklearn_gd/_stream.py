"""``partial_fit``'s epoch over one chunk, set up once for a stream of chunks.

A call on a 10-row chunk is a few microseconds of kernel work; the rest was
Python, most of it deriving again, on every call, what does not change from
one chunk to the next: the kernel and its configuration, the scratch buffers,
the learning-rate rule, the size of the divergence check, the parameter
checks. :class:`StreamEpoch` holds those. ``partial_fit`` runs every chunk
through one (so the general path and the kept one are the same code, and give
the same bits), and keeps it for the next call while the estimator's
parameters (compared by value) and its fitted state (the optimizer-state dict
it last wrote, which every other writer replaces, and the ``eta0_`` and
``preconditioner_`` objects it read) are the ones it was made for.
"""

import operator

import numpy as np

from ._driver import BLOWUP, blown_up, reference_objective
from ._kernels import loops as builtin_loops
from ._kernels import schedules
from ._kernels.loops import C_MULTINOMIAL, H_ETA, H_L1, H_L2, H_OPTIMAL_OFFSET

# The divergence check of a chunk's last update reads at most this many rows.
STREAM_CHECK_ROWS = 256


class StreamEpoch:
    """One epoch of the stochastic or mini-batch loop over a chunk of ``n_rows`` rows.

    Made from an estimator whose ``optimizer_``, ``schedule_``, ``eta0_`` and
    ``preconditioner_`` are resolved, for chunks of ``n_rows`` rows (dense or
    sparse, as ``is_sparse`` says) and parameters shaped and typed as ``params``.
    """

    def __init__(self, est, n_rows, params, is_sparse):
        n_outputs = params.shape[0]
        self.n_rows, self.n_outputs, self.dtype = n_rows, n_outputs, params.dtype
        self.is_sparse = is_sparse
        self.schedule, self.eta0, self.decay_rate = est.schedule_, est.eta0_, est.decay_rate
        self.preconditioner = est.__dict__.get("preconditioner_")
        # The kept arrays of the configuration: their learning rate (and capped
        # t0) are written before every epoch, as every user of them does.
        self.codes, self.hyper = est._kernel_config(n_outputs, 0.0, copy=False)
        self.offset = float(self.hyper[H_OPTIMAL_OFFSET]) if self.hyper[H_OPTIMAL_OFFSET] \
            else None
        self.l2, self.l1 = self.hyper[H_L2], self.hyper[H_L1]
        self.multinomial = bool(self.codes[C_MULTINOMIAL])
        self.loops = loops = est._loops()
        stochastic = est.solver == "stochastic"
        if loops.lazy_updates(self.codes, is_sparse, stochastic):
            self.kind, self.kernel = "lazy", loops.lazy_minibatch_epoch
        elif stochastic:
            self.kind, self.kernel = "sgd", loops.sgd_epoch_kernel(self.codes, self.hyper)
        else:
            self.kind, self.kernel = "minibatch", loops.minibatch_epoch_kernel(self.codes,
                                                                               n_outputs)
        self.batch = int(est._batch_rows(n_rows))
        self.step_scales = est._kernel_step_scales()
        self.gradient = loops.batch_gradient_kernel(self.codes, n_outputs)
        self.scratch = est._stream_scratch(n_rows, params)
        self.check_rows = min(n_rows, STREAM_CHECK_ROWS)
        # Set by ``keep``: what the kept epoch needs to run a call by itself.
        self.param_values = self.written_state = self.unit_weights = None
        self.copy_moments = True

    def run(self, est, data, targets, sample_weight, total_weight, params, first_moment,
            second_moment, average, t, epoch, eta, unit):
        """One epoch on the chunk ``data`` (``_Rows.data``), updating the arrays in place.

        Returns ``(objective, t, eta)``: the epoch's objective (its mean loss
        plus the penalty), the update count after it and the rate it ran at.
        Raises the estimator's DivergenceError if the epoch blew up, or if its
        last update did (measured on the first ``STREAM_CHECK_ROWS`` rows: on
        a long chunk a full second pass doubled the cost of the call, and a
        blown-up model is off by orders of magnitude on any sample of rows).
        """
        if self.schedule != "adaptive":
            # Read on every call, as a list of milestones may have grown in place.
            milestones = est._milestones() if self.schedule == "step" else ()
            eta = schedules.epoch_learning_rate(self.schedule, self.eta0, epoch,
                                                self.decay_rate, milestones)
        elif eta is None:
            eta = self.eta0
        codes, hyper = self.codes, self.hyper
        hyper[H_ETA] = eta
        if self.offset is not None:
            hyper[H_OPTIMAL_OFFSET] = self.offset
        scores, dscores, work, check_grad, order = self.scratch
        work.fill(0.0)  # the mini-batch loop leaves its last gradient there
        order = est._epoch_order(order, epoch)
        t = int(t)
        if self.kind == "sgd":
            loss_sum, t, status = self.kernel(
                data, targets, sample_weight, order, params, first_moment, second_moment,
                average, work, scores, dscores, t, codes, hyper)
        elif self.kind == "lazy":
            loss_sum, t, status = self.kernel(
                data, targets, sample_weight, order, self.batch, params, first_moment,
                second_moment, work, scores, dscores, self.step_scales, t, codes, hyper)
        else:
            loss_sum, t, status = self.kernel(
                data, targets, sample_weight, order, self.batch, params, first_moment,
                second_moment, average, work, scores, dscores, self.step_scales, t, codes,
                hyper)
        blowup = BLOWUP * reference_objective(self.loops, targets, sample_weight,
                                              self.multinomial, total_weight)
        penalty = builtin_loops.penalty_value(params, self.l2, self.l1)
        objective = loss_sum / total_weight + penalty
        if blown_up(status, objective, blowup):
            est._raise_divergence(epoch, eta)
        stop = self.check_rows
        check_weight = total_weight if stop == self.n_rows else \
            float(stop) if unit else float(sample_weight[:stop].sum())
        if check_weight <= 0.0:
            stop, check_weight = self.n_rows, total_weight
        loss = self.gradient(data, targets, sample_weight, 0, stop, params, check_grad, scores,
                             dscores, codes, hyper)
        final = loss / check_weight + penalty
        if not final <= blowup:
            est._raise_divergence(epoch, eta,
                                  f"its last update took the objective to {final:.6g}")
        return float(objective), int(t), eta

    # ------------------------------------------------------- kept between calls
    def keep(self, est, unit_weights):
        """Make this epoch ``est``'s kept one, for chunks of its shape (``unit_weights``:
        the weights of 1 that stand for ``sample_weight=None``)."""
        self.param_values = _param_values(est)
        self.unit_weights = unit_weights
        self.copy_moments = est._moments_are_copied()
        self.written_state = est.optimizer_state_
        est._stream_epoch_kept = self

    def accepts(self, est, X, targets):
        """Whether the next chunk ``X`` (validated: a NumPy array, or a SciPy sparse
        matrix for a sparse epoch) can run through :meth:`step`."""
        fitted = est.__dict__
        if (type(X) is not np.ndarray) is not self.is_sparse:
            return False
        return (X.shape[0] == self.n_rows and X.dtype == self.dtype
                and targets.shape[1] == self.n_outputs
                and fitted.get("optimizer_state_") is self.written_state
                # The step size and preconditioner it was made with (not changed
                # by partial_fit once set, but attributes a user can replace).
                and fitted.get("eta0_") is self.eta0
                and fitted.get("preconditioner_") is self.preconditioner
                and _same_values(_param_values(est), self.param_values))

    def step(self, est, data, targets, sample_weight=None):
        """``partial_fit``'s update of ``est`` by one chunk (see ``accepts``).

        ``sample_weight``: None for unit weights, else the chunk's weights
        scaled to mean 1 in the chunk's dtype (``_unit_mean``).
        """
        unit = sample_weight is None
        if unit:
            sample_weight, total_weight = self.unit_weights, float(self.n_rows)
        else:
            total_weight = float(sample_weight.sum())
        dtype = self.dtype
        params = est._params_from_attributes(dtype)
        moments = est.optimizer_state_
        first_moment = moments["first_moment"].astype(dtype, copy=self.copy_moments)
        second_moment = moments["second_moment"].astype(dtype, copy=self.copy_moments)
        epoch = int(est._epochs_seen)
        learning_rate = est.learning_rate_
        objective, t, eta = self.run(
            est, data, targets, sample_weight, total_weight, params, first_moment,
            second_moment, _NO_AVERAGE.get(dtype), est.t_, epoch,
            None if learning_rate is None else float(learning_rate), unit)
        # What _commit_state writes for a state without an average; the
        # attributes are replaced, never changed in place (restore_on_error).
        est.__dict__.update(est._coef_attributes(params))
        est.optimizer_state_ = self.written_state = {"first_moment": first_moment,
                                                     "second_moment": second_moment}
        est.t_, est._epochs_seen, est.learning_rate_ = t, epoch + 1, eta
        est._record_stream_epochs([objective], 1, first=False)


# ``average`` for the kernels without averaging: an empty (0, 0) array per dtype
# (writeable, as TrainingState's: a read-only one would be another compilation).
_NO_AVERAGE = {np.dtype(d): np.empty((0, 0), dtype=d) for d in (np.float32, np.float64)}
# Per estimator class: one C-level call reads all its constructor parameters.
_PARAM_GETTERS = {}


def _same_values(values, kept):
    """Whether the parameter values ``values`` equal ``kept`` (identical ones are).

    An array parameter replaced by another one compares element-wise, which
    has no truth value: that counts as a change.
    """
    try:
        return bool(values == kept)
    except (TypeError, ValueError):
        return False


def _param_values(est):
    """The constructor parameters' values, in a fixed order (see ``_same_values``)."""
    getter = _PARAM_GETTERS.get(type(est))
    if getter is None:
        getter = _PARAM_GETTERS[type(est)] = operator.itemgetter(*est._get_param_names())
    return getter(est.__dict__)
