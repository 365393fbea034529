"""The training state that ``fit``, ``partial_fit``, ``warm_start`` and the Dask path carry."""

from dataclasses import dataclass

import numpy as np

from ._convergence import Convergence


@dataclass
class TrainingState:
    """Weights, optimizer moments and counters of a run, updated in place by the driver.

    Attributes
    ----------
    params : ndarray of shape (n_outputs, n_features + 1)
        Weights; the last column is the intercept.
    first_moment, second_moment : ndarray, shaped like ``params``
        The optimizer's state (see ``_kernels/optimizers.py``).
    t : int
        Updates made so far (drives the per-update schedules and Adam's bias
        corrections).
    epochs : int
        Epochs completed so far (drives the per-epoch schedules).
    eta : float or None
        The current learning rate; None until the schedule starts from ``eta0_``.
    convergence : Convergence or None
        How the last run of epochs ended, once it has.
    average : ndarray, shaped like ``params``, or None
        With ``average``, the mean of the weights since averaging started
        (``params`` are then the last iterate); None without.
    average_start : int
        The update from which the weights are averaged (1-based), 0 without.
    momentum_steps : int
        Batch updates since the velocity was last dropped (see
        ``_batch.MomentumRestart``): sets the momentum of the next one.
    """

    params: np.ndarray
    first_moment: np.ndarray
    second_moment: np.ndarray
    t: int = 0
    epochs: int = 0
    eta: float | None = None
    convergence: Convergence | None = None
    average: np.ndarray | None = None
    average_start: int = 0
    momentum_steps: int = 0

    @classmethod
    def zeros_like(cls, params):
        return cls(params, np.zeros_like(params), np.zeros_like(params))

    @property
    def averaged(self):
        """Whether the weights to return are ``average`` (averaging has started)."""
        return self.average is not None and 0 < self.average_start <= self.t

    @property
    def returned(self):
        """The weights a fit returns: the average once it has started, else ``params``."""
        return self.average if self.averaged else self.params

    def kernel_average(self):
        """``average`` for the kernels, or the unused (0, 0) array they take without it."""
        if self.average is None:
            return np.empty((0, 0), dtype=self.params.dtype)
        return self.average

    def _arrays(self):
        arrays = (self.params, self.first_moment, self.second_moment)
        return arrays if self.average is None else (*arrays, self.average)

    def snapshot(self):
        """Copies of the arrays and the counters, for :meth:`restore`."""
        return (tuple(array.copy() for array in self._arrays()), self.t, self.epochs,
                self.momentum_steps)

    def restore(self, snapshot):
        """Go back to a :meth:`snapshot`, writing into the same arrays."""
        arrays, self.t, self.epochs, self.momentum_steps = snapshot
        for array, saved in zip(self._arrays(), arrays, strict=True):
            array[...] = saved
