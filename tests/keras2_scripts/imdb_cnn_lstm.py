# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/imdb_cnn_lstm.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Movie-review sentiment with a convolution over word embeddings feeding an LSTM (Keras 2 API).

The 1D convolution finds local word patterns, max pooling shortens the sequence four-fold, and the LSTM reads the
pooled feature sequence.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

from keras.datasets import imdb
from keras.layers import LSTM, Activation, Conv1D, Dense, Dropout, Embedding, MaxPooling1D
from keras.models import Sequential
from keras.preprocessing import sequence

settings = dict(
    vocab=quick(20000, 300),
    length=quick(100, 40),
    embed_dim=128,
    filters=64, kernel=5, pool=4,
    lstm_units=70,
    batch=30,
    # the small data file needs a third epoch for the accuracy check
    epochs=quick(2, 3),
)


def build(s):
    model = Sequential()
    model.add(Embedding(s['vocab'], s['embed_dim'], input_length=s['length']))
    model.add(Dropout(0.25))
    model.add(Conv1D(s['filters'], s['kernel'], strides=1, padding='valid', activation='relu'))
    model.add(MaxPooling1D(pool_size=s['pool']))
    model.add(LSTM(s['lstm_units']))
    model.add(Dense(1))
    model.add(Activation('sigmoid'))
    model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
    return model


print('Loading data...')
(xa, ya), (xb, yb) = imdb.load_data(num_words=settings['vocab'])
print(len(xa), 'train sequences')
print(len(xb), 'test sequences')
print('Pad sequences (samples x time)')
xa = sequence.pad_sequences(xa, maxlen=settings['length'])
xb = sequence.pad_sequences(xb, maxlen=settings['length'])
print('x_train shape:', xa.shape)
print('x_test shape:', xb.shape)

print('Build model...')
model = build(settings)
print('Train...')
model.fit(xa, ya, batch_size=settings['batch'], epochs=settings['epochs'], validation_data=(xb, yb))
score, acc = model.evaluate(xb, yb, batch_size=settings['batch'])
print('Test score:', score)
print('Test accuracy:', acc)
