"""Helpers shared by the test files: frozen inputs, digests, fitted states, round trips."""

import hashlib
import pickle

import joblib
import numpy as np
import scipy.sparse as sp


def frozen(*arrays):
    """Read-only copies (CSR parts included; None passes), so no test or estimator can
    modify shared data."""
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        if sp.issparse(a):
            a = a.copy()
            for part in (a.data, a.indices, a.indptr):
                part.flags.writeable = False
        else:
            a = np.array(a, copy=True, order="K")
            a.flags.writeable = False
        out.append(a)
    return tuple(out)


def digest(*arrays):
    """SHA-256 of the raw bytes, dtypes and shapes of arrays or sparse matrices (None too)."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"None")
            continue
        parts = [a.data, a.indices, a.indptr] if sp.issparse(a) else [np.asarray(a)]
        for p in parts:
            h.update(f"{p.dtype.str}{p.shape}".encode())
            h.update(np.ascontiguousarray(p).tobytes())
    return h.hexdigest()


def state(est):
    """Everything that must be bit-identical between two equivalent fitted estimators,
    as JSON-safe strings (floats in hex, so NaN compares equal to NaN)."""
    out = {
        "coef_": est.coef_.tobytes().hex(),
        "intercept_": est.intercept_.tobytes().hex(),
        "n_iter_": int(est.n_iter_),
        "loss_curve_": [float(v).hex() for v in est.loss_curve_],
    }
    if hasattr(est, "optimizer_state_"):
        out["moments"] = [v.tobytes().hex() for _, v in sorted(est.optimizer_state_.items())]
    if hasattr(est, "t_"):
        out["t_"] = int(est.t_)
    if hasattr(est, "learning_rate_"):
        out["learning_rate_"] = float(est.learning_rate_).hex()
    return out


def roundtrip(est, how, tmp_path):
    """``est`` after a pickle (highest protocol) or joblib file round trip."""
    if how == "pickle":
        return pickle.loads(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)
