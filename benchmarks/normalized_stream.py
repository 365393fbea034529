"""Scale-free online learning: a stream whose columns span 1e-3..1e3, and its standardized twin.

The stream: ``--rows`` rows of 20 standard-normal features, labels from a
noisy linear rule on them (the best accuracy is about 0.96), and then column
``j`` multiplied by ``10 ** (-3 + 6 j / 19)`` for the badly scaled version.
Each learner sees the rows once, in order, and predicts every row before it
learns from it (progressive validation): the chunked learners predict a
10-row chunk, then ``partial_fit`` it; the one-row learners (Vowpal Wabbit,
river) predict a row, then learn it. All are scored on the same rows (all
but the first chunk), in one process, with their wall time.

Learners (a peer that is not installed is skipped, with a note):

- sklearn-gd ``GDClassifier(optimizer="normalized").partial_fit``, as is
  (default solver "batch": one update per chunk, L2 ``alpha=1e-4``), with
  ``penalty=None``, and with ``penalty=None, solver="stochastic"``;
- sklearn-gd ``GDClassifier().partial_fit`` (all defaults);
- Vowpal Wabbit (``vowpalwabbit.Workspace``) with its defaults: normalized,
  adaptive, importance-invariant updates, squared loss on labels -1/+1;
- river's ``LogisticRegression``, alone and after its ``StandardScaler``;
- scikit-learn's ``SGDClassifier().partial_fit`` (defaults).

The inputs of the one-row learners are built before their clocks start
(text lines for Vowpal Wabbit, dicts for river), as in ``run.py``; the
chunked learners take NumPy slices. sklearn-gd's kernels are compiled (or
loaded) by a warm-up on a short stream first.

Run: ``python benchmarks/normalized_stream.py`` (200,000 rows; about two
minutes on 2 cores, a third of it scikit-learn's ``partial_fit``), or
``--rows 20000`` for a quick look. Peers: ``pip install -e ".[bench]"``.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.linear_model import SGDClassifier

from sklearn_gd import GDClassifier

N_FEATURES = 20
CHUNK = 10
CLASSES = np.array([0, 1])


def make_stream(n_rows, seed=0):
    """(standardized rows, badly scaled rows, labels in {0, 1})."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n_rows, N_FEATURES))
    w = rng.standard_normal(N_FEATURES)
    noise = 0.125 * np.linalg.norm(w) * rng.standard_normal(n_rows)
    y = (Z @ w + noise > 0).astype(np.int64)
    scales = 10.0 ** (-3.0 + 6.0 * np.arange(N_FEATURES) / (N_FEATURES - 1))
    return Z, Z * scales, y


# ------------------------------------------------------------- learners
def chunked(make):
    """Progressive accuracy and time of ``make()``'s predict-then-partial_fit on chunks."""

    def run(X, y):
        est = make()
        correct = 0
        with warnings.catch_warnings():
            # The default optimizer warns (once) about these scales: expected here.
            warnings.simplefilter("ignore", UserWarning)
            start = time.perf_counter()
            est.partial_fit(X[:CHUNK], y[:CHUNK], classes=CLASSES)
            for a in range(CHUNK, X.shape[0], CHUNK):
                Xc, yc = X[a:a + CHUNK], y[a:a + CHUNK]
                correct += int(np.count_nonzero(est.predict(Xc) == yc))
                est.partial_fit(Xc, yc)
            elapsed = time.perf_counter() - start
        return correct, elapsed

    return run


def vowpal_wabbit():
    import vowpalwabbit

    template = "{} | " + " ".join(f"{j}:{{:.9g}}" for j in range(N_FEATURES))

    def run(X, y):
        labels = np.where(y == 1, 1, -1).tolist()
        lines = [template.format(label, *row) for label, row in zip(labels, X.tolist())]
        vw = vowpalwabbit.Workspace(quiet=True)
        correct = 0
        start = time.perf_counter()
        for i, line in enumerate(lines):
            example = vw.parse(line)
            vw.learn(example)  # predicts before it updates; the prediction stays
            if i >= CHUNK and (example.get_simplelabel_prediction() > 0) == (labels[i] > 0):
                correct += 1
            vw.finish_example(example)
        elapsed = time.perf_counter() - start
        vw.finish()
        return correct, elapsed

    return run


def river_model(scaled):
    from river import linear_model, preprocessing

    def run(X, y):
        rows = [dict(enumerate(row)) for row in X.tolist()]
        labels = (y == 1).tolist()
        model = linear_model.LogisticRegression()
        if scaled:
            model = preprocessing.StandardScaler() | model
        correct = 0
        start = time.perf_counter()
        for i, (row, label) in enumerate(zip(rows, labels)):
            if i >= CHUNK and model.predict_one(row) == label:
                correct += 1
            model.learn_one(row, label)
        return correct, time.perf_counter() - start

    return run


def learners():
    """(name, runner or None, note) for every learner, in table order."""
    out = [
        ('sklearn-gd optimizer="normalized"', chunked(
            lambda: GDClassifier(optimizer="normalized", random_state=0)), ""),
        ('sklearn-gd optimizer="normalized", penalty=None', chunked(
            lambda: GDClassifier(optimizer="normalized", penalty=None, random_state=0)), ""),
        ('sklearn-gd optimizer="normalized", penalty=None, solver="stochastic"', chunked(
            lambda: GDClassifier(optimizer="normalized", penalty=None, solver="stochastic",
                                 random_state=0)), ""),
        ("sklearn-gd defaults", chunked(lambda: GDClassifier(random_state=0)), ""),
    ]
    try:
        out.append(("Vowpal Wabbit defaults", vowpal_wabbit(), ""))
    except ImportError:
        out.append(("Vowpal Wabbit defaults", None, "not installed (pip install vowpalwabbit)"))
    for scaled in (False, True):
        name = "river StandardScaler, then LogisticRegression" if scaled \
            else "river LogisticRegression"
        try:
            out.append((name, river_model(scaled), ""))
        except ImportError:
            out.append((name, None, "not installed (pip install river)"))
    out.append(("scikit-learn SGDClassifier.partial_fit",
                chunked(lambda: SGDClassifier(random_state=0)), ""))
    return out


def warm_up():
    """Compile or load sklearn-gd's kernels for every configuration timed below."""
    Z, X, y = make_stream(200, seed=1)
    for _, run, _ in learners()[:4]:
        run(X, y)
        run(Z, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    Z, X, y = make_stream(args.rows)
    scored = args.rows - CHUNK
    warm_up()
    print(f"{args.rows:,} rows x {N_FEATURES} features, chunks of {CHUNK}; progressive "
          f"accuracy on rows {CHUNK}..{args.rows - 1}\n")
    print("| learner | stream | accuracy | wall time | per row |")
    print("|---|---|---|---|---|")
    for name, run, note in learners():
        if run is None:
            print(f"| {name} | both | skipped: {note} | | |")
            continue
        for stream, rows in (("columns 1e-3..1e3", X), ("standardized", Z)):
            correct, elapsed = run(rows, y)
            print(f"| {name} | {stream} | {correct / scored:.4f} | {elapsed:.2f} s | "
                  f"{elapsed / args.rows * 1e6:.1f} us |", flush=True)


if __name__ == "__main__":
    main()
