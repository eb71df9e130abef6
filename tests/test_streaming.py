"""Streaming: predict_timestep one timestep at a time equals predict on the sequence so far; model states API."""
from __future__ import annotations

import numpy as np
import pytest

from minikeras import layers
from minikeras.models import Sequential


def stacked(kind="LSTM", **kw):
    rnn = getattr(layers, kind)
    m = Sequential([layers.Input(shape=(None, 3)), rnn(5, return_sequences=True, recurrent_activation="sigmoid", **kw),
                    rnn(4, recurrent_activation="sigmoid"), layers.Dense(2, activation="softmax")])
    return m


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_predict_timestep_equals_predict_on_prefixes(kind, rng):
    model = stacked(kind)
    x = rng.standard_normal((3, 6, 3)).astype("float32")
    model.reset_states()
    for t in range(6):
        y_t = model.predict_timestep(x[:, t])
        np.testing.assert_allclose(y_t, model.predict(x[:, :t + 1], verbose=0), atol=1e-6, rtol=0)


def test_simple_rnn_and_sequence_outputs(rng):
    model = Sequential([layers.Input(shape=(5, 2)), layers.SimpleRNN(3, return_sequences=True),
                        layers.TimeDistributed(layers.Dense(2))])
    x = rng.standard_normal((2, 5, 2)).astype("float32")
    full = model.predict(x, verbose=0)
    steps = np.stack([model.predict_timestep(x[:, t]) for t in range(5)], axis=1)
    np.testing.assert_allclose(steps, full, atol=1e-6, rtol=0)


def test_masked_steps_carry_state_and_repeat_output(rng):
    model = Sequential([layers.Input(shape=(6,), dtype="int32"), layers.Embedding(10, 4, mask_zero=True),
                        layers.LSTM(3, recurrent_activation="sigmoid"), layers.Dense(1)])
    x = np.array([[1, 2, 0, 3, 0, 0], [4, 0, 5, 6, 7, 0]])
    for t in range(6):
        y_t = model.predict_timestep(x[:, t])
    np.testing.assert_allclose(y_t, model.predict(x, verbose=0), atol=1e-6, rtol=0)


def test_reset_states_per_sample(rng):
    model = stacked()
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    for t in range(3):
        model.predict_timestep(x[:, t])
    model.reset_states(samples=[1])
    other = np.concatenate([x[:1, :3], x[1:, 3:6]], axis=0)  # sample 1 restarts at step 3
    for t in range(3, 6):
        y = model.predict_timestep(x[:, t])
    np.testing.assert_allclose(y[0], model.predict(x[:1], verbose=0)[0], atol=1e-6)
    np.testing.assert_allclose(y[1], model.predict(other[1:, :3], verbose=0)[0], atol=1e-6)


def test_get_set_states_round_trip_and_errors(rng):
    model = stacked()
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    for t in range(2):
        model.predict_timestep(x[:, t])
    saved = model.get_states()
    assert [len(s) for s in saved] == [2, 2] and saved[0][0].shape == (2, 5)
    y_a = model.predict_timestep(x[:, 2])
    model.set_states(saved)
    np.testing.assert_array_equal(model.predict_timestep(x[:, 2]), y_a)
    after = model.get_states()
    with pytest.raises(ValueError, match="recurrent layers"):
        model.set_states(saved[:1])
    with pytest.raises(ValueError, match="expected shape"):
        model.set_states([[np.zeros((2, 7)), np.zeros((2, 5))], saved[1]])
    for got, want in zip(model.get_states(), after):  # unchanged by the failed calls
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_stateful_layers_stream_through_their_own_states(rng):
    model = Sequential([layers.LSTM(4, batch_input_shape=(2, 6, 3), stateful=True, recurrent_activation="sigmoid")])
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    full = model.predict(x, batch_size=2, verbose=0)
    model.reset_states()
    for t in range(6):
        y = model.predict_timestep(x[:, t])
    np.testing.assert_allclose(y, full, atol=1e-6)
    np.testing.assert_allclose(model.get_states()[0][0], full, atol=1e-6)


def test_whole_sequence_layers_refuse_to_stream():
    model = Sequential([layers.Input(shape=(4, 2)), layers.LSTM(3, go_backwards=True)])
    with pytest.raises(NotImplementedError, match="go_backwards"):
        model.predict_timestep(np.zeros((1, 2)))
    model = Sequential([layers.Input(shape=(4, 2)), layers.LSTM(3, return_sequences=True), layers.Flatten()])
    with pytest.raises(NotImplementedError, match="whole sequence"):
        model.predict_timestep(np.zeros((1, 2)))


class _ScaledLSTMCell(layers.LSTMCell):
    """An LSTMCell whose `call` differs from the built-in maths: the fused kernel must not run for it."""

    def call(self, inputs, states, training=None):
        h, new_states = super().call(inputs, states, training=training)
        return h * 0.5, [new_states[0] * 0.5, new_states[1]]


def test_cell_subclass_streams_its_own_call(rng):
    model = Sequential([layers.Input(shape=(None, 3)), layers.RNN(_ScaledLSTMCell(4, recurrent_activation="sigmoid")),
                        layers.Dense(2)])
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    for t in range(5):
        y_t = model.predict_timestep(x[:, t])
        np.testing.assert_allclose(y_t, model.predict(x[:, :t + 1], verbose=0), atol=1e-6, rtol=0)


def _count_fused_calls(monkeypatch):
    from minikeras.autograd import rnn as rnn_kernels

    calls = []
    original = rnn_kernels.LSTMSequence.forward

    def counting(ctx, *args, **kwargs):
        calls.append(1)
        return original(ctx, *args, **kwargs)

    monkeypatch.setattr(rnn_kernels.LSTMSequence, "forward", staticmethod(counting))
    return calls


def test_streaming_obeys_use_fused_kernels(rng, monkeypatch):
    from minikeras.layers.recurrent import use_fused_kernels

    calls = _count_fused_calls(monkeypatch)
    model = stacked()
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    model.predict_timestep(x[:, 0])
    assert len(calls) == 2  # both LSTMs run the fused kernel by default
    model.reset_states()
    with use_fused_kernels(False):
        outs = [model.predict_timestep(x[:, t]) for t in range(6)]
        want = model.predict(x, verbose=0)
    assert len(calls) == 2  # ... and never under use_fused_kernels(False)
    np.testing.assert_allclose(outs[-1], want, atol=1e-6, rtol=0)


@pytest.mark.parametrize("fused", [True, False])
def test_step_with_mask_repeats_prev_output(fused, rng):
    from minikeras.layers.recurrent import use_fused_kernels

    layer = layers.LSTM(3, recurrent_activation="sigmoid")
    x = rng.standard_normal((2, 4)).astype("float32")
    layer(x[:, None])
    states = [rng.standard_normal((2, 3)).astype("float32") for _ in range(2)]
    prev = rng.standard_normal((2, 3)).astype("float32")
    with use_fused_kernels(fused):
        out, new = layer.step(x, states, mask=np.array([True, False]), prev_output=prev)
        full, full_new = layer.step(x, states)
    np.testing.assert_allclose(out.numpy()[0], full.numpy()[0], atol=1e-6)
    np.testing.assert_array_equal(out.numpy()[1], prev[1])  # masked: the previous output again
    for s, fs, s0 in zip(new, full_new, states):
        np.testing.assert_allclose(s.numpy()[0], fs.numpy()[0], atol=1e-6)
        np.testing.assert_array_equal(s.numpy()[1], s0[1])  # masked: the states carried over


def test_time_major_layer_streams(rng):
    model = Sequential([layers.Input(batch_shape=(6, None, 3)), layers.LSTM(4, time_major=True,
                                                                           recurrent_activation="sigmoid")])
    x = rng.standard_normal((6, 2, 3)).astype("float32")  # (timesteps, batch, features)
    for t in range(6):
        y = model.predict_timestep(x[t])
    np.testing.assert_allclose(y, model(x).numpy(), atol=1e-6)


def test_layers_that_do_not_declare_streaming_refuse():
    from minikeras.engine.base_layer import Layer

    class Twice(Layer):
        def call(self, inputs):
            return inputs * 2

    model = Sequential([layers.Input(shape=(4, 2)), layers.LSTM(3, return_sequences=True), Twice()])
    with pytest.raises(NotImplementedError, match="Twice"):
        model.predict_timestep(np.zeros((1, 2)))
