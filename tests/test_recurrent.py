"""Recurrent layers: Keras API, defaults, config keys, masks, states, dropout, regularizers and bad input (C8)."""
from __future__ import annotations

import inspect
import json

import numpy as np
import pytest

from minikeras import activations, backend, constraints, initializers, regularizers
from minikeras.autograd import Tensor, no_grad
from minikeras.engine.base_layer import Layer
from minikeras.layers import GRU, LSTM, RNN, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell, StackedRNNCells
from minikeras.layers import deserialize, serialize
from minikeras.layers.recurrent import use_fused_kernels
from minikeras.models import Sequential

from helpers import keras_case, load_io, load_json

ALL = [LSTM, GRU, SimpleRNN]
IDS = ["lstm", "gru", "simple_rnn"]


def _x(shape=(3, 5, 4), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


# ************************************************************ the seed example


def test_seed_example_verbatim():
    model = Sequential()
    model.add(LSTM(128, input_dim=64, input_length=5, return_sequences=True))
    model.add(LSTM(256, return_sequences=False))
    first, second = model.layers
    assert first.compute_output_shape((None, 5, 64)) == (None, 5, 128)
    assert second.compute_output_shape((None, 5, 128)) == (None, 256)
    assert model.output_shape == (None, 256)
    assert [layer.count_params() for layer in model.layers] == [98816, 394240]
    assert first.get_config()["batch_input_shape"] == [None, 5, 64]
    assert [tuple(w.shape) for w in first.weights] == [(64, 512), (128, 512), (512,)]
    assert model.predict(_x((2, 5, 64))).shape == (2, 256)


def test_seed_example_matches_real_keras_summary_shapes():
    case = keras_case(2, "seed")
    config = load_json(case / "config.json")["config"]["layers"]
    lstm_configs = [entry["config"] for entry in config if entry["class_name"] == "LSTM"]
    assert lstm_configs[0]["batch_input_shape"] == [None, 5, 64]
    assert [c["units"] for c in lstm_configs] == [128, 256]


# ************************************************************ defaults, weights, config


def test_keras2_defaults():
    lstm = LSTM(4)
    assert lstm.recurrent_activation is activations.hard_sigmoid
    assert lstm.activation is activations.tanh
    assert lstm.implementation == 1 and lstm.unit_forget_bias and lstm.use_bias
    assert isinstance(lstm.kernel_initializer, initializers.GlorotUniform)
    assert isinstance(lstm.recurrent_initializer, initializers.Orthogonal)
    assert isinstance(lstm.bias_initializer, initializers.Zeros)
    gru = GRU(4)
    assert gru.recurrent_activation is activations.hard_sigmoid and gru.reset_after is False
    assert gru.implementation == 1
    assert SimpleRNN(4).activation is activations.tanh


def test_cell_names_and_weight_order():
    for cls, cell_name, gates in ((LSTM, "lstm_cell", 4), (GRU, "gru_cell", 3), (SimpleRNN, "simple_rnn_cell", 1)):
        layer = cls(6)
        layer(_x())
        assert layer.cell.name == cell_name
        assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel", "bias"]
        assert [w.shape for w in layer.weights][:2] == [(4, gates * 6), (6, gates * 6)]
    assert GRU(6, reset_after=True)(_x()) is not None
    gru = GRU(6, reset_after=True)
    gru(_x())
    assert gru.cell.bias.shape == (2, 18)
    lstm = LSTM(6, use_bias=False)
    lstm(_x())
    assert [w.name for w in lstm.weights] == ["kernel", "recurrent_kernel"]


def test_unit_forget_bias_matches_real_keras():
    io = load_io(keras_case(2, "lstm_unit_forget_bias"))
    for key, kwargs in (("bias_ufb_true", {}), ("bias_ufb_false", {"unit_forget_bias": False}),
                        ("bias_ufb_true_const05", {"bias_initializer": initializers.Constant(0.5)})):
        layer = LSTM(6, **kwargs)
        layer(_x())
        np.testing.assert_array_equal(layer.cell.bias.numpy(), io[key], err_msg=key)


KERAS2_LAYER_CASES = ["lstm_sigmoid", "lstm_hard_sigmoid", "lstm_go_backwards", "lstm_return_sequences",
                      "lstm_no_bias", "lstm_return_state", "lstm_masking", "lstm_activation_relu", "lstm_stateful",
                      "lstm_initial_state", "gru_reset_after_false_sigmoid", "gru_reset_after_true_hard_sigmoid",
                      "gru_go_backwards", "gru_masked", "simple_rnn_default", "simple_rnn_masked"]


@pytest.mark.parametrize("case", KERAS2_LAYER_CASES)
def test_keras2_config_round_trips_exactly(case):
    """A tf-keras 2.21 `get_config()` passes straight into the constructor and comes back key for key."""
    folder = keras_case(2, case)
    config = load_json(folder / "layer_config.json")
    cls = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}[load_json(folder / "meta.json")["layer_class"]]
    layer = cls(**config)
    assert list(layer.get_config()) == list(config)
    assert json.dumps(layer.get_config()) == json.dumps(config)
    revived = deserialize(serialize(layer))
    assert json.dumps(revived.get_config()) == json.dumps(config)


@pytest.mark.parametrize("case, index, build", [
    ("seed", 1, lambda: LSTM(128, input_shape=(5, 64), return_sequences=True)),
    ("seed", 2, lambda: LSTM(256)),
    ("lstm_sigmoid", 1, lambda: LSTM(6, recurrent_activation="sigmoid", implementation=2)),
    ("gru_reset_after_true_sigmoid", 1, lambda: GRU(6, return_sequences=True, reset_after=True)),
    ("simple_rnn_default", 1, lambda: SimpleRNN(6)),
])
def test_get_config_keys_are_tf_keras_model_configs_in_order(case, index, build):
    """A layer built from arguments (not from a config) writes the keys of the layer entries of the model configs
    tf_keras 2.21 wrote, in the same order (the RNN's keys, then the cell's, activity_regularizer among them)."""
    entry = load_json(keras_case(2, case) / "config.json")["config"]["layers"][index]
    layer = build()
    assert entry["class_name"] == type(layer).__name__
    assert list(layer.get_config()) == list(entry["config"])


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_layer_arguments_are_the_cell_arguments_and_the_rnn_arguments(cls):
    """The layer's explicit (Keras) signature holds every argument of its cell, and besides them only the RNN's and
    `activity_regularizer`: the layer hands the cell the arguments the cell's signature names."""
    def names(fn):
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.name != "self" and p.kind is not p.VAR_KEYWORD]
    layer_args, cell_args = names(cls.__init__), names(cls._cell_class.__init__)
    assert set(cell_args) <= set(layer_args)
    rnn_args = set(names(RNN.__init__)) - {"cell", "zero_output_for_mask"}  # Bidirectional's, not the layers'
    assert set(layer_args) - set(cell_args) == rnn_args | {"activity_regularizer"}
    layer = cls(3, dropout=0.25, use_bias=False, activity_regularizer="l2", go_backwards=True, name="r")
    assert (layer.cell.dropout, layer.cell.use_bias, layer.go_backwards) == (0.25, False, True)
    assert layer.activity_regularizer is not None and not hasattr(layer.cell, "go_backwards")


def test_get_config_reflects_minikeras_values():
    config = LSTM(5, name="enc").get_config()
    assert config["recurrent_activation"] == "hard_sigmoid" and config["implementation"] == 1
    assert "zero_output_for_mask" not in config and "seed" not in config
    config = GRU(5, recurrent_dropout=0.1, implementation=2).get_config()
    assert config["implementation"] == 1  # recurrent dropout forces implementation 1, as tf-keras
    assert list(config)[-2:] == ["implementation", "reset_after"]
    layer = LSTM(5, seed=3, enable_caching_device=False, zero_output_for_mask=True)
    config = layer.get_config()
    assert config["seed"] == 3 and config["enable_caching_device"] is False and config["zero_output_for_mask"]
    assert json.dumps(LSTM.from_config(config).get_config()) == json.dumps(config)


def test_keras3_config_is_accepted():
    config = load_json(keras_case(3, "lstm_hard_sigmoid") / "layer_config.json")
    with activations.keras_era(3):
        layer = LSTM(**config)
    assert activations.era_of(layer.recurrent_activation) == 3
    assert LSTM(**{**config, "recurrent_activation": "sigmoid", "use_cudnn": "auto"}).dtype == "float32"
    gru = GRU(**load_json(keras_case(3, "gru_reset_after_true") / "layer_config.json"))
    assert gru.reset_after


def test_properties_expose_the_cell():
    reg = regularizers.L2(0.01)
    layer = LSTM(3, activation="relu", dropout=0.25, kernel_regularizer=reg, bias_constraint="non_neg")
    assert layer.units == 3 and layer.activation is activations.relu and layer.dropout == 0.25
    assert layer.kernel_regularizer is reg and isinstance(layer.bias_constraint, constraints.NonNeg)
    assert GRU(3, reset_after=True).reset_after and SimpleRNN(3, use_bias=False).use_bias is False


def test_trainable_false_freezes_the_cell():
    layer = LSTM(3, trainable=False)
    layer(_x())
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 3
    assert LSTM.from_config(layer.get_config()).trainable is False


def test_generic_rnn_config_round_trip():
    layer = RNN(LSTMCell(4, recurrent_activation="sigmoid"), return_sequences=True, name="rnn")
    config = layer.get_config()
    assert config["cell"]["class_name"] == "LSTMCell" and config["cell"]["module"] == "keras.layers"
    revived = RNN.from_config(json.loads(json.dumps(config)))
    assert json.dumps(revived.get_config()) == json.dumps(config)
    x = _x()
    y = layer(x)
    revived(x)
    revived.set_weights(layer.get_weights())
    np.testing.assert_allclose(revived(x).numpy(), y.numpy())


# ************************************************************ calling


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_numpy_in_tensor_out_and_shapes(cls):
    x = _x()
    y = cls(6)(x)
    assert isinstance(y, Tensor) and y.shape == (3, 6) and y.dtype == np.float32
    assert cls(6, return_sequences=True)(x).shape == (3, 5, 6)
    out = cls(6, return_state=True)(x)
    n_states = 2 if cls is LSTM else 1
    assert isinstance(out, list) and len(out) == 1 + n_states
    np.testing.assert_allclose(out[0].numpy(), out[1].numpy())  # last output == h
    assert cls(6, return_state=True).compute_output_shape((None, 5, 4)) == [(None, 6)] + [(None, 6)] * n_states
    assert cls(6, return_sequences=True, time_major=True).compute_output_shape((5, None, 4)) == (5, None, 6)


def test_lstm_matches_a_hand_written_step():
    layer = LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True)
    x = _x((2, 4, 5))
    y = layer(x).numpy()
    k, r, b = (w.numpy().astype(np.float64) for w in layer.weights)
    h = c = np.zeros((2, 3))
    hs = []
    for t in range(4):
        z = x[:, t] @ k + h @ r + b
        i, f, g, o = (z[:, j * 3:(j + 1) * 3] for j in range(4))
        hsig = lambda v: np.clip(0.2 * v + 0.5, 0, 1)  # noqa: E731 - Keras 2's hard_sigmoid
        c = hsig(f) * c + hsig(i) * np.tanh(g)
        h = hsig(o) * np.tanh(c)
        hs.append(h)
    np.testing.assert_allclose(y, np.stack(hs, 1), atol=1e-5)


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_go_backwards_returns_the_reversed_sequence(cls):
    x = _x()
    fwd = cls(4, return_sequences=True)
    bwd = cls(4, return_sequences=True, go_backwards=True)
    fwd(x), bwd(x)
    bwd.set_weights(fwd.get_weights())
    np.testing.assert_allclose(bwd(x).numpy(), fwd(x[:, ::-1].copy()).numpy(), atol=1e-6)


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_masked_steps_repeat_the_previous_output(cls):
    x = _x()
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 1, 1], [0, 0, 1, 1, 1]], bool)
    layer = cls(4, return_sequences=True)
    y = layer(x, mask=mask).numpy()
    np.testing.assert_array_equal(y[0, 3], y[0, 2])
    np.testing.assert_array_equal(y[1, 1], y[1, 0])
    np.testing.assert_array_equal(y[2, :2], 0)  # before the first unmasked step: zeros
    # a masked step changes nothing: dropping it from the sequence gives the same next output
    np.testing.assert_allclose(y[1, 3], layer(x[1:2, [0, 3]]).numpy()[0, 1], atol=1e-6)
    last = cls(4)
    last(x)
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(last(x, mask=mask).numpy(), y[:, -1], atol=1e-6)
    zero = cls(4, return_sequences=True, zero_output_for_mask=True)
    zero(x)
    zero.set_weights(layer.get_weights())
    yz = zero(x, mask=mask).numpy()
    np.testing.assert_array_equal(yz[~mask], 0)
    np.testing.assert_allclose(yz[mask], y[mask], atol=1e-6)


def test_mask_propagation():
    x = Tensor(_x())
    x._keras_mask = np.array([[1, 1, 1, 1, 0]] * 3, bool)
    seq = LSTM(4, return_sequences=True)(x)
    np.testing.assert_array_equal(seq._keras_mask, x._keras_mask)
    assert LSTM(4)(x)._keras_mask is None
    out = LSTM(4, return_sequences=True, return_state=True)(x)
    assert out[0]._keras_mask is not None and out[1]._keras_mask is None and out[2]._keras_mask is None
    layer = LSTM(4, return_sequences=True)
    assert layer.compute_mask(x, x._keras_mask) is x._keras_mask


def test_initial_state_forms_and_gradients():
    x = _x()
    h0, c0 = _x((3, 4), 1), _x((3, 4), 2)
    layer = LSTM(4, return_state=True)
    a = layer(x, initial_state=[h0, c0])
    b = layer([x, h0, c0])
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    assert np.max(np.abs(a[0].numpy() - layer(x)[0].numpy())) > 1e-4
    h0t, c0t = Tensor(h0, requires_grad=True), Tensor(c0, requires_grad=True)
    y = layer(x, initial_state=[h0t, c0t])[0]
    y.sum().backward()
    assert h0t.grad is not None and c0t.grad is not None and np.any(h0t.grad != 0)
    g = GRU(4)
    g(x, initial_state=h0)  # a single tensor is a one-element list


def test_stateful_carries_state_and_resets():
    x1, x2 = _x(seed=1), _x(seed=2)
    layer = LSTM(4, stateful=True, batch_input_shape=(3, 5, 4), return_sequences=True)
    model = Sequential([layer])
    assert [s.shape for s in layer.states] == [(3, 4), (3, 4)]
    y1 = model.predict(x1)
    y2 = model.predict(x2)
    ref = LSTM(4, return_sequences=True)
    ref(x1)
    ref.set_weights(layer.get_weights())
    both = ref(np.concatenate([x1, x2], axis=1)).numpy()
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), both, atol=1e-6)
    np.testing.assert_allclose(layer.states[0].numpy(), both[:, -1], atol=1e-6)
    model.reset_states()
    np.testing.assert_array_equal(layer.states[0].numpy(), 0)
    np.testing.assert_allclose(model.predict(x1), y1, atol=1e-6)
    h, c = _x((3, 4), 3), _x((3, 4), 4)
    layer.reset_states([h, c])
    np.testing.assert_array_equal(layer.states[1].numpy(), c)


def test_stateful_batch_from_first_call_and_keras_errors():
    layer = GRU(3, stateful=True)
    assert layer.states == [None]
    with pytest.raises(ValueError, match="needs to know its batch size"):
        layer.reset_states()
    layer(_x((2, 5, 4)))
    assert layer.states[0].shape == (2, 3)
    with pytest.raises(ValueError, match="incompatible with the layer"):
        layer(_x((3, 5, 4)))
    with pytest.raises(ValueError, match="expects 1 states, but it received 2"):
        layer.reset_states([np.zeros((2, 3)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"State 0 is incompatible with layer .*expected shape=\(2, 3\)"):
        layer.reset_states([np.zeros((3, 3))])
    with pytest.raises(AttributeError, match="Layer must be stateful."):
        LSTM(3).reset_states()


def test_stateful_initial_state_used_only_while_states_are_zero():
    x = _x()
    h0 = _x((3, 4), 5)
    layer = GRU(4, stateful=True)
    first = layer(x, initial_state=[h0]).numpy()
    ref = GRU(4)
    ref(x)
    ref.set_weights(layer.get_weights())
    np.testing.assert_allclose(first, ref(x, initial_state=[h0]).numpy(), atol=1e-6)
    second = layer(x, initial_state=[h0]).numpy()  # now the carried state wins
    np.testing.assert_allclose(second, ref(x, initial_state=[Tensor(first)]).numpy(), atol=1e-6)


def test_dropout_keras2_semantics():
    """Masks drawn once per call and reused at every step, scaled by 1/(1-rate), only in training."""
    x = np.ones((4, 6, 8), "float32")
    layer = SimpleRNN(8, activation="linear", dropout=0.5, kernel_initializer="identity",
                      recurrent_initializer="zeros", return_sequences=True)
    y_infer = layer(x).numpy()
    np.testing.assert_allclose(y_infer, 1.0)
    backend.set_random_seed(1)
    y = layer(x, training=True).numpy()
    assert set(np.unique(y)) <= {0.0, 2.0}
    np.testing.assert_array_equal(y, np.repeat(y[:, :1], 6, axis=1))  # the same mask at every step
    backend.set_random_seed(1)
    np.testing.assert_array_equal(layer(x, training=True).numpy(), y)  # from minikeras.backend.rng()
    assert not np.array_equal(layer(x, training=True).numpy(), y)  # a new draw per call


def test_dropout_implementation_1_uses_one_mask_per_gate():
    x = np.ones((64, 2, 10), "float32")
    layers = {}
    for impl in (1, 2):
        layer = LSTM(3, dropout=0.5, implementation=impl)
        layer(x)
        layers[impl] = layer
        cell = layer.cell
        cell.reset_dropout_mask()
        masks = cell.get_dropout_mask_for_cell(x[:, 0], True, count=4)
        assert masks.shape == (4, 64, 10)
        assert not np.array_equal(masks[0], masks[1])
    layers[2].set_weights(layers[1].get_weights())
    backend.set_random_seed(3)
    y1 = layers[1](x, training=True).numpy()
    backend.set_random_seed(3)
    y2 = layers[2](x, training=True).numpy()
    assert np.max(np.abs(y1 - y2)) > 1e-4


def test_regularizers_and_constraints():
    layer = LSTM(3, kernel_regularizer=regularizers.L2(0.1), recurrent_regularizer="l1",
                 bias_regularizer=regularizers.L1L2(l1=0.0, l2=0.2), activity_regularizer=regularizers.L2(0.3),
                 kernel_constraint=constraints.MaxNorm(2.0), recurrent_constraint="unit_norm",
                 bias_constraint="non_neg")
    x = _x()
    y = layer(x)
    losses = layer.losses
    assert len(losses) == 4
    k, r, b = (w.numpy().astype(np.float64) for w in layer.weights)
    expected = 0.1 * np.sum(k ** 2) + 0.01 * np.sum(np.abs(r)) + 0.2 * np.sum(b ** 2) + \
        0.3 * np.sum(y.numpy().astype(np.float64) ** 2) / 3
    np.testing.assert_allclose(sum(float(loss.numpy()) for loss in losses), expected, rtol=1e-5)
    kinds = [type(w.constraint).__name__ for w in layer.weights]
    assert kinds == ["MaxNorm", "UnitNorm", "NonNeg"]
    config = layer.get_config()
    assert config["kernel_constraint"]["class_name"] == "MaxNorm"
    assert config["activity_regularizer"]["class_name"] == "L2"


def test_time_major_matches_batch_major():
    x = _x()
    a = LSTM(4, return_sequences=True)
    b = LSTM(4, return_sequences=True, time_major=True)
    a(x)
    b(x.transpose(1, 0, 2))
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(b(x.transpose(1, 0, 2).copy()).numpy(), a(x).numpy().transpose(1, 0, 2), atol=1e-6)


def test_float64_layer():
    layer = GRU(3, dtype="float64", reset_after=True)
    y = layer(_x())
    assert y.dtype == np.float64 and all(w.dtype == np.float64 for w in layer.weights)


def test_unroll_and_implementation_give_identical_numbers():
    x = _x()
    base = LSTM(4, return_sequences=True)
    y = base(x).numpy()
    for kwargs in ({"unroll": True}, {"implementation": 2}, {"implementation": 0}):
        other = LSTM(4, return_sequences=True, **kwargs)
        other(x)
        other.set_weights(base.get_weights())
        np.testing.assert_allclose(other(x).numpy(), y, atol=1e-6)
    assert LSTM(4, implementation=0).implementation == 1


def test_custom_activation_falls_back_to_the_composed_path():
    def scaled_tanh(x):
        return activations.tanh(x) * 0.5

    layer = LSTM(4, activation=scaled_tanh, return_sequences=True)
    x = Tensor(_x(), requires_grad=True)
    y = layer(x)
    assert type(y._ctx).__name__ != "LSTMSequence"
    ref = LSTM(4, activation="tanh", return_sequences=True)
    assert type(ref(x)._ctx).__name__ == "LSTMSequence"
    y.sum().backward()
    assert x.grad is not None


def test_training_gradients_reach_every_weight():
    model = Sequential([LSTM(5, input_shape=(5, 4), return_sequences=True), GRU(3, reset_after=True), ])
    x = _x()
    model(x, training=True).sum().backward()
    assert all(w.grad is not None and np.any(w.grad != 0) for w in model.trainable_weights)


def test_custom_cell_and_stacked_cells():
    class MinimalRNNCell(Layer):  # the Keras docs' example cell
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units), initializer="ones")
            self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, self.units),
                                                    initializer="identity")

        def call(self, inputs, states):
            output = inputs @ self.kernel + states[0] @ self.recurrent_kernel
            return output, [output]

    x = np.ones((2, 3, 4), "float32")
    y = RNN(MinimalRNNCell(2), return_sequences=True)(x).numpy()
    np.testing.assert_allclose(y[:, :, 0], [[4, 8, 12]] * 2)
    stacked = RNN([SimpleRNNCell(4), LSTMCell(3)], return_state=True)
    out = stacked(x)
    assert out[0].shape == (2, 3) and [s.shape for s in out[1:]] == [(2, 4), (2, 3), (2, 3)]
    assert isinstance(stacked.cell, StackedRNNCells)
    revived = RNN.from_config(json.loads(json.dumps(stacked.get_config())))
    revived(x)
    revived.set_weights(stacked.get_weights())
    np.testing.assert_allclose(revived(x)[0].numpy(), out[0].numpy(), atol=1e-6)


def test_bidirectional_wrapper_gets_what_it_needs():
    from minikeras.layers import Bidirectional

    x = _x()
    mask = np.array([[1, 1, 1, 0, 0]] * 3, bool)
    out = Bidirectional(LSTM(4, return_sequences=True))(x, mask=mask)
    assert out.shape == (3, 5, 8)
    np.testing.assert_array_equal(out.numpy()[:, 3:], 0)  # zero_output_for_mask set by the wrapper


def test_inference_under_no_grad_records_nothing():
    layer = LSTM(4)
    with no_grad():
        y = layer(_x())
    assert y._ctx is None and not y.requires_grad


# ************************************************************ bad input (C8)


@pytest.mark.parametrize("units", [0, -3, 2.5, None, "64"])
@pytest.mark.parametrize("cls", ALL + [LSTMCell, GRUCell, SimpleRNNCell])
def test_units_must_be_a_positive_integer(cls, units):
    with pytest.raises(ValueError, match="positive integer"):
        cls(units)


@pytest.mark.parametrize("arg", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, "0.2", None])
def test_dropout_must_be_in_0_1(arg, value):
    with pytest.raises(ValueError, match=f"`{arg}`.*in \\[0, 1\\)"):
        LSTM(3, **{arg: value})


def test_bad_implementation():
    with pytest.raises(ValueError, match="implementation"):
        GRU(3, implementation=3)


@pytest.mark.parametrize("cls", ALL, ids=IDS)
def test_wrong_rank(cls):
    layer = cls(3)
    with pytest.raises(ValueError, match=r"Input 0 of layer '\w+' is incompatible with the layer: expected ndim=3, "
                                         r"found ndim=2\. Full shape received: \(3, 4\)"):
        layer(np.ones((3, 4), "float32"))
    layer(np.ones((3, 5, 4), "float32"))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        layer(np.ones((3, 5, 4, 1), "float32"))


def test_wrong_feature_count():
    layer = LSTM(3)
    layer(_x())
    with pytest.raises(ValueError, match=r"Input 0 of layer 'lstm' is incompatible with the layer: expected "
                                         r"shape=\(None, None, 4\), found shape=\(3, 5, 7\)"):
        layer(_x((3, 5, 7)))


def test_wrong_mask_shape():
    with pytest.raises(ValueError, match=r"mask passed to layer 'lstm' must have shape \(batch, timesteps\) = "
                                         r"\(3, 5\).*Received: mask.shape=\(3, 4\)"):
        LSTM(3)(_x(), mask=np.ones((3, 4), bool))


def test_wrong_initial_state():
    layer = LSTM(3)
    with pytest.raises(ValueError, match="Layer has 2 states but was passed 1 initial states"):
        layer(_x(), initial_state=[np.zeros((3, 3))])
    with pytest.raises(ValueError, match="not compatible with `cell.state_size`.*expected state 1 of shape "
                                         r"\(3, 3\)"):
        layer(_x(), initial_state=[np.zeros((3, 3)), np.zeros((3, 4))])
    with pytest.raises(ValueError, match="not compatible with `cell.state_size`"):
        GRU(3)(_x(), initial_state=[np.zeros((2, 3))])


def test_unknown_keyword_arguments():
    with pytest.raises(TypeError, match=r"Unrecognized keyword arguments passed to LSTM: \{'return_sequence': True\}"):
        LSTM(3, return_sequence=True)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to GRU"):
        GRU(3, foo=1)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to LSTMCell"):
        LSTMCell(3, return_sequences=True)


def test_bad_cell():
    with pytest.raises(ValueError, match="should have a `call` method"):
        RNN(object())


def test_cell_subclass_with_its_own_call_takes_the_composed_path():
    class DoubledOutputCell(LSTMCell):
        def call(self, inputs, states, training=None):
            h, new_states = super().call(inputs, states, training)
            return h * 2, new_states

    x = _x()
    plain, doubled = RNN(LSTMCell(3)), RNN(DoubledOutputCell(3))
    plain(x), doubled(x)
    doubled.set_weights(plain.get_weights())
    np.testing.assert_allclose(doubled(x).numpy(), 2 * plain(x).numpy(), atol=1e-6)
    assert type(plain(Tensor(x, requires_grad=True))._ctx).__name__ == "LSTMSequence"


def test_keras2_input_declarations():
    assert LSTM(4, input_dim=3).batch_input_shape == (None, None, 3)
    assert LSTM(4, input_dim=3, input_length=7).batch_input_shape == (None, 7, 3)
    assert GRU(4, input_shape=(5, 3), batch_size=2).batch_input_shape == (2, 5, 3)
    assert SimpleRNN(4, batch_input_shape=(2, None, 3)).get_config()["batch_input_shape"] == [2, None, 3]
    weights = [np.full((3, 16), 0.1), np.full((4, 16), 0.2), np.full((16,), 0.3)]
    layer = LSTM(4, weights=weights)
    layer(np.ones((1, 2, 3), "float32"))
    np.testing.assert_allclose(layer.get_weights()[2], 0.3)


@pytest.mark.parametrize("cls", [LSTM, GRU, SimpleRNN])
def test_weights_are_c_ordered_fresh_and_after_set_weights(cls):
    """The orthogonal initializer returns a transposed array for a wide recurrent kernel (units x 4 units), and
    `set_weights` writes in place: every weight is still stored in C order, which the kernels' weight folds read
    fast (a transposing copy per call made a one-sample call of Keras 2's two-LSTM example ~40% slower)."""
    layer = cls(8)
    layer.build((None, 3, 5))
    assert all(w.data.flags.c_contiguous for w in layer.weights)
    layer.set_weights([np.asfortranarray(w) for w in layer.get_weights()])
    assert all(w.data.flags.c_contiguous for w in layer.weights)
