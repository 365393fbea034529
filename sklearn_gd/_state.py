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
    """

    params: np.ndarray
    first_moment: np.ndarray
    second_moment: np.ndarray
    t: int = 0
    epochs: int = 0
    eta: float | None = None
    convergence: Convergence | None = None

    @classmethod
    def zeros_like(cls, params):
        return cls(params, np.zeros_like(params), np.zeros_like(params))

    def snapshot(self):
        """Copies of the arrays and the counters, for :meth:`restore`."""
        return ((self.params.copy(), self.first_moment.copy(), self.second_moment.copy()),
                self.t, self.epochs)

    def restore(self, snapshot):
        """Go back to a :meth:`snapshot`, writing into the same arrays."""
        arrays, self.t, self.epochs = snapshot
        for array, saved in zip((self.params, self.first_moment, self.second_moment), arrays,
                                strict=True):
            array[...] = saved
