"""`fit`'s data handling against REAL tf_keras 2.21: sample weights (per sample, per timestep, with class weights,
on validation data and in `evaluate`) and `shuffle="batch"`.

Fixtures: tests/fixtures/keras2/{fit_sample_weight, fit_temporal_sample_weight, fit_class_and_sample_weight,
shuffle_batch}, written by tests/fixtures/keras2_training_cases.py (see tests/fixtures/README.md). Each training
case starts from the fixture's `w_before_<i>` and runs the same `fit` call; history values must match to 1e-5
relative, weights after training to 1e-5.
"""
import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras import backend, layers, models, optimizers

TOL = 1e-5


def lstm_softmax():
    return models.Sequential([layers.LSTM(6, recurrent_activation="sigmoid", input_shape=(5, 4)),
                              layers.Dense(3, activation="softmax")])


def start(model, data):
    n = len([k for k in data if k.startswith("w_before_")])
    model.set_weights([data[f"w_before_{i}"] for i in range(n)])
    return n


def assert_history(history, meta, data):
    assert sorted(history) == meta["history_keys"]
    for key in meta["history_keys"]:
        expected = data[f"history_{key}"]
        got = np.asarray(history[key], np.float64)
        np.testing.assert_allclose(got, expected, rtol=TOL, atol=TOL, err_msg=f"history['{key}'] differs from Keras")


def assert_weights_after(model, data, n):
    got = model.get_weights()
    assert len(got) == n
    for i, w in enumerate(got):
        np.testing.assert_allclose(w, data[f"w_after_{i}"], atol=TOL, rtol=0, err_msg=f"weight {i} after fit")


def test_fit_and_evaluate_with_sample_weights_match_keras2():
    path = keras_case(2, "fit_sample_weight")
    meta, data = load_json(path / "meta.json"), load_io(path)
    assert len(set(data["sample_weight"].tolist())) > 2 and (data["sample_weight"] == 0).any()  # not all ones
    model = lstm_softmax()
    n = start(model, data)
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy", "mse"])
    history = model.fit(data["x"], data["y"], sample_weight=data["sample_weight"], batch_size=4, epochs=3,
                        shuffle=False, verbose=0, validation_data=(data["x_val"], data["y_val"], data["sw_val"]))
    assert_history(history.history, meta, data)
    assert_weights_after(model, data, n)
    got = model.evaluate(data["x_val"], data["y_val"], sample_weight=data["sw_val"], batch_size=4, verbose=0,
                         return_dict=True)
    assert sorted(got) == meta["eval_keys"]
    for key in meta["eval_keys"]:
        assert got[key] == pytest.approx(float(data[f"eval_{key}"]), rel=TOL, abs=TOL), key


def test_fit_with_per_timestep_sample_weights_matches_keras2():
    path = keras_case(2, "fit_temporal_sample_weight")
    meta, data = load_json(path / "meta.json"), load_io(path)
    assert data["sample_weight"].shape == data["x"].shape[:2]
    model = models.Sequential([layers.LSTM(6, recurrent_activation="sigmoid", return_sequences=True,
                                           input_shape=(5, 4)), layers.Dense(2)])
    n = start(model, data)
    model.compile(optimizer=optimizers.SGD(0.1), loss="mse", weighted_metrics=["mae"])
    history = model.fit(data["x"], data["y"], sample_weight=data["sample_weight"], batch_size=3, epochs=2,
                        shuffle=False, verbose=0)
    assert_history(history.history, meta, data)
    assert_weights_after(model, data, n)


def test_fit_with_class_and_sample_weights_and_validation_split_matches_keras2():
    path = keras_case(2, "fit_class_and_sample_weight")
    meta, data = load_json(path / "meta.json"), load_io(path)
    model = lstm_softmax()
    n = start(model, data)
    model.compile(optimizer=optimizers.RMSprop(0.01), loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    class_weight = {int(k): v for k, v in meta["class_weight"].items()}
    history = model.fit(data["x"], data["y"], sample_weight=data["sample_weight"], class_weight=class_weight,
                        batch_size=4, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    assert_history(history.history, meta, data)
    assert_weights_after(model, data, n)


class Recording(models.Sequential):
    """Records the sample indices that x, y and the sample weights of each training batch carry."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def train_step(self, data):
        bx, by, bsw = data
        self.seen.append((np.asarray(bx)[:, 0].astype(int).tolist(), np.asarray(by)[:, 0].astype(int).tolist(),
                          (np.asarray(bsw) - 100).astype(int).tolist()))
        return super().train_step(data)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shuffle_batch_matches_keras2(seed):
    """Keras 2 shuffles the order of the batch-sized chunks each epoch, the partial chunk included, and the samples
    inside each batch. Both draw from random generators, so the fixture fixes which samples may share a batch and
    how many batches an epoch has, not the order. tf_keras shuffles x, y and the sample weights of a batch each with
    its own permutation (pairs broken, see the fixture's meta.json); minikeras keeps every sample's x, y and weight
    together, as Keras 3 does."""
    meta = load_json(keras_case(2, "shuffle_batch") / "meta.json")
    n, batch_size, epochs = meta["samples"], meta["batch_size"], meta["epochs"]
    chunks = {frozenset(b) for b in meta["batches"][0]}
    assert chunks == {frozenset(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)}
    backend.set_random_seed(seed)
    x = np.arange(n, dtype="float32")[:, None]
    model = Recording([layers.Dense(1, input_shape=(1,))])
    model.compile(optimizer=optimizers.SGD(1e-6), loss="mse")  # tiny steps: the weights stay finite
    model.fit(x, x, sample_weight=x[:, 0] + 100, batch_size=batch_size, epochs=epochs, shuffle="batch", verbose=0)
    per_epoch = len(meta["batches"][0])
    assert len(model.seen) == per_epoch * epochs
    orders, inner = set(), set()
    for e in range(epochs):
        ours = model.seen[e * per_epoch:(e + 1) * per_epoch]
        for bx, by, bsw in ours:
            assert bx == by == bsw  # each sample's x, y and weight stay together
        assert {frozenset(bx) for bx, _, _ in ours} == {frozenset(b) for b in meta["batches"][e]} == chunks
        orders.add(tuple(min(bx) for bx, _, _ in ours))
        inner.update(tuple(bx) for bx, _, _ in ours)
    # both shuffles happen: across three epochs the chunk order changes, and some batch is not in index order
    keras_orders = {tuple(min(b) for b in epoch) for epoch in meta["batches"]}
    assert len(keras_orders) > 1 and len(orders) > 1
    assert any(list(b) != sorted(b) for epoch in meta["batches"] for b in epoch)
    assert any(list(b) != sorted(b) for b in inner)
