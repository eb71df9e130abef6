"""Constraints: tf-keras's formulas (epsilon placement included) against hand computation, norms, configs, identifiers."""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import FIXTURES, load_json
from minikeras import backend, constraints
from minikeras.constraints import MaxNorm, MinMaxNorm, NonNeg, RadialConstraint, UnitNorm

EPS = 1e-7
W = np.array([[3.0, 0.3, 0.0], [4.0, 0.4, 0.0]])  # column norms 5, 0.5, 0


# ************************************************************ formulas


def test_max_norm_formula_exactly():
    out = MaxNorm(max_value=1.0)(W)
    norms = np.sqrt((W ** 2).sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(out, W * (np.clip(norms, 0, 1.0) / (EPS + norms)))
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [1.0, 0.5, 0.0], rtol=1e-6)


def test_max_norm_epsilon_is_in_the_denominator_only():
    # a vector under the bound is scaled by norm / (eps + norm), slightly below 1, as in Keras
    out = MaxNorm(2.0)(np.array([[0.6], [0.8]]))
    np.testing.assert_array_equal(out, np.array([[0.6], [0.8]]) * (1.0 / (EPS + 1.0)))


def test_zero_weights_stay_zero():
    for c in (MaxNorm(), UnitNorm(), MinMaxNorm(0.5, 1.0)):
        out = c(np.zeros((3, 2)))
        assert np.all(np.isfinite(out)) and not out.any()


@pytest.mark.parametrize("axis, reduce_axes", [(0, (0,)), (1, (1,)), ([0, 1], (0, 1)), ((0, 2), (0, 2)), (-1, (2,))])
def test_max_norm_axes(axis, reduce_axes):
    w = 10.0 * np.random.default_rng(0).standard_normal((3, 4, 5))
    out = MaxNorm(0.5, axis=axis)(w)
    norms = np.sqrt((out ** 2).sum(axis=reduce_axes))
    assert np.all(norms <= 0.5 + 1e-9)
    np.testing.assert_allclose(norms, 0.5, rtol=1e-6)  # every slice of this w is far above 0.5


def test_non_neg():
    w = np.array([-1.5, 0.0, 2.0, -0.0], dtype=np.float32)
    out = NonNeg()(w)
    np.testing.assert_array_equal(out, [0.0, 0.0, 2.0, 0.0])
    assert out.dtype == np.float32 and np.all(out >= 0)


def test_unit_norm():
    w = np.random.default_rng(1).standard_normal((6, 4))
    out = UnitNorm()(w)
    norms = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(out, w / (EPS + norms))
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), 1.0, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(UnitNorm(axis=1)(w), axis=1), 1.0, rtol=1e-6)


def test_min_max_norm_strict():
    out = MinMaxNorm(min_value=1.0, max_value=2.0)(W)
    norms = np.sqrt((W ** 2).sum(axis=0, keepdims=True))
    np.testing.assert_array_equal(out, W * (np.clip(norms, 1.0, 2.0) / (EPS + norms)))
    np.testing.assert_allclose(np.linalg.norm(out, axis=0)[:2], [2.0, 1.0], rtol=1e-6)


def test_min_max_norm_rate():
    # rate 0.5: the new norm is halfway between the old norm and the clipped one
    out = MinMaxNorm(min_value=1.0, max_value=2.0, rate=0.5)(W)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0)[:2], [(5.0 + 2.0) / 2, (0.5 + 1.0) / 2], rtol=1e-6)


@pytest.mark.parametrize("c", [MaxNorm(1.0), NonNeg(), UnitNorm(), MinMaxNorm(0.5, 1.0, 0.7)],
                         ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_preserved_and_input_untouched(c, dtype):
    w = (W - 0.2).astype(dtype)
    before = w.copy()
    out = c(w)
    assert isinstance(out, np.ndarray) and out.dtype == np.dtype(dtype) and out.shape == w.shape
    assert out is not w
    np.testing.assert_array_equal(w, before)


def test_epsilon_follows_backend():
    prev = backend.epsilon()
    backend.set_epsilon(0.5)
    try:
        np.testing.assert_allclose(UnitNorm()(np.array([[3.0], [4.0]])), [[3.0 / 5.5], [4.0 / 5.5]])
    finally:
        backend.set_epsilon(prev)


def test_integer_input_becomes_floatx():
    assert UnitNorm()(np.array([[3], [4]])).dtype == np.float32


def test_radial_constraint_not_implemented():
    with pytest.raises(NotImplementedError, match="RadialConstraint"):
        constraints.get("radial_constraint")
    with pytest.raises(NotImplementedError, match="RadialConstraint"):
        RadialConstraint()


# ************************************************************ arguments and configs


@pytest.mark.parametrize("value", ["2", None, True, [2]])
def test_bad_numbers(value):
    with pytest.raises(ValueError, match="expected a number"):
        MaxNorm(max_value=value)
    with pytest.raises(ValueError, match="expected a number"):
        MinMaxNorm(rate=value)


@pytest.mark.parametrize("axis", ["0", 1.0, None, [], [0, "1"]])
def test_bad_axis(axis):
    with pytest.raises(ValueError, match="`axis`"):
        UnitNorm(axis=axis)


def test_defaults_and_configs():
    assert MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert UnitNorm().get_config() == {"axis": 0}
    assert NonNeg().get_config() == {}
    assert MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert MaxNorm(3, axis=(0, 1)).get_config() == {"max_value": 3, "axis": [0, 1]}


@pytest.mark.parametrize("c", [MaxNorm(0.5, axis=1), NonNeg(), UnitNorm(axis=[0, 1]), MinMaxNorm(0.2, 0.9, 0.5, 1)],
                         ids=lambda c: type(c).__name__)
def test_config_round_trip(c):
    config = c.get_config()
    revived = type(c).from_config(json.loads(json.dumps(config)))
    assert json.dumps(revived.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    via_module = constraints.get(json.loads(json.dumps(constraints.serialize(c))))
    assert type(via_module) is type(c) and via_module.get_config() == config
    w = np.random.default_rng(2).standard_normal((3, 4))
    np.testing.assert_array_equal(revived(w), c(w))


def test_unknown_config_key():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to MaxNorm"):
        MaxNorm.from_config({"max_value": 2, "axis": 0, "m": 2})


def test_serialize_exact_dicts():
    assert constraints.serialize(MaxNorm(0.5)) == {
        "module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 0.5, "axis": 0},
        "registered_name": None}
    assert constraints.serialize(NonNeg()) == {
        "module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": None}
    assert constraints.serialize(None) is None


# ************************************************************ identifiers

IDENTIFIERS = [
    ("max_norm", MaxNorm, {"max_value": 2, "axis": 0}),
    ("MaxNorm", MaxNorm, {"max_value": 2, "axis": 0}),
    ("maxnorm", MaxNorm, {"max_value": 2, "axis": 0}),
    ("non_neg", NonNeg, {}), ("NonNeg", NonNeg, {}), ("nonneg", NonNeg, {}),
    ("unit_norm", UnitNorm, {"axis": 0}), ("UnitNorm", UnitNorm, {"axis": 0}), ("unitnorm", UnitNorm, {"axis": 0}),
    ("min_max_norm", MinMaxNorm, {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    ("MinMaxNorm", MinMaxNorm, {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}),
    ({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0}}, MaxNorm, {"max_value": 3, "axis": 0}),
    ({"class_name": "NonNeg", "config": {}}, NonNeg, {}),
    ({"module": "keras.constraints", "class_name": "MinMaxNorm",
      "config": {"min_value": 0.5, "max_value": 0.8, "rate": 1.0, "axis": 0}, "registered_name": None},
     MinMaxNorm, {"min_value": 0.5, "max_value": 0.8, "rate": 1.0, "axis": 0}),
]


@pytest.mark.parametrize("identifier, cls, config", IDENTIFIERS, ids=lambda v: str(v)[:40] if isinstance(v, str) else None)
def test_get_every_identifier_form(identifier, cls, config):
    c = constraints.get(identifier)
    assert type(c) is cls and c.get_config() == config


def test_get_passes_instances_and_callables_and_instantiates_classes():
    c = MaxNorm(1.0)
    assert constraints.get(c) is c
    fn = lambda w: np.clip(w, -1, 1)  # noqa: E731
    assert constraints.get(fn) is fn
    assert type(constraints.get(UnitNorm)) is UnitNorm
    assert constraints.get(None) is None


@pytest.mark.parametrize("identifier", [42, 2.0, [0]])
def test_get_bad_identifier_type(identifier):
    with pytest.raises(ValueError, match="Could not interpret constraint function identifier: "):
        constraints.get(identifier)


@pytest.mark.parametrize("identifier", ["max", "clip", {"class_name": "Clip", "config": {}}])
def test_get_unknown_name(identifier):
    with pytest.raises(ValueError, match="Unknown constraint"):
        constraints.get(identifier)


def _nested(obj, module):
    if isinstance(obj, dict):
        if obj.get("module") == module:
            yield obj
        for v in obj.values():
            yield from _nested(v, module)
    elif isinstance(obj, list):
        for v in obj:
            yield from _nested(v, module)


def test_every_constraint_in_the_real_keras_fixtures():
    seen = 0
    for path in sorted(FIXTURES.glob("keras*/*/*config*.json")):
        for d in _nested(load_json(path), "keras.constraints"):
            assert constraints.serialize(constraints.get(d)) == d, path
            seen += 1
    assert seen > 0
