"""Callbacks: the order tf.keras calls them in, and each built-in callback's behaviour."""
import csv

import numpy as np
import pytest

from minikeras import backend, callbacks, optimizers
from minikeras.layers import Dense
from minikeras.models import Sequential


def toy(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype("float32")
    return x, (x[:, :1] > 0).astype("float32")


def model_(lr=0.3, metrics=("acc",)):
    backend.set_random_seed(0)
    model = Sequential([Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="binary_crossentropy",
                  metrics=list(metrics) if metrics else None)
    return model


HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end"]


class Recorder(callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []


for _hook in HOOKS:
    def _make(name):
        def hook(self, *args):
            self.calls.append((name,) + tuple(tuple(sorted(a)) if isinstance(a, dict) else a for a in args))
        return hook
    setattr(Recorder, _hook, _make(_hook))


def test_call_order_matches_tf_keras():
    # recorded from tf_keras 2.21: fit(x[10], batch_size=4, epochs=2, validation_split=0.2, metrics=['acc'])
    x, y = toy(10)
    model = model_()
    rec = Recorder()
    model.fit(x, y, batch_size=4, epochs=2, validation_split=0.2, verbose=0, callbacks=[rec])
    logs, val = ("acc", "loss"), ("acc", "loss", "val_acc", "val_loss")
    epoch = lambda e: [("on_epoch_begin", e, ()), ("on_train_batch_begin", 0, ()), ("on_train_batch_end", 0, logs),
                       ("on_train_batch_begin", 1, ()), ("on_train_batch_end", 1, logs), ("on_test_begin", ()),
                       ("on_test_batch_begin", 0, ()), ("on_test_batch_end", 0, logs), ("on_test_end", logs),
                       ("on_epoch_end", e, val)]
    assert rec.calls == [("on_train_begin", ())] + epoch(0) + epoch(1) + [("on_train_end", val)]
    rec.calls.clear()
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_test_begin", ())] + [c for b in range(3) for c in (
        ("on_test_batch_begin", b, ()), ("on_test_batch_end", b, logs))] + [("on_test_end", logs)]
    rec.calls.clear()
    model.predict(x, batch_size=4, verbose=0, callbacks=[rec])
    assert rec.calls == [("on_predict_begin", ())] + [c for b in range(3) for c in (
        ("on_predict_batch_begin", b, ()), ("on_predict_batch_end", b, ("outputs",)))] + [("on_predict_end", ())]


def test_batch_logs_are_running_epoch_means():
    x, y = toy(40)
    model = model_(lr=0.0, metrics=None)
    seen = []
    cb = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    h = model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[cb])
    batch_losses = [model.test_on_batch(x[i:i + 16], y[i:i + 16]) for i in (0, 16, 32)]
    assert seen[0] == pytest.approx(batch_losses[0], rel=1e-6)
    expected = (16 * batch_losses[0] + 16 * batch_losses[1] + 8 * batch_losses[2]) / 40  # weighted by batch size
    assert seen[-1] == pytest.approx(expected, rel=1e-5) and h.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_steps_per_execution_calls_batch_hooks_every_n_batches():
    x, y = toy(40)
    model = model_()
    model.compile("sgd", "binary_crossentropy", steps_per_execution=2)
    rec = Recorder()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[rec])
    batches = [c[:2] for c in rec.calls if c[0].startswith("on_train_batch")]
    assert batches == [("on_train_batch_begin", 0), ("on_train_batch_end", 1), ("on_train_batch_begin", 2),
                       ("on_train_batch_end", 3), ("on_train_batch_begin", 4), ("on_train_batch_end", 4)]


def test_history_and_model_history():
    x, y = toy()
    model = model_()
    h = model.fit(x, y, epochs=2, verbose=0)
    assert model.history is h and h.epoch == [0, 1] and set(h.history) == {"loss", "acc"}
    model.evaluate(x, y, verbose=0)
    assert model.history.history == {}  # as in tf.keras: evaluate installs its own (empty) History


class ScoreFeed(callbacks.Callback):
    """Writes a scripted `score` into the epoch logs and records the weights at each epoch end."""

    def __init__(self, scores):
        super().__init__()
        self.scores = scores
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.scores[epoch]
        self.weights.append(self.model.get_weights())


def test_early_stopping_restores_best_weights(capsys):
    x, y = toy()
    model = model_()
    feed = ScoreFeed([3.0, 1.0, 2.0, 4.0, 5.0, 0.5])
    stop = callbacks.EarlyStopping(monitor="score", patience=2, restore_best_weights=True, verbose=1)
    h = model.fit(x, y, epochs=6, verbose=0, callbacks=[feed, stop])
    assert h.epoch == [0, 1, 2, 3] and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), feed.weights[1]))
    assert capsys.readouterr().out == ("Epoch 4: early stopping\n"
                                       "Restoring model weights from the end of the best epoch: 2.\n")


def test_early_stopping_modes_baseline_and_warmup():
    x, y = toy()
    # 'acc' in auto mode is maximized
    stop = callbacks.EarlyStopping(monitor="score_acc", patience=1)
    model_().fit(x, y, epochs=5, verbose=0, callbacks=[ScoreFeed([0.5, 0.6, 0.4, 0.3, 0.9]), _rename("score_acc"),
                                                       stop])
    assert stop.stopped_epoch == 2
    # a baseline nobody beats stops after `patience` epochs
    stop = callbacks.EarlyStopping(monitor="score", patience=2, baseline=0.1)
    h = model_().fit(x, y, epochs=6, verbose=0, callbacks=[ScoreFeed([1.0] * 6), stop])
    assert len(h.epoch) == 2
    # nothing is monitored before start_from_epoch
    stop = callbacks.EarlyStopping(monitor="score", patience=0, start_from_epoch=3)
    h = model_().fit(x, y, epochs=6, verbose=0, callbacks=[ScoreFeed([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), stop])
    assert h.epoch == [0, 1, 2, 3, 4]
    with pytest.warns(UserWarning, match="Early stopping conditioned on metric `nope` which is not available"):
        model_().fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.EarlyStopping(monitor="nope")])


def _rename(name):
    def fn(epoch, logs):
        logs[name] = logs.pop("score")
    return callbacks.LambdaCallback(on_epoch_end=fn)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_terminate_on_nan_stops_with_the_last_good_weights(capsys):
    x, y = toy(48)
    x[40] = np.nan  # third batch of 16
    model = model_()
    good = []
    keep = callbacks.LambdaCallback(on_batch_end=lambda b, logs: good.append(model.get_weights()))
    h = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0,
                  callbacks=[keep, callbacks.TerminateOnNaN()])
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"
    assert h.epoch == [0]
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), good[1]))
    assert np.isfinite(model.predict(x[:40], verbose=0)).all()


def test_csv_logger(tmp_path):
    x, y = toy()
    path = tmp_path / "log.csv"
    h = model_().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["epoch", "acc", "loss", "val_acc", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    assert float(rows[2][2]) == h.history["loss"][1]
    # append: no second header; a custom separator
    model_().fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, append=True)])
    assert len(list(csv.reader(path.open()))) == 4
    path2 = tmp_path / "log2.csv"
    model_().fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path2, separator=";")])
    header = path2.read_text().splitlines()[0]
    assert header == "epoch;acc;loss;val_acc;val_loss"  # tf.keras adds val_ columns even without validation
    assert path2.read_text().splitlines()[1].endswith(";NA;NA")


def test_model_checkpoint_paths_and_best_only(tmp_path, monkeypatch, capsys):
    x, y = toy()
    model = model_()
    saved = []
    monkeypatch.setattr(model, "save_weights", lambda path, overwrite=True, **kw: saved.append(("w", path)),
                        raising=False)
    monkeypatch.setattr(model, "save", lambda path, overwrite=True, **kw: saved.append(("m", path)), raising=False)
    pattern = str(tmp_path / "sub" / "w.{epoch:02d}-{score:.2f}.h5")
    feed = ScoreFeed([0.5, 0.75, 0.25])
    model.fit(x, y, epochs=3, verbose=0, callbacks=[feed, callbacks.ModelCheckpoint(pattern, monitor="score",
                                                                                      save_weights_only=True)])
    assert saved == [("w", str(tmp_path / "sub" / n)) for n in ("w.01-0.50.h5", "w.02-0.75.h5", "w.03-0.25.h5")]
    assert (tmp_path / "sub").is_dir()
    saved.clear()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "best.h5"), monitor="score", save_best_only=True, verbose=1)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[ScoreFeed([0.5, 0.75, 0.25]), cp])
    assert saved == [("m", str(tmp_path / "best.h5"))] * 2 and cp.best == 0.25
    out = capsys.readouterr().out
    assert "Epoch 1: score improved from inf to 0.50000, saving model to" in out
    assert "Epoch 2: score did not improve from 0.50000" in out
    saved.clear()
    cp = callbacks.ModelCheckpoint(str(tmp_path / "b{batch}.h5"), save_freq=2, save_weights_only=True)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[cp])  # 5 batches
    assert [p for _, p in saved] == [str(tmp_path / "b2.h5"), str(tmp_path / "b4.h5")]
    with pytest.raises(KeyError, match="Failed to format this callback filepath"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "{nope}.h5"))])


def test_model_checkpoint_real_save(tmp_path):
    x, y = toy()
    model = model_()
    path = tmp_path / "ckpt.h5"
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(str(path), monitor="loss",
                                                                              save_best_only=True,
                                                                              save_weights_only=True)])
    fresh = model_()
    fresh.load_weights(str(path))
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), model.get_weights()))
    full = tmp_path / "model.h5"
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(str(full))])
    from minikeras.models import load_model

    np.testing.assert_allclose(load_model(str(full)).predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_reduce_lr_on_plateau(capsys):
    x, y = toy()
    model = model_(lr=0.1)
    cb = callbacks.ReduceLROnPlateau(monitor="score", factor=0.5, patience=1, min_lr=0.03, verbose=1)
    h = model.fit(x, y, epochs=5, verbose=0, callbacks=[ScoreFeed([1.0, 1.0, 1.0, 1.0, 1.0]), cb])
    assert h.history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.03, 0.03])  # logged before the reduction
    assert float(np.asarray(getattr(model.optimizer.learning_rate, "data", model.optimizer.learning_rate))) == \
        pytest.approx(0.03)
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05" in capsys.readouterr().out
    with pytest.raises(ValueError, match="does not support a factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler(capsys):
    x, y = toy()
    model = model_(lr=0.2)
    h = model.fit(x, y, epochs=3, verbose=0,
                  callbacks=[callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5, verbose=1)])
    assert h.history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    # the rate is read back from the float32 variable, so tf.keras prints 0.2 * 0.5 as 0.10000000149011612 too
    assert "\nEpoch 1: LearningRateScheduler setting learning rate to 0.10000000149011612.\n" in capsys.readouterr().out
    old_api = callbacks.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))
    h = model.fit(x, y, epochs=2, verbose=0, callbacks=[old_api])
    assert h.history["lr"] == pytest.approx([0.01, 0.02])
    with pytest.raises(ValueError, match='The output of the "schedule" function should be float'):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "fast")])


def test_lambda_callback_and_base_logger():
    x, y = toy()
    events = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: events.append("begin"),
                                  on_epoch_end=lambda epoch, logs: events.append(epoch),
                                  on_train_end=lambda logs: events.append("end"))
    model_().fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    assert events == ["begin", 0, 1, "end"]
    logger = callbacks.BaseLogger()
    logger.set_params({"metrics": ["loss"]})
    logger.on_epoch_begin(0)
    logger.on_batch_end(0, {"size": 2, "loss": 1.0})
    logger.on_batch_end(1, {"size": 6, "loss": 3.0})
    logs = {}
    logger.on_epoch_end(0, logs)
    assert logs == {"loss": 2.5}


def test_callback_list_and_bad_callbacks():
    cb_list = callbacks.CallbackList([callbacks.History()], add_history=True, add_progbar=True)
    assert [type(c).__name__ for c in cb_list] == ["History", "ProgbarLogger"]
    x, y = toy()
    with pytest.raises(TypeError, match="keras.callbacks.Callback"):
        model_().fit(x, y, verbose=0, callbacks=[lambda logs: None])
    with pytest.raises(ValueError, match="Unknown `count_mode`"):
        callbacks.ProgbarLogger(count_mode="batches")


@pytest.mark.parametrize("cls", [callbacks.RemoteMonitor, callbacks.TensorBoard, callbacks.BackupAndRestore])
def test_not_implemented_callbacks(cls):
    with pytest.raises(NotImplementedError, match="not implemented in minikeras"):
        cls()
