"""The tables that must agree: the kernels' array layouts, their fill table and key, the registry.

The kernels read ``codes`` and ``hyper`` at the indices ``C_*`` / ``H_*``
(``_kernels/loops.py``); ``_base`` fills them entry by entry from
``_KERNEL_CODES`` / ``_KERNEL_HYPER``, whose parameters form the config cache
key; the registry's optimizer and schedule rows carry the kernel codes. Each
test fails when one of these is edited without the other.
"""

import numpy as np
import pytest

from sklearn_gd import GDClassifier, GDRegressor
from sklearn_gd._base import _CONFIG_PARAMS, _KERNEL_CODES, _KERNEL_HYPER
from sklearn_gd._kernels import loops as K
from sklearn_gd._kernels import optimizers as O
from sklearn_gd._kernels import schedules as S
from sklearn_gd._registry import OPTIMIZERS, PASSIVE_AGGRESSIVE, SCHEDULES
from sklearn_gd._step_size import DATA_DERIVED


def _constants(module, prefix, exclude=()):
    return {name: value for name, value in vars(module).items()
            if name.startswith(prefix) and isinstance(value, int) and name not in exclude}


@pytest.mark.parametrize("layout,prefix,count", [("CODES_LAYOUT", "C_", "N_CODES"),
                                                 ("HYPER_LAYOUT", "H_", "N_HYPER")])
def test_index_constants_are_the_layout_positions(layout, prefix, count):
    names = getattr(K, layout)
    assert len(set(names)) == len(names) == getattr(K, count)
    expected = {prefix + name.upper(): i for i, name in enumerate(names)}
    assert _constants(K, prefix) == expected


@pytest.mark.parametrize("layout,table", [("CODES_LAYOUT", _KERNEL_CODES),
                                          ("HYPER_LAYOUT", _KERNEL_HYPER)])
def test_fill_table_has_one_entry_per_layout_position(layout, table):
    assert list(table) == list(getattr(K, layout))


def test_cache_key_is_the_union_of_the_parameters_the_entries_read():
    declared = {param for table in (_KERNEL_CODES, _KERNEL_HYPER)
                for params, _ in table.values() for param in params}
    assert set(_CONFIG_PARAMS) == declared and len(_CONFIG_PARAMS) == len(declared)
    for Est in (GDClassifier, GDRegressor):
        assert declared <= set(Est().get_params()), declared - set(Est().get_params())


@pytest.mark.parametrize("Est", [GDClassifier, GDRegressor])
def test_built_config_has_the_layout_shapes_and_dtypes(Est):
    est = Est(optimizer="adam", learning_rate="optimal", penalty="elasticnet")
    est.optimizer_, est.schedule_ = est._resolve_optimizer(), est._resolve_schedule()
    codes, hyper = est._build_kernel_config(1)
    assert codes.dtype == np.int64 and codes.shape == (K.N_CODES,)
    assert hyper.dtype == np.float64 and hyper.shape == (K.N_HYPER,)
    assert codes[K.C_OPTIMIZER] == O.OPT_ADAM and codes[K.C_SCHEDULE] == S.SCHED_OPTIMAL
    assert hyper[K.H_BETA_2] == est.beta_2 and hyper[K.H_OPT_EPSILON] == est.optimizer_epsilon
    l2, l1 = hyper[K.H_L2], hyper[K.H_L1]
    assert l2 + l1 == pytest.approx(est.alpha) and l1 == pytest.approx(est.l1_ratio * est.alpha)


def test_every_optimizer_code_has_one_registry_row():
    codes = _constants(O, "OPT_")
    assert sorted(info.code for info in OPTIMIZERS.values()) == sorted(codes.values())
    assert {name: OPTIMIZERS[name].code for name in OPTIMIZERS} == \
        {name: codes["OPT_" + name.upper()] for name in OPTIMIZERS}


def test_optimizer_rows_are_consistent():
    for name, info in OPTIMIZERS.items():
        # A per-coordinate step has its own "auto" rate; a 1/L one has none.
        assert (info.fallback_eta is not None) == info.per_coordinate, name
        assert (info.distance_rule is not None) == info.per_coordinate, name
        assert not (info.velocity and info.per_coordinate), name
        assert not info.scale_free or info.per_coordinate, name
    assert DATA_DERIVED == {"adagrad", "rmsprop", "adam", "adamw"}
    assert {n for n, i in OPTIMIZERS.items() if i.velocity} == {"momentum", "nesterov"}


def test_every_schedule_code_is_used_and_per_epoch_ones_are_evaluated_in_python():
    assert {info.code for info in SCHEDULES.values()} == set(_constants(S, "SCHED_").values())
    for name, info in SCHEDULES.items():
        rate = S.epoch_learning_rate(name, 0.5, 3, 0.5, (1, 2))
        if info.code == S.SCHED_PER_EPOCH:
            # Python's rule for it (constant and adaptive keep eta0).
            assert np.isfinite(rate) and 0 < rate <= 0.5, name
        # The per-update ones are the kernel's: no epoch rule touches them.
        else:
            assert rate == 0.5, name
    assert PASSIVE_AGGRESSIVE == ("pa1", "pa2")
    assert {S.SCHED_PA1, S.SCHED_PA2} == {SCHEDULES[n].code for n in PASSIVE_AGGRESSIVE}
