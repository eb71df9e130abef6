"""Training a model with several outputs: `compile` with loss/metric lists and dicts per output and `loss_weights`;
`fit`/`evaluate`/`train_on_batch` with lists/dicts of targets and sample weights; History names as tf_keras 2.21's.

Numbers against real tf_keras: tests/fixtures/keras2/multioutput_* (tests/fixtures/keras2_multioutput_cases.py),
built there with Keras's functional API. The same model is built here with `Model(inputs, outputs)`, and also as a
`Model` subclass reporting the functional model's output names (`dense`, `dense_1`), or none (`output_1`, ...).
"""
import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras import backend, optimizers
from minikeras.engine.training import Model
from minikeras.layers import LSTM, Dense


class TwoOutputs(Model):
    """`Input((4, 3)) -> LSTM(5) -> [Dense(3, softmax), Dense(1)]`, as the fixtures' functional model."""

    def __init__(self, names=None):
        super().__init__()
        self.lstm = LSTM(5, recurrent_activation="sigmoid")
        self.classes = Dense(3, activation="softmax")
        self.value = Dense(1)
        self._names = names

    @property
    def output_names(self):
        return self._names

    def call(self, inputs, training=None, mask=None):
        h = self.lstm(inputs)
        return [self.classes(h), self.value(h)]


def fixture_model(data):
    model = TwoOutputs(names=["dense", "dense_1"])
    model(data["x"][:1])
    model.set_weights([data[f"w_before_{i}"] for i in range(7)])
    return model


def check_against_keras(model, data, meta, hist):
    assert list(hist.history) == meta["history_keys"]
    for key in meta["history_keys"]:
        np.testing.assert_allclose(hist.history[key], data[f"hist_{key}"], rtol=0, atol=2e-5, err_msg=key)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, data[f"w_after_{i}"], rtol=0, atol=1e-5, err_msg=f"weight {i}")


def test_lists_loss_weights_metric_dicts_and_sample_weights_match_tf_keras():
    case = keras_case(2, "multioutput_lists")
    d, meta = load_io(case), load_json(case / "meta.json")
    model = fixture_model(d)
    model.compile(optimizers.Adam(learning_rate=0.01), loss=["categorical_crossentropy", "mse"],
                  loss_weights=[1.0, 0.5], metrics={"dense": ["accuracy"], "dense_1": ["mae"]},
                  weighted_metrics=["mae"])
    hist = model.fit(d["x"], [d["y0"], d["y1"]], sample_weight=[d["sw0"], d["sw1"]], batch_size=4, epochs=2,
                     shuffle=False, validation_data=(d["x_val"], [d["y_val0"], d["y_val1"]]), verbose=0)
    check_against_keras(model, d, meta, hist)
    ev = model.evaluate(d["x_val"], [d["y_val0"], d["y_val1"]], return_dict=True, verbose=0)
    assert list(ev) == meta["eval_keys"]
    np.testing.assert_allclose([ev[k] for k in ev], [d[f"eval_{k}"] for k in ev], rtol=0, atol=2e-5)
    tob = model.train_on_batch(d["x"][:4], [d["y0"][:4], d["y1"][:4]])
    assert model.metrics_names == meta["metrics_names"]
    np.testing.assert_allclose(tob, d["tob"], rtol=0, atol=2e-5)


def test_dicts_by_output_name_match_tf_keras():
    case = keras_case(2, "multioutput_dicts")
    d, meta = load_io(case), load_json(case / "meta.json")
    model = fixture_model(d)
    model.compile(optimizers.Adam(learning_rate=0.01), loss={"dense": "categorical_crossentropy", "dense_1": "mse"},
                  loss_weights={"dense": 0.3, "dense_1": 2.0}, metrics=["mae"])
    hist = model.fit(d["x"], {"dense": d["y0"], "dense_1": d["y1"]}, batch_size=4, epochs=2, shuffle=False,
                     verbose=0)
    check_against_keras(model, d, meta, hist)
    ev = model.evaluate(d["x_val"], {"dense_1": d["y_val1"], "dense": d["y_val0"]}, return_dict=True, verbose=0)
    assert list(ev) == meta["eval_keys"]
    np.testing.assert_allclose([ev[k] for k in ev], [d[f"eval_{k}"] for k in ev], rtol=0, atol=2e-5)
    tob = model.train_on_batch(d["x"][:4], {"dense": d["y0"][:4], "dense_1": d["y1"][:4]})
    np.testing.assert_allclose(tob, d["tob"], rtol=0, atol=2e-5)


def test_unnamed_outputs_are_output_1_output_2():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4, 3)).astype("float32")
    y0, y1 = np.eye(3, dtype="float32")[np.arange(6) % 3], rng.standard_normal((6, 1)).astype("float32")
    model = TwoOutputs()
    model.compile("adam", loss={"output_1": "categorical_crossentropy", "output_2": "mse"}, metrics=["mae"])
    hist = model.fit(x, [y0, y1], epochs=1, verbose=0)
    assert list(hist.history) == ["loss", "output_1_loss", "output_2_loss", "output_1_mae", "output_2_mae"]
    pred = model.predict(x, verbose=0)
    assert isinstance(pred, list) and [p.shape for p in pred] == [(6, 3), (6, 1)]


def test_multi_output_errors():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4, 3)).astype("float32")
    y0, y1 = np.eye(3, dtype="float32")[np.arange(6) % 3], rng.standard_normal((6, 1)).astype("float32")
    model = TwoOutputs(names=["dense", "dense_1"])
    model.compile("adam", loss={"dense": "categorical_crossentropy", "dense_2": "mse"})
    with pytest.raises(ValueError, match=r"Found unexpected losses or metrics that do not correspond to any Model "
                                         r"output: dict_keys\(\['dense_2'\]\)"):
        model.fit(x, [y0, y1], verbose=0)
    model.compile("adam", loss=["categorical_crossentropy", "mse", "mae"])
    with pytest.raises(ValueError, match=r"Expected one loss per model output \(2\), got 3"):
        model.fit(x, [y0, y1], verbose=0)
    model.compile("adam", loss=["categorical_crossentropy", "mse"])
    with pytest.raises(ValueError, match="`class_weight` is only supported for Models with a single output"):
        model.fit(x, [y0, y1], class_weight={0: 1.0, 1: 2.0, 2: 1.0}, verbose=0)
    with pytest.raises(ValueError, match=r"Found target data for \['dense_2'\], which name no model output. "
                                         r"Expected keys among the output names \['dense', 'dense_1'\]"):
        model.fit(x, {"dense": y0, "dense_2": y1}, verbose=0)


def test_sample_weights_and_targets_as_dicts_equal_lists():
    case = keras_case(2, "multioutput_lists")
    d = load_io(case)
    results = []
    for as_dict in (False, True):
        backend.set_random_seed(1)  # the same shuffling both times
        model = fixture_model(d)
        model.compile(optimizers.Adam(learning_rate=0.01), loss=["categorical_crossentropy", "mse"],
                      loss_weights=[1.0, 0.5], weighted_metrics=["mae"])
        y = {"dense_1": d["y1"], "dense": d["y0"]} if as_dict else [d["y0"], d["y1"]]
        sw = {"dense": d["sw0"], "dense_1": d["sw1"]} if as_dict else [d["sw0"], d["sw1"]]
        hist = model.fit(d["x"], y, sample_weight=sw, batch_size=4, epochs=2, validation_split=0.3, verbose=0)
        results.append((hist.history, model.get_weights()))
    assert results[0][0] == results[1][0]
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(a, b)


def test_an_output_without_targets_adds_no_loss():
    """As tf_keras: a dict of targets that leaves an output out trains the other outputs only."""
    case = keras_case(2, "multioutput_lists")
    d = load_io(case)
    model = fixture_model(d)
    model.compile("sgd", loss={"dense": "categorical_crossentropy", "dense_1": "mse"})
    value_before = [w.copy() for w in model.value.get_weights()]
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['kernel', 'bias'\]"):
        hist = model.fit(d["x"], {"dense": d["y0"]}, epochs=1, verbose=0)
    assert list(hist.history) == ["loss", "dense_loss", "dense_1_loss"]
    assert hist.history["dense_1_loss"] == [0.0] and hist.history["loss"] == hist.history["dense_loss"]
    for a, b in zip(model.value.get_weights(), value_before):
        np.testing.assert_array_equal(a, b)


def functional_model(data):
    from minikeras import Input

    backend.clear_session()  # layer names restart at dense, dense_1
    inputs = Input((4, 3))
    h = LSTM(5, recurrent_activation="sigmoid")(inputs)
    model = Model(inputs, [Dense(3, activation="softmax")(h), Dense(1)(h)])
    model.set_weights([data[f"w_before_{i}"] for i in range(7)])
    return model


def test_functional_two_output_model_matches_tf_keras():
    """The same model built as Keras builds it, `Model(inputs, [out_1, out_2])`."""
    for name in ("multioutput_lists", "multioutput_dicts"):
        case = keras_case(2, name)
        d, meta = load_io(case), load_json(case / "meta.json")
        model = functional_model(d)
        assert model.output_names == meta["output_names"]
        if name == "multioutput_lists":
            model.compile(optimizers.Adam(learning_rate=0.01), loss=["categorical_crossentropy", "mse"],
                          loss_weights=[1.0, 0.5], metrics={"dense": ["accuracy"], "dense_1": ["mae"]},
                          weighted_metrics=["mae"])
            hist = model.fit(d["x"], [d["y0"], d["y1"]], sample_weight=[d["sw0"], d["sw1"]], batch_size=4, epochs=2,
                             shuffle=False, validation_data=(d["x_val"], [d["y_val0"], d["y_val1"]]), verbose=0)
        else:
            model.compile(optimizers.Adam(learning_rate=0.01),
                          loss={"dense": "categorical_crossentropy", "dense_1": "mse"},
                          loss_weights={"dense": 0.3, "dense_1": 2.0}, metrics=["mae"])
            hist = model.fit(d["x"], {"dense": d["y0"], "dense_1": d["y1"]}, batch_size=4, epochs=2, shuffle=False,
                             verbose=0)
        check_against_keras(model, d, meta, hist)
        targets = [d["y_val0"], d["y_val1"]]
        ev = model.evaluate(d["x_val"], targets, return_dict=True, verbose=0)
        assert list(ev) == meta["eval_keys"]
        np.testing.assert_allclose([ev[k] for k in ev], [d[f"eval_{k}"] for k in ev], rtol=0, atol=2e-5)
        pred = model.predict(d["x_val"], verbose=0)
        assert [p.shape for p in pred] == [(6, 3), (6, 1)]


def test_named_inputs_as_dicts_through_fit_evaluate_predict_and_generators():
    from minikeras import Input
    from minikeras.layers import Concatenate

    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((10, 4, 3)).astype("float32"), rng.standard_normal((10, 2)).astype("float32")
    y = rng.standard_normal((10, 1)).astype("float32")

    def build():
        backend.set_random_seed(0)
        a, b = Input((4, 3), name="seq"), Input((2,), name="num")
        model = Model([a, b], Dense(1)(Concatenate()([LSTM(5)(a), b])))
        model.compile("adam", "mse")
        return model

    by_name, by_position = build(), build()
    h1 = by_name.fit({"num": xb, "seq": xa}, y, epochs=2, batch_size=4, validation_split=0.2, shuffle=False,
                     verbose=0)
    h2 = by_position.fit([xa, xb], y, epochs=2, batch_size=4, validation_split=0.2, shuffle=False, verbose=0)
    assert h1.history == h2.history
    np.testing.assert_array_equal(by_name.predict({"seq": xa, "num": xb}, verbose=0),
                                  by_position.predict([xa, xb], verbose=0))
    assert by_name.evaluate({"seq": xa, "num": xb}, y, verbose=0) == by_position.evaluate([xa, xb], y, verbose=0)

    def batches():
        while True:
            yield {"seq": xa[:5], "num": xb[:5]}, y[:5]

    h3 = by_name.fit(batches(), steps_per_epoch=2, verbose=0)
    assert np.isfinite(h3.history["loss"][0])
