"""scikit-learn's callback API: one sub-task per epoch, live progress, scores per epoch."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from sklearn_gd import GDClassifier, GDRegressor

callback = pytest.importorskip("sklearn.callback")


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _epoch_scores(monitor):
    logs = monitor.get_logs()
    log = logs[-1] if isinstance(logs, list) else logs
    rows = [r for r in log.data if r["task_name"] == "epoch"]
    return [r["task_id"] for r in rows], [r["accuracy"] for r in rows]


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "lbfgs"])
def test_scoring_monitor_scores_each_epoch(data, optimizer):
    X, y = data
    monitor = callback.ScoringMonitor(scoring="accuracy")
    params = dict(optimizer=optimizer, max_iter=6, tol=None, alpha=1e-2)
    est = GDClassifier(**params).set_callbacks(monitor).fit(X, y)
    task_ids, scores = _epoch_scores(monitor)
    n_done = est.n_iter_
    assert task_ids[:n_done] == list(range(n_done))
    # The score after epoch k is that of the same fit stopped after k epochs.
    for k in range(1, min(n_done, 4) + 1):
        stopped = GDClassifier(**{**params, "max_iter": k}).fit(X, y)
        assert scores[k - 1] == pytest.approx(stopped.score(X, y), abs=1e-12)


def test_callbacks_do_not_change_the_model(data):
    X, y = data
    plain = GDRegressor(max_iter=20, tol=None).fit(X, y)
    watched = GDRegressor(max_iter=20, tol=None).set_callbacks(
        callback.ScoringMonitor(scoring="r2")).fit(X, y)
    np.testing.assert_array_equal(plain.coef_, watched.coef_)


def test_progress_bar_runs(data, capsys):
    pytest.importorskip("rich")
    X, y = data
    est = GDClassifier(max_iter=5, tol=None).set_callbacks(callback.ProgressBar()).fit(X, y)
    assert est.n_iter_ == 5


def test_verbose_still_prints_per_epoch(data, capsys):
    X, y = data
    GDClassifier(optimizer="sgd", max_iter=4, tol=None, verbose=1).set_callbacks(
        callback.ScoringMonitor(scoring="accuracy")).fit(X, y)
    assert capsys.readouterr().out.count("-- Epoch") == 4
