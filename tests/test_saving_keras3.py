"""Keras 3 `.weights.h5` / `.keras` files: against real Keras 3.15.1 files (tests/fixtures/keras3), round trips,
and hostile or damaged files (each raises minikeras's error and leaves the model's weights bit-identical)."""
from __future__ import annotations

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from helpers import keras_case, load_io, load_json
from minikeras.saving import keras3
from minikeras.saving.errors import (ConfigError, FileFormatError, UnsupportedConfigError,
                                     WeightMismatchError)

SEQUENTIAL_CASES = ["seed", "sentence", "two_lstm_dense", "hard_sigmoid_era3", "compiled_adam", "bidirectional_gru"]
TRAINED_CASES = ["train_adam", "train_sgd_momentum", "train_rmsprop"]  # compiled, optimizer state in the files
LAYER_CASES = ["lstm_sigmoid", "embedding_mask_lstm", "gru_reset_after_true", "time_distributed_dense",
               "lstm_go_backwards", "lstm_hard_sigmoid", "lstm_masking", "lstm_no_bias", "gru_reset_after_false",
               "simple_rnn", "bidirectional_concat", "bidirectional_sum", "bidirectional_mul", "bidirectional_ave",
               "bidirectional_masked", "lstm_stateful"]
ALL_CASES = SEQUENTIAL_CASES + TRAINED_CASES + LAYER_CASES


def _model_from_case(case: str):
    """The case's model as a minikeras Sequential (functional layer cases: InputLayer + the layer)."""
    from minikeras.saving.serialization import model_from_file_config

    config = keras3.keras3_model_config(load_json(keras_case(3, case) / "config.json"))
    return model_from_file_config(config, "3.15.1")


def _inputs(io_: dict):
    return io_["x"] if "x" in io_ else io_["x0"]


def _h5_tree(f) -> dict:
    """path -> (kind, shape, dtype, attrs) of every group and dataset."""
    out = {}

    def visit(name, obj):
        attrs = {k: (type(v).__name__, v if not isinstance(v, np.ndarray) else v.tolist(),
                     str(h5py.check_string_dtype(obj.attrs.get_id(k).dtype)))
                 for k, v in obj.attrs.items()}
        if isinstance(obj, h5py.Dataset):
            out[name] = ("dataset", obj.shape, str(obj.dtype), attrs)
        else:
            out[name] = ("group", len(obj), None, attrs)

    visit("/", f)
    f.visititems(visit)
    return out


def _check_weights(model, io_):
    """`model.get_weights()` equals Keras's (io.npz `model_w_<i>`; the seed case does not store them)."""
    weights = model.get_weights()
    if "model_w_0" in io_:
        assert len(weights) == len([k for k in io_ if k.startswith("model_w_")])
        for i, w in enumerate(weights):
            np.testing.assert_array_equal(w, io_[f"model_w_{i}"])


def _weights(model):
    return [w.data.copy() for w in model.weights]


def _same_weights(model, before):
    after = _weights(model)
    assert len(after) == len(before)
    for a, b in zip(after, before):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


# ------------------------------------------------------------------------------------------- real Keras files


@pytest.mark.parametrize("case", ALL_CASES)
def test_load_model_predicts_like_keras(case):
    io_ = load_io(keras_case(3, case))
    model = keras3.load_model_keras3(keras_case(3, case) / "model.keras", compile=False)
    np.testing.assert_allclose(model.predict(_inputs(io_), verbose=0), io_["y_pred"], atol=2e-5, rtol=0)
    _check_weights(model, io_)


@pytest.mark.parametrize("case", ALL_CASES)
def test_load_weights_into_model_built_from_config(case):
    io_ = load_io(keras_case(3, case))
    model = _model_from_case(case)
    keras3.load_weights_keras3(model, keras_case(3, case) / "model.weights.h5")
    _check_weights(model, io_)
    if "y_pred" in io_ and "x" in io_:
        np.testing.assert_allclose(model.predict(io_["x"], verbose=0), io_["y_pred"], atol=2e-5, rtol=0)


@pytest.mark.parametrize("case", ALL_CASES)
def test_written_weights_have_keras_structure(case, tmp_path):
    """Same groups, datasets, shapes, dtypes and attributes (types and values) as the Keras-written file."""
    model = _model_from_case(case)
    keras3.load_weights_keras3(model, keras_case(3, case) / "model.weights.h5")
    if load_json(keras_case(3, case) / "config.json").get("compile_config"):
        model = keras3.load_model_keras3(keras_case(3, case) / "model.keras")
    out = tmp_path / "m.weights.h5"
    keras3.save_weights_keras3(model, out)
    with h5py.File(keras_case(3, case) / "model.weights.h5", "r") as f:
        expected = _h5_tree(f)
    with h5py.File(out, "r") as f:
        got = _h5_tree(f)
    if load_json(keras_case(3, case) / "config.json")["class_name"] == "Functional":
        # A functional model's file also holds its InputLayer and the model name 'functional'.
        expected = {k: v for k, v in expected.items() if not k.startswith("layers/input_layer")}
        expected["layers"] = ("group", expected["layers"][1] - 1, None, {})
        expected["vars"] = got["vars"]
    assert got == expected
    with h5py.File(keras_case(3, case) / "model.weights.h5", "r") as f, h5py.File(out, "r") as g:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):  # weights and optimizer state, bit for bit
                np.testing.assert_array_equal(g[name][()], obj[()])
        f.visititems(visit)


@pytest.mark.parametrize("case", SEQUENTIAL_CASES)
def test_written_keras_zip_matches_keras(case, tmp_path):
    model = keras3.load_model_keras3(keras_case(3, case) / "model.keras", compile=False)
    out = tmp_path / "m.keras"
    keras3.save_model_keras3(model, out)
    with zipfile.ZipFile(out) as zf, zipfile.ZipFile(keras_case(3, case) / "model.keras") as ref:
        assert zf.namelist() == ref.namelist()
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        meta = json.loads(zf.read("metadata.json"))
        assert meta["keras_version"] == "3.15.1" and set(meta) == {"keras_version", "date_saved", "minikeras_version"}
        got = json.loads(zf.read("config.json"))
    expected = load_json(keras_case(3, case) / "config.json")
    expected["compile_config"] = {}  # loaded with compile=False: Keras writes {} for an uncompiled model
    assert got == expected
    again = keras3.load_model_keras3(out, compile=False)
    for a, b in zip(again.get_weights(), model.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("case", SEQUENTIAL_CASES)
def test_round_trip_bit_exact(case, tmp_path):
    model = keras3.load_model_keras3(keras_case(3, case) / "model.keras", compile=False)
    x = _inputs(load_io(keras_case(3, case)))
    keras3.save_weights_keras3(model, tmp_path / "w.weights.h5")
    other = _model_from_case(case)
    keras3.load_weights_keras3(other, tmp_path / "w.weights.h5")
    _same_weights(other, _weights(model))
    keras3.save_model_keras3(model, tmp_path / "m.keras")
    again = keras3.load_model_keras3(tmp_path / "m.keras")
    _same_weights(again, _weights(model))
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    assert sorted(os.listdir(tmp_path)) == ["m.keras", "w.weights.h5"]  # no temporary files left


def test_compiled_adam_resumes_training_like_keras():
    io_ = load_io(keras_case(3, "compiled_adam"))
    model = keras3.load_model_keras3(keras_case(3, "compiled_adam") / "model.keras")
    state = keras3._optimizer_values(model.optimizer)
    for i, v in enumerate(state):
        np.testing.assert_allclose(v, io_[f"opt_{i}"], rtol=0, atol=0)
    for k in range(2):
        out = model.train_on_batch(io_["x"], io_["y"])
        loss = out[0] if isinstance(out, (list, tuple)) else out
        np.testing.assert_allclose(loss, io_[f"loss_resume_{k}"], atol=1e-5, rtol=0)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, io_[f"w_resume_{i}"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("case", ["lstm_return_state", "lstm_initial_state", "bidirectional_None"])
def test_functional_files_that_are_not_chains_load_as_functional(case):
    """Several outputs or `initial_state` inputs: built as the functional model Keras saved (same outputs)."""
    model = keras3.load_model_keras3(keras_case(3, case) / "model.keras")
    assert type(model).__name__ == "Functional"
    io_ = load_io(keras_case(3, case))
    xs = [io_[k] for k in ("x", "x0", "x1", "x2") if k in io_]
    ys = [io_[k] for k in ("y_pred", "y_pred_0", "y_pred_1", "y_pred_2") if k in io_]
    got = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(ys)
    for g, y in zip(got, ys):
        np.testing.assert_allclose(g, y, atol=2e-5, rtol=0)


def test_functional_chain_conversion():
    """Keras 3 records Embedding/Masking masks as NotEqual/Any op nodes; the Sequential recomputes the same mask."""
    out = keras3.functional_to_sequential(load_json(keras_case(3, "lstm_masking") / "config.json"))
    assert [e["class_name"] for e in out["config"]["layers"]] == ["InputLayer", "Masking", "LSTM"]
    assert out["class_name"] == "Sequential" and "inbound_nodes" not in out["config"]["layers"][2]
    config = load_json(keras_case(3, "lstm_masking") / "config.json")
    lstm = config["config"]["layers"][-1]
    lstm["inbound_nodes"][0]["kwargs"]["mask"]["config"]["keras_history"] = ["input_layer", 0, 0]
    with pytest.raises(UnsupportedConfigError, match="explicit mask"):
        keras3.functional_to_sequential(config)
    config = load_json(keras_case(3, "lstm_sigmoid") / "config.json")
    config["config"]["layers"][1]["inbound_nodes"].append(config["config"]["layers"][1]["inbound_nodes"][0])
    with pytest.raises(UnsupportedConfigError, match="called 2 times"):
        keras3.functional_to_sequential(config)


def test_missing_cell_group_message_is_keras(tmp_path):
    model = _model_from_case("two_lstm_dense")
    before = _weights(model)
    path = tmp_path / "bad.weights.h5"
    path.write_bytes((keras_case(3, "two_lstm_dense") / "model.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        del f["layers/lstm_1/cell"]
    with pytest.raises(WeightMismatchError, match=r"Layer 'lstm_cell' expected 3 variables, but received 0 "
                                                  r"variables during loading. Expected: \['kernel', "
                                                  r"'recurrent_kernel', 'bias'\]") as e:
        keras3.load_weights_keras3(model, path)
    assert "layers/lstm_1/cell/vars" in str(e.value) and str(path) in str(e.value)
    _same_weights(model, before)


# ------------------------------------------------------------------------------------------- minikeras-only models


def _dense_model(seed=0):
    from minikeras.layers import Dense, Embedding, Input
    from minikeras.models import Sequential

    model = Sequential([Input((5,), dtype="int32"), Embedding(20, 4), Dense(3, activation="softmax"),
                        Dense(2)])
    r = np.random.default_rng(seed)
    model.set_weights([r.standard_normal(w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def test_dense_embedding_layout_and_round_trip(tmp_path):
    model = _dense_model()
    path = tmp_path / "m.weights.h5"
    keras3.save_weights_keras3(model, path)
    with h5py.File(path, "r") as f:
        tree = _h5_tree(f)
    assert tree["layers/embedding/vars"][3]["name"][1] == "embedding"
    assert tree["layers/embedding/vars/0"][1:3] == ((20, 4), "float32")
    assert tree["layers/dense/vars/0"][1] == (4, 3) and tree["layers/dense_1/vars/0"][1] == (3, 2)
    assert tree["layers/dense_1/vars"][3]["name"][1] == "dense_1"
    assert tree["vars"][3]["name"][1] == model.name and "optimizer" not in tree
    other = _dense_model(seed=1)
    keras3.load_weights_keras3(other, path)
    _same_weights(other, _weights(model))
    keras3.save_model_keras3(model, tmp_path / "m.keras")
    again = keras3.load_model_keras3(tmp_path / "m.keras")
    _same_weights(again, _weights(model))
    x = np.array([[1, 2, 3, 0, 5], [4, 4, 4, 4, 19]], dtype="int32")
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    # The models differ by name only; Keras's config.json shape
    config = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))
    assert config["config"]["layers"][0]["config"]["batch_shape"] == [None, 5]
    dense = config["config"]["layers"][2]
    assert dense["build_config"] == {"input_shape": [None, 5, 4]}
    assert dense["config"]["kernel_initializer"]["config"] == {"seed": None, "input_axes": None, "output_axes": None}
    assert "activity_regularizer" not in dense["config"] and dense["config"]["quantization_config"] is None


def test_save_is_atomic_and_keeps_old_file_on_failure(tmp_path, monkeypatch):
    model = _dense_model()
    path = tmp_path / "m.keras"
    keras3.save_model_keras3(model, path)
    old = path.read_bytes()

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(keras3, "_write_weights", boom)
    with pytest.raises(RuntimeError):
        keras3.save_model_keras3(model, path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["m.keras"]


# ------------------------------------------------------------------------------------------- bad files


@pytest.fixture
def saved(tmp_path):
    model = _dense_model()
    keras3.save_model_keras3(model, tmp_path / "m.keras")
    keras3.save_weights_keras3(model, tmp_path / "m.weights.h5")
    target = _dense_model(seed=7)
    return tmp_path, target, _weights(target)


def _rezip(src, dst, drop=(), add=()):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if info.filename not in drop:
                zout.writestr(info.filename, zin.read(info.filename))
        for name, data in add:
            zout.writestr(name, data)


def test_truncated_files(saved):
    tmp, target, before = saved
    for name in ("m.keras", "m.weights.h5"):
        data = (tmp / name).read_bytes()
        bad = tmp / f"cut.{name}"
        bad.write_bytes(data[: len(data) // 2])
        with pytest.raises(FileFormatError):
            if name.endswith(".keras"):
                keras3.load_model_keras3(bad)
            else:
                keras3.load_weights_keras3(target, bad)
        _same_weights(target, before)


def test_non_zip_keras_file(saved):
    tmp, _, _ = saved
    (tmp / "x.keras").write_bytes(b"\x89HDF\r\n\x1a\n not a zip at all" * 10)
    with pytest.raises(FileFormatError, match="zip"):
        keras3.load_model_keras3(tmp / "x.keras")
    with pytest.raises(OSError):  # FileFormatError is also an OSError and a ValueError
        keras3.load_model_keras3(tmp / "x.keras")


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_zip_missing_member(saved, member):
    tmp, _, _ = saved
    _rezip(tmp / "m.keras", tmp / "bad.keras", drop=(member,))
    with pytest.raises(FileFormatError, match=member):
        keras3.load_model_keras3(tmp / "bad.keras")


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt", "assets/../../evil", "..\\evil"])
def test_path_traversal_member_names(saved, name):
    tmp, _, _ = saved
    _rezip(tmp / "m.keras", tmp / "bad.keras", add=((name, b"x"),))
    with pytest.raises(FileFormatError, match="Unsafe member name"):
        keras3.load_model_keras3(tmp / "bad.keras")
    assert not (tmp.parent / "evil.txt").exists()


def test_lambda_and_foreign_modules_refused(saved):
    tmp, _, _ = saved
    config = json.loads(zipfile.ZipFile(tmp / "m.keras").read("config.json"))
    lam = json.loads(json.dumps(config))
    lam["config"]["layers"][1] = {"module": "keras.layers", "class_name": "Lambda",
                                  "config": {"name": "lambda", "function": "os.system"}, "registered_name": None}
    _rezip(tmp / "m.keras", tmp / "lam.keras", drop=("config.json",), add=(("config.json", json.dumps(lam)),))
    with pytest.raises(UnsupportedConfigError, match="Lambda"):
        keras3.load_model_keras3(tmp / "lam.keras")
    foreign = json.loads(json.dumps(config))
    foreign["config"]["layers"][1]["module"] = "mypackage.layers"
    _rezip(tmp / "m.keras", tmp / "f.keras", drop=("config.json",), add=(("config.json", json.dumps(foreign)),))
    with pytest.raises(UnsupportedConfigError, match="mypackage"):
        keras3.load_model_keras3(tmp / "f.keras")
    _rezip(tmp / "m.keras", tmp / "j.keras", drop=("config.json",), add=(("config.json", "{not json"),))
    with pytest.raises(ConfigError):
        keras3.load_model_keras3(tmp / "j.keras")


def test_wrong_count_and_shape_leave_weights_untouched(saved):
    tmp, target, before = saved
    path = tmp / "m.weights.h5"
    bad = tmp / "count.weights.h5"
    bad.write_bytes(path.read_bytes())
    with h5py.File(bad, "a") as f:
        del f["layers/dense_1/vars/1"]
    with pytest.raises(WeightMismatchError, match=r"Layer 'dense_\d' expected 2 variables, but received 1 variables "
                                                  r"during loading. Expected: \['kernel', 'bias'\]"):
        keras3.load_weights_keras3(target, bad)
    _same_weights(target, before)
    bad2 = tmp / "shape.weights.h5"
    bad2.write_bytes(path.read_bytes())
    with h5py.File(bad2, "a") as f:
        del f["layers/dense_1/vars/0"]
        f["layers/dense_1/vars/0"] = np.zeros((3, 7), "float32")
    with pytest.raises(WeightMismatchError, match=r"shape \(3, 2\).*\(3, 7\)") as e:
        keras3.load_weights_keras3(target, bad2)
    assert "layers/dense_1/vars" in str(e.value) and isinstance(e.value, ValueError)
    _same_weights(target, before)
    with pytest.warns(UserWarning, match="Skipping"):
        keras3.load_weights_keras3(target, bad2, skip_mismatch=True)
    np.testing.assert_array_equal(target.layers[0].get_weights()[0], _dense_model().layers[0].get_weights()[0])


def test_keras_2_13_checkpoint_dependencies_layout(saved):
    tmp, target, _ = saved
    path = tmp / "old.weights.h5"
    path.write_bytes((tmp / "m.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        f.move("layers", "_layer_checkpoint_dependencies")
    keras3.load_weights_keras3(target, path)
    _same_weights(target, _weights(_dense_model()))


HARD_SIGMOID_EXPORTS = ["lstm_default", "lstm_seq_dense", "gru_reset_after", "gru_reset_before",
                        "bidirectional_lstm", "simple_rnn", "dense"]


@pytest.mark.parametrize("stem", HARD_SIGMOID_EXPORTS)
def test_keras2_hard_sigmoid_exports_exactly_to_keras3(tmp_path, stem):
    """Keras 2's hard_sigmoid(z) = Keras 3's hard_sigmoid(1.2 z): the `.keras` export scales the columns feeding it
    by 1.2, and real Keras 3 computes the minikeras model's outputs from it (`y_keras3_<stem>`, recorded by Keras
    3.15.1 loading `<stem>.keras`). The same export made now stores the same weights, and loads back in minikeras
    with the same predictions."""
    import warnings

    case = keras_case(3, "hard_sigmoid_export")
    io_ = load_io(case)
    x, want = io_[f"x_{stem}"], io_[f"y_keras3_{stem}"]
    from minikeras import models

    model = models.load_model(case / f"{stem}.h5")  # minikeras's tf_keras file: Keras 2's hard_sigmoid
    np.testing.assert_allclose(model.predict(x, verbose=0), want, atol=2e-5, rtol=0)
    np.testing.assert_allclose(models.load_model(case / f"{stem}.keras").predict(x, verbose=0), want, atol=2e-5,
                               rtol=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save(tmp_path / "m.keras")
    assert [str(w.message) for w in caught if "rescale" in str(w.message) or "1.2" in str(w.message)] != []
    assert len(caught) == 1, [str(w.message) for w in caught]
    ours, theirs = {}, {}
    for path, out in ((tmp_path / "m.keras", ours), (case / f"{stem}.keras", theirs)):
        with zipfile.ZipFile(path) as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as f:
            f.visititems(lambda n, o, out=out: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    assert ours.keys() == theirs.keys()
    for k in ours:
        np.testing.assert_array_equal(ours[k], theirs[k], err_msg=k)
    again = models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6, rtol=0)


def test_hard_sigmoid_scaling_is_exactly_where_keras2_uses_it():
    """LSTM: gates i, f, o scaled, c not; GRU(reset_after=True) with a Keras 2 `activation`: every block, both bias
    rows; sigmoid layers: nothing."""
    from minikeras.layers import GRU, LSTM, Dense, Input
    from minikeras.models import Sequential

    model = Sequential([Input((5, 4)), LSTM(2, return_sequences=True),
                        GRU(3, reset_after=True, recurrent_activation="sigmoid", activation="hard_sigmoid"),
                        Dense(2, activation="sigmoid")])
    scales = keras3.hard_sigmoid_scales(model)
    lstm, gru, dense = model.layers
    np.testing.assert_array_equal(scales[id(lstm.cell.kernel)], [1.2] * 4 + [1.0] * 2 + [1.2] * 2)
    np.testing.assert_array_equal(scales[id(lstm.cell.bias)], [1.2] * 4 + [1.0] * 2 + [1.2] * 2)
    np.testing.assert_array_equal(scales[id(gru.cell.bias)], [1.0] * 6 + [1.2] * 3)
    assert np.asarray(gru.cell.bias.data).shape == (2, 9)
    assert not any(id(w) in scales for w in dense.weights)


@pytest.mark.parametrize("build", [
    lambda L: [L.Input((4,)), L.Dense(3), L.Activation("hard_sigmoid")],
    lambda L: [L.Input((5, 4)), L.LSTM(3, activation="hard_sigmoid", recurrent_activation="sigmoid")],
], ids=["activation_layer", "lstm_activation"])
def test_keras2_hard_sigmoid_without_exact_export_is_refused(tmp_path, build):
    """No rescaling of weights reproduces Keras 2's hard_sigmoid here: refused, and no file is left behind."""
    from minikeras import layers
    from minikeras.models import Sequential

    with pytest.raises(UnsupportedConfigError, match=r"no rescaling .* Save the model as `\.h5`"):
        Sequential(build(layers)).save(tmp_path / "m.keras")
    assert os.listdir(tmp_path) == []


def test_keras3_hard_sigmoid_round_trips_unscaled(tmp_path):
    from minikeras import activations
    from minikeras.layers import Dense, Input
    from minikeras.models import Sequential

    with activations.keras_era(3):
        model3 = Sequential([Input((4,)), Dense(3, activation="hard_sigmoid")])
    assert keras3.hard_sigmoid_scales(model3) == {}
    keras3.save_model_keras3(model3, tmp_path / "m.keras")
    again = keras3.load_model_keras3(tmp_path / "m.keras")
    assert activations.era_of(again.layers[0].activation) == 3
    x = np.linspace(-5, 5, 8, dtype="float32").reshape(2, 4)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model3.predict(x, verbose=0))


class _SlotOptimizer:
    """The optimizer contract keras3.py relies on (tf.keras 2.11+ optimizers): `build(var_list)`, `get_weights()` =
    `[iterations, slots...]` (Adam: m, v interleaved per variable), `set_weights`, `learning_rate`, `name`."""

    def __init__(self, name="adam", learning_rate=0.01):
        self.name, self.learning_rate, self.built, self._values = name, learning_rate, False, []

    def build(self, var_list):
        self._values = [np.zeros((), "int64")]
        for v in var_list:
            self._values += [np.zeros(v.shape, "float32"), np.zeros(v.shape, "float32")]
        self.built = True

    def get_weights(self):
        return [v.copy() for v in self._values]

    def set_weights(self, values):
        assert [np.shape(v) for v in values] == [v.shape for v in self._values]
        self._values = [np.array(v, dtype=c.dtype) for v, c in zip(values, self._values)]

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate, "beta_1": 0.9}


def test_optimizer_state_layout_and_restore(tmp_path):
    """optimizer/vars as Keras 3.15.1 (JAX) writes it: 0 = iteration int32 (), 1 = learning_rate float32 (), slots."""
    model = _dense_model()
    model.optimizer = _SlotOptimizer()
    model.optimizer.build(model.trainable_weights)
    r = np.random.default_rng(3)
    model.optimizer.set_weights([np.array(7)] + [r.standard_normal(v.shape) for v in model.optimizer._values[1:]])
    path = tmp_path / "m.weights.h5"
    keras3.save_weights_keras3(model, path)
    with h5py.File(path, "r") as f:
        group = f["optimizer/vars"]
        assert group.attrs["name"] == "adam" and len(group) == 2 + 2 * len(model.trainable_weights)
        assert group["0"].dtype == np.int32 and group["0"].shape == () and group["0"][()] == 7
        assert group["1"].dtype == np.float32 and group["1"][()] == np.float32(0.01)
        assert group["2"].shape == model.trainable_weights[0].shape
    with h5py.File(keras_case(3, "compiled_adam") / "model.weights.h5", "r") as f:
        ref = f["optimizer/vars"]
        assert (ref["0"].dtype, ref["0"].shape, ref["1"].dtype, ref["1"].shape) == (np.int32, (), np.float32, ())
    other = _dense_model(seed=5)
    other.optimizer = _SlotOptimizer(learning_rate=0.5)  # not built: loading builds its slots first
    keras3.load_weights_keras3(other, path)
    assert other.optimizer.learning_rate == pytest.approx(0.01)
    for a, b in zip(other.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    _same_weights(other, _weights(model))
    # A saved optimizer that does not fit only warns (as Keras); the model weights still load.
    small = _dense_model(seed=6)
    small.optimizer = _SlotOptimizer()
    with h5py.File(path, "a") as f:
        del f["optimizer/vars/3"]
        f["optimizer/vars/3"] = np.zeros((2, 2), "float32")
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer 'adam'"):
        keras3.load_weights_keras3(small, path)
    _same_weights(small, _weights(model))


@pytest.mark.parametrize("case", LAYER_CASES)
def test_layer_entries_match_keras_config(case):
    """Each layer's config.json entry as Keras 3 writes it (functional cases: entry-level name/inbound_nodes aside)."""
    model = _model_from_case(case)
    expected = [{k: v for k, v in e.items() if k not in ("name", "inbound_nodes")}
                for e in load_json(keras_case(3, case) / "config.json")["config"]["layers"]
                if e["class_name"] != "InputLayer" and not e["module"].startswith("keras.src.ops")]
    got = [keras3._k3_layer_entry(layer) for layer in model.layers]
    assert got == expected


def test_load_weights_from_keras_zip(saved):
    tmp, target, before = saved
    _rezip(tmp / "m.keras", tmp / "evil.keras", add=(("../x", b"x"),))
    with pytest.raises(FileFormatError, match="Unsafe"):
        keras3.load_weights_from_keras_zip(target, tmp / "evil.keras")
    _same_weights(target, before)
    keras3.load_weights_from_keras_zip(target, tmp / "m.keras")
    _same_weights(target, _weights(_dense_model()))


def test_hostile_hdf5_links_and_huge_shapes(saved, tmp_path):
    tmp, target, before = saved
    (tmp / "secret.h5").write_bytes((tmp / "m.weights.h5").read_bytes())
    ext = tmp / "ext.weights.h5"
    ext.write_bytes((tmp / "m.weights.h5").read_bytes())
    with h5py.File(ext, "a") as f:
        del f["layers/dense"]
        f["layers/dense"] = h5py.ExternalLink(str(tmp / "secret.h5"), "/layers/dense")
    with pytest.raises(FileFormatError, match="ExternalLink"):
        keras3.load_weights_keras3(target, ext)
    _same_weights(target, before)
    huge = tmp / "huge.weights.h5"
    huge.write_bytes((tmp / "m.weights.h5").read_bytes())
    with h5py.File(huge, "a") as f:
        del f["layers/dense_1/vars/0"]
        f["layers/dense_1"]["vars"].create_dataset("0", shape=(10**6, 10**6), dtype="float32", chunks=(1, 1))
    assert huge.stat().st_size < 10**6
    with pytest.raises(WeightMismatchError, match=r"\(1000000, 1000000\)"):  # refused from the shape, never read
        keras3.load_weights_keras3(target, huge)
    _same_weights(target, before)


def test_compile_config_written_like_keras(tmp_path):
    model = keras3.load_model_keras3(keras_case(3, "compiled_adam") / "model.keras")
    keras3.save_model_keras3(model, tmp_path / "m.keras")
    got = json.loads(zipfile.ZipFile(tmp_path / "m.keras").read("config.json"))["compile_config"]
    expected = load_json(keras_case(3, "compiled_adam") / "config.json")["compile_config"]
    assert expected.pop("jit_compile") is True and got.pop("jit_compile") is False  # minikeras never compiles
    assert got == expected
    again = keras3.load_model_keras3(tmp_path / "m.keras")
    for a, b in zip(keras3._optimizer_values(again.optimizer), keras3._optimizer_values(model.optimizer)):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_load_weights_from_keras_file_into_keras2_hard_sigmoid_model(tmp_path):
    """`load_weights('m.keras')` reads Keras 3 weights: a model using Keras 2's hard_sigmoid gets them divided by 1.2
    where they feed it, so it predicts what the file's model does."""
    from minikeras import models

    case = keras_case(3, "hard_sigmoid_export")
    io_ = load_io(case)
    source = models.load_model(case / "lstm_seq_dense.h5")
    target = models.model_from_json(source.to_json())
    target.load_weights(case / "lstm_seq_dense.keras")
    np.testing.assert_allclose(target.predict(io_["x_lstm_seq_dense"], verbose=0), io_["y_keras3_lstm_seq_dense"],
                               atol=2e-5, rtol=0)
    for a, b in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_keras_file_with_unknown_optimizer_loads_uncompiled(tmp_path):
    """As Keras 3: a compile_config that cannot be honoured costs the compilation, never the weights."""
    from minikeras import models

    case = keras_case(3, "compiled_adam")
    config = json.loads((case / "config.json").read_text())
    config["compile_config"]["optimizer"] = {"module": "keras.optimizers", "class_name": "Lion",
                                             "config": {"learning_rate": 0.001}, "registered_name": None}
    with zipfile.ZipFile(case / "model.keras") as src, zipfile.ZipFile(tmp_path / "m.keras", "w") as dst:
        for name in src.namelist():
            dst.writestr(name, json.dumps(config) if name == "config.json" else src.read(name))
    with pytest.warns(UserWarning, match="without compiling it.*Lion"):
        model = models.load_model(tmp_path / "m.keras")
    assert model.optimizer is None
    io_ = load_io(case)
    np.testing.assert_allclose(model.predict(_inputs(io_), verbose=0), io_["y_pred"], atol=2e-5, rtol=0)


def test_keras2_decay_is_exported_as_a_named_schedule_without_a_learning_rate_variable(tmp_path):
    """Keras 3 has no `decay`: the export writes the InverseTimeDecay it is, named as Keras 3 names its schedules
    (it refuses name=None), and, as Keras 3 does for a schedule, no learning-rate variable among optimizer/vars.
    (Real Keras 3 loading such a file and resuming training: tests/fixtures/README.md.)"""
    from minikeras import layers, models, optimizers

    model = models.Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(1)])
    with pytest.warns(DeprecationWarning):
        model.compile(optimizers.Adam(lr=0.01, decay=0.05), "mse")
    x, y = np.ones((2, 4), "float32"), np.ones((2, 1), "float32")
    model.train_on_batch(x, y)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        config = json.loads(zf.read("config.json"))
        zf.extract("model.weights.h5", tmp_path)
    lr = config["compile_config"]["optimizer"]["config"]["learning_rate"]
    assert lr["class_name"] == "InverseTimeDecay" and lr["config"]["name"] == "InverseTimeDecay"
    assert lr["config"]["decay_steps"] == 1 and lr["config"]["decay_rate"] == pytest.approx(0.05)
    assert "decay" not in config["compile_config"]["optimizer"]["config"]
    with h5py.File(tmp_path / "model.weights.h5", "r") as f:
        group = f["optimizer/vars"]
        assert len(group) == 1 + 2 * len(model.trainable_weights)  # iteration, then m and v: no learning rate
        assert group["0"][()] == 1 and group["1"].shape == model.trainable_weights[0].shape
    reloaded = models.load_model(tmp_path / "m.keras")
    assert int(reloaded.optimizer.iterations.data) == 1
    for a, b in zip(reloaded.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
