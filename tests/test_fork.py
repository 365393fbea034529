"""Fitting in a forked child of a process that has already fitted.

Full-batch gradients run on a module-level thread pool (``_batch``). Only the
forking thread survives ``os.fork()``, so a child that inherited the pool would
wait forever for workers that do not exist: ``multiprocessing`` with the fork
start method, preloaded gunicorn and Celery prefork workers all fork such
processes. Each test runs in a fresh interpreter under a timeout, so a hang
fails the test instead of the suite.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

# Large enough that the batch gradient is split over the thread pool
# (``_batch._PARALLEL_MIN_WORK``); n_jobs=2 uses the pool even on one core.
_PRELUDE = """
    import json, multiprocessing, os, sys, threading, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from sklearn_gd import GDRegressor, _batch

    rng = np.random.RandomState(0)
    X = rng.standard_normal((30000, 10))
    y = X @ rng.standard_normal(10) + 3.0

    def fit(seed=0, n_jobs=2):
        est = GDRegressor(solver="batch", n_jobs=n_jobs, max_iter=5, tol=None,
                          random_state=seed)
        return est.fit(X, y).coef_.tobytes().hex()

    def fit_on_all_cores(seed):
        # In a daemonic process (a multiprocessing.Pool worker) joblib counts
        # n_jobs=2 as 1; n_jobs=None means all cores there too.
        coef = fit(seed, n_jobs=None)
        return coef, any(t.name.startswith("sklearn_gd") for t in threading.enumerate())

    reference = fit()
    assert _batch._POOL is not None, "the parent's fit did not use the thread pool"
"""


def _run(body, timeout=120):
    code = textwrap.dedent(_PRELUDE) + textwrap.dedent(body)
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the forked fit hung for {timeout} s") from exc
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_fit_in_a_child_forked_after_a_fit():
    result = _run("""
        pid = os.fork()
        if pid == 0:
            try:
                same = fit() == reference
                os._exit(0 if same else 3)
            except BaseException:
                os._exit(4)
        _, status = os.waitpid(pid, 0)
        # The parent's pool still works after the fork.
        print(json.dumps({"child": os.waitstatus_to_exitcode(status),
                          "parent_again": fit() == reference}))
    """)
    assert result == {"child": 0, "parent_again": True}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the pool is used on 2+ cores only")
def test_fork_started_multiprocessing_pool():
    result = _run("""
        with multiprocessing.get_context("fork").Pool(2) as pool:
            children = pool.map(fit_on_all_cores, [0, 0, 1])
        print(json.dumps({"same": [c == reference for c, _ in children],
                          "used_the_pool": [used for _, used in children]}))
    """)
    # Batch gradient descent does not depend on the seed: all equal the parent's fit.
    assert result == {"same": [True] * 3, "used_the_pool": [True] * 3}
