"""L1 against L2: coefficient paths over the regularization strength ``alpha``.

Fits :class:`~sklearn_gd.GDRegressor` (squared error, full-batch proximal
gradient descent) on the standardised diabetes data set (10 features) for 25
values of ``alpha`` from 100 down to 0.01, with ``penalty="l1"`` (the lasso)
and ``penalty="l2"`` (ridge), and draws each coefficient against ``alpha``.
``warm_start=True`` starts each fit from the previous solution, which makes
the whole path cheap.

What it shows: the L1 penalty is applied as a proximal (soft-threshold) step,
so coefficients become *exactly* zero one after another as ``alpha`` grows
(the lower panel counts them), and the path is piecewise linear; the L2
penalty shrinks all coefficients smoothly towards zero without removing any.
With the objective ``mean(r**2) / 2 + alpha * penalty`` used here, the L1
path matches :class:`sklearn.linear_model.Lasso` at the same ``alpha``, and
the L2 path :class:`sklearn.linear_model.Ridge` at ``alpha * n_samples``.

Run ``python examples/plot_regularization_paths.py [--output-dir DIR]``; the
PNG goes to DIR, else ``$SKLEARN_GD_FIGURES``, else ``examples/figures/``.
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figures import output_file  # noqa: E402  (examples/_figures.py)
from sklearn.datasets import load_diabetes  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import GDRegressor  # noqa: E402


def path(X, y, penalty, alphas):
    """Coefficients for each alpha (from large to small, warm-started)."""
    model = GDRegressor(penalty=penalty, solver="batch", optimizer="sgd", warm_start=True,
                        max_iter=3000, tol=1e-5)
    coefs = []
    for alpha in alphas:
        with warnings.catch_warnings():
            # Near alpha -> 0 the problem is ill-conditioned; 3000 epochs are
            # close enough for a picture.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.set_params(alpha=alpha).fit(X, y)
        coefs.append(model.coef_.copy())
    return np.array(coefs)


def main():
    out = output_file(__file__, __doc__)
    data = load_diabetes()
    X = StandardScaler().fit_transform(data.data)
    y = data.target
    alphas = np.logspace(2, -2, 25)
    paths = {"l1": path(X, y, "l1", alphas), "l2": path(X, y, "l2", alphas)}

    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]})
    colors = plt.cm.tab10(np.arange(X.shape[1]))
    for col, (penalty, title) in enumerate([("l1", "penalty='l1' (lasso)"),
                                            ("l2", "penalty='l2' (ridge)")]):
        coefs = paths[penalty]
        top, bottom = axes[0, col], axes[1, col]
        for j, name in enumerate(data.feature_names):
            top.plot(alphas, coefs[:, j], color=colors[j], marker=".", ms=4, label=name)
        top.axhline(0.0, color="black", lw=0.8)
        top.set_title(title)
        top.grid(True, alpha=0.3)
        bottom.plot(alphas, np.count_nonzero(coefs, axis=1), "k.-")
        bottom.set_ylim(-0.5, X.shape[1] + 0.5)
        bottom.set_ylabel("non-zero\ncoefficients")
        bottom.set_xlabel("alpha")
        bottom.set_xscale("log")
        bottom.grid(True, alpha=0.3)
    axes[0, 0].set_ylabel("coefficient (standardised feature)")
    axes[0, 1].legend(title="feature", fontsize=8, ncol=2, loc="upper right")
    fig.suptitle("GDRegressor(squared_error, solver='batch') on diabetes: "
                 "regularization paths")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
