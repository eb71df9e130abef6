"""PyTorch <-> Keras weight conversions: layouts and exact inverses (torch itself is not needed)."""
from __future__ import annotations

import numpy as np
import pytest

from minikeras.saving import convert


def torch_lstm_sd(rng, inp, hid, layers=1, bidirectional=False, bias=True):
    sd = {}
    for k in range(layers):
        for suffix in ("", "_reverse") if bidirectional else ("",):
            in_size = inp if k == 0 else hid * (2 if bidirectional else 1)
            sd[f"weight_ih_l{k}{suffix}"] = rng.standard_normal((4 * hid, in_size))
            sd[f"weight_hh_l{k}{suffix}"] = rng.standard_normal((4 * hid, hid))
            if bias:
                sd[f"bias_ih_l{k}{suffix}"] = rng.standard_normal(4 * hid)
                sd[f"bias_hh_l{k}{suffix}"] = rng.standard_normal(4 * hid)
    return sd


@pytest.mark.parametrize("layers, bidirectional, bias", [(1, False, True), (2, True, True), (1, False, False)])
def test_lstm_layout_and_round_trip(rng, layers, bidirectional, bias):
    sd = torch_lstm_sd(rng, 3, 5, layers, bidirectional, bias)
    keras_w = convert.torch_lstm_to_keras(sd, num_layers=layers, bidirectional=bidirectional)
    assert len(keras_w) == layers * (2 if bidirectional else 1)
    assert keras_w[0][0].shape == (3, 20) and keras_w[0][1].shape == (5, 20)
    if bias:
        np.testing.assert_allclose(keras_w[0][2], sd["bias_ih_l0"] + sd["bias_hh_l0"])
    back = convert.keras_lstm_to_torch(keras_w, bidirectional=bidirectional)
    for name, value in back.items():
        if name.startswith("weight"):
            np.testing.assert_array_equal(value, sd[name])
    if bias:
        np.testing.assert_allclose(back["bias_ih_l0"] + back["bias_hh_l0"], sd["bias_ih_l0"] + sd["bias_hh_l0"])


def test_gru_gate_reorder_r_z_n_to_z_r_h(rng):
    h = 2
    w_ih = np.concatenate([np.full((h, 3), 1.0), np.full((h, 3), 2.0), np.full((h, 3), 3.0)])  # r, z, n
    sd = {"weight_ih_l0": w_ih, "weight_hh_l0": np.zeros((3 * h, h)), "bias_ih_l0": np.arange(6.0),
          "bias_hh_l0": np.arange(6.0) + 10}
    kernel, _, bias = convert.torch_gru_to_keras(sd)[0]
    np.testing.assert_array_equal(kernel[0], [2, 2, 1, 1, 3, 3])      # z, r, h blocks
    np.testing.assert_array_equal(bias, [[2, 3, 0, 1, 4, 5], [12, 13, 10, 11, 14, 15]])
    back = convert.keras_gru_to_torch([[kernel, np.zeros((h, 3 * h)), bias]])
    np.testing.assert_array_equal(back["weight_ih_l0"], w_ih)
    np.testing.assert_array_equal(back["bias_hh_l0"], sd["bias_hh_l0"])


def test_gru_without_reset_after_bias_is_rejected():
    with pytest.raises(ValueError, match="reset_after=True"):
        convert.keras_gru_to_torch([[np.zeros((3, 6)), np.zeros((2, 6)), np.zeros(6)]])


def test_linear(rng):
    sd = {"weight": rng.standard_normal((4, 3)), "bias": rng.standard_normal(4)}
    kernel, bias = convert.torch_linear_to_keras(sd)
    assert kernel.shape == (3, 4)
    back = convert.keras_dense_to_torch([kernel, bias])
    np.testing.assert_array_equal(back["weight"], sd["weight"])


def test_projection_is_refused(rng):
    sd = torch_lstm_sd(rng, 3, 5)
    sd["weight_hr_l0"] = np.zeros((2, 5))
    with pytest.raises(NotImplementedError, match="proj_size"):
        convert.torch_lstm_to_keras(sd)


# ------------------------------------------------------------------ against outputs real PyTorch computed

def _torch_case(name):
    from helpers import FIXTURES

    with np.load(FIXTURES / "pytorch" / f"{name}.npz") as d:
        return {k: d[k] for k in d.files}


def test_torch_lstm_outputs_match():
    from minikeras import layers

    case = _torch_case("lstm")
    layer = layers.LSTM(4, return_sequences=True, recurrent_activation="sigmoid")
    layer(case["x"][:1])
    layer.set_weights(convert.torch_lstm_to_keras(case)[0])
    np.testing.assert_allclose(layer(case["x"]).numpy(), case["y"], atol=2e-5, rtol=0)


def test_torch_two_layer_bidirectional_lstm_outputs_match():
    from minikeras import layers
    from minikeras.models import Sequential

    case = _torch_case("lstm_2layer_bidir")
    w = convert.torch_lstm_to_keras(case, num_layers=2, bidirectional=True)
    model = Sequential([layers.Input(shape=case["x"].shape[1:])] + [
        layers.Bidirectional(layers.LSTM(4, return_sequences=True, recurrent_activation="sigmoid"))
        for _ in range(2)])
    model.layers[0].set_weights(w[0] + w[1])
    model.layers[1].set_weights(w[2] + w[3])
    np.testing.assert_allclose(model.predict(case["x"], verbose=0), case["y"], atol=2e-5, rtol=0)


def test_torch_gru_outputs_match():
    from minikeras import layers

    case = _torch_case("gru")
    layer = layers.GRU(4, return_sequences=True, reset_after=True, recurrent_activation="sigmoid")
    layer(case["x"][:1])
    layer.set_weights(convert.torch_gru_to_keras(case)[0])
    np.testing.assert_allclose(layer(case["x"]).numpy(), case["y"], atol=2e-5, rtol=0)
