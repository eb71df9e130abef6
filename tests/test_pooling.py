"""Pooling layers: numbers against a per-window definition, TF's `same` padding, Keras masks, errors, configs,
gradient checks through the layers, Keras 1 aliases."""
from __future__ import annotations

import json

import numpy as np
import pytest

from minikeras import Sequential, backend, layers
from minikeras.autograd import Tensor, check_grads
from minikeras.layers import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D, GlobalAvgPool1D,
                              GlobalMaxPool1D, GlobalMaxPooling1D, MaxPool1D, MaxPooling1D)


def reference_pool(x, mode, size, stride, padding):
    steps = x.shape[1]
    if padding == "same":
        length = -(-steps // stride)
        total = max((length - 1) * stride + size - steps, 0)
        left = total // 2
    else:
        length, left = (steps - size) // stride + 1, 0
    out = []
    for t in range(length):
        lo, hi = max(t * stride - left, 0), min(t * stride - left + size, steps)
        window = x[:, lo:hi]
        out.append(window.max(1) if mode == "max" else window.mean(1))
    return np.stack(out, 1)


@pytest.mark.parametrize("cls, mode", [(MaxPooling1D, "max"), (AveragePooling1D, "avg")])
@pytest.mark.parametrize("size, strides, padding, steps", [
    (2, None, "valid", 7), (3, 1, "valid", 7), (3, 2, "same", 7), (2, 2, "same", 7), (4, 3, "same", 8),
    (5, 2, "same", 4), (1, 1, "valid", 3)])
def test_window_pooling_matches_the_definition(cls, mode, size, strides, padding, steps, rng):
    layer = cls(size, strides, padding)
    x = rng.standard_normal((2, steps, 3)).astype("float32")
    y = layer(x).numpy()
    np.testing.assert_allclose(y, reference_pool(x, mode, size, strides or size, padding), atol=1e-6)
    assert layer.compute_output_shape((None, steps, 3)) == (None,) + y.shape[1:]
    first = cls(size, strides, padding, data_format="channels_first")
    np.testing.assert_allclose(first(x.transpose(0, 2, 1)).numpy(), y.transpose(0, 2, 1), atol=1e-6)


def test_max_pooling_gradient_goes_to_the_first_maximum():
    layer = MaxPooling1D(2)
    x = Tensor(np.array([[[1.0], [1.0], [0.0], [3.0]]]), requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.ravel().tolist() == [1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("make", [lambda: MaxPooling1D(3, 2, "same"), lambda: AveragePooling1D(3, 2, "same"),
                                  lambda: AveragePooling1D(2, data_format="channels_first"), GlobalMaxPooling1D,
                                  lambda: GlobalAveragePooling1D(keepdims=True)])
def test_layer_gradients(make, float64, rng):
    layer = make()  # built under float64
    n = 2 * 7 * 3
    x = (rng.permutation(n).reshape(2, 7, 3) * 0.3)  # distinct values: no ties inside a window
    check_grads(lambda t: layer(t), x)


def test_masked_global_average_pooling_gradient(float64, rng):
    mask = np.array([[True, True, False, True], [False, True, True, False]])
    layer = GlobalAveragePooling1D()
    check_grads(lambda t: layer(t, mask=mask), rng.standard_normal((2, 4, 3)))


def test_global_pooling_values_masks_and_keepdims(rng):
    x = rng.standard_normal((2, 5, 3)).astype("float32")
    mask = np.array([[True, True, True, False, False], [False, True, False, True, True]])
    np.testing.assert_allclose(GlobalMaxPooling1D()(x).numpy(), x.max(1))
    # NOTE: as Keras, GlobalMaxPooling1D ignores the mask; GlobalAveragePooling1D averages the unmasked steps
    np.testing.assert_allclose(GlobalMaxPooling1D()(x, mask=mask).numpy(), x.max(1))
    want = np.stack([x[0, :3].mean(0), x[1, [1, 3, 4]].mean(0)])
    y = GlobalAveragePooling1D()(x, mask=mask)
    np.testing.assert_allclose(y.numpy(), want, rtol=1e-6)
    assert getattr(y, "_keras_mask", None) is None
    assert GlobalAveragePooling1D(keepdims=True)(x).shape == (2, 1, 3)
    assert GlobalMaxPooling1D(data_format="channels_first", keepdims=True)(x).shape == (2, 5, 1)
    assert GlobalAveragePooling1D(data_format="channels_first").compute_output_shape((None, 5, 3)) == (None, 5)
    all_masked = GlobalAveragePooling1D()(x, mask=np.zeros((2, 5), bool)).numpy()
    assert np.isnan(all_masked).all()  # 0 / 0, as Keras


def test_mask_from_embedding_reaches_global_average_pooling():
    model = Sequential([layers.Embedding(10, 2, mask_zero=True, input_length=4), layers.GlobalAveragePooling1D()])
    x = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    emb = model.layers[0].get_weights()[0]
    np.testing.assert_allclose(model.predict(x, verbose=0), [emb[[3, 4]].mean(0), emb[5]], rtol=1e-6)


def test_window_pooling_drops_the_mask():
    y = MaxPooling1D(2)(np.ones((1, 4, 2), "float32"), mask=np.array([[True, True, False, False]]))
    assert getattr(y, "_keras_mask", None) is None


def test_configs_are_tf_keras_and_round_trip():
    config = MaxPooling1D(3, padding="same").get_config()
    assert list(config) == ["name", "trainable", "dtype", "strides", "pool_size", "padding", "data_format"]
    assert json.loads(json.dumps(config))["strides"] == [3]
    config = GlobalAveragePooling1D(keepdims=True).get_config()
    assert list(config) == ["name", "trainable", "dtype", "data_format", "keepdims"]
    for cls in (MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D):
        config = json.loads(json.dumps(cls().get_config()))
        assert json.loads(json.dumps(cls.from_config(config).get_config())) == config
        assert type(layers.deserialize({"class_name": cls.__name__, "config": config})) is cls
    # tf_keras's automatic names (checked against tf_keras 2.21 and the committed configs)
    backend.clear_session()
    assert [cls().name for cls in (MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D)] == [
        "max_pooling1d", "average_pooling1d", "global_max_pooling1d", "global_average_pooling1d"]
    assert (MaxPool1D, AvgPool1D, GlobalMaxPool1D, GlobalAvgPool1D) == (
        MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D)


def test_errors():
    with pytest.raises(ValueError, match="`padding` argument must be one of \"valid\", \"same\""):
        MaxPooling1D(padding="causal")
    with pytest.raises(ValueError, match="`pool_size` argument must be a tuple of 1 integers"):
        AveragePooling1D(pool_size=0)
    with pytest.raises(ValueError, match="`data_format` argument must be one of"):
        GlobalAveragePooling1D(data_format="NWC")
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        GlobalMaxPooling1D()(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="Computed output size would be negative"):
        MaxPooling1D(4)(np.zeros((1, 3, 2), "float32"))
    with pytest.raises(ValueError, match="dimension 0 at reduction axis 1"):
        GlobalAveragePooling1D()(np.zeros((1, 0, 2), "float32"))


# ************************************************************ parity with real Keras 3 (keras 3.15.1 `.keras` files)

import zipfile  # noqa: E402

from helpers import keras_case, load_io, load_json  # noqa: E402
from minikeras.models import load_model  # noqa: E402


@pytest.mark.parametrize("case_name", ["conv_imdb_cnn_lstm", "conv_pool_variants"])
def test_keras3_files_load_predict_and_are_written_back_as_keras3_writes_them(case_name, tmp_path):
    case = keras_case(3, case_name)
    data = load_io(case)
    for fname in ("model.keras", "model.h5"):
        model = load_model(case / fname)
        np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y_pred"], atol=2e-5,
                                   err_msg=fname)
    model.load_weights(case / "model.weights.h5")
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y_pred"], atol=2e-5)
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as z:
        ours = json.loads(z.read("config.json"))["config"]["layers"]
    theirs = load_json(case / "config.json")["config"]["layers"]
    assert [(e["class_name"], e["config"]) for e in ours] == [(e["class_name"], e["config"]) for e in theirs]
    np.testing.assert_allclose(load_model(tmp_path / "again.keras").predict(data["x"], verbose=0), data["y_pred"],
                               atol=2e-5)


def test_keras3_training_steps_match():
    from minikeras import optimizers
    from minikeras.saving.serialization import model_from_file_config

    case = keras_case(3, "conv_train_cnn_lstm")
    meta, data = load_json(case / "meta.json"), load_io(case)
    model = model_from_file_config(load_json(case / "config.json"), meta["keras_version"])
    n = len([k for k in data if k.startswith("w_before_")])
    model.set_weights([data[f"w_before_{i}"] for i in range(n)])
    np.testing.assert_allclose(model.predict(data["x"], verbose=0), data["y_pred_before"], atol=2e-5)
    config = meta["optimizer"]["config"]  # Keras 3's Adam config; these are the keys that change the numbers
    model.compile(optimizers.Adam(**{k: config[k] for k in ("learning_rate", "beta_1", "beta_2", "epsilon",
                                                            "amsgrad")}), meta["loss"])
    for k in range(meta["steps"]):
        loss = model.train_on_batch(data["x"], data["y"])
        np.testing.assert_allclose(loss, data[f"loss_{k}"], rtol=1e-5, atol=1e-6)
        for i, w in enumerate(model.get_weights()):
            np.testing.assert_allclose(w, data[f"w_step{k}_{i}"], atol=1e-5, rtol=0,
                                       err_msg=f"step {k} weight {i}")
    trained = load_model(case / "model.keras")
    np.testing.assert_allclose(trained.predict(data["x"], verbose=0), data["y_pred"], atol=2e-5)
