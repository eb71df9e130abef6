"""The seed, text generation, Keras-file and gate-inspector examples run end to end in their quick mode."""
from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.QUICK = True
    return module


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setenv("MINIKERAS_QUICK", "1")


def test_examples_have_docstrings_with_run_instructions():
    for name in ("seed_two_lstms", "text_generation", "load_keras_model", "gates"):
        text = (EXAMPLES / f"{name}.py").read_text()
        assert text.startswith('"""') and "What it shows" in text and "MINIKERAS_QUICK=1" in text, name


def test_seed_two_lstms(capsys):
    acc = load_example("seed_two_lstms").main()
    out = capsys.readouterr().out
    assert "first LSTM (2, 5, 128) -> second LSTM (2, 256) -> Dense (2, 1)" in out
    assert 0.0 <= acc <= 1.0


def test_text_generation(capsys):
    module = load_example("text_generation")
    loss = module.main()
    out = capsys.readouterr().out
    assert np.isfinite(loss)
    assert out.count("temperature ") == 3
    chars = set(module.TEXT)
    for line in out.splitlines():
        if line.startswith("temperature "):
            assert set(eval(line.split(": ", 1)[1])) <= chars  # noqa: S307 - the example prints a repr


@pytest.mark.filterwarnings("ignore:Optimizer state")  # the fixture was saved compiled, never trained
def test_load_keras_model(tmp_path, capsys):
    results = load_example("load_keras_model").main(str(tmp_path))
    assert len(results) == 2
    for result in results:
        assert result["diff"] < 2e-5
        assert result["saved"] and all(result["saved"].values())
    assert "reloaded predictions identical: True" in capsys.readouterr().out


def test_gates(tmp_path, capsys):
    gates = load_example("gates").main(str(tmp_path))
    out = capsys.readouterr().out
    assert gates["hidden"].shape == (64, 10, 8)
    assert "forget_gate" in out
    if importlib.util.find_spec("matplotlib") is None:
        assert "pip install matplotlib" in out
    else:
        assert (tmp_path / "gates.png").exists() and (tmp_path / "history.png").exists()


def test_imdb_cnn_lstm_on_questions(tmp_path, capsys):
    text = (EXAMPLES / "imdb_cnn_lstm.py").read_text()
    assert text.startswith('"""') and "What it shows" in text and "MINIKERAS_QUICK=1" in text
    acc = load_example("imdb_cnn_lstm").main(str(tmp_path))
    out = capsys.readouterr().out
    assert 0.0 <= acc <= 1.0 and "questions.tsv: 352 train / 88 test sequences of 12 tokens" in out
    assert out.count("predictions identical") == 2
    assert (tmp_path / "imdb_cnn_lstm.h5").exists() and (tmp_path / "imdb_cnn_lstm.keras").exists()


@pytest.mark.filterwarnings("ignore:imdb.load_data")  # the small file is not Keras's imdb.npz
def test_imdb_cnn_lstm_reads_keras_cached_imdb(tmp_path, monkeypatch, capsys):
    import shutil

    home = tmp_path / "home"
    (home / ".keras" / "datasets").mkdir(parents=True)
    small = pathlib.Path(__file__).parent / "fixtures" / "keras2" / "datasets" / "imdb.npz"
    shutil.copy(small, home / ".keras" / "datasets" / "imdb.npz")
    monkeypatch.setenv("HOME", str(home))
    module = load_example("imdb_cnn_lstm")
    module.QUICK = False
    module.IMDB_FILE = home / ".keras" / "datasets" / "imdb.npz"
    module.main(str(tmp_path))
    out = capsys.readouterr().out
    assert "IMDB: 12 train / 10 test sequences of 100 tokens" in out and "Epoch 2/2" in out
