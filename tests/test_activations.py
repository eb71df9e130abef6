"""`minikeras.activations`: parity with real Keras 2 and 3 outputs, gradients, and the get/serialize/era API."""
from __future__ import annotations

import functools
import inspect

import numpy as np
import pytest

from minikeras import activations
from minikeras.autograd import Tensor, check_grads, ops, rnn
from minikeras.autograd.ops import ACTIVATION_MATH, FOLD_CORES
from minikeras.utils.generic_utils import custom_object_scope

from helpers import keras_case, load_io, load_json

A = activations

# ************************************************************ parity with real Keras (fixtures/keras{2,3}/activations)

# fixture key -> (activation name resolved with `get` in that era, keyword arguments, fragment of the fixture's formula)
KERAS2_ARRAYS = {
    "act_relu": ("relu", {}, "max(x, 0)"),
    "act_relu_alpha": ("relu", {"alpha": 0.1}, "alpha=0.1"),
    "act_relu_max_value": ("relu", {"max_value": 3.0}, "max_value=3.0"),
    "act_relu_threshold": ("relu", {"threshold": 0.5}, "threshold=0.5"),
    "act_relu_all": ("relu", {"alpha": 0.1, "max_value": 3.0, "threshold": 0.5},
                     "alpha=0.1, max_value=3.0, threshold=0.5"),
    "act_elu": ("elu", {}, "alpha=1.0"),
    "act_elu_alpha": ("elu", {"alpha": 0.5}, "alpha=0.5"),
    "act_selu": ("selu", {}, "scale"),
    "act_softplus": ("softplus", {}, "log(exp(x)+1)"),
    "act_softsign": ("softsign", {}, "x/(|x|+1)"),
    "act_exponential": ("exponential", {}, "exp(x)"),
    "act_swish": ("swish", {}, "sigmoid"),
    "act_gelu": ("gelu", {}, "approximate=False"),
    "act_gelu_approximate": ("gelu", {"approximate": True}, "approximate=True"),
    "act_linear": ("linear", {}, "x"),
    "act_tanh": ("tanh", {}, "tanh(x)"),
    "act_sigmoid": ("sigmoid", {}, "1/(1+exp(-x))"),
    "act_hard_sigmoid": ("hard_sigmoid", {}, "0.2*x + 0.5"),
    "act_mish": ("mish", {}, "tanh(softplus(x))"),
    "act_softmax": ("softmax", {"axis": -1}, "axis -1"),
    "act_log_softmax": ("log_softmax", {"axis": -1}, "axis -1"),
}
KERAS3_ARRAYS = {
    "act_relu": ("relu", {}, "max(x, 0)"),
    "act_relu_negative_slope": ("relu", {"alpha": 0.1}, "negative_slope=0.1"),
    "act_relu_max_value": ("relu", {"max_value": 2.5}, "max_value=2.5"),
    "act_relu_threshold": ("relu", {"threshold": 1.0}, "threshold=1.0"),
    "act_relu_all": ("relu", {"alpha": 0.1, "max_value": 4.0, "threshold": 1.0},
                     "negative_slope=0.1, max_value=4.0, threshold=1.0"),
    "act_leaky_relu": ("leaky_relu", {}, "negative_slope=0.2"),
    "act_relu6": ("relu6", {}, "min(max(x, 0), 6)"),
    "act_elu": ("elu", {}, "alpha=1.0"),
    "act_elu_alpha": ("elu", {"alpha": 0.5}, "alpha=0.5"),
    "act_selu": ("selu", {}, "scale"),
    "act_softplus": ("softplus", {}, "log(exp(x) + 1)"),
    "act_softsign": ("softsign", {}, "x / (abs(x) + 1)"),
    "act_exponential": ("exponential", {}, "exp(x)"),
    "act_swish": ("swish", {}, "x * sigmoid(x)"),
    "act_silu": ("silu", {}, "x * sigmoid(x)"),
    "act_gelu": ("gelu", {}, "approximate=False"),
    "act_gelu_approximate": ("gelu", {"approximate": True}, "approximate=True"),
    "act_linear": ("linear", {}, "x"),
    "act_tanh": ("tanh", {}, "tanh(x)"),
    "act_sigmoid": ("sigmoid", {}, "1 / (1 + exp(-x))"),
    "act_hard_sigmoid": ("hard_sigmoid", {}, "clip(x / 6 + 0.5, 0, 1)"),
    "act_hard_silu": ("hard_silu", {}, "relu6(x + 3) / 6"),
    "act_hard_swish": ("hard_swish", {}, "hard_silu"),
    "act_softmax": ("softmax", {"axis": -1}, "axis=-1"),
    "act_log_softmax": ("log_softmax", {"axis": -1}, "axis=-1"),
}
TABLES = {2: KERAS2_ARRAYS, 3: KERAS3_ARRAYS}
PARITY = [pytest.param(era, key, id=f"keras{era}-{key[4:]}") for era, table in TABLES.items() for key in table]


def _fixture(era):
    case = keras_case(era, "activations")  # FileNotFoundError (a failure, not a skip) when the fixture is missing
    return load_io(case), load_json(case / "meta.json")


def _formula(meta, era, key):
    if era == 2:
        return meta["arrays"][key]["formula"]
    return meta["formulas"][key[len("act_"):]]


@pytest.mark.parametrize("era, key", PARITY)
def test_matches_real_keras(era, key):
    io, meta = _fixture(era)
    name, kwargs, fragment = TABLES[era][key]
    assert fragment in _formula(meta, era, key), f"fixture {key} was made with other arguments than {kwargs}"
    with A.keras_era(era):
        fn = A.get(name)
    x = io["x2d"] if name in ("softmax", "log_softmax") else io["x"]
    assert x.dtype == np.float32
    out = fn(Tensor(x), **kwargs)
    assert isinstance(out, Tensor) and out.dtype == np.float32
    # NOTE: rtol for exponential, which reaches exp(7) ~ 1097 where one float32 ulp is 1.2e-4.
    np.testing.assert_allclose(out.numpy(), io[key], atol=2e-6, rtol=1e-6, err_msg=f"keras{era} {key}")


@pytest.mark.parametrize("era", [2, 3])
def test_every_fixture_array_has_a_parity_case(era):
    io, _ = _fixture(era)
    keys = {k for k in io if k.startswith("act_")}
    assert keys == set(TABLES[era]), f"keras{era} fixture arrays without a parity case: {keys - set(TABLES[era])}"


def test_the_two_hard_sigmoids_really_differ_on_the_fixtures():
    io2, _ = _fixture(2)
    io3, _ = _fixture(3)
    x = Tensor(io2["x"])
    assert not np.allclose(A.hard_sigmoid(x).numpy(), io3["act_hard_sigmoid"], atol=1e-3)
    assert not np.allclose(A.hard_sigmoid_keras3(x).numpy(), io2["act_hard_sigmoid"], atol=1e-3)


def test_softmax_of_1d_input_raises_as_tf_keras():
    _, meta = _fixture(2)
    assert meta["arrays"]["softmax_1d"].startswith("ValueError: Cannot apply softmax to a tensor that is 1D")
    with pytest.raises(ValueError, match="Cannot apply softmax to a tensor that is 1D"):
        A.softmax(Tensor([1.0, 2.0]))


def test_log_softmax_resolves_by_name_as_tf_keras():
    _, meta = _fixture(2)
    assert meta["arrays"]["log_softmax_by_name"] == "accepted"
    assert A.get("log_softmax") is A.log_softmax


def test_keras3_serialized_names_resolve_to_the_same_functions():
    _, meta = _fixture(3)
    with A.keras_era(3):
        for fn_name, serialized in meta["serialized_names"].items():
            assert A.get(serialized) is A.get(fn_name)


# ************************************************************ gradients (float64, kinks avoided)

KINKS = (0.0, 0.5, 1.0, -2.5, 2.5, -3.0, 3.0, 4.0, 6.0)


def _input(shape=(3, 5), low=-4.0, high=7.0, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, shape)
    for _ in range(100):
        bad = np.min(np.abs(x[..., None] - np.array(KINKS)), axis=-1) < 1e-2
        if not bad.any():
            return x
        x[bad] = rng.uniform(low, high, int(bad.sum()))
    raise AssertionError("could not draw inputs away from the kinks")


GRAD_CASES = {
    "relu": A.relu,
    "relu-alpha": functools.partial(A.relu, alpha=0.1),
    "relu-max_value": functools.partial(A.relu, max_value=3.0),
    "relu-threshold": functools.partial(A.relu, threshold=0.5),
    "relu-all": functools.partial(A.relu, alpha=0.1, max_value=4.0, threshold=1.0),
    "leaky_relu": A.leaky_relu,
    "leaky_relu-0.3": functools.partial(A.leaky_relu, negative_slope=0.3),
    "relu6": A.relu6,
    "elu": A.elu,
    "elu-alpha": functools.partial(A.elu, alpha=0.5),
    "selu": A.selu,
    "softplus": A.softplus,
    "softsign": A.softsign,
    "exponential": A.exponential,
    "swish": A.swish,
    "silu": A.silu,
    "gelu": A.gelu,
    "gelu-approximate": functools.partial(A.gelu, approximate=True),
    "linear": lambda x: A.linear(x) * 1.0,  # linear returns its input; the product gives the check a graph
    "tanh": A.tanh,
    "sigmoid": A.sigmoid,
    "hard_sigmoid": A.hard_sigmoid,
    "hard_sigmoid-keras3": A.hard_sigmoid_keras3,
    "hard_silu": A.hard_silu,
    "hard_swish": A.hard_swish,
    "mish": A.mish,
    "crelu": A.crelu,
    "softmax": A.softmax,
    "softmax-axis0": functools.partial(A.softmax, axis=0),
    "log_softmax": A.log_softmax,
    "log_softmax-axis0": functools.partial(A.log_softmax, axis=0),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_activation_gradient(name):
    check_grads(GRAD_CASES[name], _input())


def test_every_builtin_has_a_gradient_case():
    covered = {getattr(fn, "func", fn) for fn in GRAD_CASES.values()}
    missing = [fn.__name__ for fn in A.BUILTIN_FUNCTIONS if fn not in covered and fn is not A.linear]
    assert not missing


# ************************************************************ functions: names, signatures, docstrings, dtypes

KERAS2_SIGNATURES = {
    "relu": "(x, alpha=0.0, max_value=None, threshold=0.0)",
    "elu": "(x, alpha=1.0)",
    "gelu": "(x, approximate=False)",
    "softmax": "(x, axis=-1)",
    "log_softmax": "(x, axis=-1)",
    "leaky_relu": "(x, negative_slope=0.2)",
    "selu": "(x)", "softplus": "(x)", "softsign": "(x)", "exponential": "(x)", "swish": "(x)", "linear": "(x)",
    "tanh": "(x)", "sigmoid": "(x)", "hard_sigmoid": "(x)", "mish": "(x)", "relu6": "(x)", "hard_silu": "(x)",
}


@pytest.mark.parametrize("name, signature", list(KERAS2_SIGNATURES.items()))
def test_keras_signatures(name, signature):
    fn = getattr(A, name)
    assert fn.__name__ == name
    assert str(inspect.signature(fn)) == signature


@pytest.mark.parametrize("fn", sorted(A.BUILTIN_FUNCTIONS, key=lambda f: f.__doc__), ids=lambda f: f.__name__)
def test_builtins_have_a_one_line_formula_docstring(fn):
    doc = fn.__doc__ or ""
    assert "\n" not in doc.strip() and "=" in doc, f"{fn.__name__}: {doc!r}"


def test_aliases_are_the_same_objects():
    assert A.silu is A.swish and A.silu.__name__ == "swish"  # tf-keras: silu = tf.nn.silu, named "swish"
    assert A.hard_swish is A.hard_silu
    assert A.hard_sigmoid_keras3 is not A.hard_sigmoid
    assert A.hard_sigmoid_keras3.__name__ == "hard_sigmoid"


def test_activations_take_arrays_and_keep_float32():
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    for fn in A.BUILTIN_FUNCTIONS:
        arg = x.reshape(1, 5) if fn in (A.softmax,) else x
        out = fn(arg)
        assert isinstance(out, Tensor), fn.__name__
        assert out.dtype == np.float32, fn.__name__


def test_linear_returns_its_input():
    t = Tensor([1.0, -2.0], requires_grad=True)
    assert A.linear(t) is t


def test_gradients_flow_into_float32_weights():
    w = Tensor(np.array([[0.5, -1.0]], np.float32), requires_grad=True)
    A.tanh(w * 2.0).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad, 2 * (1 - np.tanh(2 * w.data) ** 2), rtol=1e-6)


# ************************************************************ get / serialize / deserialize


def test_get_none_is_linear():
    assert A.get(None) is A.linear


@pytest.mark.parametrize("name", sorted(A.ACTIVATION_NAMES))
def test_get_by_name_and_round_trip(name):
    fn = A.get(name)
    assert A.is_builtin(fn)
    assert A.get(A.serialize(fn)) is fn
    assert A.deserialize(name) is fn


@pytest.mark.parametrize("name, expected", [
    ("silu", "swish"), ("swish", "swish"), ("hard_swish", "hard_silu"), ("softmax_v2", "softmax"),
    ("log_softmax_v2", "log_softmax"), ("relu", "relu"), ("linear", "linear"),
])
def test_serialize_gives_the_tf_keras_name(name, expected):
    assert A.serialize(A.get(name)) == expected


def test_serialize_keras3_hard_sigmoid_keeps_the_keras_name():
    assert A.serialize(A.hard_sigmoid_keras3) == "hard_sigmoid"


def test_get_passes_callables_through():
    def my_act(x):
        return x * 2.0

    assert A.get(my_act) is my_act
    assert A.get(abs) is abs


@pytest.mark.parametrize("identifier", [
    {"class_name": "relu", "config": {}},
    {"class_name": "relu"},
    {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "function"},
    {"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": "relu"},
    {"module": "keras.src.activations.activations", "class_name": "function", "config": "relu",
     "registered_name": None},
], ids=["keras2-dict", "class-name-only", "keras3-function", "keras3-registered", "keras3-src-module"])
def test_get_config_dicts(identifier):
    assert A.get(identifier) is A.relu


def test_config_module_is_never_imported():
    with pytest.raises(ValueError, match="Could not interpret activation function identifier"):
        A.get({"module": "os", "class_name": "function", "config": "system", "registered_name": "function"})


@pytest.mark.parametrize("identifier", ["abcd", "Relu", "", 5, 2.5, [], ("relu",),
                                        {"class_name": "function", "config": "nope"},
                                        {"class_name": "Dense", "config": {"units": 3}}])
def test_get_rejects_unknown_identifiers(identifier):
    with pytest.raises(ValueError, match="Could not interpret activation function identifier"):
        A.get(identifier)


def test_deserialize_unknown_name_raises():
    with pytest.raises(ValueError, match="Unknown activation function: 'abcd'"):
        A.deserialize("abcd")


def test_custom_objects():
    def scaled_tanh(x):
        return A.tanh(x) * 1.7

    assert A.deserialize("scaled_tanh", custom_objects={"scaled_tanh": scaled_tanh}) is scaled_tanh
    assert A.deserialize({"class_name": "function", "config": "my_pkg>scaled_tanh", "registered_name": None},
                         custom_objects={"scaled_tanh": scaled_tanh}) is scaled_tanh
    with custom_object_scope({"scaled_tanh": scaled_tanh}):
        assert A.get("scaled_tanh") is scaled_tanh
    assert not A.is_builtin(scaled_tanh)
    assert A.serialize(scaled_tanh) == "scaled_tanh"
    with custom_object_scope({"MyTanh": scaled_tanh}):
        assert A.serialize(scaled_tanh) == "MyTanh"  # the name it can be loaded back under


def test_serialize_rejects_lambdas_and_non_callables():
    with pytest.raises(ValueError, match="cannot be serialized"):
        A.serialize(lambda x: x)
    with pytest.raises(ValueError, match="cannot be serialized"):
        A.serialize(3)


def test_activation_names_cover_both_eras_and_tell_builtins_apart():
    assert {"relu", "tanh", "sigmoid", "hard_sigmoid", "softmax", "linear", "swish", "silu", "gelu", "elu", "selu",
            "softplus", "softsign", "exponential", "mish", "relu6", "leaky_relu", "hard_silu", "hard_swish",
            "log_softmax"} <= A.ACTIVATION_NAMES
    assert A.is_builtin(A.hard_sigmoid_keras3) and A.is_builtin(A.tanh)
    assert not A.is_builtin(np.tanh) and not A.is_builtin(lambda x: x)


# ************************************************************ eras


def test_default_era_is_keras2():
    assert A.current_era() == 2
    assert A.get("hard_sigmoid") is A.hard_sigmoid
    assert A.era_of(A.get("hard_sigmoid")) == 2


def test_keras_era_3_resolves_hard_sigmoid_to_the_keras3_formula():
    with A.keras_era(3):
        assert A.current_era() == 3
        fn = A.get("hard_sigmoid")
        assert fn is A.hard_sigmoid_keras3 and fn.__name__ == "hard_sigmoid"
        assert A.era_of(fn) == 3
        assert A.deserialize({"class_name": "function", "config": "hard_sigmoid", "registered_name": None}) is fn
        assert A.get("tanh") is A.tanh and A.get("relu") is A.relu  # nothing else changes
        with A.keras_era(2):
            assert A.get("hard_sigmoid") is A.hard_sigmoid
        assert A.get("hard_sigmoid") is A.hard_sigmoid_keras3
    assert A.get("hard_sigmoid") is A.hard_sigmoid
    np.testing.assert_allclose(A.hard_sigmoid_keras3(Tensor([1.5])).numpy(), [0.75])
    np.testing.assert_allclose(A.hard_sigmoid(Tensor([1.5])).numpy(), [0.8])


def test_keras_era_restores_after_an_exception():
    with pytest.raises(KeyError):
        with A.keras_era(3):
            raise KeyError("boom")
    assert A.current_era() == 2


@pytest.mark.parametrize("era", [1, 4, "3", None])
def test_keras_era_rejects_other_values(era):
    with pytest.raises(ValueError, match="era"):
        with A.keras_era(era):
            pass


def test_era_of_other_functions_is_none():
    assert A.era_of(A.relu) is None
    assert A.era_of(np.tanh) is None


# ************************************************************ the one activation table


@pytest.mark.parametrize("name", sorted(n for n, m in ACTIVATION_MATH.items() if m.fold is not None))
def test_folded_form_equals_the_activation(name):
    """The fused kernels compute a folded activation as post_scale * core(scale * x + shift) + post_shift."""
    maths = ACTIVATION_MATH[name]
    scale, shift, core, post_scale, post_shift = maths.fold
    x = np.linspace(-120, 120, 24001)
    with np.errstate(over="ignore"):
        folded = FOLD_CORES[core](x * scale + shift) * post_scale + post_shift
    np.testing.assert_allclose(folded, maths.forward(x), rtol=0, atol=1e-15)


def test_activations_ops_and_kernels_share_one_table():
    assert rnn.ACTIVATIONS is ops.ACTIVATION_MATH
    x = np.linspace(-5, 5, 101)
    for name in ("tanh", "sigmoid", "softplus", "softsign", "selu", "swish", "gelu", "elu"):
        np.testing.assert_array_equal(activations.get(name)(x).numpy(), ACTIVATION_MATH[name].forward(x),
                                      err_msg=name)
