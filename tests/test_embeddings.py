"""Embedding: lookup, integer inputs, masks, input_length, configs (tf_keras 2.21 and Keras 3), errors, gradients
(scatter-add over repeated indices) and outputs against real Keras files."""
from __future__ import annotations

import doctest
import json

import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras import activations, initializers, layers, regularizers
from minikeras.autograd import Tensor, check_grads
from minikeras.layers import embeddings
from minikeras.layers.embeddings import Embedding
from minikeras.models import Sequential, model_from_json

ATOL = 2e-5


def dumps(config):
    return json.dumps(config, sort_keys=True)


def built(layer, shape=(None, 3)):
    layer.build(shape)
    layer.built = True
    return layer


def test_module_all_registry_and_docstring():
    assert embeddings.__all__ == ["Embedding"]
    assert layers.Embedding is Embedding
    assert layers.deserialize({"class_name": "Embedding", "config": {"input_dim": 3, "output_dim": 2}}).input_dim == 3
    result = doctest.testmod(embeddings)
    assert result.attempted >= 3 and result.failed == 0


def test_lookup_values_shape_and_dtype(rng):
    layer = Embedding(10, 4)
    x = np.array([[1, 2, 9], [0, 0, 3]])
    y = layer(x)
    assert y.shape == (2, 3, 4) and y.dtype == np.float32
    table = layer.get_weights()[0]
    assert table.shape == (10, 4)
    np.testing.assert_array_equal(y.numpy(), table[x])
    assert [w.name for w in layer.weights] == ["embeddings"]
    assert layer.embeddings.path == "embedding/embeddings"


def test_default_initializer_is_uniform_005():
    layer = built(Embedding(1000, 8))
    w = layer.get_weights()[0]
    assert w.min() >= -0.05 and w.max() <= 0.05 and w.std() > 0.02


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "int16"])
def test_integer_inputs_stay_integer(dtype):
    layer = Embedding(5, 2)
    x = np.array([[1, 4]], dtype=dtype)
    assert layer._convert_input(x).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(layer(x).numpy(), layer.get_weights()[0][[[1, 4]]])
    np.testing.assert_array_equal(layer(Tensor(x)).numpy(), layer(x).numpy())


def test_float_inputs_holding_integers_are_cast_as_keras_does():
    layer = Embedding(5, 2)
    np.testing.assert_array_equal(layer(np.array([[1.0, 4.0]])).numpy(), layer(np.array([[1, 4]])).numpy())
    np.testing.assert_array_equal(layer([[1, 4]]).numpy(), layer(np.array([[1, 4]])).numpy())
    # float64 ids above float32 precision are not rounded by an autocast (tf_keras: autocast=False)
    big = Embedding(2**25, 1, embeddings_initializer=initializers.RandomUniform(seed=1))
    assert big._convert_input(np.array([[2.0**24 + 1]])).dtype == np.float64


@pytest.mark.parametrize("value", [1.5, np.nan, np.inf, -0.5])
def test_non_integer_values_are_rejected(value):
    with pytest.raises(ValueError, match="Embedding layer 'embedding' expects integer indices.*Received: value"):
        Embedding(5, 2)(np.array([[1.0, value]]))


@pytest.mark.parametrize("bad", [[["a", "b"]], [[1 + 2j]]])
def test_non_numeric_inputs_are_rejected(bad):
    with pytest.raises(TypeError, match="expects integer indices"):
        Embedding(5, 2)(np.array(bad))


@pytest.mark.parametrize("index", [5, 7, -1, 100])
def test_out_of_range_indices_name_layer_index_and_input_dim(index):
    layer = Embedding(5, 2, name="emb")
    with pytest.raises(ValueError, match=rf"Embedding layer 'emb'.*\[0, 5\) \(input_dim=5\).*index {index} "
                                         r"at position \(0, 1\)"):
        layer(np.array([[1, index, 2]]))


@pytest.mark.parametrize("args", [(0, 3), (3, 0), (-1, 2), (2.5, 3), (None, 3), ("10", 3), (True, 3)])
def test_rejects_bad_dims(args):
    with pytest.raises(ValueError, match="should be positive integers"):
        Embedding(*args)


@pytest.mark.parametrize("input_length", [0, -2, 2.5, "5", []])
def test_rejects_bad_input_length(input_length):
    with pytest.raises(ValueError, match="Invalid `input_length`"):
        Embedding(5, 2, input_length=input_length)


def test_sparse_and_unknown_kwargs():
    with pytest.raises(NotImplementedError, match="sparse=True"):
        Embedding(5, 2, sparse=True)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Embedding"):
        Embedding(5, 2, W_regularizers=None)
    with pytest.raises(TypeError, match="float dtype"):
        Embedding(5, 2, dtype="int32")


def test_mask_zero():
    x = np.array([[3, 1, 0, 0], [0, 2, 0, 4]])
    y = Embedding(5, 2, mask_zero=True)(x)
    np.testing.assert_array_equal(y._keras_mask, x != 0)
    assert Embedding(5, 2)(x)._keras_mask is None
    assert Embedding(5, 2, mask_zero=True).supports_masking
    assert not Embedding(5, 2).supports_masking


def test_input_length_sets_batch_input_shape_as_tf_keras():
    assert Embedding(5, 2, input_length=7).batch_input_shape == (None, 7)
    assert Embedding(5, 2).batch_input_shape == (None, None)
    assert Embedding(5, 2, input_shape=(3,)).batch_input_shape == (None, 3)
    # tf_keras: an explicit batch_input_shape wins over input_length
    assert Embedding(5, 2, batch_input_shape=(3, 7), input_length=7).batch_input_shape == (3, 7)
    assert Embedding(5, 2, input_length=(4, None)).batch_input_shape == (None, 4, None)


def test_compute_output_shape():
    assert Embedding(5, 2).compute_output_shape((None, 7)) == (None, 7, 2)
    assert Embedding(5, 2, input_length=7).compute_output_shape((None, None)) == (None, 7, 2)
    assert Embedding(5, 2, input_length=(3, None)).compute_output_shape((None, 3, 4)) == (None, 3, 4, 2)
    with pytest.raises(ValueError, match='"input_length" is 7, but received input has shape'):
        Embedding(5, 2, input_length=7).compute_output_shape((None, 6))
    with pytest.raises(ValueError, match='"input_length" is 7, but received input has shape'):
        Embedding(5, 2, input_length=7).compute_output_shape((None, 6, 2))


def test_config_keys_order_and_round_trip():
    layer = Embedding(20, 4, mask_zero=True, input_length=5)
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "batch_input_shape", "input_dim", "output_dim",
                            "embeddings_initializer", "embeddings_regularizer", "activity_regularizer",
                            "embeddings_constraint", "mask_zero", "input_length"]
    assert config["batch_input_shape"] == [None, 5]
    assert config["embeddings_initializer"] == {"module": "keras.initializers", "class_name": "RandomUniform",
                                                "config": {"minval": -0.05, "maxval": 0.05, "seed": None},
                                                "registered_name": None}
    for layer in (layer, Embedding(3, 2, embeddings_regularizer="l2", activity_regularizer=regularizers.L1(0.5),
                                   embeddings_constraint="unit_norm", embeddings_initializer="glorot_uniform",
                                   input_length=(4, None), trainable=False)):
        revived = Embedding.from_config(json.loads(json.dumps(layer.get_config())))
        assert dumps(revived.get_config()) == dumps(layer.get_config())


def test_tf_keras_config_from_file_is_reproduced_exactly():
    config = load_json(keras_case(2, "embedding_mask_lstm") / "config.json")["config"]["layers"][1]["config"]
    layer = Embedding.from_config(config)
    assert layer.get_config() == config and list(layer.get_config()) == list(config)


def test_keras3_config_loads_without_input_length():
    config = load_json(keras_case(3, "embedding_mask_lstm") / "meta.json")["embedding_config"]
    assert "input_length" not in config and config["quantization_config"] is None
    layer = Embedding.from_config(config)
    assert (layer.input_dim, layer.output_dim, layer.mask_zero, layer.input_length) == (20, 4, True, None)
    assert layer.dtype == "float32"
    with pytest.raises(NotImplementedError, match="lora_rank"):
        Embedding(5, 2, lora_rank=2)


def test_regularizer_and_activity_losses():
    layer = Embedding(3, 2, embeddings_initializer="ones", embeddings_regularizer=regularizers.L2(0.5),
                      activity_regularizer=regularizers.L1(1.0))
    layer(np.array([[0, 1], [2, 2]]))
    np.testing.assert_allclose([float(l.numpy()) for l in layer.losses], [3.0, 4.0])


def test_gradient_scatter_adds_repeated_indices(float64, rng):
    layer = built(Embedding(6, 3))
    idx = np.array([[1, 4, 1], [4, 4, 0]])

    def lookup(table):
        layer.embeddings = table
        return layer(idx)

    check_grads(lookup, rng.standard_normal((6, 3)))
    table = Tensor(rng.standard_normal((6, 3)), requires_grad=True)
    lookup(table).sum().backward()
    np.testing.assert_array_equal(table.grad[:, 0], [1, 2, 0, 0, 3, 0])  # how often each row was used


def test_weights_receive_gradients_through_the_layer(float64):
    layer = Embedding(4, 2)
    layer(np.array([[3, 3, 1]])).sum().backward()
    np.testing.assert_array_equal(layer.embeddings.grad, [[0, 0], [1, 1], [0, 0], [2, 2]])


@pytest.mark.parametrize("era", [2, 3])
def test_embedding_mask_lstm_matches_keras(era):
    """Embedding(20, 4, mask_zero) -> LSTM(6) on rows padded at the end, the start and the middle."""
    from minikeras.layers.recurrent import LSTM

    case = keras_case(era, "embedding_mask_lstm")
    io = load_io(case)
    x = io["x"]
    if era == 2:
        model = model_from_json((case / "config.json").read_text())
        weights = [io[f"w_{i}"] for i in range(4)]
    else:
        meta = load_json(case / "meta.json")
        lstm_config = load_json(case / "layer_config.json")
        with activations.keras_era(3):
            model = Sequential([layers.Input(shape=(5,), dtype="int32"),
                                Embedding.from_config(meta["embedding_config"]), LSTM.from_config(lstm_config)])
        weights = [io[f"model_w_{i}"] for i in range(4)]
        np.testing.assert_array_equal(model.layers[0](x)._keras_mask, io["mask"])
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), io["y_pred"], atol=ATOL, rtol=0)
    assert x.dtype == np.int32
