"""Legacy HDF5 files (tf.keras 2.21 and Keras 1 / CuDNN layouts) against files real Keras wrote."""
from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

from minikeras import models
from minikeras.saving import FileFormatError, SavingError, WeightMismatchError
from minikeras.saving.hdf5_legacy import load_attributes_from_hdf5_group
from helpers import keras_case, load_io

ATOL = 2e-5


def model_from_case(case, name="config.json"):
    return models.model_from_json((case / name).read_text())


def h5_structure(path):
    """Every group/dataset path with shape and dtype kind, plus list attributes, of an HDF5 file."""
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out[name] = ("dataset", obj.shape, obj.dtype.kind)
        else:
            out[name] = ("group",)
        for k in obj.attrs:
            if k in ("weight_names", "layer_names"):
                out[f"{name}@{k}"] = tuple(load_attributes_from_hdf5_group(obj, k))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
        for k in ("layer_names", "keras_version", "backend"):
            out[f"/@{k}"] = k in f.attrs or f"{k}0" in f.attrs
        out["/@layer_names"] = tuple(load_attributes_from_hdf5_group(f, "layer_names"))
    return out


@pytest.mark.parametrize("case_name", ["seed", "hard_sigmoid_era2", "masked_sentence", "embedding_mask_lstm",
                                       "flatten_after_lstm", "long_names"])
def test_load_keras2_weights_predicts_like_keras(case_name):
    case = keras_case(2, case_name)
    model = model_from_case(case)
    model.load_weights(case / "weights.h5")
    io = load_io(case)
    np.testing.assert_allclose(model.predict(io["x"]), io["y_pred"], atol=ATOL, rtol=0)


@pytest.mark.parametrize("case_name", ["seed", "hard_sigmoid_era2", "masked_sentence", "long_names"])
def test_written_weights_have_keras_structure_and_round_trip(case_name, tmp_path):
    case = keras_case(2, case_name)
    model = model_from_case(case)
    model.load_weights(case / "weights.h5")
    out = tmp_path / "w.h5"
    model.save_weights(out)
    assert h5_structure(out) == h5_structure(case / "weights.h5")
    again = model_from_case(case)
    again.load_weights(out)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_long_names_are_chunked_like_keras(tmp_path):
    case = keras_case(2, "long_names")
    model = model_from_case(case)
    model.load_weights(case / "weights.h5")
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5") as f, h5py.File(case / "weights.h5") as g:
        assert "layer_names" not in f.attrs
        assert sorted(k for k in f.attrs if k.startswith("layer_names")) == \
            sorted(k for k in g.attrs if k.startswith("layer_names"))


@pytest.mark.parametrize("case_name, file_name", [("keras1_lstm", "weights_keras1.h5"),
                                                  ("keras1_gru", "weights_keras1.h5"),
                                                  ("cudnn_lstm", "weights_cudnn.h5"),
                                                  ("cudnn_gru", "weights_cudnn.h5")])
def test_converted_layouts_predict_like_keras(case_name, file_name):
    case = keras_case(2, case_name)
    model = model_from_case(case)
    model.load_weights(case / file_name)
    io = load_io(case)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, io[f"w_converted_{i}"], atol=1e-7, rtol=0)
    np.testing.assert_allclose(model.predict(io["x"]), io["y_pred"], atol=ATOL, rtol=0)


def test_keras1_gru_into_reset_after_true_fails_like_keras():
    case = keras_case(2, "keras1_gru")
    config = json.loads((case / "config.json").read_text())
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "GRU":
            layer["config"]["reset_after"] = True
    model = models.model_from_json(json.dumps(config))
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"GRU\(reset_after=False\) is not compatible with GRU\(reset_after=True\)"):
        model.load_weights(case / "weights_keras1.h5")
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_by_name_and_skip_mismatch_like_keras():
    case = keras_case(2, "save_weights_by_name")
    io = load_io(case)
    b = model_from_case(case, "config_b.json")
    b.set_weights([io[f"w_b_before_{i}"] for i in range(5)])
    b.load_weights(case / "weights_a.h5", by_name=True)
    for i, w in enumerate(b.get_weights()):
        np.testing.assert_array_equal(w, io[f"w_b_after_{i}"])
    c = model_from_case(case, "config_c.json")
    c.set_weights([io[f"w_c_before_{i}"] for i in range(5)])
    with pytest.raises(ValueError, match=r"Shape mismatch in layer #1 \(named head\)"):
        c.load_weights(case / "weights_a.h5", by_name=True)
    with pytest.warns(UserWarning, match="Skipping"):
        c.load_weights(case / "weights_a.h5", by_name=True, skip_mismatch=True)
    for i, w in enumerate(c.get_weights()):
        np.testing.assert_array_equal(w, io[f"w_c_after_{i}"])
    with pytest.raises(ValueError, match="skip_mismatch can only be set to True when by_name is True"):
        c.load_weights(case / "weights_a.h5", skip_mismatch=True)


@pytest.mark.parametrize("case_name", ["hard_sigmoid_era2", "masked_sentence"])
def test_load_keras2_full_model(case_name):
    case = keras_case(2, case_name)
    model = models.load_model(case / "model.h5", compile=False)
    io = load_io(case)
    np.testing.assert_allclose(model.predict(io["x"]), io["y_pred"], atol=ATOL, rtol=0)


def test_full_model_round_trip_has_keras_layout(tmp_path):
    case = keras_case(2, "hard_sigmoid_era2")
    model = models.load_model(case / "model.h5", compile=False)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert {"keras_version", "backend", "model_config"} <= set(f.attrs)
        assert "model_weights" in f
        assert json.loads(f.attrs["model_config"])["class_name"] == "Sequential"
    again = models.load_model(tmp_path / "m.h5", compile=False)
    io = load_io(case)
    np.testing.assert_array_equal(again.predict(io["x"]), model.predict(io["x"]))


def bad_files(tmp_path, good):
    """A few hostile variants of a valid weights file."""
    raw = good.read_bytes()
    out = {}
    for frac in (0.0, 0.1, 0.5, 0.9):
        p = tmp_path / f"trunc_{frac}.h5"
        p.write_bytes(raw[: int(len(raw) * frac)])
        out[f"truncated {frac}"] = p
    p = tmp_path / "text.h5"
    p.write_bytes(b"this is not an hdf5 file at all" * 10)
    out["not hdf5"] = p
    p = tmp_path / "missing_group.h5"
    p.write_bytes(raw)
    with h5py.File(p, "a") as f:
        del f[load_attributes_from_hdf5_group(f, "layer_names")[0]]
    out["missing group"] = p
    p = tmp_path / "wrong_shape.h5"
    p.write_bytes(raw)
    with h5py.File(p, "a") as f:
        name = load_attributes_from_hdf5_group(f, "layer_names")[0]
        wname = load_attributes_from_hdf5_group(f[name], "weight_names")[0]
        del f[name][wname]
        f[name].create_dataset(wname, data=np.zeros((2, 2), "float32"))
    out["wrong shape"] = p
    p = tmp_path / "string_weights.h5"
    p.write_bytes(raw)
    with h5py.File(p, "a") as f:
        name = load_attributes_from_hdf5_group(f, "layer_names")[-1]
        wname = load_attributes_from_hdf5_group(f[name], "weight_names")[-1]
        del f[name][wname]
        f[name].create_dataset(wname, data=np.array([b"x", b"y"]))
    out["string dtype"] = p
    return out


def test_bad_weight_files_raise_and_change_nothing(tmp_path):
    case = keras_case(2, "hard_sigmoid_era2")
    model = model_from_case(case)
    before = model.get_weights()
    for what, path in bad_files(tmp_path, case / "weights.h5").items():
        with pytest.raises(SavingError) as err:
            model.load_weights(path)
        assert str(path) in str(err.value), what
        for a, b in zip(before, model.get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=what)


def test_error_hierarchy():
    assert issubclass(FileFormatError, OSError) and issubclass(FileFormatError, ValueError)
    assert issubclass(WeightMismatchError, ValueError)


def test_training_resumes_from_keras_full_model_file():
    """seed_compiled: tf_keras trained 2 steps and saved; 2 more steps here land where tf_keras's 2 more steps did."""
    case = keras_case(2, "seed_compiled")
    io = load_io(case)
    model = models.load_model(case / "model.h5")
    np.testing.assert_allclose(model.predict(io["x"], verbose=0), io["y_pred"], atol=ATOL, rtol=0)
    for k in range(2):
        loss = model.train_on_batch(io["x"], io["y"])
        loss = loss[0] if isinstance(loss, (list, tuple)) else loss
        np.testing.assert_allclose(loss, io[f"loss_resume_{k}"], atol=1e-5, rtol=1e-6)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, io[f"w_resume_{i}"], atol=1e-5, rtol=0)


def test_compiled_model_round_trip_keeps_optimizer_state(tmp_path):
    case = keras_case(2, "seed_compiled")
    io = load_io(case)
    model = models.load_model(case / "model.h5")
    model.save(tmp_path / "m.h5")
    again = models.load_model(tmp_path / "m.h5")
    for a, b in zip(model.optimizer.get_weights(), again.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    la, lb = model.train_on_batch(io["x"], io["y"]), again.train_on_batch(io["x"], io["y"])
    np.testing.assert_array_equal(np.asarray(la), np.asarray(lb))


# ------------------------------------------------------------------------------------------ Keras 3's .h5


@pytest.mark.parametrize("case_name", ["h5_adam_wd_ema", "compiled_adam"])
def test_keras3_h5_resumes_training_like_keras3(case_name):
    """Keras 3.15's `model.save('m.h5')` of a compiled model: the optimizer config (weight_decay, use_ema, ...) is
    built with Keras 3's semantics and its state (iteration, learning rate, EMA averages, slots) restored, so two
    more steps land where Keras 3's two more steps from the same state did."""
    case = keras_case(3, case_name)
    io = load_io(case)
    model = models.load_model(case / "model.h5")
    assert model.optimizer is not None and int(model.optimizer.iterations) == 2
    if case_name == "h5_adam_wd_ema":
        cfg = model.optimizer.get_config()
        assert (cfg["weight_decay"], cfg["use_ema"], cfg["ema_momentum"]) == (0.05, True, 0.9)
    np.testing.assert_allclose(model.predict(io["x"], verbose=0), io["y_pred"], atol=ATOL, rtol=0)
    for k in range(2):
        loss = model.train_on_batch(io["x"], io["y"])
        loss = loss[0] if isinstance(loss, (list, tuple)) else loss
        np.testing.assert_allclose(loss, io[f"loss_resume_{k}"], atol=1e-5, rtol=1e-6)
    for i, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, io[f"w_resume_{i}"], atol=1e-5, rtol=0)


@pytest.mark.parametrize("case_name", ["h5_adam_wd_ema", "h5_uncompiled", "h5_unhonoured"])
def test_keras3_h5_weights_load(case_name):
    """The weights of Keras 3's `.h5` (its `model_weights` group) load into a model built in code."""
    case = keras_case(3, case_name)
    io = load_io(case)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = models.load_model(case / "model.h5", compile=False)
    target = models.model_from_json(source.to_json())
    target.load_weights(case / "model.h5")
    np.testing.assert_allclose(target.predict(io["x"], verbose=0), io["y_pred"], atol=ATOL, rtol=0)


def test_keras3_h5_uncompiled_loads_uncompiled():
    case = keras_case(3, "h5_uncompiled")
    model = models.load_model(case / "model.h5")
    assert model.optimizer is None
    np.testing.assert_allclose(model.predict(load_io(case)["x"], verbose=0), load_io(case)["y_pred"], atol=ATOL,
                               rtol=0)


def test_unhonoured_training_config_warns_and_keeps_weights():
    """Keras 3 compiled this model with Lion, which minikeras does not have: one warning, an uncompiled model,
    and the weights all there."""
    case = keras_case(3, "h5_unhonoured")
    with pytest.warns(UserWarning, match=r"not compiled.*Lion") as record:
        model = models.load_model(case / "model.h5")
    assert len([w for w in record if "not compiled" in str(w.message)]) == 1
    assert model.optimizer is None
    np.testing.assert_allclose(model.predict(load_io(case)["x"], verbose=0), load_io(case)["y_pred"], atol=ATOL,
                               rtol=0)
    with pytest.raises(RuntimeError, match="compile"):
        model.train_on_batch(load_io(case)["x"], np.zeros((6, 2), "float32"))


@pytest.mark.parametrize("bad", ["{not json", "[1]", json.dumps({"loss": "mse", "optimizer_config": {
    "class_name": "system", "module": "os", "config": {}}})])
def test_bad_training_config_costs_only_the_compilation(tmp_path, bad):
    case = keras_case(3, "h5_adam_wd_ema")
    path = tmp_path / "m.h5"
    path.write_bytes((case / "model.h5").read_bytes())
    with h5py.File(path, "r+") as f:
        f.attrs["training_config"] = bad
    with pytest.warns(UserWarning, match="not compiled"):
        model = models.load_model(path)
    assert model.optimizer is None
    np.testing.assert_allclose(model.predict(load_io(case)["x"], verbose=0), load_io(case)["y_pred"], atol=ATOL,
                               rtol=0)


# ------------------------------------------------------------------------------------------ .h5 both eras read


def _walk_config(obj):
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk_config(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk_config(v)


def test_full_model_h5_leaves_out_what_keras3_refuses(tmp_path):
    """Keras 3 refuses `time_major` ("Unrecognized keyword arguments passed to LSTM") and cannot find a bare class
    name nested in a wrapper; tf_keras reads both forms alike. (Loading in real tf_keras 2.21 and Keras 3.15.1 is
    recorded in tests/fixtures/README.md, "minikeras files in real Keras".)"""
    import warnings

    from minikeras import layers

    model = models.Sequential([layers.Bidirectional(layers.GRU(4, return_sequences=True,
                                                               recurrent_activation="sigmoid"), input_shape=(5, 3)),
                               layers.TimeDistributed(layers.Dense(3)), layers.LSTM(2, recurrent_activation="sigmoid")])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no hard_sigmoid: nothing to say
        model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        config = json.loads(f.attrs["model_config"])
    entries = list(_walk_config(config))
    assert not any("time_major" in e for e in entries)
    nested = [e["layer"] for e in entries if isinstance(e.get("layer"), dict)]
    assert len(nested) == 2 and all(n["module"] == "keras.layers" for n in nested)
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
    np.testing.assert_array_equal(models.load_model(tmp_path / "m.h5").predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_h5_with_keras2_hard_sigmoid_says_so_once(tmp_path):
    from minikeras import layers

    model = models.Sequential([layers.LSTM(3, input_shape=(5, 2), return_sequences=True), layers.LSTM(2)])
    with pytest.warns(UserWarning) as record:
        model.save(tmp_path / "m.h5")
    messages = [str(w.message) for w in record]
    assert len(messages) == 1 and "Keras 3" in messages[0] and "`.keras`" in messages[0], messages


def test_keras3_hard_sigmoid_saves_exactly_as_h5(tmp_path):
    """tf_keras reads 'hard_sigmoid' in a `.h5` as clip(0.2 z + 0.5) = Keras 3's of 1.2 z: the weights feeding it
    are stored divided by 1.2; a bare Activation layer has no exact form and is refused."""
    from minikeras import activations, layers
    from minikeras.saving import UnsupportedConfigError

    with activations.keras_era(3):
        model = models.Sequential([layers.GRU(3, input_shape=(5, 2), reset_after=True),
                                   layers.Dense(2, activation="hard_sigmoid")])
        bad = models.Sequential([layers.Dense(2, input_shape=(3,)), layers.Activation("hard_sigmoid")])
    model.set_weights([w * 4 for w in model.get_weights()])
    x = np.random.default_rng(1).standard_normal((3, 5, 2)).astype("float32") * 3
    with pytest.warns(UserWarning, match="divided by 1.2"):
        model.save(tmp_path / "m.h5")
    again = models.load_model(tmp_path / "m.h5")
    assert activations.era_of(again.layers[1].activation) == 2
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6, rtol=0)
    with pytest.raises(UnsupportedConfigError, match="Save the model as `.keras`"):
        bad.save(tmp_path / "bad.h5")
    assert not (tmp_path / "bad.h5").exists()


def test_keras23_weights_into_default_hard_sigmoid_layer_warn_but_full_models_do_not():
    """Keras >= 2.3 defaults LSTM to recurrent_activation='sigmoid', minikeras (as Keras 2.0) to 'hard_sigmoid':
    `load_weights` into a layer with 'hard_sigmoid' warns; `load_model` builds the file's own activation and does
    not."""
    from minikeras import layers

    model = models.Sequential([layers.LSTM(6, input_shape=(5, 4))])
    with pytest.warns(UserWarning, match=r"recurrent_activation='hard_sigmoid'.*Keras 2\.21\.0.*'sigmoid'"):
        model.load_weights(keras_case(2, "lstm_sigmoid") / "weights.h5")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.load_model(keras_case(2, "seed_compiled") / "model.h5")
