"""Keras 2-style scripts run on minikeras.

Each script in `tests/keras2_scripts/` is minikeras's own code written against Keras 2's API: it exercises the
same layers, arguments and training calls as one of Keras 2's `examples/` scripts, with `import _keras_alias` so
`keras` imports minikeras, and `quick(full, small)` for smaller sizes. Here each runs in its own Python process, in
quick mode, on small data files in Keras's formats
(`_make_data.py` writes them into a temporary `~/.keras/datasets`, where `keras.datasets` and `get_file` look;
nothing is downloaded). The tests check that the script finishes, prints what the script prints, and that its
numbers make sense: the training loss falls, and where the script reports a test accuracy it is above chance on
data with a clear signal.
"""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parent / "keras2_scripts"
sys.path.insert(0, str(SCRIPTS))
import _make_data  # noqa: E402

# numpy's global generator is seeded in every script (see `_keras_alias`): the same numbers run after run
SEED = os.environ.get("KERAS2_SCRIPTS_SEED", "1337")
FLOAT = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"


def run_script(name: str, tmp_path: pathlib.Path, stderr: bool = False):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    _make_data.write_all(str(home), str(work))
    env = dict(os.environ, HOME=str(home), KERAS2_SCRIPTS_QUICK="1", KERAS2_SCRIPTS_SEED=SEED,
               PYTHONWARNINGS="default",
               # one BLAS thread: the scripts' matrices are small, and threads only contend on a shared machine
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(SCRIPTS / f"{name}.py")], cwd=work, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert proc.returncode == 0, f"{name}.py failed:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    return (proc.stdout, proc.stderr) if stderr else proc.stdout


def epoch_losses(out: str, key: str = "loss") -> list:
    """The `key` value at the end of each epoch, from the progress bar's last line after each `Epoch i/n`."""
    chunks = re.split(r"^Epoch \d+/\d+$", out, flags=re.M)[1:]
    values = []
    for chunk in chunks:
        m = re.search(r"- " + key + r": " + FLOAT, chunk)
        assert m, f"no {key} after an `Epoch` line:\n{chunk[:500]}"
        values.append(float(m.group(1)))
    return values


def printed(out: str, label: str) -> float:
    m = re.search(r"^" + re.escape(label) + r" " + FLOAT + r"$", out, flags=re.M)
    assert m, f"`{label}` not printed:\n{out[-1500:]}"
    return float(m.group(1))


def check_imdb_header(out: str, maxlen: int) -> None:
    assert "Loading data...\n160 train sequences\n80 test sequences\n" in out
    assert f"x_train shape: (160, {maxlen})\nx_test shape: (80, {maxlen})\n" in out


def test_imdb_lstm(tmp_path):
    out = run_script("imdb_lstm", tmp_path)
    check_imdb_header(out, 30)
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert 0 <= printed(out, "Test score:") < 0.69
    assert printed(out, "Test accuracy:") >= 0.7


def test_imdb_lstm_keras1(tmp_path):
    """A Keras 1-style imdb_lstm: its Keras 1 arguments run with the warnings Keras 2.0 gave."""
    out, err = run_script("imdb_lstm_keras1", tmp_path, stderr=True)
    check_imdb_header(out, 30)
    for text in ["The `nb_words` argument in `load_data` has been renamed `num_words`.",
                 "The `dropout` argument is no longer support in `Embedding`.",
                 "Update your `LSTM` call to the Keras 2 API: `LSTM(128, dropout=0.2, recurrent_dropout=0.2)`",
                 "The `nb_epoch` argument in `fit` has been renamed `epochs`."]:
        assert text in err
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert printed(out, "Test accuracy:") >= 0.7


def test_imdb_cnn_lstm(tmp_path):
    out = run_script("imdb_cnn_lstm", tmp_path)
    check_imdb_header(out, 40)
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert printed(out, "Test accuracy:") >= 0.7


def test_imdb_bidirectional_lstm(tmp_path):
    out = run_script("imdb_bidirectional_lstm", tmp_path)
    check_imdb_header(out, 30)
    losses = epoch_losses(out)
    assert len(losses) == 2 and losses[-1] < losses[0]
    assert all(0 <= v <= 1 for v in epoch_losses(out, "val_accuracy"))


def test_imdb_fasttext(tmp_path):
    out = run_script("imdb_fasttext", tmp_path)
    check_imdb_header(out, 100)
    assert re.search(r"^Average train sequence length: \d+$", out, flags=re.M)
    losses = epoch_losses(out)
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert epoch_losses(out, "val_accuracy")[-1] >= 0.7


def test_imdb_cnn(tmp_path):
    out = run_script("imdb_cnn", tmp_path)
    check_imdb_header(out, 100)
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]


def test_reuters_mlp(tmp_path):
    out = run_script("reuters_mlp", tmp_path)
    # test_split=0.2 of 250 newswires; 5 topics in the small file
    assert "200 train sequences\n50 test sequences\n5 classes\n" in out
    assert "x_train shape: (200, 300)\nx_test shape: (50, 300)\n" in out
    assert "y_train shape: (200, 5)\ny_test shape: (50, 5)\n" in out
    losses = epoch_losses(out)
    assert len(losses) == 8 and losses[-1] < losses[0]
    assert printed(out, "Test accuracy:") >= 0.6  # chance is 0.2


def test_lstm_text_generation(tmp_path):
    out = run_script("lstm_text_generation", tmp_path)
    corpus = (tmp_path / "home" / ".keras" / "datasets" / "nietzsche.txt").read_text(encoding="utf-8").lower()
    assert f"corpus length: {len(corpus)}\ntotal chars: {len(set(corpus))}\n" in out
    losses = epoch_losses(out)
    assert len(losses) == 2 and losses[-1] < losses[0]
    for epoch in range(2):
        assert f"----- Generating text after Epoch: {epoch}\n" in out
    # each seed is followed by 10 sampled characters, all from the corpus's alphabet
    generated = re.findall(r'^----- Generating with seed: "(.{40})"\n\1(.{10})\n', out, flags=re.M | re.S)
    assert len(generated) == 8
    assert all(set(g[1]) <= set(corpus) for g in generated)


def test_lstm_stateful(tmp_path):
    out = run_script("lstm_stateful", tmp_path)
    assert "Input shape: (500, 1, 1)\nOutput shape\n(500, 1)\n" in out
    assert "Epoch 0 / 2\n" in out and "Epoch 1 / 2\n" in out and "Predicting\n" in out
    losses = [float(v) for v in re.findall(r"20/20 \[=+\] .* - loss: " + FLOAT, out)]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_addition_rnn(tmp_path):
    out = run_script("addition_rnn", tmp_path)
    assert "Total addition questions: 500\n" in out
    assert "Training Data:\n(450, 7, 12)\n(450, 4, 12)\nValidation Data:\n(50, 7, 12)\n(50, 4, 12)\n" in out
    assert "Total params: 205324" in out  # Keras's count for this model
    rows = re.findall(r"^Q (.{7}) T (.{4}) \S+ (.{4})$", out, flags=re.M)
    assert len(rows) == 20  # 10 decoded questions after each of 2 iterations
    for question, answer, guess in rows:
        a, b = question.strip().split("+")
        assert int(answer) == int(a) + int(b)
        assert set(guess) <= set("0123456789+ ")
    losses = [float(v) for v in re.findall(r"- loss: " + FLOAT + r" - accuracy", out)]
    assert len(losses) == 2 and losses[-1] < losses[0]


def test_mnist_hierarchical_rnn(tmp_path):
    out = run_script("mnist_hierarchical_rnn", tmp_path)
    assert "x_train shape: (200, 28, 28, 1)\n200 train samples\n100 test samples\n" in out
    losses = epoch_losses(out)
    assert len(losses) == 2 and losses[-1] < losses[0]
    assert 0 < printed(out, "Test loss:") < 2.5 and 0 <= printed(out, "Test accuracy:") <= 1


def test_antirectifier(tmp_path):
    """A custom layer written with Keras 2 backend functions (`K.mean`, `K.l2_normalize`, `K.relu`,
    `K.concatenate`) inside `call`."""
    out = run_script("antirectifier", tmp_path)
    assert "200 train samples\n100 test samples\n" in out
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert epoch_losses(out, "val_accuracy")[-1] >= 0.5  # chance is 0.1


def test_lstm_seq2seq(tmp_path):
    out = run_script("lstm_seq2seq", tmp_path)
    assert "Number of samples: 30\n" in out
    decoded = re.findall(r"^-\nInput sentence: (.*)\nDecoded sentence: ", out, flags=re.M)
    assert decoded == ["Go.", "Hi.", "Run!"]
    losses = epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]
    # the script's `model.save('s2s.h5')` of its two-input training model reloads as that model
    from minikeras.models import load_model

    loaded = load_model(str(tmp_path / "work" / "s2s.h5"))
    assert len(loaded.inputs) == 2
    n_in, n_out = loaded.inputs[0].shape[-1], loaded.inputs[1].shape[-1]
    probs = loaded.predict([np.zeros((2, 5, n_in)), np.zeros((2, 7, n_out))], verbose=0)
    assert probs.shape == (2, 7, n_out)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)


def test_lstm_seq2seq_saved_model_reloads(tmp_path):
    """The script's `model.save('s2s.h5')` of its two-input training model reloads as that model."""
    import minikeras as keras

    keras.backend.clear_session()
    n_in, n_out = 6, 7
    encoder_inputs = keras.Input(shape=(None, n_in))
    _, state_h, state_c = keras.layers.LSTM(8, return_state=True)(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, n_out))
    decoder_outputs, _, _ = keras.layers.LSTM(8, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = keras.layers.Dense(n_out, activation="softmax")(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    x = [np.random.rand(4, 5, n_in), np.random.rand(4, 4, n_out)]
    y = np.eye(n_out)[np.random.randint(0, n_out, (4, 4))]
    model.fit(x, y, epochs=1, verbose=0)
    with pytest.warns(UserWarning, match="Keras 2's hard_sigmoid"):  # LSTM's Keras 2 default recurrent activation
        model.save(str(tmp_path / "s2s.h5"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the optimizer state is restored, nothing is dropped
        loaded = keras.models.load_model(str(tmp_path / "s2s.h5"))
    assert len(loaded.inputs) == 2
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=2e-5)
    # training resumes where it stopped: one more step moves both models' weights the same way
    model.train_on_batch(x, y)
    loaded.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_keras2_import_paths_from_the_wild():
    """Module paths Keras 2 code imports from, beyond the scripts above: Keras 2's convolutional.py re-exported the
    pooling layers, `keras.engine` exported `Layer`/`InputSpec`, and custom layers written for Keras 2.0-2.2 import
    `keras.engine.topology`."""
    import importlib

    from minikeras.engine import base_layer, input_layer, training
    from minikeras.layers import pooling

    conv = importlib.import_module("minikeras.layers.convolutional")
    assert conv.MaxPooling1D is pooling.MaxPooling1D and conv.AveragePooling1D is pooling.AveragePooling1D
    engine = importlib.import_module("minikeras.engine")
    assert engine.Layer is base_layer.Layer and engine.InputSpec is base_layer.InputSpec
    assert engine.Input is input_layer.Input and engine.Model is training.Model
    topology = importlib.import_module("minikeras.engine.topology")
    assert topology.Layer is base_layer.Layer and topology.InputLayer is input_layer.InputLayer
    with pytest.raises(AttributeError, match="has no attribute 'MaxPooling2D'"):
        conv.MaxPooling2D
    with pytest.raises(AttributeError, match="has no attribute 'Network'"):
        engine.Network
