# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/imdb_bidirectional_lstm.py (model, arguments, training calls), written anew. `import _keras_alias`
# makes `keras` import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Movie-review sentiment with an LSTM run in both directions (Keras 2's `Bidirectional` wrapper).

`compile` gets its optimizer and loss positionally, and `fit` its validation data as a list, as Keras 2 allowed.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick
import numpy as np

from keras.datasets import imdb
from keras.layers import LSTM, Bidirectional, Dense, Dropout, Embedding
from keras.models import Sequential
from keras.preprocessing import sequence

n_words = quick(20000, 300)
seq_len = quick(100, 30)

print('Loading data...')
(train_seqs, train_labels), (test_seqs, test_labels) = imdb.load_data(num_words=n_words)
print(len(train_seqs), 'train sequences')
print(len(test_seqs), 'test sequences')
print('Pad sequences (samples x time)')
train_seqs = sequence.pad_sequences(train_seqs, maxlen=seq_len)
test_seqs = sequence.pad_sequences(test_seqs, maxlen=seq_len)
print('x_train shape:', train_seqs.shape)
print('x_test shape:', test_seqs.shape)
train_labels, test_labels = np.array(train_labels), np.array(test_labels)

model = Sequential()
model.add(Embedding(n_words, 128, input_length=seq_len))
model.add(Bidirectional(LSTM(64)))  # forward and backward final states, concatenated
model.add(Dropout(0.5))
model.add(Dense(1, activation='sigmoid'))
model.compile('adam', 'binary_crossentropy', metrics=['accuracy'])

print('Train...')
model.fit(train_seqs, train_labels, batch_size=32, epochs=quick(4, 2),
          validation_data=[test_seqs, test_labels])
