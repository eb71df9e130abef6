"""Regularizers: tf-keras's formulas against hand computation, gradients (float64), configs and identifiers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import FIXTURES, load_json
from minikeras import regularizers
from minikeras.autograd import Tensor, Variable, check_grads
from minikeras.regularizers import L1, L1L2, L2, OrthogonalRegularizer

F32_001 = 0.009999999776482582  # float(np.float32(0.01)): what tf-keras and Keras 3 write for 0.01

X = np.array([[1.0, -2.0, 0.5], [-0.25, 3.0, -1.5]])


# ************************************************************ values


def test_l1_value():
    assert float(L1(0.5)(Tensor(X))) == pytest.approx(0.5 * np.abs(X).sum())


def test_l2_value_has_no_half_factor():
    assert float(L2(0.5)(Tensor(X))) == pytest.approx(0.5 * (X ** 2).sum())
    assert float(L2(2.0)(Tensor(np.ones((5, 5), np.float32)))) == 50.0  # tf-keras's docstring example


def test_l1l2_value():
    assert float(L1L2(l1=0.1, l2=0.2)(Tensor(X))) == pytest.approx(0.1 * np.abs(X).sum() + 0.2 * (X ** 2).sum())


def test_l1l2_zero_factors_give_a_zero_constant():
    out = L1L2()(Tensor(X, requires_grad=True))
    assert float(out) == 0.0 and out.shape == () and out.dtype == np.float64


def test_defaults():
    assert L1().get_config() == {"l1": F32_001}
    assert L2().get_config() == {"l2": F32_001}
    assert L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.l1_l2().get_config() == {"l1": F32_001, "l2": F32_001}
    assert OrthogonalRegularizer().get_config() == {"factor": F32_001, "mode": "rows"}
    assert L1(None).get_config() == {"l1": F32_001} and L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reg", [L1(0.3), L2(0.3), L1L2(0.1, 0.2), OrthogonalRegularizer(0.5)],
                         ids=lambda r: type(r).__name__)
def test_result_is_a_scalar_tensor_of_the_input_dtype(reg, dtype):
    out = reg(Tensor(X.astype(dtype)))
    assert isinstance(out, Tensor) and out.shape == () and out.dtype == np.dtype(dtype)


def test_numpy_input_is_accepted():
    assert float(L2(1.0)(np.array([3.0, 4.0]))) == 25.0


def test_orthogonal_regularizer_value():
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    for mode, v in (("rows", x / np.linalg.norm(x, axis=1, keepdims=True)),
                    ("columns", (x / np.linalg.norm(x, axis=0, keepdims=True)).T)):
        gram = v @ v.T
        n = gram.shape[0]
        expected = 0.7 * 0.5 * np.abs(gram - np.diag(np.diag(gram))).sum() / (n * (n - 1) / 2)
        assert float(OrthogonalRegularizer(0.7, mode)(Tensor(x))) == pytest.approx(expected, rel=1e-6)


def test_orthogonal_regularizer_errors():
    with pytest.raises(ValueError, match="must have rank 2"):
        OrthogonalRegularizer()(Tensor(np.ones((2, 2, 2))))
    with pytest.raises(ValueError, match="Invalid value for argument `mode`"):
        OrthogonalRegularizer(mode="diag")


# ************************************************************ gradients


def _away_from_zero(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("reg", [L1(0.3), L2(0.3), L1L2(0.1, 0.2), L1L2(0.0, 0.4),
                                 OrthogonalRegularizer(0.5, "rows"), OrthogonalRegularizer(0.5, "columns")],
                         ids=lambda r: f"{type(r).__name__}{r.get_config()}")
def test_gradient(reg, float64):
    check_grads(lambda x: reg(x), _away_from_zero((4, 3)))


def test_l2_gradient_on_a_variable():
    w = Variable(np.array([1.0, -2.0]))
    L2(0.5)(w).backward()
    np.testing.assert_allclose(w.grad, 2 * 0.5 * np.array([1.0, -2.0]))


# ************************************************************ factor validation


@pytest.mark.parametrize("value", [-0.01, -1, "0.01", [0.01], float("nan"), float("inf"), True])
@pytest.mark.parametrize("make", [lambda v: L1(v), lambda v: L2(v), lambda v: L1L2(l1=v), lambda v: L1L2(l2=v),
                                  lambda v: OrthogonalRegularizer(v)], ids=["L1", "L2", "L1L2.l1", "L1L2.l2", "Ortho"])
def test_bad_factors_rejected(make, value):
    with pytest.raises(ValueError, match="expected a non-negative float"):
        make(value)


def test_numpy_and_int_factors_accepted():
    assert L2(np.float32(0.5)).get_config() == {"l2": 0.5}
    assert L1(np.float64(0.25)).get_config() == {"l1": 0.25}
    assert L1L2(1, 0).get_config() == {"l1": 1.0, "l2": 0.0}


def test_keras2_l_keyword_and_unknown_kwargs():
    assert L2(l=0.5).get_config() == {"l2": 0.5}
    assert L1(l=0.5).get_config() == {"l1": 0.5}
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to L2"):
        L2(foo=1)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to L1L2"):
        L1L2.from_config({"l1": 0.0, "l2": 0.1, "l3": 1.0})


def test_floatx_float64_keeps_exact_factors(float64):
    assert L2(0.01).get_config() == {"l2": 0.01}


# ************************************************************ identifiers and serialization

IDENTIFIERS = [
    ("l1", L1, {"l1": F32_001}),
    ("L1", L1, {"l1": F32_001}),
    ("l2", L2, {"l2": F32_001}),
    ("L2", L2, {"l2": F32_001}),
    ("l1_l2", L1L2, {"l1": F32_001, "l2": F32_001}),  # tf-keras's special case
    ("L1L2", L1L2, {"l1": 0.0, "l2": 0.0}),
    ("orthogonal_regularizer", OrthogonalRegularizer, {"factor": F32_001, "mode": "rows"}),
    ("OrthogonalRegularizer", OrthogonalRegularizer, {"factor": F32_001, "mode": "rows"}),
    # Keras 2: l2(0.01) returned L1L2
    ({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}, L1L2, {"l1": 0.0, "l2": F32_001}),
    ({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.009999999776482582}}, L1L2, {"l1": 0.0, "l2": F32_001}),
    # tf-keras <= 2.11
    ({"class_name": "L2", "config": {"l2": 0.01}}, L2, {"l2": F32_001}),
    ({"class_name": "l1_l2", "config": {}}, L1L2, {"l1": F32_001, "l2": F32_001}),
    # tf-keras 2.12+ / Keras 3
    ({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": F32_001}, "registered_name": None},
     L2, {"l2": F32_001}),
    ({"module": "keras.regularizers", "class_name": "OrthogonalRegularizer",
      "config": {"factor": 0.5, "mode": "columns"}, "registered_name": None},
     OrthogonalRegularizer, {"factor": 0.5, "mode": "columns"}),
]


@pytest.mark.parametrize("identifier, cls, config", IDENTIFIERS, ids=lambda v: str(v)[:40] if isinstance(v, str) else None)
def test_get_every_identifier_form(identifier, cls, config):
    reg = regularizers.get(identifier)
    assert type(reg) is cls and reg.get_config() == config


def test_get_passes_instances_and_callables_and_instantiates_classes():
    reg = L2(0.5)
    assert regularizers.get(reg) is reg
    fn = lambda x: x.sum()  # noqa: E731
    assert regularizers.get(fn) is fn
    assert type(regularizers.get(L1)) is L1
    assert regularizers.get(None) is None


@pytest.mark.parametrize("identifier", [42, 0.01, [0.01]])
def test_get_bad_identifier_type(identifier):
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier: "):
        regularizers.get(identifier)


@pytest.mark.parametrize("identifier", ["l3", "weight_decay", {"class_name": "L0", "config": {}}])
def test_get_unknown_name(identifier):
    with pytest.raises(ValueError, match="Unknown regularizer"):
        regularizers.get(identifier)


def test_tf_keras_l2_function_is_the_L2_class():
    assert regularizers.l2 is L2 and regularizers.l1 is L1
    assert regularizers.serialize(regularizers.l2(0.01)) == {
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": F32_001}, "registered_name": None}
    assert regularizers.serialize(regularizers.l1_l2(l1=0.0, l2=0.5)) == {
        "module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5},
        "registered_name": None}
    assert regularizers.serialize(None) is None


@pytest.mark.parametrize("reg", [L1(0.3), L2(0.125), L1L2(0.1, 0.2), OrthogonalRegularizer(0.5, "columns")],
                         ids=lambda r: type(r).__name__)
def test_config_round_trip(reg):
    config = reg.get_config()
    revived = type(reg).from_config(json.loads(json.dumps(config)))
    assert json.dumps(revived.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    via_module = regularizers.get(json.loads(json.dumps(regularizers.serialize(reg))))
    assert type(via_module) is type(reg) and via_module.get_config() == config
    assert float(revived(Tensor(X))) == float(reg(Tensor(X)))


def _nested(obj, module):
    if isinstance(obj, dict):
        if obj.get("module") == module:
            yield obj
        for v in obj.values():
            yield from _nested(v, module)
    elif isinstance(obj, list):
        for v in obj:
            yield from _nested(v, module)


def test_every_regularizer_in_the_real_keras_fixtures():
    """tf-keras 2.21 dicts (float32-rounded factors) survive get -> serialize unchanged."""
    seen = 0
    for path in sorted(FIXTURES.glob("keras*/*/*config*.json")):
        for d in _nested(load_json(path), "keras.regularizers"):
            assert regularizers.serialize(regularizers.get(d)) == d, path
            seen += 1
    assert seen > 0
