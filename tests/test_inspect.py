"""The gate inspector (`minikeras.inspect.lstm_gates`) against the LSTM layer's real outputs, and plotting."""
from __future__ import annotations

import builtins
import doctest
import importlib.util

import numpy as np
import pytest

import minikeras.inspect as inspect_module
from minikeras.inspect import GATE_NAMES, lstm_gates
from minikeras.layers import LSTM, Dense, Embedding, Masking
from minikeras.models import Sequential
from minikeras.utils import plotting

HAS_MPL = importlib.util.find_spec("matplotlib") is not None


def _data(n=4, t=6, f=3, seed=0):
    return np.random.default_rng(seed).standard_normal((n, t, f)).astype("float32")


def _check_recurrence(g, mask=None, go_backwards=False):
    """c_t = f*c_{t-1} + i*c~ and h_t = o*tanh(c_t), recomputed from the arrays (processing order)."""
    c_prev = np.zeros_like(g["cell"][:, 0])
    h_prev = np.zeros_like(c_prev)
    steps = g["cell"].shape[1]
    for j in range(steps):
        c = g["forget_gate"][:, j] * c_prev + g["input_gate"][:, j] * g["candidate"][:, j]
        h = g["output_gate"][:, j] * np.tanh(c)
        if mask is not None:
            t = steps - 1 - j if go_backwards else j
            keep = mask[:, t][:, None]
            c, h = np.where(keep, c, c_prev), np.where(keep, h, h_prev)
        np.testing.assert_allclose(g["cell"][:, j], c, atol=1e-6)
        np.testing.assert_allclose(g["hidden"][:, j], h, atol=1e-6)
        c_prev, h_prev = c, h


@pytest.mark.parametrize("recurrent_activation", ["hard_sigmoid", "sigmoid"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_hidden_matches_layer_output(recurrent_activation, go_backwards, masked):
    x = _data()
    mask = None
    if masked:
        x[1, 4:] = 0.0
        x[2, 2:] = 0.0
        x[3, :2] = 0.0  # pre-padding
        mask = np.any(x != 0, axis=-1)
    seq = Sequential()
    if masked:
        seq.add(Masking(0.0, input_shape=(6, 3)))
        seq.add(LSTM(5, recurrent_activation=recurrent_activation, go_backwards=go_backwards,
                     return_sequences=True))
    else:
        seq.add(LSTM(5, recurrent_activation=recurrent_activation, go_backwards=go_backwards,
                     return_sequences=True, input_shape=(6, 3)))
    y_seq = seq.predict(x, verbose=0)
    g = lstm_gates(seq, x)
    assert sorted(g) == sorted(GATE_NAMES)
    for name in GATE_NAMES:
        assert g[name].shape == (4, 6, 5)
    np.testing.assert_allclose(g["hidden"], y_seq, atol=1e-6)
    for gate in ("input_gate", "forget_gate", "output_gate"):
        assert g[gate].min() >= 0.0 and g[gate].max() <= 1.0
    assert np.abs(g["candidate"]).max() <= 1.0
    _check_recurrence(g, mask, go_backwards)

    # the same weights without return_sequences: the last processed hidden state is the output
    lstm = seq.layers[-1]
    last = Sequential()
    if masked:
        last.add(Masking(0.0, input_shape=(6, 3)))
        last.add(LSTM(5, recurrent_activation=recurrent_activation, go_backwards=go_backwards))
    else:
        last.add(LSTM(5, recurrent_activation=recurrent_activation, go_backwards=go_backwards, input_shape=(6, 3)))
    last.layers[-1].set_weights(lstm.get_weights())
    np.testing.assert_allclose(g["hidden"][:, -1], last.predict(x, verbose=0), atol=1e-6)

    # the layer given directly, with the mask given explicitly
    direct = lstm_gates(lstm, x, mask=mask)
    for name in GATE_NAMES:
        np.testing.assert_allclose(direct[name], g[name], atol=1e-7)


def test_time_order_input_flips_go_backwards():
    x = _data()
    layer = LSTM(3, go_backwards=True, return_sequences=True)
    y = layer(x).numpy()
    processing = lstm_gates(layer, x)
    by_input = lstm_gates(layer, x, time_order="input")
    np.testing.assert_allclose(processing["hidden"], y, atol=1e-6)  # Keras's reversed output order
    for name in GATE_NAMES:
        np.testing.assert_allclose(by_input[name], processing[name][:, ::-1], atol=0)
    # input order: the first processed step reads the LAST input step, so it sits at index -1
    single = lstm_gates(layer, x[:, -1:])
    np.testing.assert_allclose(by_input["input_gate"][:, -1], single["input_gate"][:, 0], atol=1e-6)
    # without go_backwards both orders agree
    fwd = LSTM(3, return_sequences=True)
    a, b = lstm_gates(fwd, x), lstm_gates(fwd, x, time_order="input")
    np.testing.assert_array_equal(a["hidden"], b["hidden"])


def test_embedding_mask_and_layer_selection():
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 10, size=(5, 7))
    tokens[0, 4:] = 0
    tokens[3, 1:] = 0
    model = Sequential()
    model.add(Embedding(10, 4, mask_zero=True, input_length=7))
    model.add(LSTM(6, return_sequences=True, recurrent_activation="sigmoid", name="first"))
    model.add(LSTM(3, return_sequences=True, name="second"))
    model.add(Dense(1))
    first = lstm_gates(model, tokens)
    assert first["hidden"].shape == (5, 7, 6)
    by_name = lstm_gates(model, tokens, layer="second")
    by_index = lstm_gates(model, tokens, layer=2)
    np.testing.assert_array_equal(by_name["hidden"], by_index["hidden"])
    assert by_name["hidden"].shape == (5, 7, 3)
    emb = model.layers[0](tokens)
    y1 = model.layers[1](emb).numpy()
    np.testing.assert_allclose(first["hidden"], y1, atol=1e-6)
    y2 = model.layers[2](model.layers[1](emb)).numpy()
    np.testing.assert_allclose(by_name["hidden"], y2, atol=1e-6)
    # masked steps carry the states over
    np.testing.assert_array_equal(first["hidden"][3, 1:], np.broadcast_to(first["hidden"][3, :1], (6, 6)))


def test_custom_activation_fallback():
    x = _data()

    def my_sigmoid(t):
        from minikeras.autograd import ops
        return ops.sigmoid(t)

    layer = LSTM(4, recurrent_activation=my_sigmoid, return_sequences=True)
    y = layer(x).numpy()
    g = lstm_gates(layer, x)
    np.testing.assert_allclose(g["hidden"], y, atol=1e-6)


def test_bad_input():
    model = Sequential()
    model.add(Dense(3, input_shape=(4,)))
    with pytest.raises(ValueError, match="no LSTM layer"):
        lstm_gates(model, np.zeros((2, 4), "float32"))
    model = Sequential()
    model.add(LSTM(3, input_shape=(2, 2), return_sequences=True))
    model.add(Dense(1))
    with pytest.raises(ValueError, match="not an LSTM"):
        lstm_gates(model, np.zeros((1, 2, 2), "float32"), layer=1)
    with pytest.raises(ValueError, match="No layer named"):
        lstm_gates(model, np.zeros((1, 2, 2), "float32"), layer="nope")
    with pytest.raises(ValueError, match="time_order"):
        lstm_gates(model, np.zeros((1, 2, 2), "float32"), time_order="sideways")
    with pytest.raises(ValueError, match="LSTM layer or a model"):
        lstm_gates(Dense(2), np.zeros((1, 2, 2), "float32"))


def test_docstring_examples():
    assert doctest.testmod(inspect_module).failed == 0


# ------------------------------------------------------------------ plotting


def _block_matplotlib(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_plotting_without_matplotlib_says_what_to_do(monkeypatch, tmp_path):
    _block_matplotlib(monkeypatch)
    gates = lstm_gates(LSTM(2, return_sequences=True), _data(2, 3, 2))
    with pytest.raises(ImportError, match=r"pip install matplotlib`, or the `plot` extra"):
        plotting.plot_gates(gates, str(tmp_path / "g.png"))
    with pytest.raises(ImportError, match=r"pip install matplotlib`, or the `plot` extra"):
        plotting.plot_history({"loss": [1.0, 0.5]}, str(tmp_path / "h.png"))
    assert not (tmp_path / "g.png").exists()


def test_plotting_bad_input(tmp_path):
    with pytest.raises(ValueError, match="lstm_gates"):
        plotting.plot_gates({"hidden": np.zeros((1, 2))}, str(tmp_path / "g.png"))
    with pytest.raises(ValueError, match="sample"):
        plotting.plot_gates(lstm_gates(LSTM(2), _data(2, 3, 2)), str(tmp_path / "g.png"), sample=5)
    with pytest.raises(ValueError, match="history"):
        plotting.plot_history({}, str(tmp_path / "h.png"))


@pytest.mark.skipif(not HAS_MPL, reason="matplotlib is not installed (the `plot` extra)")
def test_plots_write_png(tmp_path):
    gates = lstm_gates(LSTM(3, return_sequences=True), _data(2, 5, 2))
    path = plotting.plot_gates(gates, str(tmp_path / "gates.png"), sample=1)
    assert (tmp_path / "gates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path == str(tmp_path / "gates.png")
    plotting.plot_history({"loss": [1.0, 0.7, 0.5], "val_loss": [1.1, 0.8, 0.7], "accuracy": [0.5, 0.6, 0.8]},
                          str(tmp_path / "history.png"))
    assert (tmp_path / "history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_gate_values_refuse_a_cell_that_overrides_call():
    from minikeras.layers import LSTMCell

    class Other(LSTMCell):
        def call(self, inputs, states, training=None):
            return super().call(inputs * 2, states, training=training)

    cell = Other(3)
    cell.build((None, 2))
    zeros = np.zeros((1, 3), "float32")
    with pytest.raises(ValueError, match="overrides the LSTM step"):
        cell.gate_values(np.zeros((1, 4, 2), "float32"), [zeros, zeros])
