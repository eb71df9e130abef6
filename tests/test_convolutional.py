"""Conv1D: shapes for every padding/stride/dilation/groups/data_format, numbers against a direct per-position sum,
Keras's errors, config round trip, gradient checks of the whole layer and SpatialDropout1D."""
from __future__ import annotations

import json

import numpy as np
import pytest

from minikeras import Sequential, layers
from minikeras.autograd import check_grads
from minikeras.layers import Conv1D, Convolution1D, SpatialDropout1D


def reference_conv1d(x, kernel, bias, stride, dilation, pad, groups):
    """The definition, one output position at a time (the test oracle, deliberately loop-based)."""
    xp = np.pad(x, ((0, 0), pad, (0, 0)))
    size, cg, filters = kernel.shape
    fg = filters // groups
    length = (xp.shape[1] - dilation * (size - 1) - 1) // stride + 1
    out = np.zeros((x.shape[0], length, filters))
    for t in range(length):
        for f in range(filters):
            g = f // fg
            for k in range(size):
                out[:, t, f] += xp[:, t * stride + k * dilation, g * cg:(g + 1) * cg] @ kernel[k, :, f]
    return out + (0 if bias is None else bias)


CASES = [  # kwargs, input steps, expected (left, right) padding
    (dict(padding="valid"), 9, (0, 0)),
    (dict(padding="same"), 9, (1, 1)),
    (dict(padding="same", strides=2), 9, (1, 1)),
    (dict(padding="same", strides=2), 8, (0, 1)),
    (dict(padding="SAME", kernel_size=4), 7, (1, 2)),
    (dict(padding="causal", dilation_rate=2), 9, (4, 0)),
    (dict(padding="causal", strides=3), 10, (2, 0)),
    (dict(padding="valid", dilation_rate=3), 9, (0, 0)),
    (dict(padding="valid", strides=3, groups=2), 11, (0, 0)),
]


@pytest.mark.parametrize("kwargs, steps, pad", CASES)
def test_conv1d_matches_the_definition(kwargs, steps, pad, rng):
    kwargs = {"kernel_size": 3, **kwargs}
    layer = Conv1D(4, dtype="float64", **kwargs)
    x = rng.standard_normal((2, steps, 4))
    y = layer(x).numpy()
    kernel, bias = layer.get_weights()
    layer.set_weights([rng.standard_normal(kernel.shape), rng.standard_normal(bias.shape)])
    kernel, bias = layer.get_weights()
    y = layer(x).numpy()
    want = reference_conv1d(x, kernel, bias, layer.strides[0], layer.dilation_rate[0], pad, layer.groups)
    np.testing.assert_allclose(y, want, atol=1e-12)
    assert layer.compute_output_shape((None, steps, 4)) == (None,) + y.shape[1:]


def test_causal_output_never_sees_the_future(rng):
    layer = Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = rng.standard_normal((1, 10, 3)).astype("float32")
    y = layer(x).numpy()
    x2 = x.copy()
    x2[:, 6:] += 5.0
    y2 = layer(x2).numpy()
    np.testing.assert_array_equal(y[:, :6], y2[:, :6])
    assert not np.allclose(y[:, 6:], y2[:, 6:])


def test_channels_first_is_the_transposed_channels_last(rng):
    last = Conv1D(6, 3, padding="same", groups=2, activation="tanh")
    first = Conv1D(6, 3, padding="same", groups=2, activation="tanh", data_format="channels_first")
    x = rng.standard_normal((2, 7, 4)).astype("float32")
    y = last(x).numpy()
    first.build((None, 4, 7))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(x.transpose(0, 2, 1)).numpy(), y.transpose(0, 2, 1), atol=1e-6)
    assert first.compute_output_shape((None, 4, 7)) == (None, 6, 7)


def test_weights_shapes_order_and_extra_batch_axes(rng):
    layer = Conv1D(8, 5, groups=2, use_bias=False)
    y = layer(rng.standard_normal((3, 2, 9, 4)).astype("float32"))
    assert y.shape == (3, 2, 5, 8)
    assert [w.shape for w in layer.weights] == [(5, 2, 8)]
    layer = Conv1D(8, 5)
    layer(np.zeros((1, 5, 3), "float32"))
    assert [w.path for w in layer.weights] == ["conv1d_1/kernel", "conv1d_1/bias"]


def test_get_config_is_tf_keras_and_round_trips():
    layer = Conv1D(4, 3, strides=2, padding="same", activation="relu", kernel_regularizer="l2")
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding",
                            "data_format", "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer",
                            "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                            "kernel_constraint", "bias_constraint"]
    dumped = json.loads(json.dumps(config))
    assert dumped["kernel_size"] == [3] and dumped["strides"] == [2]
    revived = Conv1D.from_config(dumped)
    assert json.dumps(revived.get_config()) == json.dumps(dumped)
    assert layers.deserialize({"class_name": "Conv1D", "config": dumped}).filters == 4
    assert Convolution1D is Conv1D


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(filters=0, kernel_size=3), ValueError, "Expected a strictly positive value. Received filters=0"),
    (dict(filters=4, kernel_size=0), ValueError, "`kernel_size` argument must be a tuple of 1 integers"),
    (dict(filters=4, kernel_size=(3, 3)), ValueError, "Received: \\(3, 3\\)"),
    (dict(filters=4, kernel_size=3, padding="full"), ValueError, "`padding` argument must be one of"),
    (dict(filters=4, kernel_size=3, data_format="NCW"), ValueError, "`data_format` argument must be one of"),
    (dict(filters=4, kernel_size=3, strides=2, dilation_rate=2), ValueError, "`strides > 1` not supported"),
    (dict(filters=5, kernel_size=3, groups=2), ValueError, "evenly divisible by the number of groups"),
    (dict(filters=4, kernel_size=3, dtype="int32"), TypeError, "floating-point dtype"),
    (dict(filters=4, kernel_size=3, nonsense=1), TypeError, "Unrecognized keyword arguments passed to Conv1D"),
])
def test_bad_arguments_raise_keras_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        Conv1D(**kwargs)


def test_bad_inputs_raise_keras_errors():
    with pytest.raises(ValueError, match="expected min_ndim=3, found ndim=2"):
        Conv1D(2, 3)(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match="evenly divisible by the number of groups"):
        Conv1D(4, 3, groups=2)(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="One of the dimensions in the output is <= 0"):
        Conv1D(4, 6)(np.zeros((2, 5, 3), "float32"))
    layer = Conv1D(4, 2)
    layer(np.zeros((1, 5, 3), "float32"))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.zeros((1, 5, 2), "float32"))


@pytest.mark.parametrize("kwargs", [dict(padding="same", strides=2), dict(padding="causal", dilation_rate=2),
                                    dict(groups=2, data_format="channels_first", activation="tanh")])
def test_layer_gradients_wrt_input_kernel_bias(kwargs, float64, rng):
    layer = Conv1D(4, 3, **kwargs)
    x = rng.standard_normal((2, 4, 7) if kwargs.get("data_format") else (2, 7, 4))
    layer(x)
    kernel, bias = layer.get_weights()

    def fn(x, k, b):
        layer.kernel, layer.bias = k, b
        return layer.call(x)

    check_grads(fn, x, rng.standard_normal(kernel.shape), rng.standard_normal(bias.shape))


def test_spatial_dropout_drops_whole_channels_and_round_trips():
    layer = SpatialDropout1D(0.5, seed=3)
    x = np.ones((4, 6, 8), "float32")
    y = layer(x, training=True).numpy()
    assert np.all(y == y[:, :1, :]) and set(np.unique(y)) == {0.0, 2.0}
    np.testing.assert_array_equal(layer(x).numpy(), x)
    config = layer.get_config()
    assert {k: config[k] for k in ("rate", "noise_shape", "seed")} == {"rate": 0.5, "noise_shape": None, "seed": 3}
    assert SpatialDropout1D.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="expected ndim=3"):
        SpatialDropout1D(0.1)(np.ones((2, 3), "float32"))


def test_masks_as_tf_keras():
    # tf_keras 2.21, checked by hand: after Embedding(mask_zero=True), Conv1D drops the mask, SpatialDropout1D keeps it
    h = layers.Embedding(10, 3, mask_zero=True)(np.array([[1, 2, 0, 0, 3, 4]]))
    assert getattr(layers.Conv1D(2, 2, padding="same")(h), "_keras_mask", None) is None
    assert SpatialDropout1D(0.5)(h)._keras_mask.tolist() == [[True, True, False, False, True, True]]


def test_batch_of_zero_samples():
    from minikeras.autograd import Tensor

    x = Tensor(np.zeros((0, 6, 4), "float32"), requires_grad=True)
    y = Conv1D(2, 3, padding="causal")(x)
    y.sum().backward()
    assert y.shape == (0, 6, 2) and x.grad.shape == (0, 6, 4)


def test_conv1d_trains_in_a_sequential_model(rng):
    model = Sequential([layers.Embedding(30, 8, input_length=12), layers.Conv1D(6, 3, activation="relu"),
                        layers.GlobalMaxPooling1D(), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    x = rng.integers(1, 30, (16, 12))
    y = (x[:, :3].sum(1) > 45).astype("float32")
    first = model.train_on_batch(x, y)
    for _ in range(30):
        last = model.train_on_batch(x, y)
    assert last < first


# ************************************************************ parity with real Keras 2 (tf_keras 2.21 fixtures)

from helpers import keras_case, load_io, load_json  # noqa: E402
from minikeras import optimizers  # noqa: E402
from minikeras.models import load_model, model_from_json  # noqa: E402

CONV_LAYERS = keras_case(2, "conv_layers")
VARIANTS = load_json(CONV_LAYERS / "meta.json")["variants"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_layer_outputs_match_tf_keras(variant):
    entry = load_json(CONV_LAYERS / "layer_configs.json")[variant]
    data = load_io(CONV_LAYERS)
    layer = layers.deserialize(entry)
    assert json.loads(json.dumps(layer.get_config())) == entry["config"]  # tf_keras's keys, values and order
    x = data[f"x_{variant}"]
    layer.build((None,) + x.shape[1:])
    n = len([k for k in data if k.startswith(f"w_{variant}_")])
    layer.set_weights([data[f"w_{variant}_{i}"] for i in range(n)])
    y = layer(x, mask=data.get(f"mask_{variant}"))
    np.testing.assert_allclose(y.numpy(), data[f"y_{variant}"], atol=2e-5, rtol=0)


@pytest.mark.filterwarnings("ignore:Optimizer state")  # the fixture was saved compiled, never trained
def test_imdb_cnn_lstm_files_from_tf_keras_load_and_predict(tmp_path):
    case = keras_case(2, "conv_imdb_cnn_lstm")
    data = load_io(case)
    model = load_model(case / "model.h5")
    assert [type(l).__name__ for l in model.layers] == ["Embedding", "Dropout", "Conv1D", "MaxPooling1D", "LSTM",
                                                        "Dense"]
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y_pred"], atol=2e-5)
    rebuilt = model_from_json((case / "config.json").read_text())
    rebuilt.load_weights(case / "weights.h5")
    np.testing.assert_allclose(rebuilt.predict(data["x"], verbose=0), data["y_pred"], atol=2e-5)
    for name in ("again.h5", "again.keras"):  # and back out through both Keras formats
        model.save(tmp_path / name)
        np.testing.assert_allclose(load_model(tmp_path / name).predict(data["x"], verbose=0), data["y_pred"],
                                   atol=2e-5)


@pytest.mark.parametrize("case_name", ["conv_train_cnn_lstm", "conv_train_fasttext_masked"])
def test_training_steps_match_tf_keras(case_name):
    case = keras_case(2, case_name)
    meta, data = load_json(case / "meta.json"), load_io(case)
    model = model_from_json((case / "config.json").read_text())
    n = len([k for k in data if k.startswith("w_before_")])
    model.set_weights([data[f"w_before_{i}"] for i in range(n)])
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y_pred"], atol=2e-5)
    opt = meta["optimizer"]
    model.compile(optimizers.deserialize({"class_name": opt["name"], "config": opt}), "binary_crossentropy")
    for k in range(meta["steps"]):
        loss = model.train_on_batch(data["x"], data["y"])
        np.testing.assert_allclose(loss, data[f"loss_{k}"], rtol=1e-5, atol=1e-6)
        if k == 0:
            for i, w in enumerate(model.get_weights()):
                np.testing.assert_allclose(w, data[f"w_step1_{i}"], atol=1e-5, rtol=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, data[f"w_after_{i}"], atol=1e-5, rtol=0)
    trained = load_model(case / "model.h5")
    np.testing.assert_allclose(trained.predict(data["x"], verbose=0), data["y_pred_after"], atol=2e-5)
