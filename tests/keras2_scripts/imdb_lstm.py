# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/imdb_lstm.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Sentiment of movie reviews with a word embedding and one LSTM (Keras 2 API).

Reviews arrive as lists of word ranks; they are cut or left-padded to a fixed length, embedded, read by an LSTM
with input and recurrent dropout, and a sigmoid unit gives P(positive).
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

from keras.datasets import imdb
from keras.layers import LSTM, Dense, Embedding
from keras.models import Sequential
from keras.preprocessing import sequence

VOCAB = quick(20000, 300)     # keep the most frequent words only
REVIEW_LEN = quick(80, 30)    # words kept per review
BATCH = 32
EPOCHS = quick(15, 3)


def padded(reviews):
    return sequence.pad_sequences(reviews, maxlen=REVIEW_LEN)


print('Loading data...')
(train_x, train_y), (test_x, test_y) = imdb.load_data(num_words=VOCAB)
print(len(train_x), 'train sequences')
print(len(test_x), 'test sequences')
print('Pad sequences (samples x time)')
train_x, test_x = padded(train_x), padded(test_x)
print('x_train shape:', train_x.shape)
print('x_test shape:', test_x.shape)

print('Build model...')
classifier = Sequential([
    Embedding(VOCAB, 128),
    LSTM(128, dropout=0.2, recurrent_dropout=0.2),
    Dense(1, activation='sigmoid'),
])
classifier.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])

print('Train...')
classifier.fit(train_x, train_y, batch_size=BATCH, epochs=EPOCHS, validation_data=(test_x, test_y))
test_loss, test_acc = classifier.evaluate(test_x, test_y, batch_size=BATCH)
print('Test score:', test_loss)
print('Test accuracy:', test_acc)
