"""The functional API: symbolic tensors, nodes, `Model(inputs, outputs)`, configs in tf.keras 2.21's format,
sub-models, shared layers, nested models, summaries and Keras's error messages.

The expected configs and summaries were printed by tf_keras 2.21 for the same models (layer configs cut to their
names; see each test)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import minikeras as keras
from minikeras import Input, Model, backend
from minikeras.engine.functional import Functional
from minikeras.engine.keras_tensor import KerasTensor
from minikeras.layers import (LSTM, Add, Dense, Dropout, Embedding, Lambda, Layer, Masking, concatenate)

rng = np.random.default_rng(3)


def seq2seq(units=4, in_dim=3, out_dim=5):
    """The shape of Keras 2's lstm_seq2seq model: encoder states start the decoder."""
    encoder_inputs = Input((None, in_dim))
    encoder = LSTM(units, return_state=True)
    _, h, c = encoder(encoder_inputs)
    decoder_inputs = Input((None, out_dim))
    decoder_lstm = LSTM(units, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[h, c])
    decoder_dense = Dense(out_dim, activation="softmax")
    outputs = decoder_dense(decoder_outputs)
    return Model([encoder_inputs, decoder_inputs], outputs), (encoder_inputs, [h, c], decoder_inputs,
                                                              decoder_lstm, decoder_dense)


def names_only(config):
    out = json.loads(json.dumps(config))
    for layer in out["layers"]:
        layer["config"] = {"name": layer["config"]["name"]}
        layer.pop("build_config", None)
    return out


def test_input_is_a_symbolic_tensor():
    x = Input(shape=(None, 3), name="tokens", dtype="int32")
    assert isinstance(x, KerasTensor)
    assert x.shape == (None, None, 3) and x.dtype == "int32"
    assert x._keras_history.layer.name == "tokens" and x._keras_history[1:] == (0, 0)
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(x)
    with pytest.raises(TypeError, match="merge layers"):
        x + x


def test_symbolic_calls_run_nothing_on_data():
    calls = []

    class Spy(Layer):
        def call(self, inputs):
            calls.append(1)
            return inputs * 2

        def compute_output_shape(self, input_shape):
            return input_shape

    x = Input((4,))
    stateful = LSTM(2, stateful=True)
    stateful(Input(batch_shape=(2, 3, 4)))  # builds: draws the initial weights
    state_before = backend.rng().bit_generator.state
    y = Dropout(0.5)(Spy()(x))
    z = stateful(Input(batch_shape=(2, 3, 4)))
    assert calls == [] and y.shape == (None, 4) and z.shape == (2, 2)
    assert backend.rng().bit_generator.state == state_before
    assert all(not np.any(v.data) for v in stateful.states)


def test_seq2seq_config_is_tf_keras_2_21_format_and_round_trips():
    model, _ = seq2seq()
    config = model.get_config()
    lstm, lstm_1, dense = (l.name for l in model.layers[2:])
    in1, in2 = model.input_names
    # tf_keras 2.21 printed this for the same model
    assert names_only(config) == {
        "name": model.name, "trainable": True,
        "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": in1}, "registered_name": None,
             "name": in1, "inbound_nodes": []},
            {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": in2}, "registered_name": None,
             "name": in2, "inbound_nodes": []},
            {"module": "keras.layers", "class_name": "LSTM", "config": {"name": lstm}, "registered_name": None,
             "name": lstm, "inbound_nodes": [[[in1, 0, 0, {}]]]},
            {"module": "keras.layers", "class_name": "LSTM", "config": {"name": lstm_1}, "registered_name": None,
             "name": lstm_1, "inbound_nodes": [[[in2, 0, 0, {}], [lstm, 0, 1, {}], [lstm, 0, 2, {}]]]},
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": dense}, "registered_name": None,
             "name": dense, "inbound_nodes": [[[lstm_1, 0, 0, {}]]]},
        ],
        "input_layers": [[in1, 0, 0], [in2, 0, 0]], "output_layers": [[dense, 0, 0]]}
    assert config["layers"][3]["build_config"] == {"input_shape": [[None, None, 5], [None, 4], [None, 4]]}
    json.dumps(config)
    x1, x2 = rng.random((2, 6, 3)).astype("float32"), rng.random((2, 7, 5)).astype("float32")
    again = Model.from_config(config)
    assert isinstance(again, Functional) and again.get_config() == config
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again([x1, x2]).numpy(), model([x1, x2]).numpy())


def test_seq2seq_inference_sub_models_share_weights():
    model, (encoder_inputs, states, decoder_inputs, decoder_lstm, decoder_dense) = seq2seq()
    encoder_model = Model(encoder_inputs, states)
    h_in, c_in = Input((4,)), Input((4,))
    out, h, c = decoder_lstm(decoder_inputs, initial_state=[h_in, c_in])
    decoder_model = Model([decoder_inputs, h_in, c_in], [decoder_dense(out), h, c])
    assert decoder_lstm.get_output_at(1)[0].shape == (None, None, 4)
    x1, x2 = rng.random((2, 6, 3)).astype("float32"), rng.random((2, 7, 5)).astype("float32")
    full = model([x1, x2]).numpy()
    h0, c0 = encoder_model(x1)
    # decoding step by step from the encoder states gives the training model's outputs
    hs, cs = h0, c0
    for t in range(7):
        y, hs, cs = decoder_model([x2[:, t:t + 1], hs, cs])
        np.testing.assert_allclose(y.numpy()[:, 0], full[:, t], atol=1e-6)
    assert len(decoder_model.weights) == 5 and decoder_model.weights[0] is decoder_lstm.weights[0]


def test_shared_layer_node_indices_and_dict_structures():
    x1, x2 = Input((3,), name="x1"), Input((3,), name="x2")
    shared = Dense(2, name="sh")
    y = concatenate([shared(x1), shared(x2)], name="cat")
    z = Add(name="plus")([shared(x1), shared(x2)])
    model = Model({"a": x1, "b": x2}, {"y": y, "z": z}, name="two")
    assert len(shared.inbound_nodes) == 4 and shared.get_input_at(1) is x2
    assert shared.get_output_at(2) is z._keras_history.layer.inbound_nodes[0].call_args[0][0]
    assert model.output_names == ["cat", "plus"] and model.input_names == ["x1", "x2"]
    config = model.get_config()
    # tf_keras 2.21 printed these
    assert config["layers"][2]["inbound_nodes"] == [[["x1", 0, 0, {}]], [["x2", 0, 0, {}]], [["x1", 0, 0, {}]],
                                                    [["x2", 0, 0, {}]]]
    assert config["layers"][3]["inbound_nodes"] == [[["sh", 0, 0, {}], ["sh", 1, 0, {}]]]
    assert config["layers"][4]["inbound_nodes"] == [[["sh", 2, 0, {}], ["sh", 3, 0, {}]]]
    assert config["input_layers"] == {"a": ["x1", 0, 0], "b": ["x2", 0, 0]}
    assert config["output_layers"] == {"y": ["cat", 0, 0], "z": ["plus", 0, 0]}
    a, b = rng.random((2, 3)), rng.random((2, 3))
    out = model({"a": a, "b": b})
    assert set(out) == {"y", "z"}
    w, bias = shared.get_weights()
    np.testing.assert_allclose(out["z"].numpy(), a @ w + b @ w + 2 * bias, rtol=1e-5)
    # positional data follows the sorted keys, as tf.nest
    np.testing.assert_array_equal(model([a, b])["y"].numpy(), out["y"].numpy())
    with pytest.raises(ValueError, match=r"missing data for inputs \['b'\]"):
        model({"a": a})
    again = Model.from_config(config)
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again({"a": a, "b": b})["z"].numpy(), out["z"].numpy())


def test_list_inputs_called_with_a_dict_of_input_names():
    x1, x2 = Input((3,), name="left"), Input((2,), name="right")
    model = Model([x1, x2], concatenate([x1, x2]))
    a, b = np.ones((1, 3)), np.zeros((1, 2))
    np.testing.assert_array_equal(model({"right": b, "left": a}).numpy(), [[1, 1, 1, 0, 0]])


def test_single_element_lists_are_unwrapped_as_tf_keras():
    x = Input((3,))
    model = Model([x], [Dense(2)(x)])
    assert model.input is x and isinstance(model(np.ones((1, 3))), keras.Tensor)
    assert model.get_config()["input_layers"] == [[x._keras_history.layer.name, 0, 0]]


def test_nested_model_node_indices_start_at_one_as_tf_keras():
    inner_in = Input((3,), name="inner_in")
    inner = Model(inner_in, Dense(2, name="inner_dense")(inner_in), name="inner")
    a, b = Input((3,), name="a"), Input((3,), name="b")
    outer = Model([a, b], Add(name="sum")([inner(a), inner(b)]), name="outer")
    config = outer.get_config()
    entry = config["layers"][2]
    assert entry["class_name"] == "Functional" and entry["inbound_nodes"] == [[["a", 0, 0, {}]], [["b", 0, 0, {}]]]
    assert config["layers"][3]["inbound_nodes"] == [[["inner", 1, 0, {}], ["inner", 2, 0, {}]]]
    xa, xb = rng.random((2, 3)), rng.random((2, 3))
    again = Model.from_config(config)
    again.set_weights(outer.get_weights())
    np.testing.assert_allclose(again([xa, xb]).numpy(), outer([xa, xb]).numpy(), rtol=1e-6)
    assert inner(Input((3,))).shape == (None, 2)


def test_symbolic_mask_argument_and_explicit_training_are_recorded():
    x = Input((5, 2))
    masked = Masking(0.0, name="masking")(x)
    mask = Lambda(lambda t: keras.Tensor(np.any(t.data != 0.0, axis=-1)), output_shape=(5,), name="get_mask")(x)
    y = LSTM(3, name="lstm")(x, mask=mask)
    z = Dropout(0.5, name="drop")(y, training=True)
    node = z._keras_history.layer.inbound_nodes[0]
    assert node.call_kwargs == {"training": True}
    lstm_node = y._keras_history.layer.inbound_nodes[0]
    assert set(lstm_node.call_kwargs) == {"mask"} and len(lstm_node.keras_inputs) == 2
    model = Model(x, y)
    data = rng.random((2, 5, 2)).astype("float32")
    data[0, 3:] = 0.0
    reference = Model(x, y._keras_history.layer(masked))
    np.testing.assert_allclose(model(data).numpy(), reference(data).numpy(), atol=1e-6)


def test_masks_flow_through_the_graph():
    ids = Input((4,), dtype="int32")
    e = Embedding(10, 3, mask_zero=True)(ids)
    seq = LSTM(2, return_sequences=True)(e)
    model = Model(ids, seq)
    tokens = np.array([[1, 2, 0, 0]])
    out = model(tokens)
    np.testing.assert_array_equal(out._keras_mask, tokens != 0)
    # masked steps repeat the last output (Keras's masking)
    np.testing.assert_array_equal(out.numpy()[0, 2], out.numpy()[0, 1])


def test_lambda_works_in_code_and_is_refused_in_configs():
    x = Input((3,))
    model = Model(x, Lambda(lambda t: t * 2.0)(x))
    assert model.output_shape == (None, 3)
    np.testing.assert_array_equal(model(np.ones((1, 3))).numpy(), [[2, 2, 2]])
    with pytest.raises(NotImplementedError, match="Lambda"):
        model.get_config()
    config = {"name": "m", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "name": "i"}, "name": "i",
         "inbound_nodes": []},
        {"class_name": "Lambda", "config": {"name": "l", "function": "evil"}, "name": "l",
         "inbound_nodes": [[["i", 0, 0, {}]]]}],
        "input_layers": [["i", 0, 0]], "output_layers": [["l", 0, 0]]}
    with pytest.raises(NotImplementedError, match="Lambda"):
        Model.from_config(config)


def test_lambda_output_shape_keeps_unknown_axes():
    x = Input((None, 3))
    y = Lambda(lambda t: t[:, :, :2])(x)
    assert y.shape == (None, None, 2)


def test_properties_of_layers_in_graphs():
    x = Input((3,))
    dense = Dense(2)
    with pytest.raises(AttributeError, match="is not connected, no input to return"):
        dense.input
    with pytest.raises(AttributeError, match="has never been called and thus has no defined output shape"):
        dense.output_shape
    y = dense(x)
    assert dense.input is x and dense.output is y
    assert dense.input_shape == (None, 3) and dense.output_shape == (None, 2)
    dense(Input((3,)))
    assert dense.output_shape == (None, 2)
    with pytest.raises(ValueError, match="Asked to get output at node 5, but the layer has only 2 inbound nodes"):
        dense.get_output_at(5)
    assert x._keras_history.layer.output_shape == [(None, 3)]  # tf.keras lists an InputLayer's shape
    multi = LSTM(2, return_state=True)
    outs = multi(Input((4, 3)))
    assert multi.output is not None and multi.output_shape == [(None, 2), (None, 2), (None, 2)]
    assert [o._keras_history.tensor_index for o in outs] == [0, 1, 2]


def test_graph_errors_are_keras_messages():
    a, b = Input((3,)), Input((3,))
    out = Add()([a, b])
    with pytest.raises(ValueError, match=r"Graph disconnected: cannot obtain value for tensor .* at layer \"add"):
        Model(a, out)
    with pytest.raises(ValueError, match="must come from `keras.Input`"):
        Model(np.ones((1, 3)), out)
    hidden = Dense(3)(a)
    with pytest.raises(ValueError, match="cannot be the output of a previous non-Input layer"):
        Model(hidden, Dense(1)(hidden))
    with pytest.raises(ValueError, match="contains the same input multiple times"):
        Model([a, a], Dense(1)(a))
    with pytest.raises(ValueError, match="Output tensors of a Functional model must be the output of a Keras"):
        Model(a, np.ones(3))
    c = Dense(2, name="twin")(a)
    d = Dense(2, name="twin")(a)
    with pytest.raises(ValueError, match='The name "twin" is used 2 times in the model'):
        Model(a, [c, d])
    model = Model([a, b], out)
    with pytest.raises(ValueError, match=r'expects 2 input\(s\), but it received 1 input tensors'):
        model(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"Input 0 of layer .* incompatible with the layer: expected "
                                         r"shape=\(None, 3\), found shape=\(1, 4\)"):
        model([np.ones((1, 4)), np.ones((1, 3))])
    with pytest.raises(ValueError, match="mix of symbolic tensors and other values"):
        Add()([a, np.ones((1, 3))])
    with pytest.raises(ValueError, match="mixing symbolic tensors and arrays"):
        LSTM(3)(Input((2, 3)), initial_state=[Input((3,)), np.zeros((1, 3))])


def test_get_layer():
    model, _ = seq2seq()
    assert model.get_layer(index=2) is model.layers[2]
    assert model.get_layer(model.layers[4].name) is model.layers[4]
    with pytest.raises(ValueError, match="No such layer: nope. Existing layers are"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="Was asked to retrieve layer at index 9 but model only has 5 layers"):
        model.get_layer(index=9)


SEQ2SEQ_SUMMARY = """\
Model: "model"
__________________________________________________________________________________________________
 Layer (type)                Output Shape                 Param #   Connected to                  
==================================================================================================
 input_1 (InputLayer)        [(None, None, 3)]            0         []                            
                                                                                                  
 input_2 (InputLayer)        [(None, None, 5)]            0         []                            
                                                                                                  
 lstm (LSTM)                 [(None, 4),                  128       ['input_1[0][0]']             
                              (None, 4),                                                          
                              (None, 4)]                                                          
                                                                                                  
 lstm_1 (LSTM)               [(None, None, 4),            160       ['input_2[0][0]',             
                              (None, 4),                             'lstm[0][1]',                
                              (None, 4)]                             'lstm[0][2]']                
                                                                                                  
 dense (Dense)               (None, None, 5)              25        ['lstm_1[0][0]']              
                                                                                                  
==================================================================================================
Total params: 313 (1.22 KB)
Trainable params: 313 (1.22 KB)
Non-trainable params: 0 (0.00 Byte)
__________________________________________________________________________________________________
"""


def test_summary_is_tf_keras_functional_format_exactly():
    backend.clear_session()
    model, _ = seq2seq()
    lines = []
    model.summary(print_fn=lines.append)
    # tf_keras 2.21 printed SEQ2SEQ_SUMMARY for the same model in a fresh session
    assert "\n".join(lines) + "\n" == SEQ2SEQ_SUMMARY


def test_chain_shaped_functional_summary_has_three_columns():
    x = Input((3,))
    model = Model(x, Dense(1)(Dense(2)(x)))
    lines = []
    model.summary(print_fn=lines.append)
    assert "Connected to" not in lines[2] and lines[1] == "_" * 65


def test_functional_model_trains():
    x1, x2 = Input((4, 3)), Input((2,))
    merged = concatenate([LSTM(5)(x1), Dense(3, activation="relu")(x2)])
    model = Model([x1, x2], Dense(1)(merged))
    model.compile(optimizer="adam", loss="mse")
    a, b = rng.random((16, 4, 3)).astype("float32"), rng.random((16, 2)).astype("float32")
    y = (a.sum(axis=(1, 2)) + b.sum(axis=1))[:, None].astype("float32")
    history = model.fit([a, b], y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_trainable_flag_and_weights_of_shared_layers():
    x1, x2 = Input((3,)), Input((3,))
    shared = Dense(2)
    model = Model([x1, x2], Add()([shared(x1), shared(x2)]))
    assert len(model.weights) == 2
    shared.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 2


def test_to_json_and_model_from_json_of_functional():
    model, _ = seq2seq()
    text = model.to_json()
    payload = json.loads(text)
    assert payload["class_name"] == "Functional" and payload["config"] == model.get_config()


def test_keras_2_lstm_seq2seq_example_runs(tmp_path, monkeypatch, capsys):
    """examples/lstm_seq2seq.py (Keras 2's example, imports changed) with its sizes cut down for CI: the script's
    text is run with smaller `epochs`, `latent_dim` and number of decoded sentences, nothing else changed."""
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "examples" / "lstm_seq2seq.py"
    source = path.read_text(encoding="utf-8")
    for old, new in [("epochs = 100", "epochs = 2"), ("latent_dim = 256", "latent_dim = 16"),
                     ("for seq_index in range(100):", "for seq_index in range(3):")]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    monkeypatch.chdir(tmp_path)
    backend.clear_session()
    namespace = {"__file__": str(path), "__name__": "lstm_seq2seq"}
    exec(compile(source, str(path), "exec"), namespace)
    out = capsys.readouterr().out
    assert "Number of samples: 105" in out and out.count("Decoded sentence:") == 3
    # the step-by-step inference models reproduce the teacher-forced training model
    model, encoder_model, decoder_model = namespace["model"], namespace["encoder_model"], namespace["decoder_model"]
    enc, dec = namespace["encoder_input_data"][:2], namespace["decoder_input_data"][:2]
    full = model.predict([enc, dec], verbose=0)
    # s2s.h5, as the example saved it, reloads into the same model
    reloaded = keras.models.load_model(str(tmp_path / "s2s.h5"))
    assert isinstance(reloaded, Functional) and reloaded.get_config() == model.get_config()
    np.testing.assert_allclose(reloaded.predict([enc, dec], verbose=0), full, atol=1e-6)
    states = encoder_model.predict(enc, verbose=0)
    for t in range(5):
        step, h, c = decoder_model.predict([dec[:, t:t + 1]] + states, verbose=0)
        np.testing.assert_allclose(step[:, 0], full[:, t], atol=1e-5)
        states = [h, c]


def test_clone_model_rebuilds_the_graph_with_fresh_layers():
    from minikeras.models import Sequential, clone_model

    model, _ = seq2seq()
    clone = clone_model(model)
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    x1, x2 = rng.random((2, 4, 3)).astype("float32"), rng.random((2, 5, 5)).astype("float32")
    np.testing.assert_array_equal(clone([x1, x2]).numpy(), model([x1, x2]).numpy())
    # on given inputs, sharing the layers with clone_function
    a, b = Input((None, 3)), Input((None, 5))
    shared = clone_model(model, input_tensors=[a, b], clone_function=lambda layer: layer)
    assert shared.inputs == [a, b] and shared.layers[2] is model.layers[2]
    # Lambda layers are cloned from their function (never through a config)
    x = Input((2,))
    doubled = clone_model(Model(x, Lambda(lambda t: t * 2.0)(x)))
    np.testing.assert_array_equal(doubled(np.ones((1, 2))).numpy(), [[2.0, 2.0]])
    stack = Sequential([LSTM(3, input_shape=(4, 2)), Dense(1)])
    assert clone_model(stack).get_config() == stack.get_config()
    with pytest.raises(ValueError, match="must be tensors from `keras.Input`"):
        clone_model(model, input_tensors=[np.ones((1, 3)), b])


# ************************************************************ parity with tf_keras 2.21 (fixtures fn_*)
# tests/fixtures/keras2_functional_cases.py built these models in tf_keras 2.21; the same code here must give the
# same config (tf_keras's defaults `implementation=2`, `recurrent_activation='sigmoid'` passed explicitly, since
# minikeras's are Keras 2.0's) and, with tf_keras's weights, the same outputs (2e-5).


def _lstm(units, **kwargs):
    return LSTM(units, recurrent_activation="sigmoid", implementation=2, **kwargs)


def _fn_seq2seq_models():
    enc_tokens, dec_tokens, latent = 5, 6, 4
    encoder_inputs = Input(shape=(None, enc_tokens))
    _, state_h, state_c = _lstm(latent, return_state=True)(encoder_inputs)
    decoder_inputs = Input(shape=(None, dec_tokens))
    decoder_lstm = _lstm(latent, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_dense = Dense(dec_tokens, activation="softmax")
    model = Model([encoder_inputs, decoder_inputs], decoder_dense(decoder_outputs))
    encoder_model = Model(encoder_inputs, [state_h, state_c])
    h_in, c_in = Input(shape=(latent,)), Input(shape=(latent,))
    out, h, c = decoder_lstm(decoder_inputs, initial_state=[h_in, c_in])
    decoder_model = Model([decoder_inputs, h_in, c_in], [decoder_dense(out), h, c])
    return {"fn_seq2seq": model, "fn_seq2seq_encoder": encoder_model, "fn_seq2seq_decoder": decoder_model}


def _fn_concat_two_input():
    text = Input(shape=(6,), dtype="int32", name="text")
    feats = Input(shape=(3,), name="features")
    h = _lstm(5)(Embedding(12, 4, mask_zero=True)(text))
    g = Dense(4, activation="relu")(feats)
    return {"fn_concat_two_input": Model([text, feats], Dense(2, activation="softmax")(concatenate([h, g])))}


def _fn_shared_lstm():
    a, b = Input(shape=(4, 3)), Input(shape=(4, 3))
    lstm = _lstm(5)
    merged = concatenate([lstm(a), lstm(b)], axis=-1)
    return {"fn_shared_lstm": Model(inputs=[a, b], outputs=Dense(1, activation="sigmoid")(merged))}


def _fn_two_output():
    inp = Input(shape=(4, 3))
    h = _lstm(5)(inp)
    return {"fn_two_output": Model(inp, [Dense(3, activation="softmax")(h), Dense(1)(h)])}


@pytest.mark.parametrize("build", [_fn_seq2seq_models, _fn_concat_two_input, _fn_shared_lstm, _fn_two_output],
                         ids=lambda f: f.__name__.strip("_"))
def test_same_code_same_graph_config_and_outputs_as_tf_keras(build):
    from helpers import keras_case, load_io, load_json

    backend.clear_session()
    for name, model in build().items():
        case = keras_case(2, name)
        expected = load_json(case / "config.json")
        assert expected["class_name"] == "Functional"
        assert model.get_config() == expected["config"], name
        io = load_io(case)
        model.set_weights([io[f"model_w_{i}"] for i in range(len(model.weights))])
        xs = [io[f"x{i}"] for i in range(len(model.inputs))]
        outputs = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        assert len(outputs) == len(model.outputs)
        for i, y in enumerate(outputs):
            np.testing.assert_allclose(y, io[f"y_pred_{i}"], atol=2e-5, err_msg=f"{name} output {i}")
