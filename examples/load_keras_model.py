"""Load models that real Keras saved, predict, fine-tune, and save them back for Keras.

What it shows: minikeras reads and writes Keras's own files. Two files shipped with the tests were written by real
Keras (no TensorFlow is needed here):

- tests/fixtures/keras2/masked_sentence/model.h5 — tf-keras 2.21's HDF5 `model.save`: Embedding(mask_zero=True)
  -> LSTM(go_backwards=True, dropout, l2 regularizer, max_norm constraint) -> Dense(sigmoid), compiled with Adam.
- tests/fixtures/keras3/sentence/model.keras — Keras 3.15's zip format, a similar masked sentence model.

For each: `load_model`, check the predictions against the ones Keras itself recorded (io.npz), fine-tune a few
steps with `fit` (the compiled optimizer and loss come from the file), then `model.save` to `.h5` (loadable by
tf-keras 2) and `.keras` (loadable by Keras 3), reload both and check the predictions are identical. A format that
cannot represent the model (e.g. Keras 2's hard_sigmoid in a Keras 3 file) is refused with a message; the
example prints it. The Keras 2 file was saved compiled but never trained, so its Adam state holds only the
iteration counter: minikeras warns that it starts the optimizer afresh (expected here).

Run:  python examples/load_keras_model.py                    (a few seconds)
      MINIKERAS_QUICK=1 python examples/load_keras_model.py   (fewer fine-tuning steps; what CI runs)
"""
import os
import pathlib
import sys
import tempfile

import numpy as np

import minikeras as keras
from minikeras.models import load_model

QUICK = os.environ.get("MINIKERAS_QUICK") == "1"
FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures"
FILES = [FIXTURES / "keras2" / "masked_sentence" / "model.h5", FIXTURES / "keras3" / "sentence" / "model.keras"]


def toy_sentences(rng: np.random.Generator, n: int, vocab: int = 30, length: int = 7):
    """Post-padded token ids; label 1 when the sentence contains token 3."""
    x = np.zeros((n, length), dtype="int32")
    for row, size in zip(x, rng.integers(2, length + 1, size=n)):
        row[:size] = rng.integers(1, vocab, size=size)
    return x, np.any(x == 3, axis=1).astype("float32")


def one_file(path: pathlib.Path, out_dir: str, rng: np.random.Generator) -> dict:
    print(f"\n== {path.relative_to(FIXTURES.parent.parent)}")
    model = load_model(str(path))
    model.summary()
    io = np.load(path.parent / "io.npz")
    pred = model.predict(io["x"], verbose=0)
    diff = float(np.max(np.abs(pred - io["y_pred"])))
    print(f"predictions vs real Keras's: max abs difference {diff:.2e}")
    if not getattr(model, "optimizer", None):
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    x, y = toy_sentences(rng, 64 if QUICK else 256)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=32, epochs=1 if QUICK else 5, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    print(f"fine-tuned: loss {np.ravel(before)[0]:.4f} -> {np.ravel(after)[0]:.4f}")
    expected = model.predict(io["x"], verbose=0)
    saved = {}
    for suffix in (".h5", ".keras"):
        target = os.path.join(out_dir, path.parent.name + "_finetuned" + suffix)
        try:
            model.save(target)
        except (ValueError, NotImplementedError) as error:
            print(f"{suffix}: not saved: {error}")
            continue
        same = np.array_equal(load_model(target).predict(io["x"], verbose=0), expected)
        print(f"{suffix}: saved {target}; reloaded predictions identical: {same}")
        saved[suffix] = same
    return {"diff": diff, "saved": saved}


def main(out_dir: str) -> list:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    return [one_file(path, out_dir, rng) for path in FILES]


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(tmp)
