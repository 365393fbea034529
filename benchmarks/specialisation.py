"""What compiling the epoch loops once per configuration would buy at a cold start.

The issue "time to a good model" asks for a cold first fit of <= 2 s and for
the cost of inlining every loss and optimizer into each loop. The general
loops are compiled once per dtype and row format and branch on the
configuration at run time (``codes`` / ``hyper``); ``_kernels/specialise.py``
compiles a loop with the configuration folded in as constants (an extra Numba
pass that removes the branches the configuration decides before type
inference). This script compares, in fresh
interpreters with an empty kernel cache, interleaved:

* ``general``: every loop compiled once per dtype and row format, as before
  plain one-sample SGD was specialised;
* ``shipped``: the package as it is (plain one-sample SGD's loop,
  ``scaled_sgd_epoch``, compiled without averaging and L1 when they are
  off; the other loops general);
* ``per loss`` (plain one-sample SGD only): its loop folded on the loss as
  well, what the package shipped before the test suite's compile time made
  it fold less;
* ``configuration``: every epoch kernel of the fit folded on the loss,
  optimizer, schedule and intercept, and on averaging, L1 and clipping when
  they are off (what specialising the other loops too would buy).

For each: the cold first fit (500 x 10 rows), Numba's compile time summed
over the signatures it compiled, the first call of the epoch kernel
(its compile, with its callees, and one epoch), whether the fit's
coefficients are the general loops' bit for bit, the warm fit time per
epoch on 20,000 x 50 rows (best of 3; 10 epochs, no stopping rule), and the
largest compilations left once the configuration is folded in.

Run: ``python benchmarks/specialisation.py [--repeats 1]`` (about 2 minutes a
round on 2 cores).
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

from cold_start import _clear_cache, _copy, _run

CONFIGS = [
    ("GDClassifier(solver='stochastic', optimizer='sgd')", "dense"),
    ("GDClassifier(solver='stochastic', optimizer='sgd')", "csr"),
    ("GDClassifier(solver='stochastic')", "dense"),  # SVRG
    ("GDClassifier(solver='minibatch')", "dense"),
    ("GDClassifier(solver='minibatch', optimizer='adam')", "dense"),
]
MODES = ("general", "shipped", "per loss", "configuration")

_CHILD = """
    import hashlib, json, sys, time, warnings
    import numpy as np, scipy.sparse as sp
    from numba.core import event
    from sklearn_gd import GDClassifier
    import sklearn_gd._svrg as svrg_module
    from sklearn_gd._kernels import loops
    from sklearn_gd._kernels.specialise import specialised

    MODE, KIND = {mode!r}, {kind!r}
    warnings.simplefilter("ignore")

    def constants(codes, hyper):
        fixed = {{("codes", index): int(codes[index])
                  for index in (loops.C_LOSS, loops.C_MULTINOMIAL, loops.C_OPTIMIZER,
                                loops.C_SCHEDULE, loops.C_FIT_INTERCEPT)}}
        if codes[loops.C_AVERAGE] == 0:
            fixed["codes", loops.C_AVERAGE] = 0
        for index in (loops.H_L1, loops.H_CLIP_VALUE, loops.H_CLIP_NORM):
            if hyper[index] == 0.0:
                fixed["hyper", index] = 0.0
        return fixed

    first_call = []

    def specialising(kernel):
        names = kernel.py_func.__code__.co_varnames[:kernel.py_func.__code__.co_argcount]
        at_codes, at_hyper = names.index("codes"), names.index("hyper")
        chosen = []

        def call(*args):
            if not chosen:
                if MODE == "configuration" and hasattr(kernel, "py_func"):
                    chosen.append(specialised(kernel,
                                              constants(args[at_codes], args[at_hyper])))
                else:
                    chosen.append(kernel)
                start = time.perf_counter()
                result = chosen[0](*args)
                first_call.append(time.perf_counter() - start)
                return result
            return chosen[0](*args)
        return call

    if MODE in ("general", "configuration"):  # "configuration" folds more, below
        loops.scaled_sgd_epoch_for = lambda codes, hyper: loops.scaled_sgd_epoch
    if MODE == "per loss":
        def per_loss(codes, hyper):
            fixed = {{("codes", index): int(codes[index])
                      for index in (loops.C_LOSS, loops.C_MULTINOMIAL)}}
            if codes[loops.C_AVERAGE] == 0:
                fixed["codes", loops.C_AVERAGE] = 0
            if hyper[loops.H_L1] == 0.0:
                fixed["hyper", loops.H_L1] = 0.0
            return specialised(loops.scaled_sgd_epoch, fixed)
        loops.scaled_sgd_epoch_for = per_loss
    for name in ("sgd_epoch_kernel", "minibatch_epoch_kernel"):
        chooser = getattr(loops, name)
        setattr(loops, name, lambda *a, _c=chooser: specialising(_c(*a)))
    svrg_module.svrg_epoch = specialising(svrg_module.svrg_epoch)
    snapshot_kernel = svrg_module.snapshot_kernel
    svrg_module.snapshot_kernel = lambda *a: specialising(snapshot_kernel(*a))

    rng = np.random.RandomState(0)
    X = rng.standard_normal((500, 10))
    y = (X[:, 0] + 0.5 * rng.standard_normal(500) > 0).astype(int)
    X2 = rng.standard_normal((20000, 50))
    y2 = (X2[:, 0] + 0.5 * rng.standard_normal(20000) > 0).astype(int)
    if KIND == "csr":
        X = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0))
        X2 = sp.csr_matrix(np.where(np.abs(X2) > 1.0, X2, 0.0))

    compiles = []
    top = []
    depth = [0]

    class Listener(event.Listener):
        def on_start(self, ev):
            depth[0] += 1
            self.start = getattr(self, "start", []) + [time.perf_counter()]

        def on_end(self, ev):
            depth[0] -= 1
            elapsed = time.perf_counter() - self.start.pop()
            compiles.append(elapsed if depth[0] == 0 else 0.0)
            if depth[0] == 0:
                top.append((round(elapsed, 2), ev.data["dispatcher"].py_func.__name__))

    start = time.perf_counter()
    with event.install_listener("numba:compile", Listener()):
        est = {estimator}.set_params(random_state=0).fit(X, y)
    fit = time.perf_counter() - start
    bits = hashlib.sha1(est.coef_.tobytes() + np.asarray(est.intercept_).tobytes()
                        + str(est.n_iter_).encode()).hexdigest()[:12]
    epoch = float("inf")
    for _ in range(4):  # the first also compiles what the larger data need
        big = {estimator}.set_params(random_state=0, max_iter=10, tol=None)
        start = time.perf_counter()
        big.fit(X2, y2)
        epoch = min(epoch, (time.perf_counter() - start) / big.n_iter_)
    print(json.dumps(dict(fit=fit, compile=sum(compiles), signatures=len(compiles),
                          first_call=first_call[0], bits=bits, epoch=epoch,
                          largest=sorted(top, reverse=True)[:4])))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of every measurement; the best of them is printed")
    args = parser.parse_args(argv)
    import numba

    print(f"numba {numba.__version__}, {os.cpu_count()} cores; fresh interpreter and empty "
          f"kernel cache per figure, best of {args.repeats} round(s), interleaved\n")
    results = {}
    with tempfile.TemporaryDirectory(prefix="sklearn_gd-folded-") as tmp:
        site = _copy(Path(tmp) / "site")
        for _ in range(args.repeats):
            for estimator, kind in CONFIGS:
                for mode in MODES:
                    if mode == "per loss" and "optimizer='sgd'" not in estimator:
                        continue  # the same kernels as "shipped"
                    _clear_cache(site)
                    code = _CHILD.format(mode=mode, kind=kind,
                                         estimator=estimator)
                    results.setdefault((estimator, kind, mode), []).append(_run(code, site))
    print(f"{'configuration':52s} {'kernels':14s} {'cold fit':>8s} {'compile':>8s} "
          f"{'signatures':>10s} {'epoch kernel':>12s} {'same bits':>9s} {'warm epoch':>10s}")
    for estimator, kind in CONFIGS:
        general = results[estimator, kind, "general"]
        for mode in MODES:
            runs = results.get((estimator, kind, mode))
            if runs is None:
                continue
            same = all(r["bits"] == general[0]["bits"] for r in runs)
            label = estimator + (" on CSR" if kind == "csr" else "")
            print(f"{label if mode == 'general' else '':52s} {mode:14s} "
                  f"{min(r['fit'] for r in runs):7.2f}s {min(r['compile'] for r in runs):7.2f}s "
                  f"{min(r['signatures'] for r in runs):10d} "
                  f"{min(r['first_call'] for r in runs):11.2f}s {'yes' if same else 'NO':>9s} "
                  f"{1e3 * min(r['epoch'] for r in runs):8.2f}ms")
    print("\nLargest compilations left with the configuration folded in (first round; a "
          "kernel's time includes its callees):")
    for estimator, kind in CONFIGS:
        largest = results[estimator, kind, "configuration"][0]["largest"]
        label = estimator + (" on CSR" if kind == "csr" else "")
        print(f"  {label}: " + ", ".join(f"{name} {seconds:.2f}s" for seconds, name in largest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
