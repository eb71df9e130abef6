"""The examples run end to end in their quick mode (README's first command runs the sentence classifier)."""
from __future__ import annotations

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sentence_classifier_trains_saves_and_reloads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINIKERAS_QUICK", "1")
    module = load_example("sentence_classifier")
    monkeypatch.setattr(module, "QUICK", True)
    val_acc = module.main(str(tmp_path))
    out = capsys.readouterr().out
    assert "predictions identical" in out
    assert (tmp_path / "question_model.h5").exists() and (tmp_path / "question_model.keras").exists()
    assert 0.0 <= val_acc <= 1.0


def test_pytorch_weights_example(capsys):
    module = load_example("pytorch_weights")
    diff = module.main()
    assert diff < 2e-5
    out = capsys.readouterr().out
    assert "round trip exact" in out or "max |minikeras - PyTorch|" in out
