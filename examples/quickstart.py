"""Quickstart: sklearn-gd next to scikit-learn's SGD on data sets that ship with scikit-learn.

Fits GDClassifier on breast cancer and digits, and GDRegressor on diabetes, each
in a pipeline with StandardScaler, and prints held-out scores beside
SGDClassifier / SGDRegressor with comparable settings.
"""

import time
import warnings

from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier, SGDRegressor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor


def compare(name, X, y, ours, theirs):
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    # A first fit of the same configuration on a few rows compiles its Numba kernels (or
    # loads them from the on-disk cache), so the fit timed next is the fit alone.
    start = time.perf_counter()
    make_pipeline(StandardScaler(), clone(ours).set_params(max_iter=2)).fit(X_train[:40],
                                                                          y_train[:40])
    row = [name, time.perf_counter() - start]
    for model in (ours, theirs):
        pipe = make_pipeline(StandardScaler(), model)
        start = time.perf_counter()
        pipe.fit(X_train, y_train)
        row += [pipe.score(X_test, y_test), time.perf_counter() - start]
    print("{:<36s} {:>9.3f}s {:>10.4f} {:>8.3f}s {:>12.4f} {:>8.3f}s".format(*row))


def main():
    # Both libraries are given fixed epoch budgets here; their "max_iter reached"
    # ConvergenceWarnings would only clutter the table.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print("{:<36s} {:>10s} {:>20s} {:>21s}".format("held-out score (accuracy / R^2)",
                                                   "compile", "sklearn-gd fit",
                                                   "scikit-learn SGD"))
    X, y = load_breast_cancer(return_X_y=True)
    compare("breast cancer, log loss, L-BFGS", X, y,
            GDClassifier(loss="log_loss", random_state=0),
            SGDClassifier(loss="log_loss", random_state=0))
    X, y = load_digits(return_X_y=True)
    compare("digits, softmax log loss, minibatch", X, y,
            GDClassifier(loss="log_loss", solver="minibatch", optimizer="adam",
                         max_iter=100, random_state=0),
            SGDClassifier(loss="log_loss", random_state=0))
    compare("digits, hinge (OvR), stochastic", X, y,
            GDClassifier(loss="hinge", solver="stochastic", learning_rate="optimal",
                         max_iter=100, random_state=0),
            SGDClassifier(loss="hinge", random_state=0))
    X, y = load_diabetes(return_X_y=True)
    compare("diabetes, squared error, L-BFGS", X, y,
            GDRegressor(random_state=0),
            SGDRegressor(random_state=0))
    compare("diabetes, huber, stochastic + adam", X, y,
            GDRegressor(loss="huber", epsilon=30.0, solver="stochastic", optimizer="adam",
                        eta0=0.5, max_iter=200, random_state=0),
            SGDRegressor(loss="huber", epsilon=30.0, random_state=0))
    print("(compile: the first fit of each configuration, on 40 rows, which compiles its "
          "Numba kernels or loads them from the on-disk cache; the fit times exclude it)")


if __name__ == "__main__":
    main()
