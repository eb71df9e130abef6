# A Keras 1-style script written for minikeras's tests: it uses the same Keras API as Keras 1's
# examples/imdb_lstm.py (model, arguments, training calls), written anew. It keeps the Keras 1 spellings that
# Keras 2.0 still accepted with a warning: `load_data(nb_words=)`, `Embedding(dropout=)`, `LSTM(dropout_W=,
# dropout_U=)` and `fit(nb_epoch=)`. `import _keras_alias` makes `keras` import minikeras; `quick(full, small)`
# picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Movie-review sentiment with an embedding and an LSTM, written against Keras 1's argument names."""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick
import numpy as np

from keras.datasets import imdb
from keras.layers import LSTM, Activation, Dense, Embedding
from keras.models import Sequential
from keras.preprocessing import sequence

np.random.seed(1337)  # Keras 1 scripts seeded numpy's global generator for repeatable weights

words = quick(20000, 300)
length = quick(80, 30)

print('Loading data...')
(x_tr, y_tr), (x_te, y_te) = imdb.load_data(nb_words=words)  # Keras 1 name of `num_words`
print(len(x_tr), 'train sequences')
print(len(x_te), 'test sequences')
print('Pad sequences (samples x time)')
x_tr = sequence.pad_sequences(x_tr, maxlen=length)
x_te = sequence.pad_sequences(x_te, maxlen=length)
print('x_train shape:', x_tr.shape)
print('x_test shape:', x_te.shape)

print('Build model...')
net = Sequential()
net.add(Embedding(words, 128, dropout=0.2))    # Keras 2.0 drops this argument with a warning
net.add(LSTM(128, dropout_W=0.2, dropout_U=0.2))  # Keras 1 names of dropout / recurrent_dropout
net.add(Dense(1))
net.add(Activation('sigmoid'))
net.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])

print('Train...')
net.fit(x_tr, y_tr, batch_size=32, nb_epoch=quick(15, 3), validation_data=(x_te, y_te))
loss, accuracy = net.evaluate(x_te, y_te, batch_size=32)
print('Test score:', loss)
print('Test accuracy:', accuracy)
