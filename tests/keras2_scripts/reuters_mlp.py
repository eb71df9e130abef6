# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/reuters_mlp.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Newswire topic classification with a bag-of-words multilayer perceptron (Keras 2 API).

Each newswire becomes a binary word-presence vector (`Tokenizer.sequences_to_matrix`), topics become one-hot rows
(`keras.utils.to_categorical`), and a ReLU hidden layer with dropout feeds a softmax over the topics.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

import numpy as np
import keras
from keras.datasets import reuters
from keras.layers import Activation, Dense, Dropout
from keras.models import Sequential
from keras.preprocessing.text import Tokenizer

top_words = quick(1000, 300)
n_epochs = quick(5, 8)  # more epochs on the small data file, for the accuracy check


def load():
    print('Loading data...')
    (a, b), (c, d) = reuters.load_data(num_words=top_words, test_split=0.2)
    print(len(a), 'train sequences')
    print(len(c), 'test sequences')
    return a, b, c, d


wires_train, topics_train, wires_test, topics_test = load()
n_topics = np.max(topics_train) + 1
print(n_topics, 'classes')

print('Vectorizing sequence data...')
tok = Tokenizer(num_words=top_words)
x_train = tok.sequences_to_matrix(wires_train, mode='binary')
x_test = tok.sequences_to_matrix(wires_test, mode='binary')
print('x_train shape:', x_train.shape)
print('x_test shape:', x_test.shape)

print('One-hot topic labels')
y_train = keras.utils.to_categorical(topics_train, n_topics)
y_test = keras.utils.to_categorical(topics_test, n_topics)
print('y_train shape:', y_train.shape)
print('y_test shape:', y_test.shape)

print('Building model...')
mlp = Sequential()
mlp.add(Dense(512, input_shape=(top_words,)))
mlp.add(Activation('relu'))
mlp.add(Dropout(0.5))
mlp.add(Dense(n_topics))
mlp.add(Activation('softmax'))
mlp.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])

history = mlp.fit(x_train, y_train, batch_size=32, epochs=n_epochs, verbose=1, validation_split=0.1)
loss_and_acc = mlp.evaluate(x_test, y_test, batch_size=32, verbose=1)
print('Test score:', loss_and_acc[0])
print('Test accuracy:', loss_and_acc[1])
