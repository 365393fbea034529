"""sklearn_gd.plotting.plot_loss_curves: one line per estimator, y data = loss_curve_."""

import sys

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklearn_gd._base
from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd.plotting import plot_loss_curves


@pytest.fixture
def plt():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    yield pyplot
    pyplot.close("all")


@pytest.fixture(scope="module")
def regressors():
    X, y = make_regression(n_samples=100, n_features=4, noise=1.0, random_state=0)
    return [
        GDRegressor(optimizer=name, max_iter=n_iter, tol=None, random_state=0).fit(X, y)
        for name, n_iter in [("sgd", 15), ("nesterov", 25), ("adam", 10)]
    ]


def test_one_line_per_estimator_with_loss_curve_as_y_data(plt, regressors):
    ax = plot_loss_curves(regressors)
    from matplotlib.axes import Axes

    assert isinstance(ax, Axes)
    lines = ax.get_lines()
    assert len(lines) == len(regressors)
    for line, model in zip(lines, regressors):
        np.testing.assert_array_equal(line.get_ydata(), model.loss_curve_)
        np.testing.assert_array_equal(line.get_xdata(),
                                      np.arange(1, len(model.loss_curve_) + 1))
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch"


def test_default_labels_name_the_differing_parameters(plt, regressors):
    ax = plot_loss_curves(regressors)
    assert [line.get_label() for line in ax.get_lines()] == [
        "max_iter=15, optimizer='sgd'",
        "max_iter=25, optimizer='nesterov'",
        "max_iter=10, optimizer='adam'",
    ]
    legend = ax.get_legend()
    assert legend is not None and len(legend.get_texts()) == len(regressors)


def test_single_estimator_explicit_labels_existing_axes_and_linear_scale(plt, regressors):
    _, ax = plt.subplots()
    returned = plot_loss_curves(regressors[0], ax=ax, log_y=False)
    assert returned is ax
    assert [line.get_label() for line in ax.get_lines()] == ["GDRegressor"]
    assert ax.get_yscale() == "linear"

    _, ax = plt.subplots()
    plot_loss_curves(regressors[:2], labels=["a", "b"], ax=ax)
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]


def test_pipelines_and_classifiers(plt):
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    pipe = make_pipeline(StandardScaler(),
                         GDClassifier(max_iter=12, tol=None)).fit(X, y)
    lbfgs = GDClassifier(optimizer="lbfgs", max_iter=50).fit(X, y)
    ax = plot_loss_curves([pipe, lbfgs], labels=["pipeline", "lbfgs"])
    first, second = ax.get_lines()
    np.testing.assert_array_equal(first.get_ydata(), pipe[-1].loss_curve_)
    np.testing.assert_array_equal(second.get_ydata(), lbfgs.loss_curve_)
    assert "L-BFGS" in ax.get_xlabel()


def test_a_long_stream_is_drawn_at_the_epochs_it_kept(plt, monkeypatch):
    # A stream keeps only its latest loss_curve_ entries (10,000; lowered here
    # to keep the test short): they are the last epochs, not the first.
    monkeypatch.setattr(sklearn_gd._base, "_LOSS_CURVE_LIMIT", 10, raising=False)
    X, y = make_regression(n_samples=40, n_features=4, noise=1.0, random_state=0)
    stream = GDRegressor(solver="stochastic", random_state=0)
    for chunk in np.array_split(np.arange(40), 25):
        stream.partial_fit(X[chunk], y[chunk])
    (line,) = plot_loss_curves(stream).get_lines()
    np.testing.assert_array_equal(line.get_ydata(), stream.loss_curve_)
    n_kept = len(stream.loss_curve_)
    assert n_kept <= 10 and stream.n_iter_ == 25
    np.testing.assert_array_equal(line.get_xdata(), np.arange(26 - n_kept, 26))


def test_errors(plt, regressors):
    with pytest.raises(ValueError, match="no loss_curve_"):
        plot_loss_curves([GDRegressor()])
    with pytest.raises(ValueError, match="one label per estimator"):
        plot_loss_curves(regressors, labels=["only one"])
    with pytest.raises(ValueError, match="empty"):
        plot_loss_curves([])


def test_missing_matplotlib_names_the_plot_extra(monkeypatch, regressors):
    # A None entry in sys.modules makes the import fail as if not installed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"sklearn-gd\[plot\]"):
        plot_loss_curves(regressors)
