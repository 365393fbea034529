"""State shared in production: shallow copies of a fitted estimator."""

import copy
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_gd import GDClassifier, GDRegressor

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:The features' scales span:UserWarning"),
]

N_THREADS = 4


@pytest.fixture
def frequent_thread_switches():
    """Make the interpreter switch threads every microsecond rather than every 5 ms.

    A race between two Python statements then shows within a few hundred calls
    instead of by luck.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _chunks(Est, n_chunks, n_rows=8, n_features=4, seed=0):
    rng = np.random.RandomState(seed)
    out = []
    for _ in range(n_chunks):
        X = rng.randn(n_rows, n_features)
        if Est is GDClassifier:
            y = rng.randint(3, size=n_rows)
        else:
            y = X @ np.arange(1.0, n_features + 1) + rng.randn(n_rows)
        out.append((X, y))
    return out


def _partial_fit(est, X, y):
    if isinstance(est, GDClassifier):
        return est.partial_fit(X, y, classes=np.arange(3))
    return est.partial_fit(X, y)


def _state(est):
    """Everything that must be bit-identical between two equivalent estimators."""
    return {
        "coef_": est.coef_.tobytes().hex(),
        "intercept_": est.intercept_.tobytes().hex(),
        "moments": [v.tobytes().hex() for _, v in sorted(est.optimizer_state_.items())],
        "t_": int(est.t_),
        "n_iter_": int(est.n_iter_),
        "loss_curve_": [float(v).hex() for v in est.loss_curve_],
        "learning_rate_": est.learning_rate_,
    }


def _run_in_threads(fn, n_threads=N_THREADS):
    """Run ``fn(i)`` in ``n_threads`` threads started together; re-raises their errors."""
    barrier = threading.Barrier(n_threads)

    def task(i):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        futures = [pool.submit(task, i) for i in range(n_threads)]
        return [f.result(timeout=120) for f in futures]  # a deadlock fails here


# ------------------------------------------------------------------ copies
@pytest.mark.parametrize("Est", [GDRegressor, GDClassifier])
def test_partial_fit_on_a_shallow_copy_leaves_the_original_unchanged(Est):
    chunks = _chunks(Est, 6, seed=5)
    est = Est(solver="stochastic", optimizer="adam", random_state=0)
    for chunk in chunks[:3]:
        _partial_fit(est, *chunk)
    before = copy.deepcopy(_state(est))

    duplicate = copy.copy(est)
    for chunk in chunks[3:]:
        _partial_fit(duplicate, *chunk)
    assert _state(est) == before
    assert len(duplicate.loss_curve_) == len(est.loss_curve_) + 3
    assert not np.array_equal(duplicate.coef_, est.coef_)


def test_an_estimator_and_its_shallow_copy_train_in_parallel_independently(
        frequent_thread_switches):
    # The two continue from one state on different chunks at different points
    # of a per-epoch schedule (the copy is ahead): kernel settings or buffers
    # shared between them would let one run's learning rate or rows leak into
    # the other's.
    chunks = _chunks(GDRegressor, 2, seed=6)
    params = dict(solver="stochastic", learning_rate="exponential", decay_rate=0.05,
                  random_state=0)
    original = GDRegressor(**params)
    _partial_fit(original, *chunks[0])
    duplicate = copy.copy(original)
    for _ in range(30):
        _partial_fit(duplicate, *chunks[1])

    def continue_alone(est, chunk):
        est = copy.deepcopy(est)
        for _ in range(400):
            _partial_fit(est, *chunk)
        return _state(est)

    expected = [continue_alone(original, chunks[0]), continue_alone(duplicate, chunks[1])]

    def continue_together(i):
        est, chunk = (original, chunks[0]) if i == 0 else (duplicate, chunks[1])
        for _ in range(400):
            _partial_fit(est, *chunk)
        return _state(est)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert _run_in_threads(continue_together, n_threads=2) == expected
