"""`fit`/`evaluate`/`predict` on Python generators and `keras.utils.Sequence` (tf_keras 2.21 semantics), and Keras 2's
`fit_generator`/`evaluate_generator`/`predict_generator`.

Numbers against real tf_keras: tests/fixtures/keras2/generators_* (tests/fixtures/keras2_generators_cases.py).
"""
import io
import re
import sys
import threading
import warnings

import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras import backend, callbacks, optimizers
from minikeras.layers import LSTM, Dense
from minikeras.models import Sequential
from minikeras.utils.data_utils import Sequence


class Batches(Sequence):
    """Serves `x`, `y` in batches; records every index requested and every `on_epoch_end`."""

    def __init__(self, x, y=None, batch_size=4, sample_weight=None):
        self.x, self.y, self.sw, self.batch_size = x, y, sample_weight, batch_size
        self.requested, self.epoch_ends = [], 0
        self._lock = threading.Lock()

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, i):
        with self._lock:
            self.requested.append(i)
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        if self.y is None:
            return self.x[s]
        return (self.x[s], self.y[s]) if self.sw is None else (self.x[s], self.y[s], self.sw[s])

    def on_epoch_end(self):
        self.epoch_ends += 1


def toy(n=20, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    return x, y


def dense_model(seed=0, opt=None):
    backend.set_random_seed(seed)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(opt or optimizers.SGD(learning_rate=0.5), "binary_crossentropy", metrics=["accuracy"])
    return model


def batches_of(x, y, size, sw=None):
    for i in range(0, len(x), size):
        s = slice(i, i + size)
        yield (x[s], y[s]) if sw is None else (x[s], y[s], sw[s])


def assert_same_weights(a, b, atol=0.0):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=atol)


# ---------------------------------------------------------------------------------------------------- real tf_keras
def _lstm_model(data, opt):
    model = Sequential([LSTM(4, input_shape=(5, 3), recurrent_activation="sigmoid"), Dense(3, activation="softmax")])
    model.set_weights([data[f"w_before_{i}"] for i in range(5)])
    model.compile(opt, "categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_on_a_sequence_with_class_weight_matches_tf_keras():
    case = keras_case(2, "generators_sequence")
    d, meta = load_io(case), load_json(case / "meta.json")
    model = _lstm_model(d, optimizers.SGD(learning_rate=0.1, momentum=0.9))
    seq, val_seq = Batches(d["x"], d["y"], 6), Batches(d["x_val"], d["y_val"], 4)
    class_weight = {int(k): v for k, v in meta["class_weight"].items()}
    hist = model.fit(seq, epochs=2, shuffle=False, class_weight=class_weight, validation_data=val_seq, verbose=0)
    assert list(hist.history) == meta["history_keys"]
    for key in meta["history_keys"]:
        np.testing.assert_allclose(hist.history[key], d[f"hist_{key}"], rtol=0, atol=2e-5, err_msg=key)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, d[f"w_after_{i}"], rtol=0, atol=1e-5, err_msg=f"weight {i}")
    np.testing.assert_allclose(model.evaluate(val_seq, verbose=0), d["eval"], rtol=0, atol=2e-5)
    np.testing.assert_allclose(model.predict(seq, verbose=0), d["y_pred"], rtol=0, atol=2e-5)
    assert seq.requested[:8] == [0, 1, 2, 3] * 2                  # shuffle=False: the Sequence's order
    assert seq.epoch_ends == 3                                      # after each fit epoch, and after predict
    assert val_seq.epoch_ends == 3                                  # after each validation pass, and evaluate


def test_fit_on_a_generator_with_sample_weights_matches_tf_keras():
    case = keras_case(2, "generators_generator")
    d, meta = load_io(case), load_json(case / "meta.json")
    model = _lstm_model(d, optimizers.Adam(learning_rate=0.01))

    def batches():
        while True:
            yield from batches_of(d["x"], d["y"], 6, d["sample_weight"])

    hist = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert list(hist.history) == meta["history_keys"]
    for key in meta["history_keys"]:
        np.testing.assert_allclose(hist.history[key], d[f"hist_{key}"], rtol=0, atol=2e-5, err_msg=key)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, d[f"w_after_{i}"], rtol=0, atol=1e-5, err_msg=f"weight {i}")
    np.testing.assert_allclose(model.evaluate(batches(), steps=2, verbose=0), d["eval"], rtol=0, atol=2e-5)


# ---------------------------------------------------------------------------------------------------- semantics
def test_generator_and_sequence_train_as_the_same_arrays():
    x, y = toy()
    sw = np.linspace(0.5, 2.0, len(x)).astype("float32")
    ref = dense_model()
    ref.fit(x, y, batch_size=4, epochs=2, shuffle=False, sample_weight=sw, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    seq_model = dense_model()
    seq_model.fit(Batches(x, y, 4, sw), epochs=2, shuffle=False, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    gen_model = dense_model()

    def endless():
        while True:
            yield from batches_of(x, y, 4, sw)

    gen_model.fit(endless(), steps_per_epoch=5, epochs=2, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    assert_same_weights(ref, seq_model, atol=1e-7)
    assert_same_weights(ref, gen_model, atol=1e-7)


def test_sequence_shuffle_sees_every_batch_once_per_epoch_in_a_new_order():
    x, y = toy(40)
    seq = Batches(x, y, 4)
    dense_model().fit(seq, epochs=4, shuffle=True, verbose=0)
    epochs = [seq.requested[i * 10:(i + 1) * 10] for i in range(4)]
    assert len(seq.requested) == 40
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1 and any(e != list(range(10)) for e in epochs)
    assert seq.epoch_ends == 4
    seq.requested.clear()
    dense_model().fit(seq, epochs=2, shuffle=False, verbose=0)
    assert seq.requested == list(range(10)) * 2


def test_sequence_read_by_threads_gives_the_same_training():
    x, y = toy(40)
    one = dense_model()
    one.fit(Batches(x, y, 4), epochs=2, shuffle=False, verbose=0)
    seq = Batches(x, y, 4)
    threaded = dense_model()
    threaded.fit(seq, epochs=2, shuffle=False, workers=3, max_queue_size=2, verbose=0)
    assert_same_weights(one, threaded)
    assert sorted(seq.requested) == sorted(list(range(10)) * 2) and seq.epoch_ends == 2


def test_generator_read_by_a_background_thread():
    x, y = toy(40)
    one = dense_model()
    one.fit(batches_of(x, y, 4), epochs=1, verbose=0)
    reader_threads = []

    def gen():
        for batch in batches_of(x, y, 4):
            reader_threads.append(threading.current_thread())
            yield batch

    prefetched = dense_model()
    prefetched.fit(gen(), epochs=1, workers=2, max_queue_size=3, verbose=0)
    assert_same_weights(one, prefetched)
    assert reader_threads and all(t is not threading.main_thread() for t in reader_threads)


def test_use_multiprocessing_warns_and_runs_in_threads():
    x, y = toy()
    with pytest.warns(RuntimeWarning, match="threads, not processes"):
        dense_model().fit(Batches(x, y, 4), workers=2, use_multiprocessing=True, verbose=0)


def test_a_generator_that_runs_out():
    """As tf_keras: without `steps_per_epoch` the first epoch reads the generator to its end; later epochs find it
    empty, warn and stop. With `steps_per_epoch`, the epoch where it runs out is the last one."""
    x, y = toy(12)
    model = dense_model()
    with pytest.warns(RuntimeWarning, match=r"ran out of data.*at least `steps_per_epoch \* epochs` batches "
                                            r"\(in this case, 9 batches\)"):
        hist = model.fit(batches_of(x, y, 4), epochs=3, verbose=0)
    assert hist.epoch == [0]                                      # tf_keras logs a second epoch with loss 0.0
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        hist = dense_model().fit(batches_of(x, y, 2), steps_per_epoch=4, epochs=3, verbose=0)
    assert hist.epoch == [0, 1]                                   # 6 batches: 4, then 2 of 4
    seq = Batches(x, y, 4)
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        hist = dense_model().fit(seq, steps_per_epoch=5, epochs=2, verbose=0)
    assert hist.epoch == [0] and seq.epoch_ends == 1


def test_steps_per_epoch_shorter_than_a_sequence():
    x, y = toy(40)
    seq = Batches(x, y, 4)
    dense_model().fit(seq, steps_per_epoch=3, epochs=2, shuffle=False, verbose=0)
    assert seq.requested == [0, 1, 2, 0, 1, 2] and seq.epoch_ends == 2


def test_validation_generator_and_validation_steps():
    x, y = toy(16)
    model = dense_model()
    with pytest.warns(RuntimeWarning, match="ran out of data"):
        hist = model.fit(Batches(x, y, 4), epochs=3, validation_data=batches_of(x, y, 4), validation_steps=2,
                         verbose=0)
    assert list(hist.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert len(hist.history["val_loss"]) == 2                     # 4 batches: two passes of 2, then it is empty
    ref = dense_model()
    h2 = ref.fit(Batches(x, y, 4), epochs=1, validation_data=(x[:8], y[:8]), batch_size=4, verbose=0)
    np.testing.assert_allclose(hist.history["val_loss"][0], h2.history["val_loss"][0], rtol=1e-6)


def test_evaluate_and_predict_on_generators_and_sequences():
    x, y = toy(10)
    model = dense_model()
    model.fit(x, y, epochs=2, verbose=0)
    want_eval = model.evaluate(x, y, batch_size=4, verbose=0)
    want_pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.evaluate(batches_of(x, y, 4), verbose=0), want_eval, rtol=1e-6)
    seq = Batches(x, y, 4)
    np.testing.assert_allclose(model.evaluate(seq, verbose=0), want_eval, rtol=1e-6)
    np.testing.assert_allclose(model.predict(seq, verbose=0), want_pred, rtol=1e-6)
    assert seq.epoch_ends == 2
    np.testing.assert_allclose(model.predict(batches_of(x, y, 3), verbose=0), want_pred, rtol=1e-6)  # y ignored
    np.testing.assert_allclose(model.predict(Batches(x, None, 3), verbose=0), want_pred, rtol=1e-6)
    np.testing.assert_allclose(model.predict(((x[i:i + 2],) for i in range(0, 10, 2)), verbose=0), want_pred,
                               rtol=1e-6)
    np.testing.assert_allclose(model.predict(Batches(x, None, 3), steps=2, verbose=0), want_pred[:6], rtol=1e-6)
    exhausted = batches_of(x, y, 4)
    model.evaluate(exhausted, verbose=0)
    with pytest.raises(ValueError, match="Expected input data to be non-empty"):
        model.evaluate(exhausted, verbose=0)


def test_generator_argument_errors_as_tf_keras():
    x, y = toy()
    model = dense_model()
    with pytest.raises(ValueError, match="`y` argument is not supported when using python generator as input"):
        model.fit(batches_of(x, y, 4), y=y, verbose=0)
    with pytest.raises(ValueError, match=r"`sample_weight` argument is not supported when using "
                                         r"`keras.utils.Sequence` as input"):
        model.fit(Batches(x, y), sample_weight=np.ones(len(x)), verbose=0)
    with pytest.raises(ValueError, match="`validation_split` is only supported for Tensors or NumPy arrays"):
        model.fit(batches_of(x, y, 4), validation_split=0.5, verbose=0)
    for name in ("workers", "max_queue_size"):
        with pytest.raises(ValueError, match=f"Expected `{name}` to be a positive integer. Received: {name}=0"):
            model.fit(x, y, verbose=0, **{name: 0})
    with pytest.raises(ValueError, match="Unsupported object type str"):
        model.fit(((np.array([["a", "b", "c"]]), y[:1]) for _ in range(2)), verbose=0)


def test_a_failing_batch_leaves_the_model_as_before_it():
    x, y = toy(12)

    class Broken(Batches):
        def __getitem__(self, i):
            if i == 2:
                raise RuntimeError("disk gone")
            return super().__getitem__(i)

    model = dense_model()
    seen = []
    cb = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append([w.copy() for w in
                                                                                   model.get_weights()]))
    with pytest.raises(RuntimeError, match="disk gone"):
        model.fit(Broken(x, y, 4), shuffle=False, workers=2, callbacks=[cb], verbose=0)
    assert len(seen) == 2
    for w, want in zip(model.get_weights(), seen[-1]):
        np.testing.assert_array_equal(w, want)

    def gen():
        yield x[:4], y[:4]
        raise RuntimeError("generator broke")

    with pytest.raises(RuntimeError, match="generator broke"):
        dense_model().fit(gen(), workers=2, verbose=0)


def test_progress_bar_knows_the_steps(monkeypatch):
    x, y = toy(12)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    dense_model().fit(Batches(x, y, 4), epochs=1, verbose=1)
    dense_model().fit(batches_of(x, y, 4), epochs=1, verbose=2)
    dense_model().fit(batches_of(x, y, 4), steps_per_epoch=2, epochs=1, verbose=1)
    text = out.getvalue()
    assert re.search(r"3/3 \[=+\]", text)                         # len(sequence)
    assert re.search(r"^3/3 - ", text, re.M)                       # a generator: known after the epoch
    assert re.search(r"2/2 \[=+\]", text)                         # steps_per_epoch


def test_deprecated_generator_methods():
    x, y = toy(12)
    model = dense_model()
    with pytest.warns(UserWarning, match=r"`Model.fit_generator` is deprecated.*Please use `Model.fit`"):
        hist = model.fit_generator(Batches(x, y, 4), epochs=2, verbose=0)
    assert hist.epoch == [0, 1]
    with pytest.warns(UserWarning, match="`Model.evaluate_generator` is deprecated"):
        loss = model.evaluate_generator(Batches(x, y, 4))
    np.testing.assert_allclose(loss, model.evaluate(x, y, batch_size=4, verbose=0), rtol=1e-6)
    with pytest.warns(UserWarning, match="`Model.predict_generator` is deprecated"):
        pred = model.predict_generator(batches_of(x, y, 5), steps=2)
    np.testing.assert_allclose(pred, model.predict(x[:10], verbose=0), rtol=1e-6)


def test_keras_1_generator_arguments_convert_as_keras_2():
    """Keras 2.0-2.3's `legacy_generator_methods_support`: `samples_per_epoch` -> `steps_per_epoch` (divided by the
    generator's `batch_size` when it has one), `nb_epoch` -> `epochs`, `nb_val_samples` -> `validation_steps`,
    `val_samples` -> `steps`, `nb_worker` -> `workers`, `pickle_safe`, `max_q_size`, with Keras 2's warnings."""
    x, y = toy(12)
    seq = Batches(x, y, 4)
    model = dense_model()
    steps = []
    count = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: steps.append(batch))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hist = model.fit_generator(seq, samples_per_epoch=8, nb_epoch=2, nb_worker=2, max_q_size=3, verbose=0,
                                   callbacks=[count])
    texts = [str(w.message) for w in caught]
    assert hist.epoch == [0, 1] and steps == [0, 1, 0, 1]          # 8 samples / batch_size 4 = 2 steps per epoch
    assert any(t.startswith("Update your `fit_generator` call to the Keras 2 API: `fit_generator(") and
               "steps_per_epoch=2" in t and "epochs=2" in t and "workers=2" in t and "max_queue_size=3" in t
               for t in texts), texts
    assert any(t.startswith("The semantics of the Keras 2 argument `steps_per_epoch`") for t in texts)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loss = model.evaluate_generator(batches_of(x, y, 4), val_samples=2)
    assert any(str(w.message).startswith("Update your `evaluate_generator` call to the Keras 2 API: "
                                         "`evaluate_generator(") and "steps=2" in str(w.message) for w in caught)
    assert all(w.filename == __file__ for w in caught)              # every warning points at the caller's line
    np.testing.assert_allclose(loss, model.evaluate(x[:8], y[:8], batch_size=4, verbose=0), rtol=1e-6)
    with pytest.raises(TypeError, match="received both the legacy keyword argument `nb_epoch` and the Keras 2 "
                                        "keyword argument `epochs`"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit_generator(seq, epochs=1, nb_epoch=2)
