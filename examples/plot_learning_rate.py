"""The learning-rate "Goldilocks" effect: too small, about right, too large.

Trains :class:`~sklearn_gd.GDRegressor` (squared error, full-batch gradient
descent, constant step) on the standardised diabetes data set, one
``partial_fit`` call (one epoch) at a time, with three step sizes:

* too small: ``eta0_ / 30`` -- the objective creeps down;
* about right: ``eta0="auto"``, which derives ``1 / L`` from the data (``L``
  bounds the curvature of the objective);
* too large: ``30 * eta0_`` -- beyond ``2 / lambda_max`` (``lambda_max`` the
  largest eigenvalue of the Hessian ``X.T @ X / n``), where every step
  overshoots along the steepest direction and the error grows geometrically.

The estimator never returns a model with infinite or NaN weights: the epoch
in which training diverges raises :class:`~sklearn_gd.DivergenceError` (and
``partial_fit`` leaves the model as it was before that epoch). The example
catches it and marks where it happened. Left: the three curves near the
optimum (the diverging one leaves the top of the axes); right: the diverging
run on its own scale, up to the error.

Run ``python examples/plot_learning_rate.py [--output-dir DIR]``; the PNG goes
to DIR, else ``$SKLEARN_GD_FIGURES``, else ``examples/figures/``.
"""

import re
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figures import output_file  # noqa: E402  (examples/_figures.py)
from matplotlib.ticker import MaxNLocator  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import DivergenceError, GDRegressor  # noqa: E402

MAX_EPOCHS = 400  # the diverging run stops earlier, at its DivergenceError




def train(X, y, eta0, epochs):
    """Objective after each epoch, and the DivergenceError that ended training (or None)."""
    model = GDRegressor(solver="batch", eta0=eta0, learning_rate="constant")
    curve = []
    for _ in range(epochs):
        try:
            model.partial_fit(X, y)
        except DivergenceError as error:
            return model, curve, error
        curve.append(model.loss_curve_[-1])
    return model, curve, None


def main():
    path = output_file(__file__, __doc__)
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)

    _, right_curve, _ = train(X, y, "auto", MAX_EPOCHS)
    auto = GDRegressor(eta0="auto").partial_fit(X, y).eta0_
    runs = {
        "too small": train(X, y, auto / 30, MAX_EPOCHS),
        "about right": (None, right_curve, None),
        "too large": train(X, y, auto * 30, MAX_EPOCHS),
    }
    etas = {"too small": auto / 30, "about right": auto, "too large": auto * 30}
    colors = {"too small": "tab:blue", "about right": "tab:green", "too large": "tab:red"}
    optimum = GDRegressor(optimizer="lbfgs", tol=1e-10, max_iter=500).fit(X, y).loss_curve_[-1]

    top = max(runs["too small"][1][0], right_curve[0]) * 1.5
    fig, (near, far) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, (_, curve, error) in runs.items():
        label = f"{name}: eta0={etas[name]:.3g}"
        if name == "about right":
            label += " (eta0='auto')"
        epochs = np.arange(1, len(curve) + 1)
        # Up to the first point above the axes: values near 1e308 overflow log axes.
        shown = int(np.argmax(np.asarray(curve) > top)) + 1 if max(curve) > top else len(curve)
        near.plot(epochs[:shown], curve[:shown], color=colors[name], lw=2, label=label)
        if error is not None:
            # log10 on a linear axis: matplotlib's log axes overflow near 1e308.
            far.plot(epochs, np.log10(curve), "o-", color=colors[name], lw=2, ms=4,
                     label=label)
            last = len(curve)
            far.plot([last], [np.log10(curve[-1])], "X", color="black", ms=10,
                     label=f"DivergenceError in epoch {last + 1}")
            message = textwrap.fill(re.split(r"\.\s", str(error))[0] + ".", 48)
            far.annotate(message, xy=(last, np.log10(curve[-1])), xytext=(0.3, 0.2),
                         textcoords="axes fraction", fontsize=8,
                         bbox=dict(boxstyle="round", fc="white", ec="0.7"),
                         arrowprops=dict(arrowstyle="->", color="0.3"))
    near.axhline(optimum, color="black", ls=":", lw=1, label="optimum (L-BFGS)")
    near.set_yscale("log")
    near.set_ylim(optimum * 0.8, top)
    near.set_title("near the optimum (the too-large run leaves the top)")
    far.set_ylabel("log10(training objective)")
    far.xaxis.set_major_locator(MaxNLocator(integer=True))
    far.set_title("the too-large run, until it raises DivergenceError")
    for ax in (near, far):
        ax.set_xlabel("epoch (one partial_fit call each)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper right" if ax is near else "upper left")
    near.set_ylabel("training objective (loss_curve_)")
    fig.suptitle("GDRegressor(solver='batch', optimizer='sgd') on diabetes: the step size")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
