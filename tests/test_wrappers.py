"""Bidirectional and TimeDistributed against outputs real Keras (tf_keras 2.21, Keras 3.15.1) computed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras import layers, models
from minikeras.autograd import check_grads
from minikeras.saving.serialization import normalize_layer_entry

ATOL = 2e-5


def layer_from_case(case, era):
    cfg = load_json(case / "layer_config.json")
    entry = normalize_layer_entry({"class_name": "Bidirectional", "config": cfg})
    if era == 3:
        from minikeras import activations

        with activations.keras_era(3):
            return layers.deserialize(entry)
    return layers.deserialize(entry)


def outputs(io):
    if "y_pred" in io:
        return [io["y_pred"]]
    return [io[f"y_pred_{i}"] for i in range(sum(k.startswith("y_pred_") for k in io))]


@pytest.mark.parametrize("era, name", [(2, "bidirectional_concat"), (2, "bidirectional_sum"),
                                       (2, "bidirectional_mul"), (2, "bidirectional_ave"),
                                       (2, "bidirectional_none"), (2, "bidirectional_return_state"),
                                       (2, "bidirectional_masked"),
                                       (3, "bidirectional_concat"), (3, "bidirectional_sum"),
                                       (3, "bidirectional_mul"), (3, "bidirectional_ave"),
                                       (3, "bidirectional_None"), (3, "bidirectional_masked")])
def test_bidirectional_matches_keras(era, name):
    case = keras_case(era, name)
    io = load_io(case)
    layer = layer_from_case(case, era)
    x = io["x"]
    mask = io.get("mask")
    if mask is None and "masked" in name:
        mask = np.any(x != 0, axis=-1)
    layer(x[:1], mask=None if mask is None else mask[:1])  # build
    layer.set_weights([io[f"w_{i}"] for i in range(6)])
    y = layer(x, mask=mask)
    ys = y if isinstance(y, list) else [y]
    expected = outputs(io)
    assert len(ys) == len(expected)
    for got, want in zip(ys, expected):
        np.testing.assert_allclose(got.numpy(), want, atol=ATOL, rtol=0)


def test_time_distributed_in_a_keras2_model():
    case = keras_case(2, "time_distributed_dense")
    model = models.model_from_json((case / "config.json").read_text())
    model.load_weights(case / "weights.h5")
    io = load_io(case)
    np.testing.assert_allclose(model.predict(io["x"]), io["y_pred"], atol=ATOL, rtol=0)


def test_time_distributed_keras3_layer():
    case = keras_case(3, "time_distributed_dense")
    io = load_io(case)
    cfg = load_json(case / "layer_config.json")
    layer = layers.deserialize(normalize_layer_entry({"class_name": "TimeDistributed", "config": cfg}))
    layer(io["x"][:1])
    layer.set_weights([io["w_0"], io["w_1"]])
    np.testing.assert_allclose(layer(io["x"]).numpy(), io["y_pred"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_gradients(float64, merge_mode):
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True, recurrent_activation="sigmoid"),
                                 merge_mode=merge_mode)
    x = np.random.default_rng(0).standard_normal((2, 4, 3))
    check_grads(lambda x: layer(x), x)
    assert len(layer.get_weights()) == 6


def test_time_distributed_gradients(float64):
    layer = layers.TimeDistributed(layers.Dense(2))
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    check_grads(lambda x: layer(x), x)


def test_bad_wrapper_input():
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(ValueError, match="Invalid merge mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layers.TimeDistributed(layers.Dense(3))(np.ones((2, 4)))
    with pytest.raises(ValueError, match="initial_state"):
        layers.Bidirectional(layers.LSTM(3))(np.ones((2, 4, 3)), initial_state=[np.zeros((2, 3))] * 3)


def test_bidirectional_config_round_trip():
    layer = layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="sum")
    revived = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    assert revived.get_config() == layer.get_config()
    assert revived.forward_layer.name.startswith("forward_") and revived.backward_layer.go_backwards
