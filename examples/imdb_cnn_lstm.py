"""A convolution + LSTM sentence classifier (the model of Keras 2's `imdb_cnn_lstm` example), trained and
round-tripped through Keras files.

What it shows: the layers and sizes of Keras 2's IMDB CNN-LSTM model, written with Keras 2's Sequential API:
Embedding -> Dropout -> Conv1D(relu) -> MaxPooling1D -> LSTM -> Dense -> Activation('sigmoid'). The convolution
finds short word patterns, the pooling shortens the sequence four times, the LSTM reads what is left. After
training, the model is saved as `.h5` (tf.keras's HDF5 layout) and `.keras` (Keras 3's zip), reloaded with
`load_model`, and checked to predict exactly what the trained model predicts.

Data: the IMDB reviews of `keras.datasets.imdb`, when Keras's `imdb.npz` is in `~/.keras/datasets` (minikeras reads
Keras's cached file and never downloads; get it from
https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz). Without it, and in quick mode, the model
learns examples/data/questions.tsv instead (440 sentences written for this project: questions vs statements, which
only word order tells apart: "is the cat asleep" / "the cat is asleep"), with the sizes scaled down to match.

Run:  python examples/imdb_cnn_lstm.py            (IMDB, Keras's sizes: tens of minutes on 2 cores; questions: ~10 s)
      MINIKERAS_QUICK=1 python examples/imdb_cnn_lstm.py   (questions, 3 epochs; what CI runs)
"""
import os
import pathlib
import sys
import tempfile

import numpy as np

import minikeras as keras
from minikeras.datasets import imdb
from minikeras.layers import LSTM, Activation, Conv1D, Dense, Dropout, Embedding, MaxPooling1D
from minikeras.models import Sequential, load_model
from minikeras.preprocessing import sequence
from minikeras.preprocessing.text import Tokenizer

QUESTIONS = pathlib.Path(__file__).parent / "data" / "questions.tsv"
QUICK = os.environ.get("MINIKERAS_QUICK") == "1"
IMDB_FILE = pathlib.Path("~/.keras/datasets/imdb.npz").expanduser()


def imdb_data():
    """Keras 2's settings: 20,000 words, reviews cut to 100 words."""
    max_features, maxlen = 20000, 100
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=max_features)
    x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
    x_test = sequence.pad_sequences(x_test, maxlen=maxlen)
    sizes = dict(max_features=max_features, maxlen=maxlen, embedding_size=128, kernel_size=5, filters=64,
                 pool_size=4, lstm_output_size=70, batch_size=30, epochs=2)
    return (x_train, y_train), (x_test, y_test), sizes


def questions_data():
    """The question/statement sentences, tokenized and pre-padded as IMDB reviews are, 80% for training."""
    rows = [line.split("\t") for line in QUESTIONS.read_text().splitlines()[1:]]
    texts, labels = [s for _, s in rows], np.array([int(y) for y, _ in rows], dtype="float32")
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts(texts)
    x = sequence.pad_sequences(tokenizer.texts_to_sequences(texts), maxlen=12)
    order = np.random.default_rng(0).permutation(len(x))
    x, labels = x[order], labels[order]
    split = int(0.8 * len(x))
    sizes = dict(max_features=len(tokenizer.word_index) + 1, maxlen=12, embedding_size=16, kernel_size=3,
                 filters=16, pool_size=2, lstm_output_size=16, batch_size=16, epochs=3 if QUICK else 12)
    return (x[:split], labels[:split]), (x[split:], labels[split:]), sizes


def build_model(s):
    model = Sequential()
    model.add(Embedding(s["max_features"], s["embedding_size"], input_length=s["maxlen"]))
    model.add(Dropout(0.25))
    model.add(Conv1D(s["filters"], s["kernel_size"], padding="valid", activation="relu", strides=1))
    model.add(MaxPooling1D(pool_size=s["pool_size"]))
    # NOTE: sigmoid is tf.keras's and Keras 3's default. minikeras keeps Keras 2.0's hard_sigmoid, which a `.keras`
    # file can only hold with rescaled weights (Keras 3 reads the name with another formula; the save warns), so the
    # example names sigmoid and both files store the weights as trained.
    model.add(LSTM(s["lstm_output_size"], recurrent_activation="sigmoid"))
    model.add(Dense(1))
    model.add(Activation("sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def main(out_dir: str) -> float:
    keras.utils.set_random_seed(0)
    use_imdb = IMDB_FILE.exists() and not QUICK
    (x_train, y_train), (x_test, y_test), sizes = imdb_data() if use_imdb else questions_data()
    print(f"{'IMDB' if use_imdb else 'questions.tsv'}: {len(x_train)} train / {len(x_test)} test sequences of "
          f"{x_train.shape[1]} tokens")
    model = build_model(sizes)
    model.summary()
    history = model.fit(x_train, y_train, batch_size=sizes["batch_size"], epochs=sizes["epochs"],
                        validation_data=(x_test, y_test), verbose=2)
    score, acc = model.evaluate(x_test, y_test, batch_size=sizes["batch_size"], verbose=0)
    print(f"Test score: {score:.4f}  Test accuracy: {acc:.4f}")

    expected = model.predict(x_test, verbose=0)
    for suffix in (".h5", ".keras"):
        path = os.path.join(out_dir, "imdb_cnn_lstm" + suffix)
        model.save(path)
        np.testing.assert_array_equal(load_model(path).predict(x_test, verbose=0), expected)
        print(f"saved imdb_cnn_lstm{suffix} and loaded it back: predictions identical")
    assert len(history.epoch) == sizes["epochs"]
    return float(acc)


if __name__ == "__main__":
    if len(sys.argv) > 1:  # keep the saved files there
        os.makedirs(sys.argv[1], exist_ok=True)
        main(sys.argv[1])
    else:  # a temporary folder, removed at the end
        with tempfile.TemporaryDirectory(prefix="minikeras_") as tmp:
            main(tmp)
