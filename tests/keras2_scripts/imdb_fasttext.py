# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/imdb_fasttext.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Movie-review sentiment with a fastText-style model: averaged word embeddings and a sigmoid (Keras 2 API).

With `NGRAMS > 1`, each review also gets tokens for its word n-grams (new ids above the vocabulary), so the
average covers short phrases as well as words. The default, 1, uses words only.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick
import numpy as np

from keras.datasets import imdb
from keras.layers import Dense, Embedding, GlobalAveragePooling1D
from keras.models import Sequential
from keras.preprocessing import sequence

NGRAMS = 1
VOCAB = quick(20000, 300)
LENGTH = quick(400, 100)
EPOCHS = quick(5, 8)  # more epochs on the small data file, for the accuracy check


def windows(tokens, n):
    """The n-grams of a token list, as tuples: windows([5, 6, 7], 2) -> [(5, 6), (6, 7)]."""
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def with_ngram_tokens(reviews, ngram_ids, longest):
    """Each review followed by the ids of those of its 2..`longest`-grams that `ngram_ids` knows."""
    out = []
    for review in reviews:
        extra = [ngram_ids[g] for n in range(2, longest + 1) for g in windows(review, n) if g in ngram_ids]
        out.append(list(review) + extra)
    return out


def mean_length(reviews):
    return int(np.mean([len(r) for r in reviews]))


print('Loading data...')
(x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=VOCAB)
print(len(x_train), 'train sequences')
print(len(x_test), 'test sequences')
print('Average train sequence length: {}'.format(mean_length(x_train)))
print('Average test sequence length: {}'.format(mean_length(x_test)))

input_dim = VOCAB
if NGRAMS > 1:
    print('Adding {}-gram features'.format(NGRAMS))
    seen = sorted({g for r in x_train for n in range(2, NGRAMS + 1) for g in windows(r, n)})
    ngram_ids = {g: VOCAB + 1 + k for k, g in enumerate(seen)}
    input_dim = VOCAB + 1 + len(seen)
    x_train = with_ngram_tokens(x_train, ngram_ids, NGRAMS)
    x_test = with_ngram_tokens(x_test, ngram_ids, NGRAMS)
    print('Average train sequence length: {}'.format(mean_length(x_train)))
    print('Average test sequence length: {}'.format(mean_length(x_test)))

print('Pad sequences (samples x time)')
x_train = sequence.pad_sequences(x_train, maxlen=LENGTH)
x_test = sequence.pad_sequences(x_test, maxlen=LENGTH)
print('x_train shape:', x_train.shape)
print('x_test shape:', x_test.shape)

print('Build model...')
model = Sequential()
model.add(Embedding(input_dim, 50, input_length=LENGTH))
model.add(GlobalAveragePooling1D())  # the mean embedding over each review's tokens
model.add(Dense(1, activation='sigmoid'))
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
model.fit(x_train, y_train, batch_size=32, epochs=EPOCHS, validation_data=(x_test, y_test))
