"""LSTM / GRU / SimpleRNN outputs against files real Keras wrote (tf_keras 2.21 and Keras 3.15.1), both paths.

Each case builds the layer from the `get_config()` real Keras recorded (Keras 2 configs pass straight into the
constructor; Keras 3 configs are read inside `activations.keras_era(3)`, so `hard_sigmoid` is Keras 3's), sets the
recorded weights and compares the predictions at atol 2e-5, with the fused kernels and with the composed path.
See tests/fixtures/README.md and tests/fixtures/keras3/README.md for how the files were made.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

from minikeras import activations
from minikeras.layers import GRU, LSTM, SimpleRNN
from minikeras.layers.recurrent import use_fused_kernels

from helpers import keras_case, load_io, load_json

ATOL = 2e-5
CLASSES = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}
PATHS = pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])


def _era(era: int):
    return activations.keras_era(3) if era == 3 else contextlib.nullcontext()


def _layer_from_fixture(era: int, case: str, config=None):
    folder = keras_case(era, case)
    if config is None:
        config = load_json(folder / "layer_config.json")
    cls = CLASSES[load_json(folder / "meta.json").get("layer_class", "LSTM")]
    with _era(era):
        return cls(**config)


def _weights(io, prefix="w_"):
    n = len([k for k in io if k.startswith(prefix) and k[len(prefix):].isdigit()])
    return [io[f"{prefix}{i}"] for i in range(n)]


def _outputs(io):
    keys = sorted(k for k in io if k == "y_pred" or (k.startswith("y_pred_") and k[7:].isdigit()))
    return [io[k] for k in keys]


def _check(got, expected, what):
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected), what
    for i, (g, e) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(g.numpy(), e, atol=ATOL, rtol=0, err_msg=f"{what}, output {i}")


KERAS2_CASES = ["lstm_sigmoid", "lstm_hard_sigmoid", "lstm_go_backwards", "lstm_return_sequences", "lstm_no_bias",
                "lstm_return_state", "lstm_initial_state", "lstm_masking", "lstm_masking_go_backwards",
                "lstm_activation_relu", "gru_reset_after_false_sigmoid", "gru_reset_after_false_hard_sigmoid",
                "gru_reset_after_true_sigmoid", "gru_reset_after_true_hard_sigmoid", "gru_go_backwards",
                "gru_masked", "simple_rnn_default", "simple_rnn_masked"]
KERAS3_CASES = ["lstm_sigmoid", "lstm_hard_sigmoid", "lstm_go_backwards", "lstm_masking", "lstm_return_state",
                "lstm_initial_state", "lstm_no_bias", "gru_reset_after_true", "gru_reset_after_false", "simple_rnn"]


def _run_layer_case(era, case, fused):
    io = load_io(keras_case(era, case))
    layer = _layer_from_fixture(era, case)
    with use_fused_kernels(fused):
        if "x0" in io:  # initial_state cases: x0 = sequence, x1 = h0, x2 = c0
            y = layer(io["x0"], initial_state=[io[k] for k in ("x1", "x2") if k in io])
            layer.set_weights(_weights(io))
            y = layer(io["x0"], initial_state=[io[k] for k in ("x1", "x2") if k in io])
        else:
            layer(io["x"])
            layer.set_weights(_weights(io))
            y = layer(io["x"], mask=io.get("mask"))
    _check(y, _outputs(io), f"keras{era}/{case}")


@PATHS
@pytest.mark.parametrize("case", KERAS2_CASES)
def test_keras2_layer_case(case, fused):
    _run_layer_case(2, case, fused)


@PATHS
@pytest.mark.parametrize("case", KERAS3_CASES)
def test_keras3_layer_case(case, fused):
    _run_layer_case(3, case, fused)


def test_keras3_hard_sigmoid_is_not_keras2s():
    """The same file read as Keras 2 would differ: the era decides the formula."""
    io = load_io(keras_case(3, "lstm_hard_sigmoid"))
    config = load_json(keras_case(3, "lstm_hard_sigmoid") / "layer_config.json")
    layer = LSTM(**config)  # outside keras_era(3): Keras 2's clip(0.2x + 0.5)
    layer(io["x"])
    layer.set_weights(_weights(io))
    assert np.max(np.abs(layer(io["x"]).numpy() - io["y_pred"])) > 1e-3


@PATHS
def test_keras2_stateful(fused):
    """`Sequential([LSTM(6, stateful=True, batch_input_shape=(3, 5, 4))])`: predict, predict, reset, predict."""
    case = keras_case(2, "lstm_stateful")
    io = load_io(case)
    layer = _layer_from_fixture(2, "lstm_stateful")
    with use_fused_kernels(fused):
        layer._maybe_build(tuple(layer.batch_input_shape))
        layer.set_weights(_weights(io))
        y1 = layer(io["x_call1"])
        np.testing.assert_allclose(layer.states[0].numpy(), io["state_h_after_call1"], atol=ATOL)
        np.testing.assert_allclose(layer.states[1].numpy(), io["state_c_after_call1"], atol=ATOL)
        y2 = layer(io["x_call2"])
        np.testing.assert_allclose(layer.states[0].numpy(), io["state_h_after_call2"], atol=ATOL)
        np.testing.assert_allclose(layer.states[1].numpy(), io["state_c_after_call2"], atol=ATOL)
        layer.reset_states()
        np.testing.assert_allclose(layer.states[0].numpy(), io["state_h_after_reset"], atol=0)
        y3 = layer(io["x_call1"])
        layer.reset_states()
        y4 = layer(io["x_call2"])
    _check([y1, y2, y3, y4], [io["y_pred_call1"], io["y_pred_call2"], io["y_pred_after_reset"],
                              io["y_pred_call2_from_zero_state"]], "keras2/lstm_stateful")


@PATHS
def test_keras3_stateful(fused):
    """Keras 3 records eager `model(x)` calls (its jitted `predict` does not carry state under JAX)."""
    io = load_io(keras_case(3, "lstm_stateful"))
    layer = _layer_from_fixture(3, "lstm_stateful")
    with use_fused_kernels(fused):
        layer(io["x_call1"])
        layer.set_weights(_weights(io))
        layer.reset_states()
        y1 = layer(io["x_call1"])
        y2 = layer(io["x_call2"])
        np.testing.assert_allclose(layer.states[0].numpy(), io["h_after_call2"], atol=ATOL)
        np.testing.assert_allclose(layer.states[1].numpy(), io["c_after_call2"], atol=ATOL)
        layer.reset_states()
        y3 = layer(io["x_call1"])
    _check([y1, y2, y3], [io["y_pred_call1"], io["y_pred_call2"], io["y_pred_after_reset"]], "keras3/lstm_stateful")


def _lstm_entry(era, case):
    layers = load_json(keras_case(era, case) / "config.json")["config"]["layers"]
    return next(entry["config"] for entry in layers if entry["class_name"] == "LSTM")


@PATHS
@pytest.mark.parametrize("era", [2, 3])
def test_embedding_mask_lstm(era, fused):
    """Embedding(mask_zero=True) -> LSTM: the lookup is done here in numpy; the mask is `ids != 0`."""
    io = load_io(keras_case(era, "embedding_mask_lstm"))
    embeddings = io["w_0"] if era == 2 else io["embedding_w_0"]
    lstm_weights = _weights(io)[1:] if era == 2 else _weights(io)
    config = {k: v for k, v in _lstm_entry(era, "embedding_mask_lstm").items() if k != "batch_input_shape"}
    with _era(era):
        layer = LSTM(**config)
    x = np.take(embeddings, io["x"], axis=0)
    mask = io["x"] != 0
    if "mask" in io:
        np.testing.assert_array_equal(mask, io["mask"])
    with use_fused_kernels(fused):
        layer(x)
        layer.set_weights(lstm_weights)
        y = layer(x, mask=mask)
    _check(y, [io["y_pred"]], f"keras{era}/embedding_mask_lstm")


@PATHS
@pytest.mark.parametrize("era, case", [(2, "hard_sigmoid_era2"), (3, "hard_sigmoid_era3")])
def test_hard_sigmoid_in_the_clip_region(era, case, fused):
    """LSTM(hard_sigmoid) -> Dense with the gates driven into the clipped region (Dense applied in numpy)."""
    io = load_io(keras_case(era, case))
    weights = _weights(io) if era == 2 else _weights(io, "model_w_")
    config = {k: v for k, v in _lstm_entry(era, case).items() if k != "batch_input_shape"}
    with _era(era):
        layer = LSTM(**config)
    with use_fused_kernels(fused):
        layer(io["x"])
        layer.set_weights(weights[:3])
        h = layer(io["x"]).numpy()
    dense_kernel, dense_bias = weights[3], weights[4]
    np.testing.assert_allclose(h @ dense_kernel + dense_bias, io["y_pred"], atol=ATOL)


def test_unit_forget_bias_case():
    io = load_io(keras_case(2, "lstm_unit_forget_bias"))
    configs = load_json(keras_case(2, "lstm_unit_forget_bias") / "meta.json")["layer_configs"]
    for key, entry in configs.items():
        layer = LSTM(**entry["config"])
        layer._maybe_build((None, 5, 4))
        np.testing.assert_array_equal(layer.cell.bias.numpy(), io[key], err_msg=key)


CONVERTED_CASES = {
    # case: (layer built in code as the fixture's description says, head activation)
    "keras1_lstm": (lambda: LSTM(6, recurrent_activation="hard_sigmoid"), None),
    "keras1_gru": (lambda: GRU(6, reset_after=False, recurrent_activation="hard_sigmoid"), None),
    "cudnn_lstm": (lambda: LSTM(6, recurrent_activation="sigmoid"), None),
    "cudnn_gru": (lambda: GRU(6, reset_after=True, recurrent_activation="sigmoid"), None),
}


@PATHS
@pytest.mark.parametrize("case", list(CONVERTED_CASES))
def test_weights_real_keras_converted(case, fused):
    """Keras 1 and CuDNN weights as tf_keras's loader converted them, through the layer -> Dense (numpy)."""
    io = load_io(keras_case(2, case))
    weights = _weights(io, "w_converted_")
    layer = CONVERTED_CASES[case][0]()
    with use_fused_kernels(fused):
        layer(io["x"])
        layer.set_weights(weights[:3])
        h = layer(io["x"]).numpy()
    np.testing.assert_allclose(h @ weights[3] + weights[4], io["y_pred"], atol=ATOL)


@PATHS
def test_masked_sentence(fused):
    """Embedding(mask_zero) -> LSTM(go_backwards, dropout, recurrent_dropout, l2, max_norm) -> Dense(sigmoid)."""
    io = load_io(keras_case(2, "masked_sentence"))
    config = {k: v for k, v in _lstm_entry(2, "masked_sentence").items() if k != "batch_input_shape"}
    layer = LSTM(**config)
    assert layer.go_backwards and layer.dropout == 0.2 and layer.recurrent_dropout == 0.1
    w = _weights(io)
    x = np.take(w[0], io["x"], axis=0)
    with use_fused_kernels(fused):
        layer(x)
        layer.set_weights(w[1:4])
        h = layer(x, mask=io["x"] != 0, training=False).numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-(h @ w[4] + w[5]))), io["y_pred"], atol=ATOL)
    assert len(layer.losses) == 1 and type(layer.cell.kernel.constraint).__name__ == "MaxNorm"
