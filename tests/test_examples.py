"""The examples run end to end in their quick mode (README's first command runs the sentence classifier)."""
from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


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


def test_readme_first_command_prints_what_was_asked_and_cleans_up(tmp_path):
    """README's first command, as a user runs it: no predict progress bars, no files left behind."""
    first = re.search(r"```bash\n(.*)\n", (REPO / "README.md").read_text()).group(1)
    assert first.endswith("python examples/sentence_classifier.py")
    work, tmp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir(), tmp.mkdir()
    env = dict(os.environ, MINIKERAS_QUICK="1", TMPDIR=str(tmp), PYTHONPATH=str(REPO))
    run = subprocess.run([sys.executable, str(EXAMPLES / "sentence_classifier.py")], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.count("predictions identical") == 2 and "P(question)" in out
    assert "[====" not in out  # no progress bars
    # fit's one line per epoch (verbose=2) is the only step counter printed: predict prints nothing
    assert len([line for line in out.splitlines() if line.startswith("Epoch ")]) == 3
    assert len(re.findall(r"^\d+/\d+ ", out, flags=re.M)) == 3
    assert run.stderr == ""
    assert list(work.iterdir()) == [] and list(tmp.iterdir()) == []  # the temporary folder is removed


@pytest.mark.parametrize("name", ["seed_two_lstms", "text_generation", "load_keras_model", "gates",
                                  "pytorch_weights", "imdb_cnn_lstm"])
def test_examples_print_no_progress_bars_and_leave_no_files(name, tmp_path):
    """Each example as a user runs it (quick mode): it succeeds, prints no progress bar and leaves nothing behind
    but what it was asked to write (gates.py writes its PNGs to the folder it is given)."""
    work, tmp, out = tmp_path / "cwd", tmp_path / "tmp", tmp_path / "out"
    for d in (work, tmp, out):
        d.mkdir()
    env = dict(os.environ, MINIKERAS_QUICK="1", TMPDIR=str(tmp), PYTHONPATH=str(REPO))
    args = [str(out)] if name == "gates" else []
    run = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *args], cwd=work, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "[====" not in run.stdout
    assert list(work.iterdir()) == [] and list(tmp.iterdir()) == []
