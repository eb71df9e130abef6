"""Train a small LSTM to tell questions from statements, save it in Keras's formats, reload it.

What it shows: the whole Keras 2 workflow on numpy alone. Tokenizer -> pad_sequences -> Embedding(mask_zero=True)
-> LSTM -> Dense(sigmoid), `fit` with a validation split (one line per epoch, `verbose=2`), then
`model.save('*.h5')` (tf.keras's HDF5 layout) and `model.save('*.keras')` (Keras 3's zip), both reloaded with
`load_model` and checked to predict exactly what the trained model predicts. The data (examples/data/questions.tsv, 440 sentences written for this
project) can only be solved from word order: "is the cat asleep" is a question, "the cat is asleep" is not.

Run:  python examples/sentence_classifier.py             (about 5 s of CPU time; the saved files go to a
                                                           temporary folder that is removed at the end)
      python examples/sentence_classifier.py my_folder   (keeps question_model.h5 and .keras in my_folder)
      MINIKERAS_QUICK=1 python examples/sentence_classifier.py   (3 epochs; what the tests run)
"""
import os
import pathlib
import sys
import tempfile

import numpy as np

import minikeras as keras
from minikeras.layers import LSTM, Dense, Embedding
from minikeras.models import Sequential, load_model
from minikeras.preprocessing.sequence import pad_sequences
from minikeras.preprocessing.text import Tokenizer

DATA = pathlib.Path(__file__).parent / "data" / "questions.tsv"
QUICK = os.environ.get("MINIKERAS_QUICK") == "1"


def load_data():
    rows = [line.split("\t") for line in DATA.read_text().splitlines()[1:]]
    labels = np.array([int(y) for y, _ in rows], dtype="float32")
    return [s for _, s in rows], labels


def main(out_dir: str) -> float:
    keras.utils.set_random_seed(0)
    texts, labels = load_data()
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(texts)
    x = pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=8, padding="post")
    print(f"{len(texts)} sentences, vocabulary {len(tokenizer.word_index)}, padded to {x.shape[1]} tokens")

    model = Sequential()
    model.add(Embedding(len(tokenizer.word_index) + 1, 16, mask_zero=True, input_length=x.shape[1]))
    model.add(LSTM(24, recurrent_activation="sigmoid"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.summary()
    history = model.fit(x, labels, batch_size=32, epochs=3 if QUICK else 15, validation_split=0.2, verbose=2)
    val_acc = history.history["val_accuracy"][-1]
    print(f"validation accuracy after {len(history.epoch)} epochs: {val_acc:.3f}")

    probe = tokenizer.texts_to_sequences(["is the dog hungry", "the dog is hungry"])
    probe = pad_sequences(probe, maxlen=x.shape[1], padding="post")
    expected = model.predict(x, verbose=0)
    for suffix in (".h5", ".keras"):
        path = os.path.join(out_dir, "question_model" + suffix)
        model.save(path)
        reloaded = load_model(path)
        np.testing.assert_array_equal(reloaded.predict(x, verbose=0), expected)
        print(f"saved question_model{suffix} and loaded it back: predictions identical")
    p = model.predict(probe, verbose=0)[:, 0]
    print(f"P(question) for 'is the dog hungry' = {p[0]:.2f}, for 'the dog is hungry' = {p[1]:.2f}")
    return float(val_acc)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        os.makedirs(sys.argv[1], exist_ok=True)
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory(prefix="minikeras_") as tmp:
            main(tmp)
