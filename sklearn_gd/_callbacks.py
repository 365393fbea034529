"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9).

A fit is the root task and each epoch one sub-task, so ``ProgressBar()`` shows
a live bar over epochs and ``ScoringMonitor`` scores the model after each one.
The fitted state at an epoch's end reaches the callbacks as reconstruction
attributes (``coef_``, ``intercept_``). With no callbacks set, nothing here runs.
On older scikit-learn the estimators simply have no ``set_callbacks``.
"""

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn < 1.9
    class CallbackSupportMixin:  # noqa: D101 - placeholder base with no behaviour
        pass

    def with_callbacks(method):
        return method


class EpochCallbacks:
    """The callback context of one ``fit``: begin/end hooks per epoch."""

    def __init__(self, estimator, X, y, sample_weight, max_epochs):
        self.estimator = estimator
        self.data = {"X": X, "y": y,
                     "metadata": None if sample_weight is None else
                     {"sample_weight": sample_weight}}
        self.context = estimator._init_callback_context(max_subtasks=max_epochs)
        self.context.call_on_fit_task_begin(estimator=estimator, **self.data)
        self.epoch_context = None

    def begin_epoch(self, params):
        self.epoch_context = self.context.subcontext(task_name="epoch")
        self.epoch_context.call_on_fit_task_begin(
            estimator=self.estimator, **self.data,
            reconstruction_attributes=self.estimator._coef_attributes(params))

    def end_epoch(self, params):
        """End the current epoch's task; True if a callback asks to stop."""
        stop = self.epoch_context.call_on_fit_task_end(
            estimator=self.estimator, **self.data,
            reconstruction_attributes=self.estimator._coef_attributes(params))
        self.epoch_context = None
        return bool(stop)

    def abandon_epoch(self):
        """End the current epoch's task without results (it is being redone)."""
        if self.epoch_context is not None:
            self.epoch_context.call_on_fit_task_end(estimator=self.estimator)
            self.epoch_context = None

    def close(self, params):
        self.abandon_epoch()  # an epoch cut short by an exception
        self.context.call_on_fit_task_end(
            estimator=self.estimator, **self.data,
            reconstruction_attributes=self.estimator._coef_attributes(params))


class NoCallbacks:
    """Stands in for :class:`EpochCallbacks` when no callback is set."""

    def begin_epoch(self, params):
        pass

    def end_epoch(self, params):
        return False

    def abandon_epoch(self):
        pass

    def close(self, params):
        pass


def epoch_callbacks(estimator, X, y, sample_weight, max_epochs):
    if not getattr(estimator, "_skl_callbacks", None) \
            or not hasattr(estimator, "_init_callback_context"):
        return NoCallbacks()
    return EpochCallbacks(estimator, X, y, sample_weight, max_epochs)
