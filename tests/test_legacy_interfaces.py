"""Keras 1 argument names: every conversion Keras 2.0's `keras/legacy/interfaces.py` made for minikeras's layers,
with its warning text, value conversions and duplicate-argument error."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from minikeras import layers, regularizers


def build(cls, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = cls(*args, **kwargs)
    return layer, [str(w.message) for w in caught]


def test_dense_names_and_warning_text():
    layer, messages = build(layers.Dense, output_dim=3, init="zeros", W_regularizer="l2", b_regularizer="l1",
                            W_constraint="non_neg", b_constraint="max_norm", bias=False)
    assert messages == ['Update your `Dense` call to the Keras 2 API: `Dense(units=3, kernel_initializer="zeros", '
                        'kernel_regularizer="l2", bias_regularizer="l1", kernel_constraint="non_neg", '
                        'bias_constraint="max_norm", use_bias=False)`']
    config = layer.get_config()
    assert (config["units"], config["use_bias"], config["kernel_initializer"]["class_name"],
            config["kernel_regularizer"]["class_name"], config["kernel_constraint"]["class_name"]) == (
        3, False, "Zeros", "L2", "NonNeg")


def test_recurrent_names_and_value_conversions():
    layer, messages = build(layers.LSTM, output_dim=4, init="zeros", inner_init="orthogonal",
                            inner_activation="sigmoid", W_regularizer="l2", U_regularizer="l1", b_regularizer="l2",
                            dropout_W=0.1, dropout_U=0.0, consume_less="gpu", forget_bias_init="one",
                            input_dim=3, input_length=5, return_sequences=True)
    assert (layer.units, layer.dropout, layer.recurrent_dropout, layer.implementation) == (4, 0.1, 0.0, 2)
    assert layer.unit_forget_bias is True and layer.batch_input_shape == (None, 5, 3)
    config = layer.get_config()
    assert config["recurrent_activation"] == "sigmoid"
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal"
    assert config["recurrent_regularizer"]["class_name"] == "L1"
    assert messages[0] == ("The `input_dim` and `input_length` arguments in recurrent layers are deprecated. "
                           "Use `input_shape` instead.")
    assert messages[1].startswith("Update your `LSTM` call to the Keras 2 API: `LSTM(return_sequences=True, "
                                  "unit_forget_bias=True, input_shape=(5, 3), units=4, kernel_initializer=\"zeros\"")
    assert messages[1].endswith('dropout=0.1, recurrent_dropout=0.0, implementation=2)`')
    for value, implementation in (("cpu", 1), ("mem", 1), ("gpu", 2)):  # 0 reads as 1, as tf_keras
        assert build(layers.GRU, 2, consume_less=value)[0].implementation == implementation
    rnn, _ = build(layers.SimpleRNN, output_dim=2, dropout_U=0.25, input_dim=4)
    assert (rnn.units, rnn.recurrent_dropout, rnn.batch_input_shape) == (2, 0.25, (None, None, 4))


def test_forget_bias_init_other_than_one_is_ignored_with_keras_warning():
    layer, messages = build(layers.LSTM, 2, forget_bias_init="zero")
    assert messages == ["The `forget_bias_init` argument has been ignored. Use `unit_forget_bias=True` instead to "
                        "initialize with ones."]
    assert layer.unit_forget_bias is True  # the Keras 2 default, untouched


def test_embedding_and_dropouts():
    layer, messages = build(layers.Embedding, 10, 4, init="zeros", W_regularizer="l2", W_constraint="unit_norm",
                            dropout=0.2)
    assert messages == ["The `dropout` argument is no longer support in `Embedding`. You can apply a "
                        "`keras.layers.SpatialDropout1D` layer right after the `Embedding` layer to get the same "
                        "behavior.",
                        'Update your `Embedding` call to the Keras 2 API: `Embedding(10, 4, embeddings_initializer='
                        '"zeros", embeddings_regularizer="l2", embeddings_constraint="unit_norm")`']
    assert layer.get_config()["embeddings_initializer"]["class_name"] == "Zeros"
    assert build(layers.Dropout, p=0.3)[0].rate == 0.3
    spatial, messages = build(layers.SpatialDropout1D, p=0.4)
    assert spatial.rate == 0.4 and messages == ["Update your `SpatialDropout1D` call to the Keras 2 API: "
                                                "`SpatialDropout1D(rate=0.4)`"]


def test_conv1d_and_pooling_names():
    conv, messages = build(layers.Convolution1D, nb_filter=8, filter_length=3, subsample_length=1,
                           border_mode="same", init="zeros", W_regularizer="l2", b_regularizer="l1",
                           W_constraint="max_norm", b_constraint="non_neg", bias=True, input_dim=5,
                           input_length=7)
    assert (conv.filters, conv.kernel_size, conv.strides, conv.padding, conv.batch_input_shape) == (
        8, (3,), (1,), "same", (None, 7, 5))
    assert messages == ['Update your `Conv1D` call to the Keras 2 API: `Conv1D(input_shape=(7, 5), filters=8, '
                        'kernel_size=3, strides=1, padding="same", kernel_initializer="zeros", kernel_regularizer='
                        '"l2", bias_regularizer="l1", kernel_constraint="max_norm", bias_constraint="non_neg", '
                        'use_bias=True)`']
    pool, messages = build(layers.MaxPooling1D, pool_length=3, stride=1, border_mode="same")
    assert (pool.pool_size, pool.strides, pool.padding) == ((3,), (1,), "same")
    assert messages == ['Update your `MaxPooling1D` call to the Keras 2 API: '
                        '`MaxPooling1D(pool_size=3, strides=1, padding="same")`']
    assert build(layers.AveragePooling1D, pool_length=4)[0].pool_size == (4,)
    for value, fmt in (("tf", "channels_last"), ("th", "channels_first"), ("default", "channels_last")):
        for cls in (layers.GlobalMaxPooling1D, layers.GlobalAveragePooling1D):
            assert build(cls, dim_ordering=value)[0].data_format == fmt


def test_keras2_spellings_do_not_warn_and_long_values_are_cut():
    _, messages = build(layers.LSTM, 4, dropout=0.1, implementation=2)
    assert messages == []
    _, messages = build(layers.Dense, 2, weights=None, init="ones")
    assert messages == ['Update your `Dense` call to the Keras 2 API: `Dense(2, weights=None, '
                        'kernel_initializer="ones")`']
    reg = regularizers.L2(0.01)
    _, messages = build(layers.Dense, output_dim=2, W_regularizer=reg)
    assert messages == ["Update your `Dense` call to the Keras 2 API: `Dense(units=2, kernel_regularizer="
                        + str(reg)[:10] + "...)`"]


@pytest.mark.parametrize("call", [lambda: layers.Dense(3, output_dim=4),
                                  lambda: layers.Dense(units=3, output_dim=4),
                                  lambda: layers.LSTM(2, dropout=0.1, dropout_W=0.2),
                                  lambda: layers.Conv1D(4, 3, filter_length=3)])
def test_both_spellings_raise_keras_error(call):
    with pytest.raises(TypeError, match="the layer received both the legacy keyword argument `.*` and the Keras 2 "
                                        "keyword argument `.*`. Stick to the latter!"):
        call()


def test_keras1_model_trains():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from minikeras import Sequential
        model = Sequential([layers.Embedding(20, 8, input_length=6, dropout=0.2),
                            layers.Convolution1D(nb_filter=4, filter_length=3, border_mode="same", activation="relu"),
                            layers.MaxPooling1D(pool_length=2),
                            layers.LSTM(output_dim=5, dropout_W=0.1, dropout_U=0.1, consume_less="mem"),
                            layers.Dense(output_dim=1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    x = np.random.default_rng(0).integers(1, 20, (8, 6))
    history = model.fit(x, np.ones(8), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_model_constructor_takes_keras1_input_output():
    """Keras 2.0-2.2's `legacy_model_constructor_support`: `Model(input=..., output=...)` -> `inputs`/`outputs`."""
    from minikeras import Input, Model

    inp = Input(shape=(3,))
    out = layers.Dense(2)(inp)
    with pytest.warns(UserWarning, match=r"Update your `Functional` call to the Keras 2 API: `Functional\(inputs="):
        model = Model(input=inp, output=out)
    reference = Model(inputs=inp, outputs=out)
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), reference.predict(x, verbose=0))
    assert model.inputs[0] is inp and model.outputs[0] is out
    with pytest.raises(TypeError, match="received both the legacy keyword argument `input` and the Keras 2 "
                                        "keyword argument `inputs`"):
        Model(input=inp, inputs=inp, outputs=out)
