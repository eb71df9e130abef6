"""`python -m minikeras.check FILE`: the report a user reads before trusting a Keras file, and its exit status."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pytest

from helpers import keras_case, load_io
from minikeras import check, layers, models

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(path, **kwargs):
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status = check.check(str(path), out=out, **kwargs)
    return status, out.getvalue()


def test_keras2_full_model_report():
    status, text = run(keras_case(2, "hard_sigmoid_era2") / "model.h5")
    assert status == 0, text
    assert "legacy HDF5 full model" in text and "Keras era: 2 (keras_version 2.21.0" in text
    assert "written by Keras" in text
    assert "read as Keras 2's clip(0.2 x + 0.5)" in text
    assert "Layers (name, class, output shape, weights):" in text and "(LSTM): output (None," in text
    assert "optimizer: Adam (Adam), no saved state" in text  # tf_keras saved it before any training step
    assert text.rstrip().endswith("Result: OK")


def test_inputs_from_npy_give_the_files_predictions(tmp_path):
    case = keras_case(2, "hard_sigmoid_era2")
    x = load_io(case)["x"]
    np.save(tmp_path / "x.npy", x)
    status, text = run(case / "model.h5", inputs=str(tmp_path / "x.npy"))
    assert status == 0 and f"Forward pass on {tmp_path / 'x.npy'} {x.shape}" in text, text


def test_keras3_h5_with_unhonoured_optimizer_says_so():
    status, text = run(keras_case(3, "h5_unhonoured") / "model.h5")
    assert status == 0, text
    assert "Keras era: 3" in text and "optimizer: NOT restored" in text and "warning:" in text and "Lion" in text


def test_keras3_h5_optimizer_restored():
    status, text = run(keras_case(3, "h5_adam_wd_ema") / "model.h5")
    assert status == 0 and "optimizer: Adam (adam), its state restored (2 steps taken)" in text, text


def test_rescaled_hard_sigmoid_export_is_reported():
    status, text = run(keras_case(3, "hard_sigmoid_export") / "lstm_seq_dense.keras")
    assert status == 0, text
    assert "rescaled by minikeras for the other era's hard_sigmoid: ['lstm_1', 'time_distributed']" in text
    assert "written by minikeras" in text


def test_keras1_and_cudnn_layouts_are_reported():
    status, text = run(keras_case(2, "keras1_lstm") / "weights_keras1.h5")
    assert status == 0 and "Keras era: 1" in text and "Keras 1 LSTM layout" in text, text
    assert "weights-only file holds no model" in text
    status, text = run(keras_case(2, "cudnn_lstm") / "weights_cudnn.h5")
    assert status == 0 and "CuDNNLSTM layout" in text, text


def test_nan_weights_make_the_status_non_zero(tmp_path):
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    model.set_weights([np.full((3, 2), np.nan, "float32"), np.zeros(2, "float32")])
    model.save(tmp_path / "m.h5")
    status, text = run(tmp_path / "m.h5")
    assert status == 1 and "6 weight values are NaN or infinite" in text and "NaN/inf values" in text, text


def test_unreadable_file_makes_the_status_non_zero(tmp_path):
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    model.save(tmp_path / "m.h5")
    import hostile

    (tmp_path / "bad.h5").write_bytes(hostile._heap_damage((tmp_path / "m.h5").read_bytes())["gheap_zeroed"])
    status, text = run(tmp_path / "bad.h5")
    assert status == 1 and "global heap" in text, text


def test_compare_keras_reports_each_layer(monkeypatch):
    """The comparison itself, with Keras's outputs supplied: equal outputs pass, one perturbed layer fails."""
    case = keras_case(2, "hard_sigmoid_era2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = models.load_model(case / "model.h5")
    monkeypatch.setattr(check, "_import_keras", lambda era: type("FakeKeras", (), {"__version__": "0"}))

    def outputs(perturb):
        def fake(keras, path, x):
            outs = check.layer_outputs(model, x)
            return [(n, y + (1e-3 if perturb and i == 0 else 0)) for i, (n, y) in enumerate(outs)]
        return fake

    monkeypatch.setattr(check, "keras_layer_outputs", outputs(False))
    status, text = run(case / "model.h5", compare_keras=True)
    assert status == 0 and f"  {model.layers[0].name}: 0" in text, text
    monkeypatch.setattr(check, "keras_layer_outputs", outputs(True))
    status, text = run(case / "model.h5", compare_keras=True)
    assert status == 1 and f"layer '{model.layers[0].name}' differs from Keras by 0.001" in text, text


def test_compare_keras_without_keras_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(check, "_import_keras", lambda era: None)
    status, text = run(keras_case(2, "hard_sigmoid_era2") / "model.h5", compare_keras=True)
    assert status == 2 and "not importable" in text


def test_command_line(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    ok = subprocess.run([sys.executable, "-m", "minikeras.check", str(keras_case(2, "seed") / "weights.h5")],
                        capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert ok.returncode == 0 and "Result: OK" in ok.stdout, ok.stdout + ok.stderr
    missing = subprocess.run([sys.executable, "-m", "minikeras.check", str(tmp_path / "nope.h5")],
                             capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert missing.returncode == 2 and "No such file" in missing.stderr
