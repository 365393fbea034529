"""Wall time of every solver x optimizer to reach the optimum of L2-regularised log loss.

Usage::

    python benchmarks/time_to_optimum.py            # 200,000 x 100 (about 4 minutes on 2 cores)
    python benchmarks/time_to_optimum.py --quick    # 20,000 x 20, a smoke test

The objective is ours: ``mean_i log(1 + exp(-y_i (x_i @ coef + b))) + alpha / 2 ||coef||^2``
with ``alpha = 1e-4`` and the intercept ``b`` not penalised; it is computed here in NumPy,
independently of the package. Its minimum comes from
``LogisticRegression(solver="lbfgs", C=1 / (alpha * n), tol=1e-10, max_iter=10000)``
(the same objective times ``1 / C``), cross-checked by SciPy's L-BFGS-B on the NumPy
objective and its gradient over the full data; the lower of the two is the optimum.

"Time to 1e-3" does not trust any fit's own stopping: each configuration is fitted with
``tol=None`` (no stopping rule and no step cuts; for LogisticRegression ``tol=1e-12``) and
``max_iter`` on a doubling ladder 1, 2, 4, ... epochs, each a refit from scratch with the
same seed (the default schedule, not a warm start's), until the relative objective gap of
the returned model is at most 1e-3; then 3/4 of that rung is tried too. The time reported
is that of the fit on the smallest rung that gets there (the median of up to three fits
when they are short). A ladder stops at its time cap ("> cap"), or, for the stochastic and
mini-batch loops, when four times the epochs brought no 10 % gain ("stalls": the noise floor
of a constant step); either way the gap of its last rung is printed. The cap (8 s by
default, ``--cap``) is what 22 configurations allow in about 4 minutes on 2 shared cores.

The default ``fit`` (``tol=1e-4``, ``max_iter=1000``, only ``random_state`` set) is also
run, to show how its certificate relates to the gap: a fit that says it converged must be
within 1e-3. When 1,000 epochs would not fit in the cap, ``max_iter`` is lowered to what
fits and the row says so (such a run is the default fit's first epochs, except that it
ends with the final check a longer run would make later).

Ratios are against ``LogisticRegression(lbfgs)``'s own time to 1e-3 (by the same ladder of
``max_iter``), re-measured before each solver's block and after the last: each row is
divided by the mean of the measurements on either side of its block. The first fit of
each configuration (Numba compilation or cache load) is made on a small subset before any
timing; the very first one is reported separately.
"""

import argparse
import os
import time
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

from sklearn_gd import GDClassifier

ALPHA = 1e-4
TARGET = 1e-3
SOLVERS = {
    "batch": ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs"),
    "minibatch": ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"),
    "stochastic": ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"),
}


def make_problem(n, d, seed=0):
    """A noisy linear rule with an offset on correlated, standardized features.

    Five shared factors correlate the features (the condition number of their
    correlation matrix is printed); the offset of 0.8 score standard deviations
    makes about 70 % of the labels 1, so the intercept is far from 0.
    """
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((n, d))
    X += rng.standard_normal((n, 5)) @ (0.5 * rng.standard_normal((5, d)))
    X = StandardScaler().fit_transform(X)
    w = rng.uniform(-1, 1, d)
    score = X @ w
    score /= score.std()
    y = (score + 0.8 + 0.7 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


class Objective:
    """Our training objective and its gradient, in NumPy (labels 0/1 as -1/+1)."""

    def __init__(self, X, y, alpha):
        self.X, self.alpha = X, alpha
        self.sign = np.where(y == 1, 1.0, -1.0)

    def value(self, coef, intercept):
        coef = np.ravel(coef)
        z = self.sign * (self.X @ coef + float(np.ravel(intercept)[0]))
        return float(np.mean(np.logaddexp(0.0, -z)) + 0.5 * self.alpha * coef @ coef)

    def value_and_grad(self, theta):
        coef, b = theta[:-1], theta[-1]
        z = self.sign * (self.X @ coef + b)
        f = np.mean(np.logaddexp(0.0, -z)) + 0.5 * self.alpha * coef @ coef
        dz = -self.sign * np.exp(-np.logaddexp(0.0, z)) / len(z)  # -y sigmoid(-y p) / n
        return f, np.concatenate([self.X.T @ dz + self.alpha * coef, [dz.sum()]])

    def gap(self, model, optimum):
        return (self.value(model.coef_, model.intercept_) - optimum) / abs(optimum)


def find_optimum(X, y, obj):
    n = X.shape[0]
    start = time.perf_counter()
    ref = LogisticRegression(C=1.0 / (ALPHA * n), tol=1e-10, max_iter=10_000).fit(X, y)
    t_lr = time.perf_counter() - start
    f_lr = obj.value(ref.coef_, ref.intercept_)
    g_lr = np.linalg.norm(obj.value_and_grad(np.r_[ref.coef_.ravel(), ref.intercept_])[1])
    start = time.perf_counter()
    res = minimize(obj.value_and_grad, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                   options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 30})
    t_sp = time.perf_counter() - start
    f_sp = float(res.fun)
    optimum = min(f_lr, f_sp)
    print(f"optimum: LogisticRegression(lbfgs, tol=1e-10) {f_lr:.12f} (|grad| {g_lr:.1e}, "
          f"{ref.n_iter_[0]} iterations, {t_lr:.1f} s); SciPy L-BFGS-B on the NumPy "
          f"objective, full data, {f_sp:.12f} (|grad| {np.linalg.norm(res.jac):.1e}, "
          f"{res.nit} iterations, {t_sp:.1f} s); relative difference "
          f"{abs(f_lr - f_sp) / optimum:.1e}; intercept at the optimum "
          f"{float(ref.intercept_[0]):.3f}", flush=True)
    return optimum


def timed_fit(make, X, y):
    """(seconds, fitted model, ConvergenceWarning raised) of one fit."""
    model = make()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, model, warned


def repeat_time(make, X, y, first, budget):
    """Median of ``first`` and up to two more fits, as many as fit in ``budget`` seconds."""
    times = [first]
    while len(times) < 3 and sum(times) + first <= budget:
        times.append(timed_fit(make, X, y)[0])
    return float(np.median(times))


def ladder(make, X, y, obj, optimum, cap, repeat_budget, noisy=False):
    """Time to the target gap on the max_iter ladder, or the last gap before the cap.

    Rungs double (1, 2, 4, ...); when rung k reaches the target, 3k/4 is tried as
    well, so the epochs reported overstate the need by at most 1.33x. ``noisy``
    (stochastic updates at a constant step) also stops when four times the
    epochs brought no 10 % gain: a noise floor, not worth the rest of the cap.
    Returns a dict: reached, seconds, epochs, gap, stop, trail (rung, gap) and
    per_epoch (seconds, from the last rung, fixed costs included).
    """
    spent = 0.0
    last = None
    trail = []

    def run(rung):
        nonlocal spent
        seconds, model, _ = timed_fit(lambda: make(rung), X, y)
        spent += seconds
        gap = obj.gap(model, optimum)
        trail.append((rung, gap))
        return {"reached": gap <= TARGET, "seconds": seconds, "rung": rung, "gap": gap,
                "epochs": max(int(np.max(model.n_iter_)), 1), "stop": "reached",
                "trail": trail}

    rung = 1
    while True:
        if last is not None and spent + last["seconds"] * rung / last["epochs"] > cap:
            last["stop"] = "cap"
            break
        last = run(rung)
        if last["reached"]:
            if rung >= 4:
                between = run(3 * rung // 4)
                if between["reached"]:
                    last = between
            last["seconds"] = repeat_time(lambda: make(last["rung"]), X, y, last["seconds"],
                                          repeat_budget)
            break
        if last["epochs"] < rung:  # stopped by itself (L-BFGS cannot improve further)
            last["stop"] = "ended"
            break
        gaps = [g for _, g in trail]
        if noisy and len(gaps) >= 4 and min(gaps[-2:]) > 0.9 * min(gaps[:-2]):
            last["stop"] = "stalled"
            break
        rung *= 2
    last["per_epoch"] = last["seconds"] / last["epochs"]
    return last


def default_fit(make, X, y, obj, optimum, per_epoch, cap):
    """The default fit (max_iter=1000), or its first epochs when 1000 would exceed ``cap``."""
    max_iter = 1000
    if 1000 * per_epoch > cap:
        max_iter = max(1, int(cap / per_epoch))
    seconds, model, warned = timed_fit(lambda: make(max_iter), X, y)
    return {"seconds": seconds, "epochs": int(np.max(model.n_iter_)), "warned": warned,
            "gap": obj.gap(model, optimum), "max_iter": max_iter,
            "converged": getattr(model, "convergence_", None)}


def numba_cache_entries():
    """How many compiled kernels Numba's on-disk cache holds next to the package's sources."""
    import sklearn_gd
    root = os.path.dirname(sklearn_gd.__file__)
    return sum(name.endswith(".nbc") for _, _, files in os.walk(root) for name in files)


def blas_report():
    rows = [f"{i['internal_api']} {i.get('version')} ({i['user_api']}, "
            f"{i['num_threads']} threads)" for i in threadpool_info()]
    import numba
    return "; ".join(rows) + f"; Numba {numba.get_num_threads()} threads " \
        f"({numba.config.THREADING_LAYER})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 x 20 (smoke test)")
    parser.add_argument("--cap", type=float, default=None,
                        help="seconds per configuration's ladder, half of it per default fit "
                             "(default 8; 3 with --quick)")
    args = parser.parse_args()
    q = args.quick
    n, d = (20_000, 20) if q else (200_000, 100)
    cap = args.cap if args.cap is not None else (3.0 if q else 8.0)
    default_cap = cap / 2
    repeat_budget = 0.5 if q else 1.5
    run_start = time.perf_counter()
    print(f"time to the optimum; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}; "
          f"{'quick' if q else 'full'} run, {n:,} x {d} float64, alpha={ALPHA:g}, target gap "
          f"{TARGET:g} (relative), cap {cap:g} s per ladder, {default_cap:g} s per default fit",
          flush=True)

    X, y = make_problem(n, d)
    eig = np.linalg.eigvalsh(np.corrcoef(X, rowvar=False))
    print(f"data: {y.mean():.1%} positive; correlation matrix condition number "
          f"{eig[-1] / eig[0]:.1f}", flush=True)
    print(f"threads: {blas_report()}", flush=True)
    obj = Objective(X, y, ALPHA)
    optimum = find_optimum(X, y, obj)
    C = 1.0 / (ALPHA * n)

    # Warm-up: every configuration once on a subset, with and without a tol, so that
    # compilation (or the load of Numba's cache) is not timed.
    Xs, ys = X[:2000], y[:2000]
    cached = numba_cache_entries()
    start = time.perf_counter()
    GDClassifier(max_iter=2, random_state=0).fit(Xs, ys)
    first = time.perf_counter() - start
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for solver, optimizers in SOLVERS.items():
            for opt in optimizers:
                for tol in (None, 1e-4):
                    GDClassifier(solver=solver, optimizer=opt, max_iter=3, tol=tol,
                                 random_state=0).fit(Xs, ys)
        LogisticRegression(C=C, max_iter=5).fit(Xs, ys)
        SGDClassifier(loss="log_loss", max_iter=2).fit(Xs, ys)
    compiled = numba_cache_entries() - cached
    print(f"first fit in this process: {first:.2f} s; warm-up of all configurations "
          f"{time.perf_counter() - start - first:.2f} s more; "
          + (f"{compiled} kernels compiled and cached" if compiled else
             f"all {cached} kernels loaded from Numba's cache (none compiled)"), flush=True)

    def lr(tol=1e-12, max_iter=100):
        return lambda: LogisticRegression(C=C, tol=tol, max_iter=max_iter)

    lr_ladder = ladder(lambda k: lr(max_iter=k)(), X, y, obj, optimum, cap, repeat_budget)
    lr_rung = lr_ladder["rung"]
    lr_times = [lr_ladder["seconds"]]

    def measure_lr():
        seconds, _, _ = timed_fit(lr(max_iter=lr_rung), X, y)
        lr_times.append(repeat_time(lr(max_iter=lr_rung), X, y, seconds, repeat_budget))
        print(f"  LogisticRegression(lbfgs) at max_iter={lr_rung}: {lr_times[-1]:.3f} s",
              flush=True)
        return lr_times[-1]

    rows = []
    before = measure_lr()
    for solver, optimizers in SOLVERS.items():
        block = []
        for opt in optimizers:
            def make(k, solver=solver, opt=opt, tol=None):
                return GDClassifier(solver=solver, optimizer=opt, alpha=ALPHA, tol=tol,
                                    max_iter=k, random_state=0)
            res = ladder(make, X, y, obj, optimum, cap, repeat_budget,
                         noisy=solver != "batch")
            dflt = default_fit(lambda k: make(k, tol=1e-4), X, y, obj, optimum,
                               res["per_epoch"], default_cap)
            block.append((solver, opt, res, dflt))
            progress(f"{solver} {opt}", res, dflt)
        after = measure_lr()
        peer = 0.5 * (before + after)
        rows += [(s, o, r, dflt, peer) for s, o, r, dflt in block]
        before = after

    sgd_ladder = ladder(lambda k: SGDClassifier(loss="log_loss", alpha=ALPHA, tol=None,
                                                max_iter=k, random_state=0),
                        X, y, obj, optimum, cap, repeat_budget, noisy=True)
    sgd_default = default_fit(lambda k: SGDClassifier(loss="log_loss", alpha=ALPHA,
                                                      max_iter=k, random_state=0),
                              X, y, obj, optimum, sgd_ladder["per_epoch"], default_cap)
    lr_default = default_fit(lambda k: LogisticRegression(C=C, max_iter=min(k, 100)),
                             X, y, obj, optimum, 0.0, default_cap)
    progress("SGDClassifier", sgd_ladder, sgd_default)
    progress("LogisticRegression", lr_ladder, lr_default)
    lr_median = float(np.median(lr_times))
    print(f"LogisticRegression(lbfgs) time to 1e-3 over the run: "
          f"{', '.join(f'{t:.3f}' for t in lr_times)} s (median {lr_median:.3f} s)")

    print()
    print(f"| solver | optimizer | time to {TARGET:g} gap | epochs | ratio to LR(lbfgs) | "
          "default fit time | default epochs | default gap | converged |")
    print("|---|---|---|---|---|---|---|---|---|")
    for solver, opt, res, dflt, peer in rows:
        print(table_row(solver, opt, res, dflt, res["seconds"] / peer if res["reached"]
                        else None, flag(dflt)))
    lr_ladder["seconds"] = lr_median
    print(table_row("LogisticRegression", "lbfgs", lr_ladder, lr_default, 1.0,
                    "no warning" if not lr_default["warned"] else "ConvergenceWarning"))
    print(table_row("SGDClassifier", "optimal schedule", sgd_ladder, sgd_default,
                    sgd_ladder["seconds"] / lr_median if sgd_ladder["reached"] else None,
                    "no warning" if not sgd_default["warned"] else "ConvergenceWarning"))
    print()
    print(f"threads at the end: {blas_report()}")
    print(f"total wall time {time.perf_counter() - run_start:.0f} s")


def progress(label, res, dflt):
    trail = " ".join(f"{k}:{g:.1e}" for k, g in res["trail"])
    conv = dflt["converged"]
    verdict = "no convergence_" if conv is None else \
        f"converged={conv.converged} residual={conv.residual:.2g} cuts={conv.step_cuts}"
    print(f"  {label}: {fmt_time(res)}, {res['epochs']} epochs (ladder max_iter:gap {trail}); "
          f"default fit {dflt['seconds']:.2f} s, {dflt['epochs']} epochs of max_iter="
          f"{dflt['max_iter']}, gap {dflt['gap']:.1e}, {verdict}"
          + (", ConvergenceWarning" if dflt["warned"] else ""), flush=True)


def fmt_time(res):
    if res["reached"]:
        return f"{res['seconds']:.3f} s"
    why = {"cap": "> cap", "stalled": "stalls", "ended": "ends"}[res["stop"]]
    return f"{why}, gap {res['gap']:.1e}"


def flag(dflt):
    conv = dflt["converged"]
    text = "yes" if conv.converged else "no"
    if conv.converged and dflt["gap"] > TARGET:
        text += " (**above 1e-3**)"
    return text


def table_row(solver, opt, res, dflt, ratio, converged):
    capped = f" (max_iter capped at {dflt['max_iter']})" if dflt["max_iter"] < 1000 and \
        dflt["epochs"] >= dflt["max_iter"] and solver not in ("LogisticRegression",) else ""
    return (f"| {solver} | {opt} | {fmt_time(res)} | {res['epochs']} | "
            f"{'' if ratio is None else f'{ratio:.2f}'} | {dflt['seconds']:.2f} s | "
            f"{dflt['epochs']}{capped} | {dflt['gap']:.1e} | {converged} |")


if __name__ == "__main__":
    main()
