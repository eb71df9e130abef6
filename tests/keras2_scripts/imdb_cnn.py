# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/imdb_cnn.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Movie-review sentiment with a 1D convolution and global max pooling (Keras 2 API).

Embedded words -> trigram filters (`Conv1D`) -> the strongest response of each filter over the review
(`GlobalMaxPooling1D`) -> a hidden ReLU layer -> a sigmoid unit.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

from keras.datasets import imdb
from keras.layers import Activation, Conv1D, Dense, Dropout, Embedding, GlobalMaxPooling1D
from keras.models import Sequential
from keras.preprocessing import sequence

VOCAB, LENGTH = quick(5000, 300), quick(400, 100)
EMBED, FILTERS, WIDTH, HIDDEN = 50, 250, 3, 250
EPOCHS = quick(2, 3)  # one more epoch on the small data file

print('Loading data...')
(x_fit, y_fit), (x_val, y_val) = imdb.load_data(num_words=VOCAB)
print(len(x_fit), 'train sequences')
print(len(x_val), 'test sequences')
print('Pad sequences (samples x time)')
x_fit, x_val = (sequence.pad_sequences(s, maxlen=LENGTH) for s in (x_fit, x_val))
print('x_train shape:', x_fit.shape)
print('x_test shape:', x_val.shape)

print('Build model...')
cnn = Sequential()
cnn.add(Embedding(VOCAB, EMBED, input_length=LENGTH))
cnn.add(Dropout(0.2))
cnn.add(Conv1D(FILTERS, WIDTH, padding='valid', strides=1, activation='relu'))
cnn.add(GlobalMaxPooling1D())
# the hidden layer's activation is a separate layer, after dropout
cnn.add(Dense(HIDDEN))
cnn.add(Dropout(0.2))
cnn.add(Activation('relu'))
cnn.add(Dense(1))
cnn.add(Activation('sigmoid'))
cnn.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
cnn.fit(x_fit, y_fit, batch_size=32, epochs=EPOCHS, validation_data=(x_val, y_val))
