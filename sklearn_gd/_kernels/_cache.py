"""Where the kernels' machine code is kept between processes, and when it is trusted.

Numba's own on-disk cache (``@njit(cache=True)``) falls short in a library that
runs inside other people's processes:

* it checks a cached kernel against the kernel's own source file only, so after
  an upgrade that changes a helper compiled into it (a loss, a row accessor,
  an optimizer step) the old machine code keeps running;
* a truncated or garbled index or data file raises from inside Numba on every
  later call, and a full disk fails every fit;
* its index is a pickle, loaded from whatever directory it finds, including one
  that other users can write: whoever can write there runs code in whoever
  fits next;
* it reads only from a directory it can also write, so a cache built ahead of
  time into a read-only install is ignored.

``KernelCache`` keeps Numba's file format and index keys (Numba version,
signature, CPU, bytecode) and changes the rest:

* **Key.** Each place holds a directory named after the package version and a
  hash of every source file of the kernel package, with the Numba, llvmlite,
  NumPy and Python versions: any change to any of them compiles afresh, into a
  directory of its own, so two installs sharing a cache never evict each other.
* **Places**, in order: ``NUMBA_CACHE_DIR`` when set, the ``__pycache__``
  directory next to the kernels, and the user cache directory
  (``$XDG_CACHE_HOME/sklearn_gd``, else ``~/.cache/sklearn_gd``). Loading tries
  every place that holds the key's directory, writable or not, so kernels built
  at install time (``python -m sklearn_gd.precompile``) serve read-only installs;
  saving goes to the first place that can be written.
* **Trust.** Nothing is loaded from, or saved to, a directory that other users
  can write unless the current user owns it, nor from a file that is writable
  by others or owned by someone other than the current user, the directory's
  owner or root (the rule ssh applies to ``authorized_keys``). Such places are
  skipped with one warning.
* **Failures** to read (a truncated, garbled or foreign file) cost a recompile
  and one warning per file; failures to write (a full disk, a read-only
  directory) a warning once no place is left. A fit never fails because of the
  cache.
"""

import functools
import hashlib
import io
import os
import pickle
import stat
import sys
import threading
from pathlib import Path

import llvmlite
import numba
import numpy as np
from numba.core import config
from numba.core.caching import Cache, CompileResultCacheImpl, IndexDataCacheFile
from numba.misc.appdirs import AppDirs

KERNEL_DIR = Path(__file__).resolve().parent
_NUMBA_DIR = os.path.dirname(os.path.abspath(numba.__file__)) + os.sep


class KernelCacheWarning(UserWarning):
    """The on-disk cache of compiled kernels was skipped, repaired or not written.

    Fits still run: the kernels are compiled in the process instead, which
    costs a few seconds once per kernel. Filter this warning to silence it.
    """


def _package_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sklearn-gd")
    except PackageNotFoundError:
        return "unknown"


def cache_key(kernel_dir=KERNEL_DIR):
    """Name of the cache directory for the kernels whose sources are in ``kernel_dir``.

    ``sklearn_gd-<version>-<hash>``: the hash covers every ``.py`` file of the
    kernel package (names and contents) and the versions of the compilers and
    runtime the machine code depends on.
    """
    digest = hashlib.sha256()
    for path in sorted(Path(kernel_dir).glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for part in (numba.__version__, llvmlite.__version__, np.__version__, sys.version):
        digest.update(part.encode() + b"\0")
    return f"sklearn_gd-{_package_version()}-{digest.hexdigest()[:16]}"


def cache_places(kernel_dir=KERNEL_DIR):
    """The directories a cache may live in, in the order they are tried."""
    places = []
    if config.CACHE_DIR:
        places.append(Path(config.CACHE_DIR))
    places.append(Path(kernel_dir) / "__pycache__")
    places.append(Path(AppDirs(appname="sklearn_gd", appauthor=False).user_cache_dir))
    return places


def _current_uid():
    return os.geteuid() if hasattr(os, "geteuid") else None


def _writable_by_others(mode):
    return bool(mode & (stat.S_IWGRP | stat.S_IWOTH))


def untrusted_directory(path):
    """Why ``path`` may not be trusted, or None (also None when it does not exist)."""
    uid = _current_uid()
    if uid is None:  # no POSIX ownership (Windows): nothing to check
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    if _writable_by_others(st.st_mode) and st.st_uid != uid:
        return (f"{path} is writable by other users and owned by uid {st.st_uid}, "
                f"not by the current user (uid {uid})")
    return None


def _untrusted_file(st, path, directory_owner):
    uid = _current_uid()
    if uid is None:
        return None
    if st.st_uid not in (uid, 0, directory_owner):
        return (f"{path} is owned by uid {st.st_uid}, not by the current user (uid {uid}), "
                f"the directory's owner or root")
    if _writable_by_others(st.st_mode):
        return f"{path} is writable by other users"
    return None


class _Warnings:
    """One warning per distinct problem in a process."""

    def __init__(self):
        self._seen = set()
        self._lock = threading.Lock()

    def warn(self, key, message):
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        # Raised from deep inside Numba's dispatcher: shown at the user's call
        # that needed the kernel, past our frames and Numba's. Imported here:
        # the kernels do not import the estimators' package at import time.
        from .._warnings import warn

        warn(f"sklearn_gd: {message}", KernelCacheWarning, skip=(_NUMBA_DIR,))


_warnings = _Warnings()


class _UntrustedFile(Exception):
    pass


class _TrustedFiles(IndexDataCacheFile):
    """Numba's index and data files, read only after the trust checks, never raising
    on a damaged index (a damaged index reads as empty, so saving replaces it)."""

    def __init__(self, directory, filename_base, source_stamp):
        super().__init__(str(directory), filename_base, source_stamp)
        self.directory = Path(directory)

    def _read(self, path):
        """The bytes of a trusted file; None if it does not exist."""
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            return None
        with f:
            problem = _untrusted_file(os.fstat(f.fileno()), path,
                                      os.stat(self.directory).st_uid)
            if problem:
                raise _UntrustedFile(problem)
            return f.read()

    def _load_index(self):
        raw = self._read(self._index_path)
        if raw is None:
            return {}
        try:
            # Numba's layout: its version, pickled alone, then (stamp, overloads).
            stream = io.BytesIO(raw)
            if pickle.load(stream) != self._version:
                return {}
            stamp, overloads = pickle.loads(stream.read())
            if not isinstance(overloads, dict):
                raise TypeError(f"index holds a {type(overloads).__name__}, not a dict")
        except Exception as exc:
            _warnings.warn(("index", self._index_path),
                           f"ignoring the damaged kernel cache index {self._index_path} "
                           f"({type(exc).__name__}: {exc}); recompiling, and replacing it.")
            return {}
        return overloads if stamp == self._source_stamp else {}

    def _load_data(self, name):
        raw = self._read(self._data_path(name))
        if raw is None:
            raise FileNotFoundError(self._data_path(name))
        return pickle.loads(raw)


class _KernelCacheImpl(CompileResultCacheImpl):
    """Numba's serialisation of compile results, without its search for a locator."""

    def __init__(self, py_func, variant=""):
        self._lineno = py_func.__code__.co_firstlineno
        modname = Path(py_func.__code__.co_filename).stem
        fullname = f"{modname}.{py_func.__qualname__}"
        if variant:
            # A specialised copy (``specialise.py``): the same function and
            # signature, other machine code, so a file of its own.
            fullname += f"-{variant}"
        self._filename_base = self.get_filename_base(fullname, getattr(sys, "abiflags", ""))

    def get_filename_base(self, fullname, abiflags):
        fixed = fullname.replace("<", "").replace(">", "")
        major, minor = sys.version_info[:2]
        return f"{fixed}-{self._lineno}.py{major}{minor}{abiflags}"


class _Places:
    """The cache directories of one kernel package, with what is known about them."""

    def __init__(self, kernel_dir=KERNEL_DIR):
        self.key = cache_key(kernel_dir)
        self.roots = cache_places(kernel_dir)
        self.dirs = [root / self.key for root in self.roots]
        self._lock = threading.Lock()
        self._refused = {}  # dir -> reason, checked once
        self._unwritable = set()

    def refused(self, directory):
        with self._lock:
            if directory not in self._refused:
                root = directory.parent
                self._refused[directory] = (untrusted_directory(root)
                                            or untrusted_directory(directory))
            reason = self._refused[directory]
        if reason:
            _warnings.warn(("refused", str(directory)),
                           f"not using the kernel cache in {directory}: {reason}. Anyone who "
                           "can write there could run code in this process; see 'Running "
                           "in production' in the user guide.")
        return reason

    def readable(self):
        return [d for d in self.dirs if d.is_dir() and not self.refused(d)]

    def writable(self):
        return [d for d in self.dirs if d not in self._unwritable and not self.refused(d)]

    def mark_unwritable(self, directory):
        with self._lock:
            self._unwritable.add(directory)


class KernelCache(Cache):
    """Numba cache of one kernel, kept under the kernel package's key in several places."""

    _impl_class = _KernelCacheImpl

    def __init__(self, py_func, places, variant=""):
        self._name = repr(py_func)
        self._py_func = py_func
        self._impl = _KernelCacheImpl(py_func, variant)
        self._places = places
        self._stamp = places.key
        self.enable()

    def _files(self, directory):
        return _TrustedFiles(directory, self._impl.filename_base, self._stamp)

    @property
    def cache_path(self):
        readable = self._places.readable()
        return str(readable[0] if readable else self._places.dirs[0])

    def flush(self):
        for directory in self._places.readable():
            try:
                self._files(directory).flush()
            except OSError:
                pass

    def load_overload(self, sig, target_context):
        if not self._enabled:
            return None
        target_context.refresh()
        key = self._index_key(sig, target_context.codegen())
        for directory in self._places.readable():
            files = self._files(directory)
            try:
                data = files.load(key)
                if data is not None:
                    return self._impl.rebuild(target_context, data)
            except _UntrustedFile as exc:
                _warnings.warn(("untrusted", str(directory)),
                               f"not loading from the kernel cache: {exc}.")
            except Exception as exc:
                _warnings.warn(("load", str(directory), self._impl.filename_base),
                               f"ignoring a damaged kernel cache entry for "
                               f"{self._impl.filename_base} in {directory} "
                               f"({type(exc).__name__}: {exc}); recompiling, and replacing "
                               "it.")
        return None

    def save_overload(self, sig, data):
        if not self._enabled or not self._impl.check_cachable(data):
            return
        key = self._index_key(sig, data.codegen)
        reduced = self._impl.reduce(data)
        errors = []
        for directory in self._places.writable():
            try:
                directory.mkdir(parents=True, exist_ok=True)
                self._files(directory).save(key, reduced)
                return
            except Exception as exc:  # a full disk, a read-only place, a damaged index
                errors.append(f"{directory}: {type(exc).__name__}: {exc}")
                self._places.mark_unwritable(directory)
        _warnings.warn(("save",),
                       "could not write compiled kernels to any cache directory ("
                       + "; ".join(errors or ["none is usable"]) + "); kernels are compiled "
                       "in memory in this process, which costs a few seconds on first use.")


@functools.cache
def package_places():
    """The cache places of this kernel package (computed once per process).

    First called while the kernel modules are imported, under the import lock,
    so all the kernels share one ``_Places`` and what it learns.
    """
    return _Places()


def attach(dispatcher, variant=""):
    """Give a Numba dispatcher the package's ``KernelCache`` (no-op without a JIT).

    ``variant`` names a specialised copy of a kernel (``specialise.py``), which
    is kept in files of its own.
    """
    py_func = getattr(dispatcher, "py_func", None)
    if py_func is not None and hasattr(dispatcher, "_cache"):
        dispatcher._cache = KernelCache(py_func, package_places(), variant)
    return dispatcher
