"""Decision boundaries of the six classification losses on a 2-D toy problem.

Trains :class:`~sklearn_gd.GDClassifier` with each ``loss`` -- "log_loss",
"hinge", "squared_hinge", "modified_huber", "perceptron" and "focal" -- on the
same two overlapping Gaussian blobs, to which a small group of class-0 points
lying deep inside class 1 (outliers, circled) has been added. Full-batch
training, ``eta0="auto"``, 2,000 epochs at most.

Each panel shades the decision function (for the losses with
``predict_proba``, the probability of class 1), draws the decision boundary
(score 0, solid) and the margins (score +-1, dashed), and dots the boundary
the same loss finds without the outliers; the title gives the training
accuracy.

What it shows: without the outliers all six find nearly the same boundary.
With them, "log_loss", "modified_huber", "squared_hinge" (whose penalty grows
quadratically with the error) and most of all "focal" (``gamma=2``
down-weights the many easy points, so the few hard ones weigh relatively
more) rotate their boundary towards the outliers. The "hinge" solution is
decided by the points on or inside its margin and moves much less. The
perceptron loss has no margin and stops as soon as its objective stalls,
here barely moved from the clean solution (its scores stay small, so the
+-1 margins lie off the panel). Which loss is "right" depends on whether such
points are noise or signal.

Run ``python examples/plot_classification_losses.py [--output-dir DIR]``; the
PNG goes to DIR, else ``$SKLEARN_GD_FIGURES``, else ``examples/figures/``.
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figures import output_file  # noqa: E402  (examples/_figures.py)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sklearn_gd import GDClassifier  # noqa: E402

LOSSES = ["log_loss", "hinge", "squared_hinge", "modified_huber", "perceptron", "focal"]




def toy_data(seed=0):
    rng = np.random.RandomState(seed)
    n = 100
    X0 = rng.normal(loc=(-1.0, -0.5), scale=0.9, size=(n, 2))
    X1 = rng.normal(loc=(1.0, 0.5), scale=0.9, size=(n, 2))
    outliers = rng.normal(loc=(5.0, 4.0), scale=0.3, size=(8, 2))  # labelled 0
    X = np.vstack([X0, X1, outliers])
    y = np.r_[np.zeros(n), np.ones(n), np.zeros(len(outliers))].astype(int)
    return X, y, len(outliers)


def fit(loss, X, y):
    model = GDClassifier(loss=loss, alpha=1e-3, max_iter=2000, tol=1e-6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def main():
    out = output_file(__file__, __doc__)
    X, y, n_outliers = toy_data()
    pad = 0.5
    xx, yy = np.meshgrid(np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 300),
                         np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 300))
    grid = np.c_[xx.ravel(), yy.ravel()]

    fig, axes = plt.subplots(2, 3, figsize=(12, 7.6), sharex=True, sharey=True)
    for ax, loss in zip(axes.ravel(), LOSSES):
        model = fit(loss, X, y)
        scores = model.decision_function(grid).reshape(xx.shape)
        if hasattr(model, "predict_proba"):
            shade = model.predict_proba(grid)[:, 1].reshape(xx.shape)
            image = ax.contourf(xx, yy, shade, levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                                alpha=0.6)
            shading = "P(class 1)"
        else:
            image = ax.contourf(xx, yy, np.clip(scores, -2.5, 2.5),
                                levels=np.linspace(-2.5, 2.5, 11), cmap="RdBu_r", alpha=0.6)
            shading = "score (clipped to +-2.5)"
        ax.contour(xx, yy, scores, levels=[-1.0, 0.0, 1.0], colors="k",
                   linestyles=["--", "-", "--"], linewidths=[1, 2, 1])
        clean = fit(loss, X[:-n_outliers], y[:-n_outliers])
        ax.contour(xx, yy, clean.decision_function(grid).reshape(xx.shape), levels=[0.0],
                   colors="0.25", linestyles=":", linewidths=2)
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="bwr", edgecolors="k", s=18, lw=0.5)
        ax.scatter(X[-n_outliers:, 0], X[-n_outliers:, 1], s=120, facecolors="none",
                   edgecolors="black", lw=1.2)
        ax.set_title(f"loss={loss!r}\ntraining accuracy {model.score(X, y):.2f}", fontsize=10)
        cbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.03)
        cbar.set_label(shading, fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    for ax in axes[1]:
        ax.set_xlabel("feature 0")
    for ax in axes[:, 0]:
        ax.set_ylabel("feature 1")
    fig.suptitle("GDClassifier on two blobs plus outliers (circled, class 0): boundary "
                 "(solid), margins score = +-1 (dashed),\nboundary of the same loss "
                 "trained without the outliers (dotted)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
