"""Sequential: the seed model and its exact tf_keras 2.21 summary, building from every Keras input declaration,
add/pop, configs (tf_keras dict form with an InputLayer entry, Keras 3 form, model_from_json), prediction in
batches, masks, and whole models against outputs real Keras computed."""
from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras import Input, backend
from minikeras.autograd import Tensor
from minikeras.engine.input_layer import InputLayer
from minikeras.layers import (Activation, ActivityRegularization, Dense, Dropout, Embedding, Flatten, Masking,
                              Permute, RepeatVector, Reshape)
from minikeras.models import Sequential, model_from_json

ATOL = 2e-5

# Written by real tf_keras 2.21 (/work/venvs/k2, TF_USE_LEGACY_KERAS=1) after keras.backend.clear_session():
#   m = keras.Sequential([keras.Input((5, 4)), L.Dense(3, name="dense_with_a_rather_long_name"),
#                         L.Dropout(0.5, noise_shape=(None, 1, 3), seed=2), L.Flatten(), L.RepeatVector(2),
#                         L.Reshape((-1, 3)), L.Permute((2, 1)), L.Masking(0.5), L.Activation("tanh"),
#                         L.ActivityRegularization(l1=0.25)], name="core_stack")
#   m.summary(print_fn=lines.append); m.to_json()
TF_KERAS_CORE_STACK_JSON = (
    '{"class_name": "Sequential", "config": {"name": "core_stack", "layers": [{"module": "keras.layers", '
    '"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5, 4], "dtype": "float32", "spars'
    'e": false, "ragged": false, "name": "input_1", "optional": false}, "registered_name": null}, {"modul'
    'e": "keras.layers", "class_name": "Dense", "config": {"name": "dense_with_a_rather_long_name", "trai'
    'nable": true, "dtype": "float32", "units": 3, "activation": "linear", "use_bias": true, "kernel_init'
    'ializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, '
    '"registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros"'
    ', "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "act'
    'ivity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": nu'
    'll, "build_config": {"input_shape": [null, 5, 4]}}, {"module": "keras.layers", "class_name": "Dropou'
    't", "config": {"name": "dropout", "trainable": true, "dtype": "float32", "rate": 0.5, "noise_shape":'
    ' [null, 1, 3], "seed": 2}, "registered_name": null, "build_config": {"input_shape": [null, 5, 3]}}, '
    '{"module": "keras.layers", "class_name": "Flatten", "config": {"name": "flatten", "trainable": true,'
    ' "dtype": "float32", "data_format": "channels_last"}, "registered_name": null, "build_config": {"inp'
    'ut_shape": [null, 5, 3]}}, {"module": "keras.layers", "class_name": "RepeatVector", "config": {"name'
    '": "repeat_vector", "trainable": true, "dtype": "float32", "n": 2}, "registered_name": null, "build_'
    'config": {"input_shape": [null, 15]}}, {"module": "keras.layers", "class_name": "Reshape", "config":'
    ' {"name": "reshape", "trainable": true, "dtype": "float32", "target_shape": [-1, 3]}, "registered_na'
    'me": null, "build_config": {"input_shape": [null, 2, 15]}}, {"module": "keras.layers", "class_name":'
    ' "Permute", "config": {"name": "permute", "trainable": true, "dtype": "float32", "dims": [2, 1]}, "r'
    'egistered_name": null, "build_config": {"input_shape": [null, 10, 3]}}, {"module": "keras.layers", "'
    'class_name": "Masking", "config": {"name": "masking", "trainable": true, "dtype": "float32", "mask_v'
    'alue": 0.5}, "registered_name": null, "build_config": {"input_shape": [null, 3, 10]}}, {"module": "k'
    'eras.layers", "class_name": "Activation", "config": {"name": "activation", "trainable": true, "dtype'
    '": "float32", "activation": "tanh"}, "registered_name": null, "build_config": {"input_shape": [null,'
    ' 3, 10]}}, {"module": "keras.layers", "class_name": "ActivityRegularization", "config": {"name": "ac'
    'tivity_regularization", "trainable": true, "dtype": "float32", "l1": 0.25, "l2": 0.0}, "registered_n'
    'ame": null, "build_config": {"input_shape": [null, 3, 10]}}]}, "keras_version": "2.21.0", "backend":'
    ' "tensorflow"}'
)

TF_KERAS_CORE_STACK_SUMMARY = "\n".join([
    'Model: "core_stack"',
    '_________________________________________________________________',
    ' Layer (type)                Output Shape              Param #   ',
    '=================================================================',
    ' dense_with_a_rather_long_n  (None, 5, 3)              15        ',
    ' ame (Dense)                                                     ',
    '                                                                 ',
    ' dropout (Dropout)           (None, 5, 3)              0         ',
    '                                                                 ',
    ' flatten (Flatten)           (None, 15)                0         ',
    '                                                                 ',
    ' repeat_vector (RepeatVecto  (None, 2, 15)             0         ',
    ' r)                                                              ',
    '                                                                 ',
    ' reshape (Reshape)           (None, 10, 3)             0         ',
    '                                                                 ',
    ' permute (Permute)           (None, 3, 10)             0         ',
    '                                                                 ',
    ' masking (Masking)           (None, 3, 10)             0         ',
    '                                                                 ',
    ' activation (Activation)     (None, 3, 10)             0         ',
    '                                                                 ',
    ' activity_regularization (A  (None, 3, 10)             0         ',
    ' ctivityRegularization)                                          ',
    '                                                                 ',
    '=================================================================',
    'Total params: 15 (60.00 Byte)',
    'Trainable params: 15 (60.00 Byte)',
    'Non-trainable params: 0 (0.00 Byte)',
    '_________________________________________________________________',
])


def seed_model():
    """The seed article's model, verbatim."""
    from minikeras.layers.recurrent import LSTM

    model = Sequential()
    model.add(LSTM(128, input_dim=64, input_length=5, return_sequences=True))
    model.add(LSTM(256, return_sequences=False))
    return model


def summary_text(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return "\n".join(lines)


def layer_configs(config):
    """(class_name, config) of every layer entry, as JSON data (tuples and lists compare equal, as in a file)."""
    return json.loads(json.dumps([(entry["class_name"], entry["config"]) for entry in config["layers"]]))


def core_stack():
    return Sequential([Input((5, 4)), Dense(3, name="dense_with_a_rather_long_name"),
                       Dropout(0.5, noise_shape=(None, 1, 3), seed=2), Flatten(), RepeatVector(2),
                       Reshape((-1, 3)), Permute((2, 1)), Masking(0.5), Activation("tanh"),
                       ActivityRegularization(l1=0.25)], name="core_stack")


# ************************************************************ the seed model


def test_seed_model_summary_is_tf_keras_exactly():
    model = seed_model()
    expected = (keras_case(2, "seed") / "summary.txt").read_text()
    assert summary_text(model) == expected.rstrip("\n")
    assert model.count_params() == load_json(keras_case(2, "seed") / "meta.json")["count_params"] == 493056


def test_seed_model_shapes_config_and_prediction():
    model = seed_model()
    assert model.input_shape == (None, 5, 64) and model.output_shape == (None, 256)
    case = keras_case(2, "seed")
    expected = layer_configs(load_json(case / "config.json")["config"])
    got = layer_configs(model.get_config())
    # NOTE: minikeras keeps the seed's Keras 2.0 LSTM defaults (README): recurrent_activation='hard_sigmoid' and
    # implementation=1, where tf_keras 2.21 defaults to 'sigmoid' and 2. Every other key and value is tf_keras's.
    assert [(c["recurrent_activation"], c["implementation"]) for _, c in got[1:]] == [("hard_sigmoid", 1)] * 2
    assert [(c["recurrent_activation"], c["implementation"]) for _, c in expected[1:]] == [("sigmoid", 2)] * 2
    for (_, c) in got[1:] + expected[1:]:
        del c["recurrent_activation"], c["implementation"]
    assert got == expected
    # the file's model (explicit sigmoid) with the file's weights predicts what tf_keras predicted
    keras_model = model_from_json((case / "config.json").read_text())
    keras_model.load_weights(str(case / "weights.h5"))
    io = load_io(case)
    np.testing.assert_allclose(keras_model.predict(io["x"], verbose=0), io["y_pred"], atol=ATOL, rtol=0)
    assert summary_text(keras_model) == summary_text(model)


@pytest.mark.parametrize("name", ["flatten_after_lstm", "repeat_vector", "reshape", "embedding_mask_lstm"])
def test_keras2_sequential_models_match(name):
    case = keras_case(2, name)
    io = load_io(case)
    text = (case / "config.json").read_text()
    model = model_from_json(text)
    expected = json.loads(text)["config"]
    assert layer_configs(model.get_config()) == layer_configs(expected)
    model.set_weights([io[f"w_{i}"] for i in range(sum(k.startswith("w_") for k in io))])
    np.testing.assert_allclose(model.predict(io["x"], verbose=0), io["y_pred"], atol=ATOL, rtol=0)


def test_flatten_after_lstm_needs_input_length():
    from minikeras.layers.recurrent import LSTM

    model = Sequential([LSTM(6, return_sequences=True, input_shape=(None, 4)), Flatten()])
    assert model.output_shape == (None, None)
    with pytest.raises(ValueError, match="should be defined. Found None.*input_length"):
        model.add(Dense(2))
    assert [type(l).__name__ for l in model.layers] == ["LSTM", "Flatten"]  # the failed add changed nothing
    model.pop()
    model.pop()
    model = Sequential([LSTM(6, return_sequences=True, input_dim=4, input_length=5), Flatten(), Dense(2)])
    assert model.output_shape == (None, 2)


@pytest.mark.parametrize("name", ["seed", "sentence"])
def test_keras3_sequential_models_match(name):
    case = keras_case(3, name)
    io = load_io(case)
    model = model_from_json((case / "config.json").read_text())
    if name == "seed":
        assert model.input_shape == (None, 5, 64)
        weights = [np.asarray(w) for w in _keras3_seed_weights(case)]
    else:
        weights = [io[f"model_w_{i}"] for i in range(6)]
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(io["x"], verbose=0), io["y_pred"], atol=ATOL, rtol=0)


def _keras3_seed_weights(case):
    import h5py

    out = []
    with h5py.File(case / "model.weights.h5", "r") as f:
        for layer in ("lstm", "lstm_1"):
            group = f[f"layers/{layer}/cell/vars"]
            out.extend(group[str(i)][()] for i in range(len(group)))
    return out


# ************************************************************ summary


def test_core_layers_summary_is_tf_keras_exactly():
    assert summary_text(core_stack()) == TF_KERAS_CORE_STACK_SUMMARY


def test_summary_embedding_without_input_length():
    model = Sequential([Embedding(20, 4), Dense(3)])
    text = summary_text(model)
    assert " embedding (Embedding)       (None, None, 4)           80        " in text.split("\n")
    assert "Total params: 95 (380.00 Byte)" in text


def test_summary_of_an_unbuilt_model_raises_as_tf_keras():
    model = Sequential([Dense(3)])
    with pytest.raises(ValueError, match="This model has not yet been built"):
        model.summary()
    model.build((None, 4))
    assert "dense (Dense)" in summary_text(model)


def test_summary_show_trainable_and_line_length():
    model = Sequential([Dense(2, input_dim=3, trainable=False), Dense(1)])
    lines = summary_text(model, show_trainable=True).split("\n")
    assert lines[2] == " Layer (type)                Output Shape              Param #   Trainable  "
    assert lines[4].endswith("8         N          ")
    assert "Non-trainable params: 8 (32.00 Byte)" in lines
    assert set(len(l) for l in summary_text(model, line_length=80).split("\n")[1:4]) == {80}


# ************************************************************ building


def _dense_input_layer(model):
    return model._layers[0] if isinstance(model._layers[0], InputLayer) else None


@pytest.mark.parametrize("make, input_shape", [
    (lambda: Dense(3, input_shape=(5, 4)), (None, 5, 4)),
    (lambda: Dense(3, input_shape=4), (None, 4)),
    (lambda: Dense(3, input_dim=4), (None, 4)),
    (lambda: Dense(3, batch_input_shape=(7, 4)), (7, 4)),
    (lambda: Dense(3, input_shape=(4,), batch_size=7), (7, 4)),
    (lambda: Dense(3, batch_input_shape=(7, 4), input_shape=(9,)), (7, 4)),  # tf_keras: batch_input_shape wins
    (lambda: Dense(3, input_shape=None, input_dim=4), (None, 4)),
    (lambda: Input(shape=(5, 4)), (None, 5, 4)),
    (lambda: Input(batch_shape=(None, 5, 4)), (None, 5, 4)),  # Keras 3
    (lambda: Input(shape=(4,), batch_size=2), (2, 4)),
    (lambda: InputLayer(input_shape=(4,)), (None, 4)),
])
def test_build_from_every_input_declaration(make, input_shape):
    first = make()
    model = Sequential([first])
    if not isinstance(first, Dense):
        model.add(Dense(3))
    assert model.built and model.input_shape == input_shape
    assert model.output_shape == input_shape[:-1] + (3,)
    inp = _dense_input_layer(model)
    assert inp.batch_input_shape == input_shape
    if isinstance(first, Dense):
        assert inp.name == f"{first.name}_input"
    y = model(np.ones((7 if input_shape[0] == 7 else 2,) + input_shape[1:-1] + (4,), "float32"))
    assert isinstance(y, Tensor) and y.shape[-1] == 3


def test_input_dim_and_input_length_on_the_first_lstm():
    from minikeras.layers.recurrent import LSTM

    model = Sequential([LSTM(8, input_dim=4, input_length=5)])
    assert model.input_shape == (None, 5, 4) and model.output_shape == (None, 8)


def test_build_later_or_on_first_call():
    model = Sequential([Dense(3), Dense(2)])
    assert not model.built
    with pytest.raises(AttributeError, match="not been built"):
        _ = model.output_shape
    y = model(np.ones((4, 6)))
    assert model.built and y.shape == (4, 2) and model.output_shape == (None, 2)
    other = Sequential([Dense(3)])
    other.build((None, 6))
    assert other.layers[0].kernel.shape == (6, 3)
    with pytest.raises(ValueError, match="provide an `input_shape`"):
        Sequential([Dense(3)]).build()


def test_input_layer_config_is_tf_keras_2_21():
    model = Sequential([Input((5, 4), name="x"), Dense(2)])
    assert model.get_config()["layers"][0] == {"class_name": "InputLayer", "config": {
        "batch_input_shape": [None, 5, 4], "dtype": "float32", "sparse": False, "ragged": False, "name": "x",
        "optional": False}}
    with pytest.raises(NotImplementedError, match="optional=True"):
        InputLayer(input_shape=(3,), optional=True)


# ************************************************************ add / pop / names


def test_add_and_pop():
    model = Sequential()
    model.add(Dense(3, input_dim=4))
    model.add(Dense(2))
    assert model.output_shape == (None, 2) and len(model.weights) == 4
    popped = model.pop()
    assert popped.name == "dense_1" and model.output_shape == (None, 3)
    assert [l.name for l in model.layers] == ["dense"] and len(model.weights) == 2
    model.add(Dense(5))
    assert model.output_shape == (None, 5)
    model.pop()
    model.pop()
    with pytest.raises(TypeError, match="There are no layers in the model."):
        model.pop()


def test_add_rejects_non_layers_and_late_inputs():
    model = Sequential([Dense(2, input_dim=3)])
    with pytest.raises(TypeError, match="must be an instance of class Layer"):
        model.add("dense")
    with pytest.raises(ValueError, match="can only be the first entry"):
        model.add(Input((3,)))


def test_unique_layer_names():
    model = Sequential([Dense(3, name="a", input_dim=2)])
    with pytest.raises(ValueError, match='All layers added to a Sequential model should have unique names. '
                                         'Name "a" is already the name of a layer in this model.'):
        model.add(Dense(2, name="a"))
    assert len(model.layers) == 1


def test_add_that_fails_to_build_leaves_the_model_unchanged():
    model = Sequential([Input((5, 4))])
    with pytest.raises(ValueError, match="expected ndim=2"):
        model.add(RepeatVector(2))
    assert model.layers == []


# ************************************************************ configs


def test_config_round_trip_tf_keras_dict_form():
    model = core_stack()
    config = model.get_config()
    assert list(config) == ["name", "layers"]
    assert config["layers"][0]["class_name"] == "InputLayer"
    revived = Sequential.from_config(json.loads(json.dumps(config)))
    assert json.dumps(revived.get_config(), sort_keys=True) == json.dumps(config, sort_keys=True)
    assert revived.output_shape == model.output_shape == (None, 3, 10)


def test_tf_keras_json_builds_the_same_model_and_config():
    model = model_from_json(TF_KERAS_CORE_STACK_JSON)
    expected = json.loads(TF_KERAS_CORE_STACK_JSON)["config"]
    assert model.name == "core_stack"
    assert layer_configs(model.get_config()) == layer_configs(expected)
    assert summary_text(model) == TF_KERAS_CORE_STACK_SUMMARY


def test_config_round_trip_with_build_input_shape():
    model = Sequential([Dense(3), Dense(2)], name="m")
    model.build((None, 4))
    config = model.get_config()
    assert config["build_input_shape"] == [None, 4]
    revived = Sequential.from_config(config)
    assert revived.built and revived.output_shape == (None, 2) and revived.name == "m"
    unbuilt = Sequential([Dense(3)])
    assert "build_input_shape" not in unbuilt.get_config()
    assert not Sequential.from_config(unbuilt.get_config()).built


def test_keras_2_2_list_form_and_keras3_form():
    old = [{"class_name": "Dense", "config": {"name": "d", "units": 3, "batch_input_shape": [None, 4]}}]
    assert Sequential.from_config(old).output_shape == (None, 3)
    keras3 = {"name": "s", "trainable": False, "dtype": "float32", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer",
         "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "ragged": False,
                    "name": "input_layer", "optional": False}, "registered_name": None},
        {"module": "keras.layers", "class_name": "Dense", "config": {
            "name": "dense", "trainable": True, "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                                          "config": {"name": "float32"}, "registered_name": None},
            "units": 2, "activation": "linear", "use_bias": True, "kernel_initializer": "glorot_uniform",
            "bias_initializer": "zeros", "kernel_regularizer": None, "bias_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None, "quantization_config": None},
         "registered_name": None, "build_config": {"input_shape": [None, 4]}}],
        "build_input_shape": [None, 4]}
    model = Sequential.from_config(keras3)
    assert model.output_shape == (None, 2) and not model.trainable and model.trainable_weights == []


def test_model_from_json_round_trip():
    model = Sequential([Embedding(10, 3, input_length=4, mask_zero=True), Flatten(), Dense(2, activation="relu")])
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Sequential"
    revived = model_from_json(text)
    assert json.dumps(revived.get_config(), sort_keys=True) == json.dumps(model.get_config(), sort_keys=True)
    revived.set_weights(model.get_weights())
    x = np.array([[1, 2, 0, 0], [3, 0, 9, 1]])
    np.testing.assert_array_equal(revived.predict(x, verbose=0), model.predict(x, verbose=0))


def test_lambda_layers_refuse_to_serialize():
    from minikeras.layers import Lambda

    model = Sequential([Dense(2, input_dim=3), Lambda(lambda t: t * 2)])
    assert model(np.ones((1, 3))).shape == (1, 2)
    with pytest.raises(NotImplementedError, match="Lambda"):
        model.get_config()
    with pytest.raises(Exception, match="Lambda"):
        model_from_json(json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Lambda", "config": {"name": "lam", "function": "x"}}]}}))


# ************************************************************ calling and predicting


def test_calling_on_numpy_returns_a_tensor_with_graph():
    model = Sequential([Dense(2, input_dim=3)])
    y = model(np.ones((4, 3), "float32"))
    assert isinstance(y, Tensor) and y.requires_grad and y.dtype == np.float32
    y.sum().backward()
    assert model.layers[0].kernel.grad.shape == (3, 2)


def test_predict_in_batches_equals_one_big_batch(rng):
    model = Sequential([Dense(8, activation="tanh", input_shape=(5, 4)), Dropout(0.5), Flatten(), Dense(3)])
    x = rng.standard_normal((11, 5, 4)).astype("float32")
    one = model.predict(x, batch_size=11, verbose=0)
    for batch_size in (1, 3, 4, 32, None):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size, verbose=0), one, atol=1e-6, rtol=0)
    np.testing.assert_allclose(model(x).numpy(), one, atol=1e-6)
    assert isinstance(one, np.ndarray) and one.shape == (11, 3)


def test_dropout_runs_only_when_training():
    model = Sequential([Dropout(0.5, input_shape=(100,))])
    x = np.ones((2, 100), "float32")
    np.testing.assert_array_equal(model(x).numpy(), x)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert (model(x, training=True).numpy() == 0).any()


def test_integer_ids_reach_the_embedding_unchanged():
    model = Sequential([Embedding(2**24 + 2, 1, input_length=1, embeddings_initializer="zeros")])
    ids = np.array([[2**24 + 1]], dtype=np.int64)
    table = model.layers[0].embeddings
    table.data[2**24 + 1] = 7.0
    assert model.predict(ids, verbose=0)[0, 0, 0] == 7.0


# ************************************************************ masks


def test_mask_propagates_from_embedding_through_mask_supporting_layers():
    model = Sequential([Embedding(10, 3, mask_zero=True, input_length=4), Dense(2), Activation("relu"),
                        Dropout(0.2), ActivityRegularization()])
    x = np.array([[1, 2, 0, 0], [0, 3, 4, 0]])
    y = model(x)
    np.testing.assert_array_equal(y._keras_mask, x != 0)
    # layers that change the time axis drop it, as tf_keras
    model.add(Flatten())
    assert model(x)._keras_mask is None


def test_masking_recomputes_the_mask_inside_a_model():
    model = Sequential([Masking(0.0, input_shape=(3, 2)), Dense(1, kernel_initializer="ones")])
    x = np.array([[[1.0, 1.0], [0.0, 0.0], [2.0, 0.0]]], "float32")
    y = model(x)
    np.testing.assert_array_equal(y._keras_mask, [[True, False, True]])
    np.testing.assert_array_equal(y.numpy()[..., 0], [[2.0, 0.0, 2.0]])


def test_mask_reaches_the_lstm():
    from minikeras.layers.recurrent import LSTM

    backend.set_random_seed(0)
    model = Sequential([Embedding(10, 3, mask_zero=True, input_length=5), LSTM(4)])
    padded = model.predict(np.array([[1, 2, 3, 0, 0]]), verbose=0)
    short = Sequential([Embedding(10, 3, input_length=3), LSTM(4)])
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(padded, short.predict(np.array([[1, 2, 3]]), verbose=0), atol=1e-6)


# ************************************************************ Sequential on the functional graph


def test_sequential_is_a_functional_graph():
    from minikeras import Model
    from minikeras.engine.functional import Functional
    from minikeras.layers import LSTM

    model = Sequential([Input((5, 3)), LSTM(4, name="enc"), Dense(2, name="out")])
    assert isinstance(model, Functional)
    enc = model.get_layer("enc")
    assert enc.input is model.input and model.output is model.layers[-1].output
    assert enc.output.shape == (None, 4) and len(enc.inbound_nodes) == 1
    # a sub-model from an intermediate output shares the weights
    features = Model(model.input, enc.output)
    x = np.random.default_rng(0).random((2, 5, 3)).astype("float32")
    w, b = model.layers[-1].get_weights()
    np.testing.assert_allclose(model.predict(x, verbose=0), features.predict(x, verbose=0) @ w + b, atol=1e-6)


def test_sequential_nests_inside_functional_models():
    from minikeras import Model
    from minikeras.layers import Add

    inner = Sequential([Dense(3, input_shape=(4,), name="d1"), Dense(2, name="d2")], name="inner")
    a, b = Input((4,), name="a"), Input((4,), name="b")
    outer = Model([a, b], Add()([inner(a), inner(b)]))
    config = outer.get_config()
    assert config["layers"][2]["class_name"] == "Sequential"
    # tf_keras numbers a nested model's calls from 1 when it was built from an input
    assert config["layers"][3]["inbound_nodes"] == [[["inner", 1, 0, {}], ["inner", 2, 0, {}]]]
    again = Model.from_config(json.loads(json.dumps(config)))
    again.set_weights(outer.get_weights())
    xa, xb = np.ones((1, 4)), np.full((1, 4), 2.0)
    np.testing.assert_allclose(again([xa, xb]).numpy(), outer([xa, xb]).numpy(), rtol=1e-6)


def test_deferred_sequential_relaxes_its_inferred_input_shape():
    from minikeras.layers import LSTM

    model = Sequential([LSTM(4), Dense(1)])
    assert model(np.ones((2, 5, 3), "float32")).shape == (2, 1)
    assert model.input_shape == (None, 5, 3)
    assert model(np.ones((2, 7, 3), "float32")).shape == (2, 1)
    assert model.input_shape == (None, None, 3) and model.input.name == "lstm_input"
    assert [entry["class_name"] for entry in model.get_config()["layers"]] == ["LSTM", "Dense"]


def test_multi_output_layers_are_refused_with_keras_message():
    from minikeras.layers import LSTM

    with pytest.raises(ValueError, match="should have a single output tensor. For multi-output layers, use the "
                                         "functional API"):
        Sequential([Input((5, 3)), LSTM(4, return_state=True)])


def test_pop_and_add_keep_the_graph_consistent():
    model = Sequential([Input((3,)), Dense(4, name="a"), Dense(2, name="b")])
    model.pop()
    assert model.output_shape == (None, 4) and [l.name for l in model.layers] == ["a"]
    model.add(Dense(5, name="c"))
    assert model.output_shape == (None, 5) and model(np.ones((1, 3))).shape == (1, 5)


def test_stacked_lstm_without_return_sequences_says_so():
    from minikeras.layers import LSTM

    with pytest.raises(ValueError, match=r"expected ndim=3, found ndim=2.*The previous layer 'first' \(LSTM\) returns "
                                         r"only its last output.*pass `return_sequences=True` to 'first'"):
        Sequential([LSTM(8, input_shape=(5, 3), name="first"), LSTM(4)])


def test_predict_classes_and_predict_proba_keras_2_3():
    from minikeras.layers import LSTM

    multi = Sequential([LSTM(4, input_shape=(5, 3)), Dense(3, activation="softmax")])
    x = np.random.default_rng(1).random((6, 5, 3)).astype("float32")
    with pytest.warns(UserWarning, match=r"`model.predict_classes\(\)` is deprecated"):
        classes = multi.predict_classes(x)
    np.testing.assert_array_equal(classes, multi.predict(x, verbose=0).argmax(axis=-1))
    binary = Sequential([LSTM(4, input_shape=(5, 3)), Dense(1, activation="sigmoid")])
    with pytest.warns(UserWarning, match="deprecated"):
        labels = binary.predict_classes(x)
    assert labels.dtype == np.int32 and labels.shape == (6, 1)
    np.testing.assert_array_equal(labels, (binary.predict(x, verbose=0) > 0.5).astype("int32"))
    with pytest.warns(UserWarning, match=r"`model.predict_proba\(\)` is deprecated"):
        np.testing.assert_array_equal(multi.predict_proba(x), multi.predict(x, verbose=0))
    linear = Sequential([Dense(1, input_shape=(2,), kernel_initializer="ones")])
    with pytest.warns(UserWarning, match="Network returning invalid probability values"):
        linear.predict_proba(np.full((2, 2), 3.0))
