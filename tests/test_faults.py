"""Numerical faults and bad call inputs (issue 8): exploding gradients, NaN inputs, wrong shapes, bad labels."""
from __future__ import annotations

import numpy as np
import pytest

from minikeras import layers, optimizers
from minikeras.models import Sequential


def lstm_model(**opt_kwargs):
    m = Sequential([layers.LSTM(8, input_shape=(6, 3), recurrent_activation="sigmoid"), layers.Dense(1)])
    m.compile(optimizer=optimizers.SGD(learning_rate=10.0, **opt_kwargs), loss="mse")
    return m


def test_exploding_gradients_stay_finite_with_clipnorm(rng):
    x = rng.standard_normal((16, 6, 3)).astype("float32") * 50
    y = np.full((16, 1), 1e4, "float32")
    clipped = lstm_model(clipnorm=1.0)
    for _ in range(20):
        clipped.train_on_batch(x, y)
    assert all(np.all(np.isfinite(w)) for w in clipped.get_weights())
    assert max(np.abs(w).max() for w in clipped.get_weights()) < 1e3
    # the same run without clipping does blow up, so the check above is not vacuous
    free = lstm_model()
    with np.errstate(all="ignore"):
        for _ in range(20):
            free.train_on_batch(x, y)
    weights = free.get_weights()
    assert not all(np.all(np.isfinite(w)) for w in weights) or max(np.abs(w).max() for w in weights) > 1e3


@pytest.mark.parametrize("shape", [(4, 3), (4, 6, 5), (4, 6, 3, 2)])
def test_wrong_input_shapes_name_the_layer(shape):
    # tf_keras 2.21's message for the same model: the model's input is what does not fit
    m = lstm_model()
    with pytest.raises(ValueError, match=r'Input 0 of layer "sequential(_\d+)?" is incompatible with the layer: '
                                         rf"expected shape=\(None, 6, 3\), found shape=\({shape[0]}, "):
        m.predict(np.zeros(shape, "float32"), verbose=0)
    # a trailing axis of size 1 is squeezed, as tf_keras does
    assert m.predict(np.zeros((4, 6, 3, 1), "float32"), verbose=0).shape == (4, 1)


def test_nan_inputs_give_nan_outputs_not_crashes():
    m = lstm_model()
    x = np.zeros((2, 6, 3), "float32")
    x[0, 2, 1] = np.nan
    y = m.predict(x, verbose=0)
    assert np.isnan(y[0]).all() and np.isfinite(y[1]).all()


def test_sparse_labels_out_of_range():
    m = Sequential([layers.LSTM(4, input_shape=(5, 2)), layers.Dense(3, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    before = m.get_weights()
    with pytest.raises(ValueError, match="outside the valid range"):
        m.train_on_batch(np.zeros((2, 5, 2), "float32"), np.array([0, 5]))
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)
