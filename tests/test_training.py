"""Model.compile/fit/evaluate/train_on_batch: tf.keras 2.21 semantics, output formats and errors.

Facts checked against real tf_keras 2.21 (see tests/test_training_keras_parity.py for the numbers):
`train_on_batch` returns the loss before its update; the loss includes `sum(model.losses)`; metric names are the
strings the user wrote (`'acc'` stays `'acc'`); `metrics_names` is `[]` until the first batch; `evaluate` returns a
float when there are no metrics.
"""
import io
import re
import sys
import warnings

import numpy as np
import pytest

from minikeras import backend, callbacks, optimizers
from minikeras.layers import LSTM, Dense
from minikeras.models import Sequential


# ---------------------------------------------------------------------------------------------------- helpers
def toy_binary(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("float32")[:, None]
    return x, y


def toy_categorical(n=30, seed=1, classes=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    labels = np.argmax(x[:, :classes], axis=1)
    return x, np.eye(classes, dtype="float32")[labels], labels


def binary_model(lr=0.5, metrics=("accuracy",), momentum=0.0, seed=0):
    backend.set_random_seed(seed)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer=optimizers.SGD(learning_rate=lr, momentum=momentum), loss="binary_crossentropy",
                  metrics=list(metrics) if metrics else None)
    return model


def same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


# ---------------------------------------------------------------------------------------------------- compile
def test_compile_sets_optimizer_loss_and_names_after_first_batch():
    x, y = toy_binary()
    model = binary_model()
    assert isinstance(model.optimizer, optimizers.SGD)
    assert model.loss == "binary_crossentropy"
    assert model.metrics_names == []  # tf.keras builds the metric objects from the first batch
    model.train_on_batch(x, y)
    assert model.metrics_names == ["loss", "accuracy"]


def test_compile_string_optimizer_and_defaults():
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(loss="mse")
    assert type(model.optimizer).__name__ == "RMSprop"
    model.compile(optimizer="adam", loss="mse", metrics=["mae", "acc"])
    x, y = toy_binary()
    out = model.train_on_batch(x, y)
    assert model.metrics_names == ["loss", "mae", "acc"] and len(out) == 3


def test_compile_rejects_unknown_kwargs():
    model = Sequential([Dense(1, input_shape=(3,))])
    with pytest.raises(TypeError, match=r"Invalid keyword argument\(s\) in `compile\(\)`"):
        model.compile("sgd", "mse", foo=1)


def test_fit_before_compile():
    x, y = toy_binary()
    model = Sequential([Dense(1, input_shape=(3,))])
    for call in (lambda: model.fit(x, y), lambda: model.evaluate(x, y), lambda: model.train_on_batch(x, y)):
        with pytest.raises(RuntimeError, match=re.escape("You must compile your model before training/testing. "
                                                         "Use `model.compile(optimizer, loss)`.")):
            call()


# ---------------------------------------------------------------------------------------------------- single batches
def test_train_on_batch_returns_loss_before_update():
    x, y = toy_binary()
    model = binary_model(metrics=None)
    before = model.get_weights()
    expected = model.test_on_batch(x, y)
    got = model.train_on_batch(x, y)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-6)
    assert not same_weights(before, model.get_weights())
    assert model.train_on_batch(x, y) < got


def test_train_on_batch_return_formats():
    x, y = toy_binary()
    model = binary_model()
    out = model.train_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2
    d = model.train_on_batch(x, y, return_dict=True)
    assert set(d) == {"loss", "accuracy"}
    assert isinstance(model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"], float)


def test_reset_metrics_false_accumulates():
    x, y = toy_binary()
    model = binary_model(lr=0.0)
    first = model.test_on_batch(x[:32], y[:32], return_dict=True)
    second = model.test_on_batch(x[32:], y[32:], reset_metrics=False, return_dict=True)
    whole = model.test_on_batch(x, y, return_dict=True)
    assert second["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    assert second["accuracy"] == pytest.approx(whole["accuracy"])
    assert first["loss"] != pytest.approx(whole["loss"])


def test_loss_includes_regularization_penalties():
    x, y = toy_binary()
    backend.set_random_seed(0)
    model = Sequential([Dense(2, input_shape=(3,), kernel_regularizer="l2"), Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy")
    plain = Sequential([Dense(2, input_shape=(3,)), Dense(1, activation="sigmoid")])
    plain.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss="binary_crossentropy")
    plain.set_weights(model.get_weights())
    kernel = model.get_weights()[0]
    penalty = float(sum(float(t.data) for t in model.losses))
    assert penalty == pytest.approx(0.01 * float(np.sum(kernel ** 2)), rel=1e-5)  # Keras 2's l2 default is 0.01
    assert model.evaluate(x, y, verbose=0, batch_size=64) == pytest.approx(
        plain.evaluate(x, y, verbose=0, batch_size=64) + penalty, rel=1e-5)
    got = model.train_on_batch(x, y)
    assert got == pytest.approx(plain.train_on_batch(x, y) + penalty, rel=1e-5)
    # the penalty's gradient 2 * 0.01 * kernel is part of the step
    np.testing.assert_allclose(model.get_weights()[0], plain.get_weights()[0] - 0.1 * 0.02 * kernel, rtol=1e-5,
                               atol=1e-6)


# ---------------------------------------------------------------------------------------------------- fit
def test_fit_really_trains():
    x, y = toy_binary(n=128)
    model = binary_model(lr=0.5)
    history = model.fit(x, y, batch_size=16, epochs=15, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert history.history["accuracy"][-1] > 0.9
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


def test_fit_lstm_toy_sequence_task():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 5, 2)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("float32")[:, None]
    backend.set_random_seed(0)
    model = Sequential([LSTM(8, input_shape=(5, 2)), Dense(1, activation="sigmoid")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="binary_crossentropy", metrics=["acc"])
    history = model.fit(x, y, batch_size=16, epochs=12, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["acc"][-1] > 0.85


def test_history_contents_and_params():
    x, y = toy_binary()
    model = binary_model()
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0, initial_epoch=1)
    assert isinstance(history, callbacks.History)
    assert model.history is history
    assert history.epoch == [1, 2]
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 2 and all(isinstance(f, float) for f in v) for v in history.history.values())
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 3}


def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = toy_binary(n=40)
    model = binary_model(lr=0.3)
    start = model.get_weights()
    history = model.fit(x, y, batch_size=30, epochs=1, validation_split=0.25, shuffle=True, verbose=0)
    # one full batch of the first 30 samples: the same update as train_on_batch on them
    ref = binary_model(lr=0.3)
    ref.set_weights(start)
    ref.train_on_batch(x[:30], y[:30])
    np.testing.assert_allclose(model.get_weights()[0], ref.get_weights()[0], rtol=1e-6, atol=1e-6)
    val = ref.evaluate(x[30:], y[30:], verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(val["loss"], rel=1e-6)
    assert history.history["val_accuracy"][0] == pytest.approx(val["accuracy"])


def test_validation_data_with_sample_weights_and_freq():
    x, y = toy_binary()
    model = binary_model()
    sw = np.ones(len(x), "float32")
    h = model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y, sw), validation_freq=2)
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    h = model.fit(x, y, epochs=3, verbose=0, validation_data=[x, y], validation_freq=[1, 3])
    assert len(h.history["val_loss"]) == 2


def test_shuffle_false_is_deterministic_and_seeded_shuffle_reproducible():
    x, y = toy_binary()

    def run(shuffle, seed):
        model = binary_model(lr=0.2)
        backend.set_random_seed(seed)
        model.fit(x, y, batch_size=8, epochs=2, shuffle=shuffle, verbose=0)
        return model.get_weights()

    assert same_weights(run(False, 1), run(False, 2))
    assert same_weights(run(True, 5), run(True, 5))
    assert not same_weights(run(True, 5), run(True, 6))
    assert not same_weights(run(True, 5), run(False, 5))


def test_steps_per_epoch_and_batch_shuffle():
    x, y = toy_binary(n=20)
    model = binary_model()
    h = model.fit(x, y, batch_size=8, steps_per_epoch=5, epochs=2, verbose=0, shuffle="batch")
    assert h.params["steps"] == 5 and len(h.history["loss"]) == 2


def test_sample_weight_and_class_weight():
    x, y = toy_binary()
    start = binary_model().get_weights()

    def fit_with(**kwargs):
        model = binary_model(lr=0.3)
        model.set_weights(start)
        h = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs)
        return model.get_weights(), h.history["loss"]

    w_plain, loss_plain = fit_with()
    cw = {0: 0.25, 1: 2.0}
    w_cw, loss_cw = fit_with(class_weight=cw)
    w_sw, loss_sw = fit_with(sample_weight=np.where(y[:, 0] > 0, 2.0, 0.25).astype("float32"))
    assert same_weights(w_cw, w_sw) and loss_cw == loss_sw
    assert not same_weights(w_plain, w_cw)
    # class weights multiply sample weights; zero weights mean no update at all
    w_zero, loss_zero = fit_with(class_weight=cw, sample_weight=np.zeros(len(x), "float32"))
    assert same_weights(w_zero, start) and loss_zero == [0.0, 0.0]


def test_evaluate_and_predict_formats(capsys):
    x, y = toy_binary(n=40)
    model = binary_model(metrics=None)
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    assert model.predict(x, verbose=0).shape == (40, 1)
    assert capsys.readouterr().out == ""
    np.testing.assert_allclose(model.predict(x, batch_size=7, verbose=0), model.predict_on_batch(x), rtol=1e-6)
    model.predict(x, verbose=1)
    assert re.fullmatch(r"2/2 \[=+\] - 0s \d+(us|ms)/step\n", capsys.readouterr().out)


# ---------------------------------------------------------------------------------------------------- output
EPOCH_LINE = (r"2/2 \[==============================\] - \ds \d+(us|ms|s)/step - loss: \d\.\d{4} - "
              r"accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}\n")


def test_progress_output_not_a_terminal(capsys):
    x, y = toy_binary(n=40)
    model = binary_model()
    model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    assert re.fullmatch(f"Epoch 1/2\n{EPOCH_LINE}Epoch 2/2\n{EPOCH_LINE}", out), out
    model.fit(x, y, batch_size=16, epochs=1, validation_split=0.25)  # verbose='auto' = 1, no header for 1 epoch
    assert re.fullmatch(EPOCH_LINE, capsys.readouterr().out)


def test_progress_output_verbose_2(capsys):
    x, y = toy_binary(n=40)
    model = binary_model()
    model.fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=2)
    line = (r"2/2 - \ds - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4} - "
            r"\d+(us|ms|s)/epoch - \d+(us|ms|s)/step\n")
    assert re.fullmatch(f"Epoch 1/2\n{line}Epoch 2/2\n{line}", capsys.readouterr().out)


def test_progress_output_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    from minikeras.utils import progbar

    t = [0.0]
    monkeypatch.setattr(progbar, "time", type("T", (), {"time": staticmethod(lambda: t[0])}))

    class Tick(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            t[0] += 0.1

    stream = Terminal()
    monkeypatch.setattr(sys, "stdout", stream)
    x, y = toy_binary(n=40)
    model = binary_model()
    model.fit(x, y, batch_size=16, epochs=1, validation_split=0.25, verbose=1, callbacks=[Tick()])
    out = stream.getvalue()
    first, final = out.split("\x08" * 75)[0], out.split("\r")[-1]
    assert re.fullmatch(r"\r1/2 \[==============>\.+\] - ETA: 0s - loss: \d\.\d{4} - accuracy: \d\.\d{4}", first)
    assert re.fullmatch(r"2/2 \[=+\] - 0s 100ms/step - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: "
                        r"\d\.\d{4} - val_accuracy: \d\.\d{4}\n", final), out


def test_evaluate_output(capsys):
    x, y = toy_binary(n=40)
    model = binary_model()
    model.evaluate(x, y, batch_size=16)
    assert re.fullmatch(r"3/3 \[=+\] - 0s \d+(us|ms)/step - loss: \d\.\d{4} - accuracy: \d\.\d{4}\n",
                        capsys.readouterr().out)
    model.evaluate(x, y, batch_size=16, verbose=2)
    assert re.fullmatch(r"3/3 - 0s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - \d+(us|ms)/epoch - \d+(us|ms)/step\n",
                        capsys.readouterr().out)


# ---------------------------------------------------------------------------------------------------- atomic steps
class Boom(Exception):
    pass


def test_exception_in_callback_leaves_weights_as_before_that_batch():
    x, y = toy_binary(n=48)
    model = binary_model(lr=0.3, momentum=0.9)
    seen = {}

    class Recorder(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen[batch] = (model.get_weights(), model.optimizer.get_weights())
            if batch == 1:
                raise Boom()

    with pytest.raises(Boom):
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[Recorder()])
    assert same_weights(model.get_weights(), seen[0][0])
    assert not same_weights(model.get_weights(), seen[1][0])
    # the optimizer's state (momentum, iteration count) was put back too: the next step continues from batch 0
    assert same_weights(model.optimizer.get_weights(), seen[0][1])


def test_exception_inside_the_step_leaves_weights_untouched():
    x, y = toy_binary(n=48)
    model = binary_model(lr=0.3)
    model.train_on_batch(x[:16], y[:16])
    before = model.get_weights()
    bad_y = np.full((16, 2), 0.5, "float32")  # wrong target shape: the loss raises after the forward pass
    with pytest.raises(ValueError, match="incompatible"):
        model.train_on_batch(x[:16], bad_y)
    assert same_weights(before, model.get_weights())


def nan_batches():
    x, y = toy_binary(n=48)
    x = x.copy()
    x[20] = np.nan  # second batch of 16
    return x, y


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_loss_warns_with_epoch_and_batch():
    x, y = nan_batches()
    model = binary_model()
    with pytest.warns(RuntimeWarning, match=r"Epoch 1/2, batch 1: the training loss is nan"):
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_terminate_on_nan_keeps_last_good_weights(capsys):
    x, y = nan_batches()
    model = binary_model()
    after_first = {}

    class Recorder(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            after_first.setdefault(batch, model.get_weights())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0,
                      callbacks=[Recorder(), callbacks.TerminateOnNaN()])
    assert not [w for w in caught if "training loss" in str(w.message)]
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    assert len(h.epoch) == 1 and np.isnan(h.history["loss"][0])
    assert all(np.isfinite(w).all() for w in model.get_weights())
    assert same_weights(model.get_weights(), after_first[0])


# ---------------------------------------------------------------------------------------------------- bad input
def test_data_cardinality_message():
    x, y = toy_binary(n=10)
    model = binary_model()
    with pytest.raises(ValueError) as e:
        model.fit(x, y[:8], verbose=0)
    assert str(e.value) == ("Data cardinality is ambiguous:\n  x sizes: 10\n  y sizes: 8\n"
                            "Make sure all arrays contain the same number of samples.")
    with pytest.raises(ValueError, match="sample_weight sizes: 3"):
        model.fit(x, y, sample_weight=np.ones(3), verbose=0)


def test_empty_and_object_arrays():
    model = binary_model()
    with pytest.raises(ValueError, match="Expected input data to be non-empty."):
        model.fit(np.zeros((0, 3), "float32"), np.zeros((0, 1), "float32"), verbose=0)
    with pytest.raises(ValueError, match=r"Failed to convert a NumPy array to a Tensor \(Unsupported object type "
                                         r"str\)"):
        model.fit(np.array([[1, "a", None]], dtype=object), np.zeros((1, 1)), verbose=0)
    with pytest.raises(ValueError, match="Failed to convert a NumPy array to a Tensor"):
        model.fit([[1.0, 2.0, 3.0], [1.0]], np.zeros((2, 1)), verbose=0)


@pytest.mark.parametrize("split", [1.0, 1.5, -0.1, "0.2", True])
def test_bad_validation_split(split):
    x, y = toy_binary()
    with pytest.raises(ValueError, match=r"validation_split.*\[0, 1\)"):
        binary_model().fit(x, y, validation_split=split, verbose=0)


def test_validation_split_too_small():
    x, y = toy_binary(n=1)
    with pytest.raises(ValueError, match="not sufficient to split it"):
        binary_model().fit(x, y, validation_split=0.5, verbose=0)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, "8", True])
def test_bad_batch_size(batch_size):
    x, y = toy_binary()
    with pytest.raises(ValueError, match="Expected `batch_size` to be a positive integer"):
        binary_model().fit(x, y, batch_size=batch_size, verbose=0)


def test_targets_with_wrong_number_of_classes():
    x, y, labels = toy_categorical()
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Shapes \(None, 2\) and \(None, 3\) are incompatible"):
        model.fit(x, y[:, :2], verbose=0)
    with pytest.raises(ValueError, match=r"Shapes \(None, 1\) and \(None, 3\) are incompatible.*sparse_categorical"):
        model.fit(x, labels, verbose=0)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(ValueError, match=r"Received a label value of [345] which is outside the valid range of "
                                         r"\[0, 3\)"):
        model.fit(x, np.arange(len(x)) % 6, verbose=0)
    h = model.fit(x, labels, verbose=0, epochs=2)
    assert list(h.history) == ["loss", "accuracy"]


def test_target_checks_follow_what_the_loss_declares():
    """Targets are checked by what a loss declares (`expected_targets`), not guessed from its name."""
    from minikeras import losses

    x, _, labels = toy_categorical()

    class LabelLoss(losses.Loss):  # a user loss that declares integer class labels gets the label-range check
        expected_targets = losses.CLASS_INDICES

        def call(self, y_true, y_pred):
            return losses.sparse_categorical_crossentropy(y_true, y_pred)

    def my_crossentropy(y_true, y_pred):  # declares nothing: its name alone no longer triggers a shape check
        return losses.sparse_categorical_crossentropy(y_true, y_pred)

    assert losses.expected_targets(losses.get("categorical_crossentropy")) == losses.ONE_HOT
    assert losses.expected_targets(losses.BinaryCrossentropy()) == losses.SAME_SHAPE
    assert losses.expected_targets(my_crossentropy) is None
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", LabelLoss())
    with pytest.raises(ValueError, match=r"Received a label value of [345] which is outside the valid range"):
        model.fit(x, np.arange(len(x)) % 6, verbose=0)
    model.compile("sgd", my_crossentropy)
    assert np.isfinite(model.fit(x, labels, verbose=0).history["loss"][0])


def test_bad_class_weight():
    x, y = toy_binary()
    with pytest.raises(ValueError, match="Expected `class_weight` to be a dict with keys from 0 to one less"):
        binary_model().fit(x, y, class_weight={0: 1.0, 2: 3.0}, verbose=0)
    with pytest.raises(ValueError, match=r"classes \[1\] exist in the data but not in `class_weight`"):
        binary_model().fit(x, y, class_weight={0: 1.0}, verbose=0)


def test_missing_targets_and_loss():
    x, y = toy_binary()
    with pytest.raises(ValueError, match="Target data is missing"):
        binary_model().fit(x, verbose=0)
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile("sgd")
    with pytest.raises(ValueError, match="No loss found"):
        model.fit(x, y, verbose=0)


def test_stateful_batch_size_rules():
    x = np.zeros((10, 5, 2), "float32")
    y = np.zeros((10, 1), "float32")
    model = Sequential([LSTM(3, stateful=True, batch_input_shape=(4, 5, 2)), Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="batch_size` argument value 3 is incompatible with the specified batch size "
                                         "of your Input Layer: 4"):
        model.fit(x[:8], y[:8], batch_size=3, verbose=0)
    with pytest.raises(ValueError, match="In a stateful network, you should only pass inputs with a number of samples "
                                         "that can be divided by the batch size. Found: 10 samples"):
        model.fit(x, y, verbose=0)
    h = model.fit(x[:8], y[:8], verbose=0, shuffle=False)  # batch size taken from the input layer
    assert h.params["steps"] == 2


# ---------------------------------------------------------------------------------------------------- fit vs tf_keras
# Recorded with tf_keras 2.21 (TF_USE_LEGACY_KERAS=1): the same data, weights and calls as below.
TF_KERAS_HISTORY = {
    "loss": [0.5357469916343689, 0.4091159701347351, 0.3370780348777771],
    "acc": [0.699999988079071, 0.800000011920929, 0.8666666746139526],
    "accuracy": [0.7338234782218933, 0.8088235259056091, 0.8607842922210693],
    "val_loss": [0.685778021812439, 0.5403565764427185, 0.46027612686157227],
    "val_acc": [0.8999999761581421, 0.8999999761581421, 1.0],
    "val_accuracy": [0.908333420753479, 0.908333420753479, 1.0]}
TF_KERAS_EVALUATE = [0.34615182876586914, 0.925000011920929, 0.9381410479545593]
TF_KERAS_WEIGHTS = [[1.4795451164245605, 0.3736594319343567, -0.5809478759765625], [-0.3706091046333313]]


def test_fit_history_matches_tf_keras():
    """Batch-size-weighted epoch loss, unweighted `metrics` vs `weighted_metrics` naming, validation split of a
    weighted fit, SGD momentum: all as tf_keras 2.21 logs them."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 3)).astype("float32")
    y = (x[:, :1] + 0.3 * x[:, 1:2] > 0).astype("float32")
    sw = np.linspace(0.5, 1.5, 40).astype("float32")
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    model.set_weights([np.array([[0.3], [-0.2], [0.1]], "float32"), np.array([0.05], "float32")])
    model.compile(optimizers.SGD(learning_rate=0.5, momentum=0.5), "binary_crossentropy", metrics=["acc"],
                  weighted_metrics=["accuracy"])
    h = model.fit(x, y, sample_weight=sw, batch_size=12, epochs=3, validation_split=0.25, shuffle=False, verbose=0)
    assert list(h.history) == list(TF_KERAS_HISTORY)
    for key, values in TF_KERAS_HISTORY.items():
        np.testing.assert_allclose(h.history[key], values, rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=sw, batch_size=7, verbose=0), TF_KERAS_EVALUATE,
                               rtol=1e-5)
    assert model.metrics_names == ["loss", "acc", "accuracy"]
    for w, expected in zip(model.get_weights(), TF_KERAS_WEIGHTS):
        np.testing.assert_allclose(w.ravel(), expected, rtol=1e-5, atol=1e-6)


def test_masked_sequence_loss_matches_tf_keras():
    """The output mask (Embedding mask_zero -> LSTM return_sequences) weights the loss and the metrics: values
    recorded with tf_keras 2.21 for the same weights and calls."""
    from minikeras.layers import Embedding

    x = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [1, 1, 1, 1, 1], [2, 0, 0, 0, 0]], "int32")
    y = np.random.default_rng(3).standard_normal((4, 5, 2)).astype("float32")
    model = Sequential([Embedding(6, 3, mask_zero=True, input_length=5),
                        LSTM(4, return_sequences=True, recurrent_activation="sigmoid"), Dense(2)])
    r = np.random.default_rng(0)
    model.set_weights([r.standard_normal(w.shape).astype("float32") * 0.3 for w in model.get_weights()])
    model.compile(optimizers.SGD(0.1), "mse", metrics=["mae"])
    np.testing.assert_allclose(model.train_on_batch(x, y), [0.931856632232666, 0.6677904725074768], rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(x, y, sample_weight=np.array([1., 2., 0.5, 1.], "float32")),
                               [0.7018853425979614, 0.6661384701728821], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), [0.9205406308174133, 0.6674171090126038], rtol=1e-5)


# ---------------------------------------------------------------------------------------------------- lean predict
def test_small_predict_takes_the_lean_path_with_the_same_result(monkeypatch):
    """One batch, no callbacks, no progress bar: `predict` calls `predict_step` once, without the callback
    machinery, and returns what the batched path returns (as a fresh array)."""
    from minikeras.engine import training

    backend.set_random_seed(3)
    model = Sequential([LSTM(4, input_shape=(5, 3)), Dense(2)])
    x = np.random.default_rng(0).standard_normal((3, 5, 3)).astype("float32")
    batched = model.predict(x, batch_size=1, verbose=0)           # three batches: the general path
    seen = []
    model.predict(x[:1], callbacks=[callbacks.LambdaCallback(on_predict_batch_end=lambda b, l: seen.append(b))],
                  verbose=0)
    assert seen == [0]                                            # callbacks given: the general path, hooks called

    class NoCallbacks(callbacks.CallbackList):
        def __init__(self, *args, **kwargs):
            raise AssertionError("the lean path must not build a CallbackList")

    monkeypatch.setattr(training.callbacks_module, "CallbackList", NoCallbacks)
    lean = model.predict(x, verbose=0)
    np.testing.assert_allclose(lean, batched, rtol=0, atol=1e-6)
    assert lean.dtype == batched.dtype and lean.shape == (3, 2)
    for w in model.weights:
        assert w.grad is None
    with pytest.raises(AssertionError, match="must not build"):   # more samples than one batch: general path
        model.predict(x, batch_size=2, verbose=0)
    with pytest.raises(AssertionError, match="must not build"):   # a progress bar to show: general path
        model.predict(x, verbose=1)


def test_lean_predict_returns_a_copy_and_honours_predict_step():
    from minikeras.layers import Activation
    from minikeras.engine.training import Model

    identity = Sequential([Activation("linear", input_shape=(2,))])
    x = np.ones((1, 2), "float32")
    out = identity.predict(x, verbose=0)
    out[0, 0] = 5.0
    assert x[0, 0] == 1.0                                         # the caller's input is never handed back

    class Doubled(Model):
        def __init__(self):
            super().__init__()
            self.dense = Dense(1, kernel_initializer="ones", bias_initializer="zeros")

        def call(self, inputs, training=None, mask=None):
            return self.dense(inputs)

        def predict_step(self, data):
            return 2.0 * super().predict_step(data)

    np.testing.assert_allclose(Doubled().predict(np.ones((1, 3), "float32"), verbose=0), [[6.0]])


def test_lean_predict_keeps_the_errors_for_bad_data():
    model = Sequential([Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="Unsupported object type str"):
        model.predict(np.array([["a", "b"]]), verbose=0)
    with pytest.raises(ValueError, match="Expected `batch_size` to be a positive integer"):
        model.predict(np.ones((1, 2)), batch_size=0, verbose=0)


# ---------------------------------------------------------------------------------------------------- compile checks
@pytest.mark.parametrize("kwargs, message", [
    (dict(loss="binary_crossentropyy"), r"Unknown loss identifier 'binary_crossentropyy'. Did you mean "
                                        r"'binary_crossentropy'.*Received: loss='binary_crossentropyy'"),
    (dict(loss={"dense": "msee"}), r"Unknown loss identifier 'msee'. Did you mean 'mse' or 'msle'\?"),
    (dict(loss="mse", metrics=["accuarcy"]), r"Unknown metric identifier 'accuarcy'. Did you mean 'accuracy'.*"
                                             r"Received: metrics=\['accuarcy'\]"),
    (dict(loss="mse", metrics=["f1score"]), r"Unknown metric identifier 'f1score'. Otherwise pass a function or a "
                                            r"`keras.metrics.Metric` instance"),
    (dict(loss="mse", weighted_metrics=["maee"]), r"Did you mean 'mae'.*Received: weighted_metrics=\['maee'\]"),
    (dict(optimizer="adamm", loss="mse"), r"Unknown optimizer identifier 'adamm'. Did you mean 'adam'"),
])
def test_compile_rejects_unknown_identifiers_with_a_suggestion(kwargs, message):
    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile("sgd", "mae")
    optimizer = model.optimizer
    with pytest.raises(ValueError, match=message):
        model.compile(**kwargs)
    assert model.optimizer is optimizer and model.loss == "mae"   # a failed compile changes nothing


def test_compile_accepts_every_spelling_keras_accepts():
    model = Sequential([Dense(2, activation="softmax", input_shape=(3,))])
    for loss in ("mse", "MSE", "MeanSquaredError", "huber_loss", "kld", "categorical_crossentropy"):
        model.compile("Adam", loss, metrics=["acc", "ACC", "ce", "mae", "Precision", "top_k_categorical_accuracy"])
    model.compile(optimizers.SGD(), loss=None)


def test_fit_nb_epoch_is_keras_1s_epochs():
    x, y = toy_binary()
    model = binary_model()
    with pytest.warns(UserWarning, match=r"The `nb_epoch` argument in `fit` has been renamed `epochs`."):
        hist = model.fit(x, y, nb_epoch=3, verbose=0)
    assert hist.epoch == [0, 1, 2]
    with pytest.raises(TypeError, match=r"Unrecognized keyword arguments: \{'nb_epochs': 3\}"):
        model.fit(x, y, nb_epochs=3, verbose=0)
