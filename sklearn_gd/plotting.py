"""Plotting helpers for fitted sklearn-gd estimators.

Matplotlib is an optional dependency (the ``plot`` extra:
``pip install "sklearn-gd[plot]"``); it is imported only when a helper is
called, so importing this module never requires it.
"""

from numbers import Integral

import numpy as np

__all__ = ["plot_loss_curves"]


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "sklearn_gd.plotting needs matplotlib, which is not installed. Install "
            'the "plot" extra with `pip install "sklearn-gd[plot]"` (or install '
            "matplotlib itself)."
        ) from exc
    return plt


def _final_estimator(estimator):
    """The estimator that holds ``loss_curve_``: the last step of a Pipeline."""
    if not hasattr(estimator, "loss_curve_") and hasattr(estimator, "steps"):
        return estimator.steps[-1][1]
    return estimator


def _loss_curve(estimator, position):
    model = _final_estimator(estimator)
    curve = getattr(model, "loss_curve_", None)
    if curve is None:
        raise ValueError(
            f"Estimator {position} ({type(model).__name__}) has no loss_curve_: pass "
            "fitted GDRegressor / GDClassifier instances (or pipelines ending in one)."
        )
    return np.asarray(curve, dtype=np.float64)


def _epochs(estimator, n_entries):
    """The epoch of each entry of ``loss_curve_``: the last is epoch ``n_iter_``.

    A long ``partial_fit`` stream keeps only its most recent entries, which
    must not be drawn as epochs 1, 2, ...; L-BFGS curves (never trimmed) count
    their own iterations.
    """
    model = _final_estimator(estimator)
    n_iter = getattr(model, "n_iter_", None)
    first = 1
    if getattr(model, "optimizer", None) != "lbfgs" and isinstance(n_iter, Integral) \
            and n_iter > n_entries:
        first = int(n_iter) - n_entries + 1
    return np.arange(first, first + n_entries)


def _default_labels(models):
    """Labels naming the parameters in which the estimators differ.

    A single estimator, or estimators with identical parameters, are labelled by
    class name (numbered when there are several).
    """
    params = [m.get_params(deep=False) for m in models]
    names = sorted(set().union(*params))
    differing = [
        name for name in names
        if len({repr(p.get(name)) for p in params}) > 1
    ]
    if len(models) == 1 or not differing:
        base = [type(m).__name__ for m in models]
        return base if len(models) == 1 else [f"{b} #{i + 1}" for i, b in enumerate(base)]
    return [", ".join(f"{name}={p.get(name)!r}" for name in differing) for p in params]


def plot_loss_curves(estimators, labels=None, ax=None, log_y: bool = True):
    """Plot the training objective per epoch (``loss_curve_``) of fitted estimators.

    Draws one line per estimator: epoch ``1, 2, ..., n_iter_`` against
    ``loss_curve_`` (for ``optimizer="lbfgs"``, L-BFGS iterations against the
    objective after each). A long ``partial_fit`` stream keeps only its most
    recent entries; they are drawn at their epochs, up to ``n_iter_``. Useful
    to compare solvers, optimizers or learning rates trained on the same data.

    Parameters
    ----------
    estimators : estimator or sequence of estimators
        Fitted :class:`~sklearn_gd.GDRegressor` or
        :class:`~sklearn_gd.GDClassifier` instances, or pipelines whose last
        step is one.

    labels : sequence of str or None, default=None
        Legend entries, one per estimator. None names the parameters whose
        values differ between the estimators (for example
        ``optimizer='adam'``), or the class name if none do.

    ax : matplotlib.axes.Axes or None, default=None
        Axes to draw on. None creates a new figure and axes.

    log_y : bool, default=True
        Whether to use a logarithmic y axis (objectives often fall over
        several orders of magnitude). Non-positive values cannot be shown on
        it and are clipped.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes with one line per estimator, in the order given, and a legend.

    Raises
    ------
    ImportError
        If matplotlib is not installed (install the ``plot`` extra).
    ValueError
        If an estimator has no ``loss_curve_`` (not fitted, or not an
        sklearn-gd estimator), or ``labels`` does not have one entry per
        estimator.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn_gd import GDRegressor
    >>> from sklearn_gd.plotting import plot_loss_curves
    >>> X, y = make_regression(n_samples=200, n_features=5, random_state=0)
    >>> models = [GDRegressor(optimizer=opt, max_iter=50, tol=None).fit(X, y)
    ...           for opt in ("sgd", "nesterov")]
    >>> ax = plot_loss_curves(models)  # doctest: +SKIP
    >>> [line.get_label() for line in ax.get_lines()]  # doctest: +SKIP
    ["optimizer='sgd'", "optimizer='nesterov'"]
    """
    plt = _import_pyplot()
    if hasattr(estimators, "get_params") or hasattr(estimators, "loss_curve_"):
        estimators = [estimators]
    estimators = list(estimators)
    if not estimators:
        raise ValueError("estimators is empty: pass at least one fitted estimator.")
    curves = [_loss_curve(est, i) for i, est in enumerate(estimators)]
    if labels is None:
        labels = _default_labels([_final_estimator(est) for est in estimators])
    else:
        if isinstance(labels, str):
            labels = [labels]
        labels = [str(label) for label in labels]
        if len(labels) != len(estimators):
            raise ValueError(
                f"labels has {len(labels)} entries but {len(estimators)} estimators "
                "were given: pass one label per estimator."
            )

    if ax is None:
        _, ax = plt.subplots()
    lbfgs = [getattr(_final_estimator(e), "optimizer", None) == "lbfgs" for e in estimators]
    for estimator, curve, label in zip(estimators, curves, labels, strict=True):
        ax.plot(_epochs(estimator, curve.shape[0]), curve, label=label)
    if log_y:
        ax.set_yscale("log", nonpositive="clip")
    ax.set_xlabel("L-BFGS iteration" if all(lbfgs) else
                  "epoch (L-BFGS: iteration)" if any(lbfgs) else "epoch")
    ax.set_ylabel("training objective (loss_curve_)")
    ax.legend()
    return ax
