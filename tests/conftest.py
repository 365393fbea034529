"""Fixtures shared by several test files."""

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sklearn_gd import _batch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SCRIPTS = sorted((ROOT / "examples").glob("plot_*.py"))
# Generous: a cold Numba cache compiles the kernels first.
EXAMPLE_TIMEOUT = 600


def pytest_configure(config):
    """Before the workers of a parallel run start: compile the kernels once, in parallel.

    With an empty kernel cache (CI's fresh machine) every xdist worker compiled
    the kernels its first tests needed, and at the start they need the same
    ones: both cores compiled the same signatures at once. Two processes of
    ``python -m sklearn_gd.precompile`` (one per float dtype) fill the cache
    first; the workers then load. With a warm cache this costs the two
    processes' start. Serial runs (no ``-n``) and the workers skip it.
    """
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    runs = [subprocess.Popen([sys.executable, "-m", "sklearn_gd.precompile", "--dtype", dtype],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for dtype in ("float64", "float32")]
    for run in runs:
        _, err = run.communicate()
        if run.returncode:
            # Not fatal: the tests compile what they need, and say what fails.
            print(f"precompile exited with {run.returncode}: {err.strip()[-500:]}",
                  file=sys.stderr)


def _run_example(script, out_dir):
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("SKLEARN_GD_FIGURES", None)
    return subprocess.run(
        [sys.executable, str(script), "--output-dir", str(out_dir)],
        capture_output=True, text=True, timeout=EXAMPLE_TIMEOUT, env=env, cwd=out_dir,
    )


@pytest.fixture(scope="session")
def example_runs(request, tmp_path_factory):
    """Futures of the example scripts' runs, keyed by script name: each runs once per session.

    Each script runs in its own Python process (as a user would run it) with
    ``--output-dir`` pointing into a temporary directory, as many at a time as
    there are cores, started when the first test asks. ``test_examples`` checks
    each run and ``test_docs`` builds the gallery from the same figures, so the
    examples, the slowest part of both, run once. Only the scripts of the
    selected example tests run, unless the docs build is selected too.
    """
    items = request.session.items
    wanted = {item.callspec.params["script"].name for item in items
              if item.module.__name__.endswith("test_examples") and hasattr(item, "callspec")
              and "script" in item.callspec.params}
    if not wanted or any(item.module.__name__.endswith("test_docs") for item in items):
        wanted = {script.name for script in EXAMPLE_SCRIPTS}
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(wanted), os.cpu_count() or 1)))
    futures = {}
    for script in EXAMPLE_SCRIPTS:
        if script.name in wanted:
            out_dir = tmp_path_factory.mktemp(script.stem)
            futures[script.name] = (pool.submit(_run_example, script, out_dir), out_dir)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture
def thread_pool_calls(monkeypatch):
    """Count how often the batch gradient hands blocks to its worker threads."""
    calls = []
    original = _batch._thread_pool

    def counting():
        calls.append(threading.current_thread().name)
        return original()

    monkeypatch.setattr(_batch, "_thread_pool", counting)
    return calls
