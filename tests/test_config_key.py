"""The kernels' config cache key covers every parameter the config is built from.

``_kernel_config`` keeps the ``codes`` and ``hyper`` arrays between calls, keyed
on ``_CONFIG_PARAMS`` (and the resolved optimizer and schedule): a parameter that changes
the arrays but is missing from the key would let ``set_params`` between two
``partial_fit`` calls train on the old values, silently. This changes each
constructor parameter in turn and rebuilds the arrays from scratch; wherever
they differ, the parameter must be in the key.
"""

import numpy as np
import pytest

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._base import _CONFIG_PARAMS, _KERNEL_CODES, _KERNEL_HYPER
from sklearn_gd._kernels import loops as K

# A different valid value for every parameter that has one of a simple kind.
_OTHER = {
    "loss": {GDClassifier: "hinge", GDRegressor: "huber"},
    "penalty": "elasticnet", "alpha": 0.5, "l1_ratio": 0.7, "fit_intercept": False,
    "solver": "stochastic", "batch_size": 7, "optimizer": "adam",
    "learning_rate": "invscaling", "eta0": 0.3, "precondition": None, "power_t": 0.3,
    "decay_rate": 0.5, "milestones": [3], "momentum": 0.5, "beta_1": 0.5, "beta_2": 0.5,
    "optimizer_epsilon": 1e-3, "clip_value": 2.0, "clip_norm": 3.0, "max_iter": 7,
    "tol": 1e-2, "n_iter_no_change": 2, "early_stopping": True,
    "validation_fraction": 0.3, "shuffle": False, "random_state": 3, "warm_start": True,
    "average": True, "verbose": 1,
    "epsilon": 3.0,  # above 1: Bottou's t0 then sees it through the huber derivative
    "quantile": 0.3, "gamma": 1.0,
    "n_jobs": 2, "on_divergence": "recover", "class_weight": {0: 2.0},
}


def _built(est, n_outputs=1):
    est.optimizer_ = est._resolve_optimizer()
    est.schedule_ = est._resolve_schedule()
    codes, hyper = est._build_kernel_config(n_outputs)
    return codes.copy(), hyper.copy()


# Bases that make the optional entries live: the "optimal" schedule's t0, an L1
# part, a velocity, and a loss with parameters of its own.
_BASES = [dict(penalty="elasticnet", learning_rate="optimal", optimizer="momentum"),
          dict(penalty="l1", learning_rate="optimal", optimizer="adam", loss="huber")]


def _changes(Est, base_params):
    """(parameter, entries of codes, entries of hyper) for each parameter changed in turn."""
    base = Est(**base_params)
    codes, hyper = _built(base)
    for name in base.get_params():
        other = _OTHER[name]
        other = other[Est] if isinstance(other, dict) and Est in other else other
        if name == "class_weight" and Est is GDRegressor:
            continue
        changed = Est(**{**base.get_params(), name: other})
        try:
            new_codes, new_hyper = _built(changed)
        except ValueError:  # a combination the estimator refuses
            continue
        yield (name, [K.CODES_LAYOUT[i] for i in np.flatnonzero(codes != new_codes)],
               [K.HYPER_LAYOUT[i] for i in np.flatnonzero(hyper != new_hyper)])


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_every_parameter_the_config_reads_is_in_its_cache_key(Est):
    read = {name for name, codes, hyper in _changes(Est, _BASES[0]) if codes or hyper}
    missing = read - set(_CONFIG_PARAMS)
    assert not missing, f"the kernel config reads {sorted(missing)} but its key does not"
    assert {"loss", "alpha", "momentum", "learning_rate"} <= read  # the probe sees them


@pytest.mark.parametrize("base", _BASES)
@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_each_entry_declares_the_parameters_it_reads(Est, base):
    """The fill table names, per entry of codes/hyper, the parameters its value reads."""
    if Est is GDClassifier and base.get("loss") == "huber":
        base = {**base, "loss": "modified_huber"}
    undeclared = []
    for name, codes, hyper in _changes(Est, base):
        undeclared += [(name, entry) for entry in codes if name not in _KERNEL_CODES[entry][0]]
        undeclared += [(name, entry) for entry in hyper if name not in _KERNEL_HYPER[entry][0]]
    assert not undeclared, f"(parameter, entry) pairs read but not declared: {undeclared}"


def test_set_params_between_partial_fit_calls_takes_effect():
    """The symptom the key prevents: a changed parameter must reach the next call."""
    rng = np.random.RandomState(0)
    X, y = rng.standard_normal((200, 4)), rng.standard_normal(200)
    kept, fresh = (GDRegressor(loss="huber", epsilon=1.0, solver="stochastic", eta0=0.01,
                               random_state=0) for _ in range(2))
    for est in (kept, fresh):
        est.partial_fit(X, y)
        est.set_params(epsilon=0.1)  # one parameter, read by the kernels only
    fresh.__dict__.pop("_config_cache")  # built again from the parameters
    kept.partial_fit(X, y)
    fresh.partial_fit(X, y)
    np.testing.assert_array_equal(kept.coef_, fresh.coef_)
