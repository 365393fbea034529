"""Batch, mini-batch and stochastic gradient descent: objective per epoch and per second.

Fits :class:`~sklearn_gd.GDRegressor` (squared error, plain "sgd" update,
constant schedule) on 20,000 standardised samples with 50 features with the
three training loops, 30 epochs each:

* ``solver="batch"``: one update per epoch, from the exact gradient;
* ``solver="minibatch"``: one update per 32 samples (625 per epoch);
* ``solver="stochastic"``: one update per sample (20,000 per epoch);
* and ``solver="stochastic", optimizer="svrg"``, what the default
  ``optimizer="auto"`` is for a stochastic ``fit``: one-sample steps corrected
  by a full gradient taken at the start of each epoch.

Left: the distance of ``loss_curve_`` to the optimum (reached by
``optimizer="lbfgs"``) per epoch, on a log scale, so that the loops can be
told apart once all are close; right: the same curves against wall-clock time
(each fit's time spread evenly over its epochs; Numba kernels are compiled or
loaded from the cache by a warm-up fit first). A gap below 1e-12 of the
optimum is drawn at that floor.

What it shows: per epoch, the stochastic loops make far more progress in the
first epoch, then stall at a noise floor set by the constant step (a decaying
``learning_rate`` schedule or a larger ``batch_size`` lowers it), while batch
gradient descent keeps closing the gap geometrically, to the optimum within
rounding. For the batch loop ``eta0="auto"`` is ``1 / L`` of the
diagonally preconditioned objective, from a power iteration on the data; it
closes the gap faster than ``1 / lambda_max``, the classic batch step of the
dashed curve (the preconditioner evens out the columns' curvatures), and
reaches the optimum in about six epochs. SVRG keeps the one-sample steps
but not their noise floor: it closes the gap geometrically too, at about the
batch loop's rate per epoch (each epoch costs a full pass and a stochastic
one); its curve starts higher because its ``loss_curve_`` records the
objective at each epoch's start, the weights its full pass certifies.

For the stochastic loops ``loss_curve_`` averages the losses met during the
epoch while the weights move (as scikit-learn's SGD reports it), so the two
kinds of curve are close but not identical measures.

Run ``python examples/plot_solvers.py [--output-dir DIR]``; the PNG goes to
DIR, else ``$SKLEARN_GD_FIGURES``, else ``examples/figures/``.
"""

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figures import output_file  # noqa: E402  (examples/_figures.py)
from sklearn.datasets import make_regression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import GDRegressor  # noqa: E402

EPOCHS = 30




def main():
    path = output_file(__file__, __doc__)
    X, y = make_regression(n_samples=20_000, n_features=50, n_informative=30, noise=10.0,
                           random_state=0)
    X = StandardScaler().fit_transform(X)
    X1 = np.hstack([X, np.ones((X.shape[0], 1))])  # the intercept's column
    lambda_max = np.linalg.eigvalsh(X1.T @ X1 / X.shape[0])[-1]

    configs = [
        ("batch, eta0='auto'", dict(solver="batch")),
        (f"batch, eta0=1/lambda_max={1 / lambda_max:.2f}",
         dict(solver="batch", eta0=1 / lambda_max)),
        ("minibatch (32), eta0='auto'", dict(solver="minibatch", batch_size=32)),
        ("stochastic, eta0='auto'", dict(solver="stochastic")),
        ("stochastic, optimizer='svrg' (what 'auto' is)",
         dict(solver="stochastic", optimizer="svrg")),
    ]
    models, seconds = [], []
    for _, params in configs:
        # The plain step unless the row says otherwise ("auto" would be L-BFGS
        # for the batch rows and SVRG for the stochastic one).
        params = {"optimizer": "sgd", **params}
        model = GDRegressor(max_iter=EPOCHS, tol=None, random_state=0, **params)
        model.set_params(max_iter=1).fit(X, y)  # warm-up: compile or load the kernels
        model.set_params(max_iter=EPOCHS)
        start = time.perf_counter()
        model.fit(X, y)
        seconds.append(time.perf_counter() - start)
        models.append(model)
    optimum = GDRegressor(optimizer="lbfgs", tol=1e-10, max_iter=500).fit(X, y)
    best = optimum.loss_curve_[-1]

    labels = [f"{name} (eta0_={m.eta0_:.3g})" for (name, _), m in zip(configs, models)]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for model, secs, label, style in zip(models, seconds, labels, ["-", "--", "-", "-", "-"]):
        gap = np.maximum(np.asarray(model.loss_curve_) - best, 1e-12 * abs(best))
        n = gap.shape[0]
        line, = left.plot(np.arange(1, n + 1), gap, ls=style, label=label)
        right.plot(secs * np.arange(1, n + 1) / n, gap, ls=style, color=line.get_color(),
                   marker=".", ms=4)
    for ax in (left, right):
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    left.set_xlabel("epoch")
    left.set_ylabel("objective - optimum (L-BFGS)")
    left.legend(fontsize=8)
    left.set_title(f"distance to the optimum per epoch ({EPOCHS} epochs)")
    right.set_title("distance to the optimum against wall-clock time")
    right.set_xlabel("seconds (fit time spread evenly over its epochs)")
    right.set_xscale("log")
    fig.suptitle("GDRegressor(squared_error) on 20,000 x 50: three loops of the plain step, "
                 "and SVRG")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
