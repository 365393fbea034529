"""Focal loss against log loss on imbalanced classes.

A synthetic binary problem with about 5% positives (the minority class) and
overlapping classes; half of it trains :class:`~sklearn_gd.GDClassifier`, the
other half is held out. Four models:

* ``loss="log_loss"``;
* ``loss="focal"`` with ``gamma=2`` and ``gamma=5``: the focal loss
  ``-(1 - p)**gamma * log(p)`` down-weights samples the model already
  classifies well, which in an imbalanced problem are mostly the majority;
* ``loss="log_loss"`` with ``class_weight="balanced"``, the usual remedy.

All use ``optimizer="lbfgs"`` so that each curve is the exact optimum of its
loss (any first-order optimizer converges to the same models, more slowly).

Left: precision-recall curves of the minority class on the held-out half
(legend: average precision), with each model's operating point at the default
threshold of 0.5 marked. Middle: precision, recall and F1 of the minority
class at that threshold. Right: reliability diagram (mean predicted
probability against observed frequency of the positives, per bin).

What it shows, for a linear model: the focal loss ranks the held-out samples
about as well as the log loss (similar precision-recall curves and average
precision), and at the 0.5 threshold it does *not* find more of the minority
class -- its recall is not higher. What it does change is the probabilities:
with a larger ``gamma`` they are pulled towards 0.5, away from the observed
frequencies (the reliability curve leaves the diagonal). Weighting the
classes (or choosing the threshold on the precision-recall curve) is what
trades precision for minority recall here. (The focal loss was introduced
for dense object detection with deep networks, together with a
class-balancing weight; with fixed features its effect is mostly on the
probabilities.)

Run ``python examples/plot_imbalanced_focal.py [--output-dir DIR]``; the PNG
goes to DIR, else ``$SKLEARN_GD_FIGURES``, else ``examples/figures/``.
"""


import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from _figures import output_file  # noqa: E402  (examples/_figures.py)
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
)
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sklearn_gd import GDClassifier  # noqa: E402

MODELS = {
    "log_loss": dict(loss="log_loss"),
    "focal, gamma=2": dict(loss="focal", gamma=2.0),
    "focal, gamma=5": dict(loss="focal", gamma=5.0),
    "log_loss, class_weight='balanced'": dict(loss="log_loss", class_weight="balanced"),
}
COLORS = ["tab:blue", "tab:orange", "tab:red", "tab:green"]




def main():
    out = output_file(__file__, __doc__)
    X, y = make_classification(n_samples=12_000, n_features=20, n_informative=5,
                               n_redundant=5, n_clusters_per_class=1, weights=[0.95],
                               class_sep=0.7, random_state=1)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y,
                                                        random_state=0)

    fig, (pr, bars, rel) = plt.subplots(1, 3, figsize=(15.5, 4.8),
                                        gridspec_kw={"width_ratios": [1, 1.15, 1]})
    metrics = {}
    for (name, params), color in zip(MODELS.items(), COLORS):
        model = make_pipeline(
            StandardScaler(),
            GDClassifier(optimizer="lbfgs", tol=1e-8, max_iter=500, **params),
        ).fit(X_train, y_train)
        proba = model.predict_proba(X_test)[:, 1]
        pred = model.predict(X_test)
        precision, recall, _ = precision_recall_curve(y_test, proba)
        ap = average_precision_score(y_test, proba)
        pr.plot(recall, precision, color=color, lw=1.8, label=f"{name} (AP {ap:.2f})")
        pr.plot(recall_score(y_test, pred), precision_score(y_test, pred, zero_division=0),
                "o", color=color, ms=9, mec="black")
        metrics[name] = (precision_score(y_test, pred, zero_division=0),
                         recall_score(y_test, pred), f1_score(y_test, pred))
        frac_pos, mean_pred = calibration_curve(y_test, proba, n_bins=10, strategy="quantile")
        rel.plot(mean_pred, frac_pos, "o-", color=color, ms=4, label=name)

    pr.axhline(y_test.mean(), color="0.5", ls=":", lw=1, label="chance (share of positives)")
    pr.set_xlabel("recall (minority class)")
    pr.set_ylabel("precision (minority class)")
    pr.set_title("precision-recall, held out\n(dots: default threshold 0.5)")
    pr.legend(fontsize=8, loc="upper right")
    pr.grid(True, alpha=0.3)

    width = 0.2
    x = np.arange(3)
    for i, ((name, values), color) in enumerate(zip(metrics.items(), COLORS)):
        rects = bars.bar(x + (i - 1.5) * width, values, width, color=color, label=name)
        bars.bar_label(rects, fmt="%.2f", fontsize=6.5, padding=1)
    bars.set_xticks(x, ["precision", "recall", "F1"])
    bars.set_ylim(0, 1.05)
    bars.set_title("minority class at threshold 0.5, held out")
    bars.legend(fontsize=8, loc="upper center")
    bars.grid(True, axis="y", alpha=0.3)

    rel.plot([0, 1], [0, 1], color="0.5", ls=":", lw=1, label="perfectly calibrated")
    rel.set_xscale("symlog", linthresh=0.01)
    rel.set_yscale("symlog", linthresh=0.01)
    rel.set_xlim(0, 1)
    rel.set_ylim(0, 1)
    rel.set_xlabel("mean predicted P(minority) in the bin")
    rel.set_ylabel("observed share of the minority in the bin")
    rel.set_title("reliability (10 quantile bins, held out)")
    rel.legend(fontsize=8, loc="upper left")
    rel.grid(True, alpha=0.3)

    fig.suptitle(f"GDClassifier on an imbalanced problem ({y.mean():.0%} positives): "
                 "focal loss against log loss")
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f"saved {out}")


if __name__ == "__main__":
    main()
