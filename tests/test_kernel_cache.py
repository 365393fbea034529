"""The on-disk cache of compiled kernels in hostile environments (``_kernels/_cache``).

Each test runs fresh interpreters on a copy of the package, so that they start
from an empty cache of their own. They call two small kernels directly
(``column_sq_sums``, which inlines a row helper from ``rows.py``, and
``all_finite``) rather than fitting, so each run compiles in about a second;
the last tests fit whole models (racing processes filling an empty cache, a
read-only install, no writable place at all).
"""

import io
import json
import os
import pickle
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers import clean_env, copy_package, run_python

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file ownership and limits")

_KERNELS = ("column_sq_sums", "all_finite")

_CHILD = """
    import json, warnings
    import numpy as np
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import sklearn_gd
        from sklearn_gd._kernels.data_passes import all_finite, column_sq_sums
        X = np.arange(12.0).reshape(4, 3)
        out = np.empty(3)
        column_sq_sums(X, 4, out)
        finite = bool(all_finite(X))
    stats = {k.py_func.__name__: k.stats for k in (column_sq_sums, all_finite)}
    print(json.dumps({
        "package": sklearn_gd.__file__,
        "out": out.tolist(),
        "finite": finite,
        "hits": {name: sum(s.cache_hits.values()) for name, s in stats.items()},
        "misses": {name: sum(s.cache_misses.values()) for name, s in stats.items()},
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }))
"""
_SQUARES = [np.sum(np.arange(12.0).reshape(4, 3)[:, j] ** 2) for j in range(3)]


def _run(site, preexec_fn=None, user=None, timeout=180, **env):
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD)], capture_output=True, text=True,
        timeout=timeout, cwd=site, preexec_fn=preexec_fn,
        env=clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(Path(site) / "user-cache"),
                       **env),
        **({"user": user, "group": user, "extra_groups": []} if user is not None else {}))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["package"].startswith(str(site))
    assert result["finite"] is True
    return result


def _cache_warnings(result):
    return [w for w in result["warnings"] if w.startswith("KernelCacheWarning")]


def _files(root, kernel, suffix):
    return sorted(Path(root).rglob(f"data_passes.{kernel}-*{suffix}"))


@pytest.fixture
def site(tmp_path):
    site = tmp_path / "site"
    copy_package(site)
    return site


@pytest.mark.slow
def test_editing_a_helper_recompiles_the_kernels_that_inline_it(site):
    """Numba checks a cached kernel against its own file only: after an upgrade
    that changed only a helper the old machine code kept running."""
    first = _run(site)
    np.testing.assert_allclose(first["out"], _SQUARES)
    assert first["misses"]["column_sq_sums"] == 1
    again = _run(site)
    assert again["hits"]["column_sq_sums"] == 1 and again["misses"]["column_sq_sums"] == 0
    # An upgrade that changes one helper in another file of the kernel package.
    rows = site / "sklearn_gd" / "_kernels" / "rows.py"
    source = rows.read_text()
    assert source.count("out[j] += x * x") == 1
    rows.write_text(source.replace("out[j] += x * x", "out[j] += 2.0 * x * x"))
    edited = _run(site)
    np.testing.assert_allclose(edited["out"], 2 * np.array(_SQUARES))
    assert edited["misses"]["column_sq_sums"] == 1
    assert _cache_warnings(edited) == []


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garble(path):
    path.write_bytes(bytes(range(256)) * 4)


@pytest.mark.slow
def test_damaged_cache_files_cost_a_recompile_and_one_warning(site):
    """Truncated and garbled index and data files: each run recompiles what is
    damaged, warns once per damaged file, and leaves a cache that loads again."""
    _run(site)
    for damage_index, damage_data in ((_truncate, _garble), (_garble, _truncate)):
        # One kernel's index, the other's data.
        (index,) = _files(site, "column_sq_sums", ".nbi")
        (data,) = _files(site, "all_finite", ".nbc")
        damage_index(index)
        damage_data(data)
        result = _run(site)
        np.testing.assert_allclose(result["out"], _SQUARES)
        assert result["misses"] == {"column_sq_sums": 1, "all_finite": 1}
        warned = _cache_warnings(result)
        assert len(warned) == 2, result["warnings"]
        assert any(index.name in w for w in warned) and any("all_finite" in w for w in warned)
        repaired = _run(site)
        assert repaired["hits"] == {"column_sq_sums": 1, "all_finite": 1}
        assert repaired["warnings"] == []


def _no_file_writes():
    # Every write then fails with EFBIG, as on a full disk (ENOSPC) or over quota.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


@pytest.mark.slow
def test_a_cache_that_cannot_be_written_costs_one_warning(site):
    result = _run(site, preexec_fn=_no_file_writes)
    np.testing.assert_allclose(result["out"], _SQUARES)
    warned = _cache_warnings(result)
    assert len(warned) == 1 and "could not write" in warned[0], result["warnings"]
    assert "File too large" in warned[0]


class _Payload:
    """Unpickling it creates ``path``: the proof that a planted index ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _plant_index(directory, kernel_file, marker):
    """A malicious index for ``column_sq_sums`` where either cache layout looks:
    ours (``<dir>/<key>/``) and Numba's own (``<dir>/<source dir>_<hash>/``)."""
    import numba
    from numba.core.caching import _CacheLocator

    from sklearn_gd._kernels._cache import cache_key
    from sklearn_gd._kernels.data_passes import column_sq_sums

    assert kernel_file.read_bytes() == Path(column_sq_sums.py_func.__code__.co_filename
                                            ).read_bytes()
    lineno = column_sq_sums.py_func.__code__.co_firstlineno  # the decorator's line
    name = (f"data_passes.column_sq_sums-{lineno}.py{sys.version_info[0]}"
            f"{sys.version_info[1]}{sys.abiflags}.nbi")
    stream = io.BytesIO()
    pickle.dump(numba.__version__, stream, protocol=-1)
    stream.write(pickle.dumps((None, _Payload(marker))))
    planted = []
    for sub in (cache_key(kernel_file.parent),
                _CacheLocator.get_suitable_cache_subpath(str(kernel_file))):
        (directory / sub).mkdir(parents=True, exist_ok=True)
        (directory / sub / name).write_bytes(stream.getvalue())
        planted.append(directory / sub / name)
    return planted


_OTHER_UID = 65534  # "nobody"


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file another owner needs root")
@pytest.mark.parametrize("writable_by", ["directory", "file"])
def test_a_cache_other_users_can_write_is_not_loaded(site, tmp_path, writable_by):
    """Numba's index is a pickle: a user who can write the cache directory (or
    plant a file in it) could run code in whoever fits next."""
    shared = tmp_path / "shared-cache"
    shared.mkdir()
    marker = tmp_path / "planted-code-ran"
    planted = _plant_index(shared, site / "sklearn_gd" / "_kernels" / "data_passes.py", marker)
    if writable_by == "directory":
        # A cache directory anyone can write, owned by another user.
        for path in [shared] + list(shared.rglob("*")):
            path.chmod(0o777 if path.is_dir() else 0o666)
            os.chown(path, _OTHER_UID, _OTHER_UID)
    else:
        # Our own directory, but the index was planted by someone else.
        for path in planted:
            os.chown(path, _OTHER_UID, _OTHER_UID)
    result = _run(site, NUMBA_CACHE_DIR=str(shared))
    assert not marker.exists(), "the planted index was unpickled"
    np.testing.assert_allclose(result["out"], _SQUARES)
    warned = _cache_warnings(result)
    assert warned and all("writable by other users" in w or "owned by uid" in w
                          for w in warned), result["warnings"]
    # The kernels were cached elsewhere (next to the sources) instead.
    assert _files(site / "sklearn_gd", "column_sq_sums", ".nbc")


_FIT = """
    import json, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from sklearn_gd import GDRegressor
    from sklearn_gd.precompile import _kernels
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 10.0
    est = GDRegressor(solver="batch", max_iter=500).fit(X, y)
    print(json.dumps({
        "intercept": float(est.intercept_[0]),
        "compiled": sum(sum(k.stats.cache_misses.values()) for k in _kernels()),
        "loaded": sum(sum(k.stats.cache_hits.values()) for k in _kernels()),
    }))
"""


def _other_user_can_run_python():
    """Whether "nobody" can start this interpreter (not when it lives under /root)."""
    if os.geteuid() != 0:
        return False
    try:
        proc = subprocess.run([sys.executable, "-c", "pass"], capture_output=True, timeout=60,
                              user=_OTHER_UID, group=_OTHER_UID, extra_groups=[])
    except PermissionError:
        return False
    return proc.returncode == 0


@pytest.mark.slow
def test_a_read_only_install_uses_a_cache_built_at_install_time():
    """``python -m sklearn_gd.precompile`` as the installing user, then a fit by
    a process that can write neither the install nor a home directory: the
    kernels load, none compiles.

    Not as root, the install is made read-only with chmod. As root, the later
    process runs as "nobody" when that user can start this interpreter; when it
    cannot (an interpreter under /root), no permission stops root, so the
    read-only part is simulated: the process may not write a single byte to
    any file (RLIMIT_FSIZE 0), and the cache files must be the ones built.
    """
    root = Path(tempfile.mkdtemp(prefix="sklearn_gd-readonly-"))
    try:
        root.chmod(0o755)  # others must be able to read the install
        site = root / "site"
        pkg = copy_package(site)
        build = subprocess.run(
            [sys.executable, "-m", "sklearn_gd.precompile", "--dtype", "float64",
             "--format", "dense", "--solver", "batch"],
            capture_output=True, text=True, timeout=600, cwd=root,
            env=clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(root / "builder-cache")))
        assert build.returncode == 0, build.stdout + build.stderr
        assert str(pkg / "_kernels" / "__pycache__") in build.stdout
        cached = {p.relative_to(pkg): p.read_bytes() for p in pkg.rglob("*.nb[ic]")}
        assert cached
        options = {}
        if os.geteuid() != 0:
            for path in [site] + list(site.rglob("*")):
                path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        elif _other_user_can_run_python():
            options = {"user": _OTHER_UID, "group": _OTHER_UID, "extra_groups": []}
        else:
            options = {"preexec_fn": _no_file_writes}
        nowhere = str(root / "no-such-home")
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(_FIT)], capture_output=True, text=True,
            timeout=300, cwd=root,
            env=clean_env(PYTHONPATH=str(site), HOME=nowhere, XDG_CACHE_HOME=nowhere),
            **options)
        assert proc.returncode == 0, proc.stderr[-3000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result["compiled"] == 0 and result["loaded"] > 0, result
        assert abs(result["intercept"] - 10.0) < 1e-3
        assert {p.relative_to(pkg): p.read_bytes() for p in pkg.rglob("*.nb[ic]")} == cached
        assert not Path(nowhere).exists()
    finally:
        for path in [root] + list(root.rglob("*")):
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------- fresh interpreters, whole fits
_GRID_SCRIPT = """
    import json, os, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    from joblib import Parallel, delayed
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV
    import sklearn_gd
    from sklearn_gd import GDClassifier

    def where():
        import sklearn_gd, os
        return os.path.dirname(sklearn_gd.__file__), os.getpid()

    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    grid = GridSearchCV(
        # One solver: every candidate needs the same kernels, so both workers
        # compile them at once and race to write the same files (more solvers
        # would only add compile time, not another race).
        GDClassifier(solver="batch", max_iter=5, tol=None, random_state=0),
        {"optimizer": ["sgd", "adam"], "alpha": [1e-4, 1e-3]},
        cv=2, n_jobs=2, pre_dispatch="all",
    ).fit(X, y)
    workers = Parallel(n_jobs=2)(delayed(where)() for _ in range(8))
    print(json.dumps({
        "package": os.path.dirname(sklearn_gd.__file__),
        "workers": sorted({w[0] for w in workers}),
        "n_worker_pids": len({w[1] for w in workers} - {os.getpid()}),
        "best": grid.best_params_,
        "coef": grid.best_estimator_.coef_.tobytes().hex(),
        "scores": [float(s).hex() for s in grid.cv_results_["mean_test_score"]],
    }))
"""


@pytest.mark.slow
def test_concurrent_processes_fill_an_empty_cache_without_crashing(tmp_path):
    """GridSearchCV(n_jobs=2) in a fresh interpreter, twice: first its loky worker
    processes compile the same kernels from an empty cache at the same time (and
    race to write the same cache files), then a second run loads them."""
    site = tmp_path / "site"
    pkg = copy_package(site)
    env = clean_env(PYTHONPATH=str(site))

    def start():
        return subprocess.Popen([sys.executable, "-c", textwrap.dedent(_GRID_SCRIPT)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, cwd=tmp_path)

    def finish(proc):
        try:
            out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        return json.loads(out.strip().splitlines()[-1])

    cold = finish(start())
    cache_files = sorted(p.name for p in pkg.rglob("*.nbi"))
    assert cache_files, "no Numba cache was written into the package copy"
    warm = finish(start())
    for result in (cold, warm):
        assert result["package"] == str(pkg)
        assert result["workers"] == [str(pkg)]  # the workers imported the copy too
        assert result["n_worker_pids"] >= 1
    # Freshly compiled (racing writers) and cached code compute the same bits.
    assert cold["coef"] == warm["coef"]
    assert cold["scores"] == warm["scores"]
    assert sorted(p.name for p in pkg.rglob("*.nbi")) == cache_files
    assert not [p for p in pkg.rglob("*") if p.name.endswith(".tmp")]


_FIT_SCRIPT = """
    import json, os, warnings
    import numpy as np
    import sklearn_gd
    from sklearn_gd import GDRegressor
    rng = np.random.RandomState(0)
    X = rng.standard_normal((60, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = GDRegressor(max_iter=200, tol=None).fit(X, y)
    print(json.dumps({
        "package": os.path.dirname(sklearn_gd.__file__),
        "coef": est.coef_.tolist(),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }))
"""


def _read_only_install(tmp_path):
    """A copy of the package made read-only; returns (site dir, package dir, is_effective).

    ``is_effective`` is False when chmod does not stop this user from writing
    (root): the test then simulates an unwritable install differently.
    """
    site = tmp_path / "site"
    pkg = copy_package(site)
    for path in sorted(site.rglob("*"), reverse=True) + [site]:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    effective = not os.access(pkg, os.W_OK) and not os.access(pkg / "_kernels", os.W_OK)
    return site, pkg, effective


def _make_writable(root):
    for path in [root] + list(Path(root).rglob("*")):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _block_in_tree_cache(site, pkg):
    """Stand-in for a read-only package when chmod is ineffective (root): a regular
    file where each __pycache__ directory would go, so that Numba cannot create
    its in-tree cache (os.makedirs fails exactly as on a read-only directory)."""
    _make_writable(site)
    for package_dir in [pkg] + [d for d in pkg.rglob("*") if d.is_dir()]:
        (package_dir / "__pycache__").write_text("not a directory\n")


def _unwritable_path(tmp_path, name):
    """A path that cannot be created, even by root: it lies under a regular file."""
    blocker = tmp_path / f"{name}-is-a-file"
    blocker.write_text("")
    return blocker / "cache"


@pytest.mark.slow
def test_read_only_install_still_fits(tmp_path):
    site, pkg, effective = _read_only_install(tmp_path)
    user_cache = tmp_path / "user-cache"  # Numba's user-wide fallback ($XDG_CACHE_HOME)
    try:
        if effective:
            # A real read-only install; NUMBA_CACHE_DIR unset.
            env = clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(user_cache))
        else:
            # Running as root: simulate (see _block_in_tree_cache), and point
            # NUMBA_CACHE_DIR at a path that cannot be created either.
            _block_in_tree_cache(site, pkg)
            env = clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(user_cache),
                             NUMBA_CACHE_DIR=str(_unwritable_path(tmp_path, "numba")))
        proc = run_python(_FIT_SCRIPT, env=env, cwd=tmp_path)
    finally:
        _make_writable(site)  # let pytest clean tmp_path up
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["package"] == str(pkg)
    np.testing.assert_allclose(result["coef"], [1.0, -2.0, 0.5, 3.0], atol=1e-3)
    # At most a warning about caching; nothing else.
    assert not [w for w in result["warnings"] if "Numba" not in w and "cach" not in w], \
        result["warnings"]
    # Nothing was written into the install; the kernels went to the user-wide cache.
    assert not list(pkg.rglob("*.nbi")) and not list(pkg.rglob("*.nbc"))
    assert list(user_cache.rglob("*.nbi")), "Numba did not fall back to the user-wide cache"


@pytest.mark.slow
def test_unusable_numba_cache_dir_still_fits(tmp_path):
    """NUMBA_CACHE_DIR pointing where no directory can be created: Numba skips it
    and caches next to the sources (the package copy here is writable)."""
    site = tmp_path / "site"
    pkg = copy_package(site)
    env = clean_env(PYTHONPATH=str(site), XDG_CACHE_HOME=str(tmp_path / "user-cache"),
                     NUMBA_CACHE_DIR=str(_unwritable_path(tmp_path, "numba")))
    proc = run_python(_FIT_SCRIPT, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(result["coef"], [1.0, -2.0, 0.5, 3.0], atol=1e-3)
    assert not [w for w in result["warnings"] if "Numba" not in w and "cach" not in w], \
        result["warnings"]
    assert list(pkg.rglob("*.nbi")), "expected the in-tree cache as the fallback"


@pytest.mark.slow
def test_no_writable_cache_location_at_all_still_fits(tmp_path):
    site, pkg, effective = _read_only_install(tmp_path)
    try:
        if not effective:
            _block_in_tree_cache(site, pkg)
        env = clean_env(PYTHONPATH=str(site),
                         XDG_CACHE_HOME=str(_unwritable_path(tmp_path, "xdg")),
                         NUMBA_CACHE_DIR=str(_unwritable_path(tmp_path, "numba")))
        proc = run_python(_FIT_SCRIPT, env=env, cwd=tmp_path)
    finally:
        _make_writable(site)
    if proc.returncode != 0:
        if "no locator available" in proc.stderr:
            raise AssertionError(proc.stderr[-600:])  # the known failure
        raise RuntimeError(f"unexpected failure:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(result["coef"], [1.0, -2.0, 0.5, 3.0], atol=1e-3)
