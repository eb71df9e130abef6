"""Behaviour the lean eager paths must keep: the single-tensor fast path of `Layer.__call__`, the functional
execution plan (integer slots), Sequential's skipped rebuild for a repeated input shape and `Function.apply`'s
inference path. Each test calls twice or more, since the fast paths differ from the first call only afterwards.
"""
from __future__ import annotations

import numpy as np
import pytest

from minikeras import Input, Model
from minikeras.autograd import Tensor, no_grad, ops
from minikeras.layers import LSTM, Dense, Dropout, Embedding
from minikeras.models import Sequential


def _dense_np(layer, x):
    w, b = layer.get_weights()
    return x @ w + b


def test_wrong_input_shape_raises_the_same_error_on_every_call():
    layer = Dense(3)
    layer(np.ones((2, 4), "float32"))
    messages = []
    for _ in range(2):
        with pytest.raises(ValueError) as info:
            layer(np.ones((2, 5), "float32"))
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "Input 0 of layer 'dense" in messages[0] and "expected axis -1 of input shape to have value 4" in messages[0]
    assert "received input with shape (2, 5)" in messages[0]
    assert layer(np.ones((1, 4), "float32")).shape == (1, 3)  # a good shape still works after the errors


def test_sequential_inferred_input_checks_each_call_and_relaxes_the_batch():
    model = Sequential([Dense(2)])
    x = np.arange(8, dtype="float32").reshape(2, 4)
    first = model(x).numpy().copy()
    np.testing.assert_allclose(model(x).numpy(), first)
    assert model(np.ones((5, 4), "float32")).shape == (5, 2)
    messages = []
    for _ in range(2):  # tf.keras relaxes the feature axis to None, which Dense refuses: every time
        with pytest.raises(ValueError) as info:
            model(np.ones((2, 7), "float32"))
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "Dense" in messages[0]
    np.testing.assert_allclose(model(x).numpy(), first)
    # a layer added after calls joins the graph: the next call runs it
    model.add(Dense(1))
    assert model(x).shape == (2, 1)


def test_masks_still_propagate_through_graph_replays():
    tokens = Input(shape=(4,), dtype="int32")
    emb = Embedding(7, 3, mask_zero=True)
    model = Model(tokens, LSTM(2)(emb(tokens)))
    padded = np.array([[3, 5, 0, 0]])
    short = np.array([[3, 5]])
    standalone = Sequential([Embedding(7, 3, mask_zero=True), LSTM(2)])
    standalone(short)
    standalone.set_weights(model.get_weights())
    for _ in range(2):  # padding after the mask changes nothing, on every call
        np.testing.assert_allclose(model(padded).numpy(), standalone(short).numpy(), atol=1e-6)
    out = emb(padded)
    np.testing.assert_array_equal(out._keras_mask, [[True, True, False, False]])


def test_a_layer_returning_its_input_keeps_the_input_mask_unchanged():
    x = Tensor(np.ones((1, 3, 2), "float32"))
    x._keras_mask = np.array([[True, False, True]])
    for _ in range(2):
        y = Dropout(0.5)(x, mask=np.array([[True, True, True]]))
        assert y is not x
        np.testing.assert_array_equal(x._keras_mask, [[True, False, True]])
        np.testing.assert_array_equal(y._keras_mask, [[True, True, True]])


def test_shared_layer_and_nested_outputs_replay_every_node():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    shared, head = Dense(2), Dense(1)
    ha, hb = shared(a), shared(b)
    model = Model([a, b], {"left": head(ha), "both": [ha, hb]})
    xa = np.arange(6, dtype="float32").reshape(2, 3)
    xb = -xa
    for _ in range(2):
        out = model([xa, xb])
        assert set(out) == {"left", "both"}
        np.testing.assert_allclose(out["both"][0].numpy(), _dense_np(shared, xa), rtol=1e-6)
        np.testing.assert_allclose(out["both"][1].numpy(), _dense_np(shared, xb), rtol=1e-6)
        np.testing.assert_allclose(out["left"].numpy(), _dense_np(head, _dense_np(shared, xa)), rtol=1e-5)


def test_an_input_that_is_also_an_output_is_passed_through():
    x = Input(shape=(2,))
    model = Model(x, [x, Dense(1)(x)])
    data = np.ones((3, 2), "float32")
    out = model(data)
    np.testing.assert_array_equal(out[0].numpy(), data)
    assert out[1].shape == (3, 1)


def test_training_flag_reaches_the_layers_of_a_replayed_graph():
    x = Input(shape=(200,))
    model = Model(x, Dropout(0.5)(x))
    data = np.ones((4, 200), "float32")
    np.testing.assert_array_equal(model(data).numpy(), data)
    dropped = model(data, training=True).numpy()
    assert (dropped == 0).any() and (dropped == 2).any()
    np.testing.assert_array_equal(model(data, training=False).numpy(), data)


def test_function_apply_records_nothing_without_gradients():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    with no_grad():
        y = w @ w
    assert not y.requires_grad and y._ctx is None
    c = Tensor(np.ones((2, 2)))
    z = c + c  # no input requires a gradient: nothing recorded with grad enabled either
    assert not z.requires_grad and z._ctx is None
    parts = ops.split(w, 1, axis=0)  # a multi-output op with one output is still a tuple
    assert isinstance(parts, tuple) and len(parts) == 1 and parts[0].requires_grad
    (w @ w).sum().backward()
    np.testing.assert_allclose(w.grad, np.full((2, 2), 4.0))


def test_train_on_batch_still_records_gradients_after_predicts():
    model = Sequential([Dense(3, input_shape=(4,)), Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.ones((2, 4), "float32"), np.zeros((2, 1), "float32")
    model.predict(x, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


# ---------------------------------------------------------------------- inference through a plain chain of layers


def _chain_runs(monkeypatch):
    """Record whether each inference call went through the plain chain (`Functional._run_plain_chain` returned
    outputs)."""
    from minikeras.engine.functional import Functional
    real, runs = Functional._run_plain_chain, []

    def spy(self, value):
        out = real(self, value)
        runs.append(out is not None)
        return out
    monkeypatch.setattr(Functional, "_run_plain_chain", spy)
    return runs


def _general_path(model, x, monkeypatch, calls=1):
    """`predict_step` with the plain chain switched off: the general replay of the graph, layer by layer."""
    from minikeras.engine.functional import Functional
    with monkeypatch.context() as m:
        m.setattr(Functional, "_plain_chain", lambda self: None)
        return [model.predict_step((x,)) for _ in range(calls)]


def _chain_models():
    from minikeras.layers import GRU, Activation, Bidirectional, Flatten, SimpleRNN, TimeDistributed
    rng = np.random.default_rng(0)
    seq = rng.standard_normal((1, 5, 6)).astype("float32")
    ids = rng.integers(1, 20, (1, 7))
    yield "lstm stack", Sequential([LSTM(4, input_shape=(5, 6), return_sequences=True),
                                    LSTM(3, recurrent_activation="hard_sigmoid"), Dense(2, activation="softmax")]), \
        seq, True
    yield "embedding lstm", Sequential([Embedding(20, 4, input_length=7), Dropout(0.5), LSTM(3, go_backwards=True),
                                        Dense(1, activation="sigmoid")]), ids, True
    yield "gru simple rnn flatten", Sequential([GRU(3, input_shape=(5, 6), return_sequences=True),
                                                SimpleRNN(2, return_sequences=True), Flatten(),
                                                Activation("tanh")]), seq, True
    inputs = Input(shape=(5, 6))
    yield "functional", Model(inputs, Dense(2)(LSTM(3)(inputs))), seq, True
    yield "wrappers", Sequential([Bidirectional(LSTM(3, return_sequences=True), input_shape=(5, 6)),
                                  TimeDistributed(Dense(2)), Bidirectional(GRU(2), merge_mode="sum")]), seq, True
    # the general path: a Keras mask, a stateful layer, state outputs, a subclass with its own maths
    yield "mask_zero", Sequential([Embedding(20, 4, input_length=7, mask_zero=True), LSTM(3)]), ids, False
    yield "stateful", Sequential([LSTM(3, stateful=True, batch_input_shape=(1, 5, 6))]), seq, False
    inputs = Input(shape=(5, 6))
    yield "two outputs", Model(inputs, Bidirectional(LSTM(3), merge_mode=None)(inputs)), seq, False

    class Doubled(Dense):
        def call(self, inputs):
            return super().call(inputs) * 2.0
    yield "subclass", Sequential([Doubled(2, input_shape=(4,))]), rng.standard_normal((1, 4)).astype("float32"), \
        False


@pytest.mark.parametrize("case", range(9))
def test_inference_through_a_plain_chain_gives_the_general_paths_bits(case, monkeypatch):
    name, model, x, lean = list(_chain_models())[case]
    runs = _chain_runs(monkeypatch)
    if name == "stateful":  # states advance once per predict, whichever path ran
        general = _general_path(model, x, monkeypatch, calls=2)
        model.reset_states()
        runs.clear()
        got = [model.predict(x, verbose=0) for _ in range(2)]
        for a, b in zip(got, general):
            np.testing.assert_array_equal(a, b)
        assert runs == [False, False]
        return
    (general,) = _general_path(model, x, monkeypatch)
    runs.clear()
    for _ in range(2):
        np.testing.assert_array_equal(model.predict(x, verbose=0), general, err_msg=name)
    np.testing.assert_array_equal(model.predict_on_batch(x), general, err_msg=name)
    with no_grad():
        out = model(x)
    np.testing.assert_array_equal([t.numpy() for t in out] if isinstance(out, list) else out.numpy(), general,
                                  err_msg=name)
    assert runs == [lean] * 4, name
    # a call that records a graph (a gradient may follow), or one in training mode, never takes the chain
    out = model(x)
    assert (out[0] if isinstance(out, list) else out).requires_grad and runs == [lean] * 4, name
    with no_grad():
        model(x, training=True)
    assert runs == [lean] * 4, name


def test_predict_through_a_plain_chain_raises_the_general_paths_errors():
    model = Sequential([LSTM(3, input_shape=(5, 6)), Dense(2)])
    with pytest.raises(ValueError) as general:
        model.predict_on_batch(np.ones((1, 4, 6), "float32"))
    with pytest.raises(ValueError) as lean:
        model.predict(np.ones((1, 4, 6), "float32"), verbose=0)
    assert str(lean.value) == str(general.value) and "expected shape=(None, 5, 6)" in str(lean.value)
