"""Every optimizer on the same problem: training objective per epoch.

Trains :class:`~sklearn_gd.GDClassifier` (log loss + a small L2 penalty) on one
standardised, synthetic binary problem with each update rule -- "sgd",
"momentum", "nesterov", "adagrad", "rmsprop", "adam" and "adamw" -- once with
the full-batch loop and once with mini-batches of 32, all with
``eta0="auto"``, a constant schedule and 100 epochs. The y axis is the
distance of ``loss_curve_`` to the optimum, which ``optimizer="lbfgs"``
reaches to high precision, on a log scale.

What it shows:

* full batch: the accelerated methods ("momentum", "nesterov") get orders of
  magnitude closer to the optimum than plain gradient descent with the same
  ``1 / L`` step that ``eta0="auto"`` derives from the data; "rmsprop",
  whose steps are normalised per coordinate, is fastest at first but then
  hovers at a floor set by its constant rate;
* the adaptive methods' ``"auto"`` rates are their customary defaults (0.01
  for "adagrad"/"rmsprop", 0.001 for "adam"/"adamw"), not derived from the
  data: with one update per epoch "adam" has hardly moved after 100 epochs
  ("adamw" lies on top of it: with ``alpha=1e-4`` decoupled decay changes
  little);
* mini-batches make many more updates per epoch (fast start) but, with a
  constant step, every method stalls at a noise floor, highest for the
  momentum methods, whose effective step is ``eta0 / (1 - momentum)``, and
  lowest for "adam" with its small default rate. A decaying schedule
  (``learning_rate="invscaling"``, ``"exponential"``, ...) lowers the floor.

For mini-batches ``loss_curve_`` is the average of the losses met during the
epoch (while the weights move), as scikit-learn's SGD reports it.

Run ``python examples/plot_optimizers.py [--output-dir DIR]``; the PNG goes to
DIR, else ``$SKLEARN_GD_FIGURES``, else ``examples/figures/``.
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figures import output_file  # noqa: E402  (examples/_figures.py)
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import GDClassifier  # noqa: E402

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]
STYLES = {"adamw": ":"}  # "adamw" with a tiny alpha lies on top of "adam"




def main():
    path = output_file(__file__, __doc__)
    X, y = make_classification(n_samples=2000, n_features=20, n_informative=10,
                               random_state=0)
    X = StandardScaler().fit_transform(X)
    common = dict(loss="log_loss", alpha=1e-4, random_state=0)
    optimum = GDClassifier(optimizer="lbfgs", tol=1e-10, max_iter=500, **common).fit(X, y)
    best = optimum.loss_curve_[-1]

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, solver, title in zip(axes, ["batch", "minibatch"],
                                 ["full batch (1 update per epoch)",
                                  "mini-batches of 32 (63 updates per epoch)"]):
        for name in OPTIMIZERS:
            model = GDClassifier(optimizer=name, solver=solver, batch_size=32,
                                 max_iter=100, tol=None, **common)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X, y)
            gap = np.maximum(np.asarray(model.loss_curve_) - best, 1e-9)
            ax.plot(np.arange(1, gap.size + 1), gap, STYLES.get(name, "-"), lw=1.8,
                    label=f"{name} (eta0_={model.eta0_:.3g})")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("objective - optimum (L-BFGS)")
    fig.suptitle("GDClassifier(log_loss, alpha=1e-4), eta0='auto': one curve per optimizer")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
