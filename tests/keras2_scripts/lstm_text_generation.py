# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/lstm_text_generation.py (model, arguments, training calls), written anew. `import _keras_alias` makes
# `keras` import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""A character-level LSTM language model on Nietzsche's text, sampling new text after every epoch (Keras 2 API).

Windows of 40 characters (one every 3 characters) are one-hot encoded; the model predicts the character after each
window. A `LambdaCallback` samples text from the model at four temperatures at the end of every epoch.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

import io
import random
import sys

import numpy as np
from keras.callbacks import LambdaCallback
from keras.layers import LSTM, Dense
from keras.models import Sequential
from keras.optimizers import RMSprop
from keras.utils.data_utils import get_file

WINDOW, STRIDE = 40, 3
SAMPLED_CHARS = quick(400, 10)

corpus_path = get_file('nietzsche.txt', origin='https://s3.amazonaws.com/text-datasets/nietzsche.txt')
with io.open(corpus_path, encoding='utf-8') as handle:
    corpus = handle.read().lower()
print('corpus length:', len(corpus))
alphabet = sorted(set(corpus))
print('total chars:', len(alphabet))
index_of = {c: i for i, c in enumerate(alphabet)}


def one_hot(text):
    """(len(text), len(alphabet)) one-hot rows."""
    rows = np.zeros((len(text), len(alphabet)), dtype=bool)
    rows[np.arange(len(text)), [index_of[c] for c in text]] = True
    return rows


starts = range(0, len(corpus) - WINDOW, STRIDE)
print('nb sequences:', len(starts))
print('Vectorization...')
x = np.stack([one_hot(corpus[s:s + WINDOW]) for s in starts])
y = np.stack([one_hot(corpus[s + WINDOW])[0] for s in starts])

print('Build model...')
model = Sequential()
model.add(LSTM(128, input_shape=(WINDOW, len(alphabet))))
model.add(Dense(len(alphabet), activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer=RMSprop(lr=0.01))  # `lr`: Keras 2's spelling


def draw(probabilities, temperature):
    """An index drawn from `probabilities` sharpened (temperature < 1) or flattened (> 1)."""
    logits = np.log(np.asarray(probabilities, dtype='float64')) / temperature
    weights = np.exp(logits - logits.max())
    return int(np.argmax(np.random.multinomial(1, weights / weights.sum())))


def show_samples(epoch, logs):
    print()
    print('----- Generating text after Epoch: %d' % epoch)
    start = random.randint(0, len(corpus) - WINDOW - 1)
    for temperature in (0.2, 0.5, 1.0, 1.2):
        print('----- diversity:', temperature)
        context = corpus[start:start + WINDOW]
        print('----- Generating with seed: "' + context + '"')
        sys.stdout.write(context)
        for _ in range(SAMPLED_CHARS):
            probabilities = model.predict(one_hot(context)[None].astype('float32'), verbose=0)[0]
            char = alphabet[draw(probabilities, temperature)]
            context = context[1:] + char
            sys.stdout.write(char)
            sys.stdout.flush()
        print()


model.fit(x, y, batch_size=128, epochs=quick(60, 2), callbacks=[LambdaCallback(on_epoch_end=show_samples)])
