"""`minikeras.backend` as Keras 2 scripts use it: get/set_value on weights and optimizer hyperparameters, shapes,
epsilon, floatx, clear_session, learning_phase."""
from __future__ import annotations

import numpy as np
import pytest

from minikeras import Sequential, backend as K, layers, optimizers
from minikeras.autograd import Tensor, Variable


def test_get_value_on_every_kind_of_object():
    np.testing.assert_array_equal(K.get_value(Variable(np.arange(3.0))), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(K.get_value(Tensor(np.ones((2, 2)))), np.ones((2, 2)))
    assert K.get_value(0.25) == 0.25 and K.get_value(np.float32(2)).dtype == np.float32
    assert K.batch_get_value([1.0, Variable(np.ones(1))])[1].tolist() == [1.0]


def test_set_value_keeps_dtype_and_rejects_plain_numbers():
    v = Variable(np.zeros(3, "float32"))
    K.set_value(v, np.array([1, 2, 3]))
    assert v.dtype == np.float32 and v.numpy().tolist() == [1.0, 2.0, 3.0]
    a, b = Variable(np.zeros(1)), Variable(np.zeros((2, 2)))
    K.batch_set_value([(a, [7.0]), (b, np.eye(2))])
    assert a.numpy().tolist() == [7.0] and b.numpy().tolist() == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(TypeError, match="`set_value` expected a variable .* Received: x=0.1"):
        K.set_value(0.1, 0.2)


def _model():
    K.set_random_seed(3)
    model = Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    return model


def test_set_value_on_the_learning_rate_changes_training():
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    y = np.ones((8, 1), "float32")
    model = _model()
    assert K.get_value(model.optimizer.learning_rate) == pytest.approx(0.1)
    K.set_value(model.optimizer.learning_rate, 0.0)
    before = model.get_weights()
    model.train_on_batch(x, y)
    for w0, w1 in zip(before, model.get_weights()):
        np.testing.assert_array_equal(w0, w1)  # lr 0: no change
    K.set_value(model.optimizer.learning_rate, 0.05)
    model.train_on_batch(x, y)
    reference = _model()
    reference.optimizer.learning_rate.assign(np.float32(0.05))
    reference.train_on_batch(x, y)
    for w, r in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(w, r, rtol=1e-6, atol=1e-7)
    layer = model.layers[0]
    K.set_value(layer.kernel, np.zeros((3, 2)))
    assert not K.get_value(layer.kernel).any()


def test_shapes_and_counts():
    layer = layers.Conv1D(4, 3)
    layer(np.zeros((1, 5, 2), "float32"))
    assert K.int_shape(layer.kernel) == (3, 2, 4) and K.count_params(layer.kernel) == 24
    assert K.int_shape(np.zeros((2, 0))) == (2, 0) and K.count_params(np.zeros(())) == 1
    with pytest.raises(TypeError, match="`int_shape` expected a tensor"):
        K.int_shape(3.0)


def test_settings_and_session():
    assert K.epsilon() == 1e-7 and K.floatx() == "float32" and K.image_data_format() == "channels_last"
    try:
        K.set_epsilon(1e-5)
        assert K.epsilon() == 1e-5
        K.set_floatx("float64")
        assert layers.Dense(1)(np.zeros((1, 2))).dtype == np.float64
    finally:
        K.set_epsilon(1e-7)
        K.set_floatx("float32")
    with pytest.raises(ValueError, match="Unknown `floatx` value"):
        K.set_floatx("int8")
    layers.Dense(1)
    K.clear_session()
    assert layers.Dense(1).name == "dense"
    assert K.learning_phase() == 0


def test_tensor_math_for_custom_layers_matches_numpy_and_gradchecks():
    """The backend functions Keras 2's antirectifier example calls inside a layer's `call`."""
    from minikeras.autograd import check_grads

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    np.testing.assert_allclose(K.mean(x, axis=1, keepdims=True).numpy(), x.mean(1, keepdims=True))
    np.testing.assert_allclose(K.sum(x, axis=[0, 1]).numpy(), x.sum())
    np.testing.assert_allclose(K.max(x, axis=0).numpy(), x.max(0))
    np.testing.assert_allclose(K.min(x).numpy(), x.min())
    np.testing.assert_allclose(K.relu(x).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(K.relu(x, alpha=0.1, max_value=0.5).numpy(),
                               np.minimum(np.where(x > 0, x, 0.1 * x), 0.5))
    np.testing.assert_allclose(K.concatenate([x, -x], axis=1).numpy(), np.concatenate([x, -x], 1))
    np.testing.assert_allclose(K.clip(x, -0.5, 0.5).numpy(), np.clip(x, -0.5, 0.5))
    np.testing.assert_allclose(K.softmax(x).numpy(), np.exp(x) / np.exp(x).sum(-1, keepdims=True))
    for fn, ref in [(K.square, np.square), (K.abs, np.abs), (K.exp, np.exp), (K.tanh, np.tanh)]:
        np.testing.assert_allclose(fn(x).numpy(), ref(x))
    np.testing.assert_allclose(K.sqrt(np.abs(x)).numpy(), np.sqrt(np.abs(x)))
    np.testing.assert_allclose(K.log(np.abs(x)).numpy(), np.log(np.abs(x)))
    np.testing.assert_allclose(K.sigmoid(x).numpy(), 1 / (1 + np.exp(-x)))
    # tf.nn.l2_normalize: x / sqrt(max(sum(x**2), 1e-12)); an all-zero row stays zero
    np.testing.assert_allclose(K.l2_normalize(x, axis=1).numpy(), x / np.linalg.norm(x, axis=1, keepdims=True))
    assert K.l2_normalize(np.zeros((1, 3)), axis=1).numpy().tolist() == [[0.0, 0.0, 0.0]]
    assert K.l2_normalize(x.astype("float32"), axis=1).dtype == np.float32

    weights = Tensor(rng.normal(size=(3, 8)))

    def antirectifier(t):
        t = t - K.mean(t, axis=1, keepdims=True)
        t = K.l2_normalize(t, axis=1)
        return K.concatenate([K.relu(t), K.relu(-t)], axis=1) * weights

    check_grads(antirectifier, x)
    check_grads(lambda t: K.l2_normalize(t), x)


def test_function_reads_intermediate_outputs_as_tf_keras():
    """`K.function([model.input], [layer.output])`, Keras 2 code's way to read a hidden layer (tf_keras 2.x eager:
    a Model called in inference mode, numpy results; tf_keras 2.21 gives the same result types and refuses the same
    three calls)."""
    model = Sequential([layers.Dense(4, input_shape=(3,), activation="relu"), layers.Dropout(0.5), layers.Dense(2)])
    x = np.random.default_rng(1).random((5, 3)).astype("float32")
    hidden, out = K.function([model.input], [model.layers[0].output, model.layers[2].output])([x])
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(hidden, np.maximum(x @ kernel + bias, 0), rtol=1e-6)
    np.testing.assert_array_equal(out, model.predict(x, verbose=0))  # inference mode: no dropout
    (single,) = K.function([model.input], [model.output])([x])
    assert isinstance(single, np.ndarray) and single.shape == (5, 2)
    bare = K.function(model.input, model.output)(x)
    assert isinstance(bare, np.ndarray) and bare.shape == (5, 2)
    with pytest.raises(ValueError, match="must come from `keras.Input`"):
        K.function([model.input, K.learning_phase()], [model.output])  # as tf_keras 2.x in eager mode
    with pytest.raises(ValueError, match="`updates` argument is not supported during eager execution"):
        K.function([model.input], [model.output], updates=[(model.layers[0].kernel, kernel)])
    with pytest.raises(ValueError, match="Session keyword arguments are not supported"):
        K.function([model.input], [model.output], fetches=[])


def _seeded_by_numpy(seed):
    np.random.seed(seed)  # Keras 2 scripts' one line of seeding
    model = Sequential([layers.LSTM(4, input_shape=(3, 2)), layers.Dropout(0.5), layers.Dense(1)])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    x, y = np.random.random((16, 3, 2)), np.random.random((16, 1))
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # shuffled, with dropout
    return model.get_weights()


def test_numpy_global_seed_makes_a_run_repeatable_as_in_keras2():
    K.set_random_seed(None)  # no minikeras seed: draws follow numpy's global generator
    first, again, other = _seeded_by_numpy(1337), _seeded_by_numpy(1337), _seeded_by_numpy(7)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, other))


def test_set_random_seed_wins_over_numpy_global_seed():
    K.set_random_seed(5)
    np.random.seed(1)
    a = K.rng().random(3)
    K.set_random_seed(5)
    np.random.seed(2)  # numpy's global generator no longer matters
    np.testing.assert_array_equal(K.rng().random(3), a)
    K.set_random_seed(None)  # back to numpy's global generator
    np.random.seed(3)
    b = K.rng().random(3)
    np.random.seed(3)
    np.testing.assert_array_equal(K.rng().random(3), b)
    np.random.seed(4)
    assert not np.array_equal(K.rng().random(3), b)
