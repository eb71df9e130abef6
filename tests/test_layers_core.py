"""Core layers (Dense, Activation, Dropout, Flatten, Masking, RepeatVector, Reshape, Permute, Lambda,
ActivityRegularization): shapes, masks, configs with tf_keras 2.21's exact keys, bad arguments, float64 gradient
checks, and outputs against real Keras files."""
from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras import backend, constraints, initializers, layers, regularizers
from minikeras.autograd import Tensor, check_grads, no_grad
from minikeras.layers import core
from minikeras.layers.core import (Activation, ActivityRegularization, Dense, Dropout, Flatten, Lambda, Masking,
                                   Permute, RepeatVector, Reshape)

ATOL = 2e-5


def dumps(config):
    return json.dumps(config, sort_keys=True)


def round_trip(layer):
    """`cls.from_config(layer.get_config())` must give the same config, as JSON (C6)."""
    config = layer.get_config()
    json.dumps(config)  # JSON-safe
    revived = type(layer).from_config(json.loads(json.dumps(config)))
    assert dumps(revived.get_config()) == dumps(config)
    return revived


def set_attrs(layer, **tensors):
    for name, value in tensors.items():
        setattr(layer, name, value)


# ************************************************************ module


def test_all_lists_the_public_layers_and_they_are_registered():
    assert set(core.__all__) == {"Dense", "Activation", "Dropout", "SpatialDropout1D", "Flatten", "Masking", "RepeatVector", "Reshape",
                                 "Permute", "Lambda", "ActivityRegularization"}
    for name in core.__all__:
        assert getattr(layers, name) is getattr(core, name)
    assert layers.deserialize({"class_name": "Dense", "config": {"units": 2}}).units == 2


def test_docstring_examples_run():
    result = doctest.testmod(core, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 10 and result.failed == 0


def test_auto_names_follow_tf_keras():
    assert [Dense(1).name, Dense(1).name, RepeatVector(2).name, ActivityRegularization().name] == \
        ["dense", "dense_1", "repeat_vector", "activity_regularization"]


# ************************************************************ Dense


@pytest.mark.parametrize("shape", [(2, 4), (2, 5, 4), (2, 3, 5, 4)])
def test_dense_applies_on_the_last_axis(shape, rng):
    x = rng.standard_normal(shape).astype("float32")
    layer = Dense(3, activation="tanh")
    y = layer(x)
    assert y.shape == shape[:-1] + (3,)
    assert y.dtype == np.float32
    k, b = layer.get_weights()
    assert k.shape == (4, 3) and b.shape == (3,)
    np.testing.assert_allclose(y.numpy(), np.tanh(np.tensordot(x, k, axes=[[-1], [0]]) + b), atol=1e-6)
    assert layer.compute_output_shape((None,) + shape[1:]) == (None,) + shape[1:-1] + (3,)


def test_dense_hand_computed_values():
    layer = Dense(2, kernel_initializer=initializers.Constant(0.5), bias_initializer=initializers.Constant(1.0))
    y = layer(np.array([[1.0, 2.0, 3.0]]))
    np.testing.assert_allclose(y.numpy(), [[4.0, 4.0]])


def test_dense_weights_order_names_and_no_bias():
    layer = Dense(3)
    layer.build((None, 4))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert [w.path for w in layer.weights] == ["dense/kernel", "dense/bias"]
    assert layer.count_params() == 15
    nobias = Dense(3, use_bias=False)
    nobias.build((None, 4))
    assert nobias.bias is None and len(nobias.weights) == 1
    np.testing.assert_allclose(nobias(np.ones((1, 4))).numpy(), np.ones((1, 4)) @ nobias.kernel.numpy(), atol=1e-6)


def test_dense_integer_input_is_cast_to_the_layer_dtype():
    y = Dense(2)(np.ones((2, 3), dtype="int32"))
    assert y.dtype == np.float32


def test_dense_passes_the_mask_through():
    x = Tensor(np.ones((2, 3, 4), "float32"))
    x._keras_mask = np.array([[True, True, False], [True, False, False]])
    y = Dense(2)(x)
    np.testing.assert_array_equal(y._keras_mask, x._keras_mask)


def test_dense_regularizers_constraints_and_activity_loss():
    layer = Dense(2, kernel_regularizer=regularizers.L2(0.1), bias_regularizer="l1",
                  activity_regularizer=regularizers.L1(0.5), kernel_constraint="non_neg",
                  bias_constraint=constraints.MaxNorm(2.0), kernel_initializer="ones", bias_initializer="ones")
    x = np.ones((4, 3), "float32")
    y = layer(x)
    losses = [float(l.numpy()) for l in layer.losses]
    # kernel: 0.1 * sum(1) over 6 entries; bias: l1 default 0.01 * 2; activity: 0.5 * sum|y| / batch
    np.testing.assert_allclose(losses, [0.6, 0.02, 0.5 * float(np.abs(y.numpy()).sum()) / 4], rtol=1e-6)
    assert layer.kernel.constraint is not None and layer.bias.constraint is not None
    assert layer.get_config()["kernel_constraint"]["class_name"] == "NonNeg"


def test_dense_config_has_tf_keras_keys_in_order():
    config = Dense(3, activation="relu", name="d", input_dim=4).get_config()
    assert list(config) == ["name", "trainable", "dtype", "batch_input_shape", "units", "activation", "use_bias",
                            "kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                            "activity_regularizer", "kernel_constraint", "bias_constraint"]
    assert config["batch_input_shape"] == [None, 4]
    assert config["activation"] == "relu"


@pytest.mark.parametrize("kwargs", [
    {"units": 3},
    {"units": 3, "activation": "softmax", "use_bias": False, "kernel_initializer": "he_normal",
     "bias_initializer": {"class_name": "Constant", "config": {"value": 0.5}}, "kernel_regularizer": "l2",
     "bias_regularizer": regularizers.L1L2(l1=0.25, l2=0.5), "activity_regularizer": "l1",
     "kernel_constraint": "max_norm", "bias_constraint": "unit_norm", "trainable": False,
     "batch_input_shape": (7, 5, 4), "dtype": "float64"},
])
def test_dense_config_round_trip(kwargs):
    revived = round_trip(Dense(**kwargs))
    assert revived.units == 3


@pytest.mark.parametrize("units", [0, -3, 2.5, None, "64", True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="positive integer"):
        Dense(units)


def test_dense_accepts_numpy_integer_units():
    assert Dense(np.int64(4)).get_config()["units"] == 4


def test_dense_rejects_unknown_kwargs_and_non_float_dtype():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Dense"):
        Dense(3, output_dims=4)
    with pytest.raises(TypeError, match="floating-point dtype"):
        Dense(3, dtype="int32")


def test_dense_accepts_keras3_no_op_keys_and_refuses_lora():
    assert Dense(3, quantization_config=None, lora_rank=None, lora_alpha=None).units == 3
    with pytest.raises(NotImplementedError, match="lora_rank"):
        Dense(3, lora_rank=4)


def test_dense_input_checks():
    layer = Dense(2)
    layer(np.ones((1, 4)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        layer(np.ones((1, 5)))
    with pytest.raises(ValueError, match="min_ndim=2"):
        Dense(2)(np.ones((4,)))


def test_a_weight_too_large_for_memory_is_a_value_error():
    layer = Dense(10**12)
    with pytest.raises(ValueError, match=r"Cannot allocate weight 'dense/kernel'.*shape=\(4, 1000000000000\)"):
        layer.build((None, 4))


def test_dense_after_flatten_of_unknown_length_explains_input_length():
    # tf_keras: "The last dimension of the inputs to a Dense layer should be defined. Found None."
    with pytest.raises(ValueError, match="should be defined. Found None.*input_length"):
        Dense(2).build(Flatten().compute_output_shape((None, None, 6)))
    with pytest.raises(ValueError, match="should be defined. Found None"):
        Dense(2).compute_output_shape((None, None))


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
def test_dense_gradients(shape, float64, rng):
    layer = Dense(3, activation="tanh")
    layer.build((None, 4))
    x, k, b = rng.standard_normal(shape), rng.standard_normal((4, 3)), rng.standard_normal(3)

    def dense(x, kernel, bias):
        set_attrs(layer, kernel=kernel, bias=bias)
        return layer(x)

    check_grads(dense, x, k, b)


def test_dense_weights_receive_gradients_through_the_layer(float64, rng):
    layer = Dense(2)
    out = layer(rng.standard_normal((5, 3)))
    out.sum().backward()
    np.testing.assert_allclose(layer.bias.grad, [5.0, 5.0])
    assert layer.kernel.grad.shape == (3, 2)


def test_dense_matches_keras2_on_3d_input():
    case = keras_case(2, "dense_3d")
    io = load_io(case)
    config = load_json(case / "layer_config.json")
    assert load_json(case / "meta.json")["layer_class"] == "Dense"
    layer = Dense.from_config(config)
    assert layer.get_config() == config  # same keys, same order, same values
    assert list(layer.get_config()) == list(config)
    layer.build((None, 5, 4))
    layer.set_weights([io["w_0"], io["w_1"]])
    np.testing.assert_allclose(layer(io["x"]).numpy(), io["y_pred"], atol=ATOL, rtol=0)


# ************************************************************ Activation


def test_activation_values_mask_and_config():
    x = Tensor(np.array([[-3.0, -1.0, 0.0, 2.0]], "float32"))
    x._keras_mask = np.array([True])
    y = Activation("relu")(x)
    np.testing.assert_array_equal(y.numpy(), [[0.0, 0.0, 0.0, 2.0]])
    np.testing.assert_array_equal(y._keras_mask, [True])
    config = Activation("tanh", name="act").get_config()
    assert config == {"name": "act", "trainable": True, "dtype": "float32", "activation": "tanh"}
    round_trip(Activation("softmax"))
    assert Activation("relu").compute_output_shape((None, 5, 3)) == (None, 5, 3)


def test_activation_linear_output_does_not_alias_the_input_mask():
    x = Tensor(np.ones((1, 2, 3), "float32"))
    x._keras_mask = np.array([[True, False]])
    y = Lambda(lambda t: t)(x)
    assert y is not x
    np.testing.assert_array_equal(x._keras_mask, [[True, False]])
    assert y._keras_mask is None


@pytest.mark.parametrize("activation", ["not_an_activation", 3])
def test_activation_rejects_unknown(activation):
    with pytest.raises(ValueError, match="Could not interpret activation function identifier"):
        Activation(activation)


def test_activation_gradient(float64, rng):
    check_grads(Activation("tanh"), rng.standard_normal((2, 3)))


# ************************************************************ Dropout


def test_dropout_is_the_identity_at_inference(rng):
    x = rng.standard_normal((4, 5)).astype("float32")
    layer = Dropout(0.5)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    np.testing.assert_array_equal(Dropout(0.0)(x, training=True).numpy(), x)


def test_dropout_training_is_inverted_dropout():
    x = np.ones((200, 50), "float32")
    y = Dropout(0.3, seed=1)(x, training=True).numpy()
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.7)}
    assert abs((y == 0).mean() - 0.3) < 0.02
    assert abs(y.mean() - 1.0) < 0.03
    assert y.dtype == np.float32


def test_dropout_seed_is_reproducible_and_unseeded_uses_backend_rng():
    x = np.ones((3, 8), "float32")
    a = Dropout(0.5, seed=7)(x, training=True).numpy()
    b = Dropout(0.5, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(a, b)
    backend.set_random_seed(3)
    c = Dropout(0.5)(x, training=True).numpy()
    backend.set_random_seed(3)
    d = Dropout(0.5)(x, training=True).numpy()
    np.testing.assert_array_equal(c, d)


def test_dropout_noise_shape_broadcasts_and_fills_none():
    x = np.ones((4, 6, 10), "float32")
    y = Dropout(0.5, noise_shape=(None, 1, 10), seed=0)(x, training=True).numpy()
    assert (y == y[:, :1, :]).all()  # same mask at every timestep
    assert not (y == y[:1]).all()  # None took the batch size: samples differ
    z = Dropout(0.5, noise_shape=[4, 6, 1], seed=0)(x, training=True).numpy()
    assert (z == z[:, :, :1]).all()


@pytest.mark.parametrize("noise_shape, match", [((None, 1), "one entry per input axis"),
                                                ((4, 2, 10), "must broadcast")])
def test_dropout_bad_noise_shape_at_call(noise_shape, match):
    with pytest.raises(ValueError, match=match):
        Dropout(0.5, noise_shape=noise_shape)(np.ones((4, 6, 10)), training=True)


@pytest.mark.parametrize("rate", [1, 1.0, 1.5, -0.1])
def test_dropout_rejects_rates_outside_0_1(rate):
    with pytest.raises(ValueError, match="expected a value between 0 and 1"):
        Dropout(rate)


@pytest.mark.parametrize("rate", ["0.5", None, True])
def test_dropout_rejects_non_numeric_rates(rate):
    with pytest.raises(TypeError, match="expected a float between 0 and 1"):
        Dropout(rate)


@pytest.mark.parametrize("kwargs", [{"noise_shape": "abc"}, {"noise_shape": 3}, {"noise_shape": (None, 0)},
                                    {"noise_shape": (2.5,)}, {"seed": -1}, {"seed": 1.5}])
def test_dropout_rejects_bad_noise_shape_and_seed(kwargs):
    with pytest.raises((TypeError, ValueError), match="noise_shape|seed"):
        Dropout(0.5, **kwargs)


def test_dropout_config():
    config = Dropout(0.3, noise_shape=(None, 1, 4), seed=3, name="drop").get_config()
    assert json.loads(json.dumps(config)) == {"name": "drop", "trainable": True, "dtype": "float32", "rate": 0.3,
                                              "noise_shape": [None, 1, 4], "seed": 3}
    round_trip(Dropout(0.3, noise_shape=(None, 1, 4), seed=3))
    round_trip(Dropout(0.5))


def test_dropout_passes_the_mask_through():
    x = Tensor(np.ones((2, 3, 4), "float32"))
    x._keras_mask = np.array([[True, True, False], [True, False, False]])
    for training in (False, True):
        y = Dropout(0.5)(x, training=training)
        np.testing.assert_array_equal(y._keras_mask, x._keras_mask)
    np.testing.assert_array_equal(x._keras_mask, [[True, True, False], [True, False, False]])


def test_dropout_gradient_with_a_fixed_mask(float64, rng):
    layer = Dropout(0.4, seed=0)

    def dropout(x):
        layer._generator = np.random.default_rng(5)  # the same mask on every evaluation
        return layer(x, training=True)

    x = rng.standard_normal((3, 6))
    y = dropout(Tensor(x)).numpy()
    assert (y == 0).any() and (y != 0).any()
    check_grads(dropout, x)


# ************************************************************ Flatten


@pytest.mark.parametrize("shape, out", [((2, 5, 6), (2, 30)), ((2, 3, 4, 5), (2, 60)), ((2, 7), (2, 7)),
                                        ((3,), (3, 1)), ((0, 5, 6), (0, 30))])
def test_flatten_shapes(shape, out):
    x = np.arange(int(np.prod(shape)), dtype="float32").reshape(shape)
    y = Flatten()(x)
    assert y.shape == out
    np.testing.assert_array_equal(y.numpy().ravel(), x.ravel())


def test_flatten_compute_output_shape():
    assert Flatten().compute_output_shape((None, 5, 6)) == (None, 30)
    assert Flatten().compute_output_shape((None, None, 6)) == (None, None)
    assert Flatten().compute_output_shape((None,)) == (None, 1)  # np.prod of no axes, as tf_keras


def test_flatten_channels_first_moves_channels_last_first():
    x = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)
    y = Flatten(data_format="channels_first")(x)
    np.testing.assert_array_equal(y.numpy(), np.transpose(x, (0, 2, 3, 1)).reshape(1, -1))


def test_flatten_config_and_errors():
    assert Flatten(name="f").get_config() == {"name": "f", "trainable": True, "dtype": "float32",
                                              "data_format": "channels_last"}
    assert Flatten(data_format="Channels_First").data_format == "channels_first"
    round_trip(Flatten(data_format="channels_first"))
    with pytest.raises(ValueError, match='must be one of "channels_first", "channels_last"'):
        Flatten(data_format="nhwc")


def test_flatten_drops_the_mask():
    x = Tensor(np.ones((2, 3, 4), "float32"))
    x._keras_mask = np.ones((2, 3), bool)
    assert Flatten()(x)._keras_mask is None


def test_flatten_gradient(float64, rng):
    check_grads(Flatten(), rng.standard_normal((2, 3, 4)))
    check_grads(Flatten(data_format="channels_first"), rng.standard_normal((2, 3, 4)))


# ************************************************************ Masking


def test_masking_mask_and_zeroed_output():
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]],
                  [[0.0, 0.0], [0.0, 0.0], [0.0, 5.0]]], "float32")
    y = Masking(0.0)(x)
    np.testing.assert_array_equal(y._keras_mask, [[True, False, True], [False, False, True]])
    np.testing.assert_array_equal(y.numpy(), x)


def test_masking_zeroes_masked_steps_for_a_nonzero_mask_value():
    # tf_keras 2.21: Masking(0.5) on [[.5, .5], [.5, 1], [0, 0]] -> [[0, 0], [.5, 1], [0, 0]], mask [F, T, T]
    x = np.array([[[0.5, 0.5], [0.5, 1.0], [0.0, 0.0]]], "float32")
    y = Masking(mask_value=0.5)(x)
    np.testing.assert_array_equal(y.numpy(), [[[0.0, 0.0], [0.5, 1.0], [0.0, 0.0]]])
    np.testing.assert_array_equal(y._keras_mask, [[False, True, True]])


def test_masking_ignores_an_incoming_mask():
    x = Tensor(np.ones((1, 3, 2), "float32"))
    x._keras_mask = np.array([[False, False, False]])
    np.testing.assert_array_equal(Masking()(x)._keras_mask, [[True, True, True]])


@pytest.mark.parametrize("era", [2, 3])
def test_masking_mask_matches_keras(era):
    io = load_io(keras_case(era, "lstm_masking"))
    y = Masking(0.0)(io["x"])
    np.testing.assert_array_equal(y._keras_mask, io["mask"])


def test_masking_config():
    assert Masking(0.5, name="m").get_config() == {"name": "m", "trainable": True, "dtype": "float32",
                                                   "mask_value": 0.5}
    round_trip(Masking(-1.0))
    assert Masking().compute_output_shape((None, 5, 3)) == (None, 5, 3)


def test_masking_gradient(float64, rng):
    pad = np.ones((2, 4, 3))
    pad[0, 1] = 0.0
    pad[1, 3] = 0.0
    layer = Masking(0.0)

    # NOTE: the padded steps stay exactly 0 under the numerical perturbation, so the mask is constant
    def masking(x):
        return layer(x * pad)

    check_grads(masking, rng.standard_normal((2, 4, 3)))
    x = Tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    layer(x * pad).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 1], 0.0)


# ************************************************************ RepeatVector


def test_repeat_vector_values_and_shape():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    y = RepeatVector(3)(x)
    assert y.shape == (2, 3, 2)
    np.testing.assert_array_equal(y.numpy(), np.repeat(x[:, None, :], 3, axis=1))
    assert RepeatVector(3).compute_output_shape((None, 32)) == (None, 3, 32)


def test_repeat_vector_config_and_errors():
    assert RepeatVector(3, name="r").get_config() == {"name": "r", "trainable": True, "dtype": "float32", "n": 3}
    round_trip(RepeatVector(2))
    with pytest.raises(TypeError, match="Expected an integer value for `n`"):
        RepeatVector(2.0)
    with pytest.raises(ValueError, match="non-negative integer"):
        RepeatVector(-1)
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        RepeatVector(2)(np.zeros((2, 3, 4)))


def test_repeat_vector_gradient(float64, rng):
    check_grads(RepeatVector(3), rng.standard_normal((2, 4)))


# ************************************************************ Reshape


@pytest.mark.parametrize("target, shape, out", [((3, 4), (2, 12), (2, 3, 4)), ((-1, 2, 2), (2, 12), (2, 3, 2, 2)),
                                                ((10, 2), (3, 5, 4), (3, 10, 2)), ((-1,), (2, 3, 4), (2, 12))])
def test_reshape_shapes(target, shape, out):
    x = np.arange(int(np.prod(shape)), dtype="float32").reshape(shape)
    y = Reshape(target)(x)
    assert y.shape == out
    np.testing.assert_array_equal(y.numpy(), x.reshape(out))
    assert Reshape(target).compute_output_shape((None,) + shape[1:]) == (None,) + out[1:]


def test_reshape_compute_output_shape_with_unknown_input_dims():
    assert Reshape((-1, 2)).compute_output_shape((None, None, 4)) == (None, None, 2)


@pytest.mark.parametrize("target, match", [((3, -1, -1), "at most one unknown dimension"),
                                           ((0, 2), "positive integers"), ((2, -2), "positive integers"),
                                           ((2.5,), "positive integers")])
def test_reshape_rejects_bad_target_shapes(target, match):
    with pytest.raises(ValueError, match=match):
        Reshape(target)


@pytest.mark.parametrize("target", [(4,), (-1, 4)])
def test_reshape_size_mismatch_uses_keras_message(target):
    with pytest.raises(ValueError, match="total size of new array must be unchanged, input_shape = \\[6\\]"):
        Reshape(target).compute_output_shape((None, 6))
    with pytest.raises(ValueError, match="total size of new array must be unchanged"):
        Reshape(target)(np.zeros((2, 6)))


def test_reshape_target_shape_type():
    with pytest.raises(TypeError, match="expected a tuple of integers"):
        Reshape(12)


def test_reshape_config():
    config = Reshape([10, 2], name="r").get_config()
    assert json.loads(json.dumps(config)) == {"name": "r", "trainable": True, "dtype": "float32",
                                              "target_shape": [10, 2]}
    round_trip(Reshape((-1, 3)))


def test_reshape_gradient(float64, rng):
    check_grads(Reshape((-1, 2)), rng.standard_normal((2, 3, 4)))


# ************************************************************ Permute


def test_permute_values_and_shapes(rng):
    x = rng.standard_normal((2, 3, 4, 5)).astype("float32")
    y = Permute((3, 1, 2))(x)
    np.testing.assert_array_equal(y.numpy(), np.transpose(x, (0, 3, 1, 2)))
    assert Permute((2, 1)).compute_output_shape((None, 10, 64)) == (None, 64, 10)


@pytest.mark.parametrize("dims", [(1, 1), (0, 1), (2, 3), (1, 3)])
def test_permute_rejects_bad_dims(dims):
    with pytest.raises(ValueError, match="must be consecutive and start from 1"):
        Permute(dims)


@pytest.mark.parametrize("dims", ["21", 2, (1.0, 2.0)])
def test_permute_rejects_non_integer_dims(dims):
    with pytest.raises(TypeError, match="expected a tuple of integers"):
        Permute(dims)


def test_permute_rank_check_and_config():
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        Permute((2, 1))(np.zeros((2, 3)))
    config = Permute([2, 1], name="p").get_config()
    assert json.loads(json.dumps(config)) == {"name": "p", "trainable": True, "dtype": "float32", "dims": [2, 1]}
    round_trip(Permute((2, 1)))


def test_permute_gradient(float64, rng):
    check_grads(Permute((3, 1, 2)), rng.standard_normal((2, 3, 4, 2)))


# ************************************************************ Lambda


def test_lambda_runs_with_arguments_mask_and_training():
    layer = Lambda(lambda x, factor: x * factor, arguments={"factor": 3.0})
    np.testing.assert_array_equal(layer(np.ones((1, 2))).numpy(), [[3.0, 3.0]])
    seen = {}

    def fn(x, mask=None, training=None):
        seen.update(mask=mask, training=training)
        return x

    x = Tensor(np.ones((1, 2, 3), "float32"))
    x._keras_mask = np.array([[True, False]])
    Lambda(fn)(x, training=True)
    np.testing.assert_array_equal(seen["mask"], [[True, False]])
    assert seen["training"] is True


def test_lambda_masks_and_output_shape():
    x = Tensor(np.ones((1, 2, 3), "float32"))
    x._keras_mask = np.array([[True, False]])
    assert Lambda(lambda t: t * 2)(x)._keras_mask is None  # no `mask` given: the mask stops, as Keras
    y = Lambda(lambda t: t * 2, mask=lambda inputs, mask: mask)(x)
    np.testing.assert_array_equal(y._keras_mask, [[True, False]])
    assert Lambda(lambda t: t[:, 0], output_shape=(3,)).compute_output_shape((None, 2, 3)) == (None, 3)
    assert Lambda(lambda t: t, output_shape=lambda s: s[:2]).compute_output_shape((None, 2, 3)) == (None, 2)
    assert Lambda(lambda t: t.sum(axis=1)).compute_output_shape((None, 2, 3)) == (None, 3)


def test_lambda_is_never_serialized_or_deserialized():
    layer = Lambda(lambda x: x, name="lam")
    with pytest.raises(NotImplementedError, match="Lambda.*cannot be serialized.*'lam'"):
        layer.get_config()
    with pytest.raises(NotImplementedError, match="cannot be loaded from a file"):
        Lambda.from_config({"name": "lam", "function": ["4wEAAAAA", None, None], "function_type": "lambda"})
    with pytest.raises(NotImplementedError, match="cannot be loaded from a file"):
        layers.deserialize({"class_name": "Lambda", "config": {"name": "lam", "function": "x"}})


def test_lambda_rejects_non_callables():
    with pytest.raises(TypeError, match="callable"):
        Lambda("lambda x: x")


def test_lambda_gradient(float64, rng):
    check_grads(Lambda(lambda x: x * x), rng.standard_normal((2, 3)))


# ************************************************************ ActivityRegularization


def test_activity_regularization_loss_divided_by_batch():
    x = np.array([[1.0, -2.0], [3.0, 0.5]], "float32")
    layer = ActivityRegularization(l1=0.1, l2=0.2)
    y = layer(x)
    np.testing.assert_array_equal(y.numpy(), x)
    expected = (0.1 * np.abs(x).sum() + 0.2 * np.square(x).sum()) / 2
    np.testing.assert_allclose(float(layer.losses[0].numpy()), expected, rtol=1e-6)


def test_activity_regularization_config_and_errors():
    assert ActivityRegularization(l1=0.1, name="a").get_config() == {"name": "a", "trainable": True,
                                                                     "dtype": "float32", "l1": 0.1, "l2": 0.0}
    round_trip(ActivityRegularization(0.5, 0.25))
    for bad in (-0.1, "0.1", None):
        with pytest.raises(ValueError, match="non-negative float"):
            ActivityRegularization(l1=bad)


def test_activity_regularization_gradient_flows_into_the_input(float64):
    x = Tensor(np.array([[1.0, -2.0]]), requires_grad=True)
    layer = ActivityRegularization(l1=0.5)
    layer(x)
    layer.losses[0].backward()
    np.testing.assert_allclose(x.grad, [[0.5, -0.5]])


# ************************************************************ common behaviour


@pytest.mark.parametrize("make", [lambda: Dense(3), lambda: Activation("relu"), lambda: Dropout(0.5),
                                  lambda: Flatten(), lambda: Masking(), lambda: RepeatVector(2),
                                  lambda: Reshape((2, 2)), lambda: Permute((1,)),
                                  lambda: ActivityRegularization()])
def test_unknown_kwargs_are_rejected(make):
    layer = make()
    with pytest.raises(TypeError, match=f"Unrecognized keyword arguments passed to {type(layer).__name__}"):
        type(layer).from_config({**layer.get_config(), "bogus": 1})


@pytest.mark.parametrize("layer, shape", [(Dense(3), (None, 5, 4)), (Activation("relu"), (None, 5, 4)),
                                          (Dropout(0.5), (None, 5, 4)), (Flatten(), (None, 5, 4)),
                                          (Masking(), (None, 5, 4)), (RepeatVector(2), (None, 4)),
                                          (Reshape((-1, 2)), (None, 5, 4)), (Permute((2, 1)), (None, 5, 4)),
                                          (ActivityRegularization(), (None, 5, 4))])
def test_compute_output_shape_matches_call(layer, shape):
    x = np.ones((2,) + shape[1:], "float32")
    with no_grad():
        y = layer(x)
    assert layer.compute_output_shape(shape) == (None,) + y.shape[1:]
