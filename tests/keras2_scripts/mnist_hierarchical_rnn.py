# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/mnist_hierarchical_rnn.py (model, arguments, training calls), written anew. `import _keras_alias`
# makes `keras` import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Digit classification with two stacked levels of LSTM, in Keras 2's functional API.

An image is 28 rows of 28 one-channel pixels. The inner LSTM, wrapped in `TimeDistributed`, turns every row into
a vector; the outer LSTM reads the 28 row vectors as a sequence and summarises the image; a softmax classifies it.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

import keras
from keras.datasets import mnist
from keras.layers import LSTM, Dense, Input, TimeDistributed
from keras.models import Model

ROW_UNITS = quick(128, 32)
IMAGE_UNITS = quick(128, 32)


def as_images(pixels):
    return pixels.reshape(pixels.shape[0], 28, 28, 1).astype('float32') / 255


(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train, x_test = as_images(x_train), as_images(x_test)
print('x_train shape:', x_train.shape)
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')
y_train = keras.utils.to_categorical(y_train, 10)
y_test = keras.utils.to_categorical(y_test, 10)

image = Input(shape=x_train.shape[1:])
row_vectors = TimeDistributed(LSTM(ROW_UNITS))(image)   # (batch, 28, ROW_UNITS)
image_vector = LSTM(IMAGE_UNITS)(row_vectors)           # (batch, IMAGE_UNITS)
digit = Dense(10, activation='softmax')(image_vector)
model = Model(image, digit)
model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, batch_size=32, epochs=quick(5, 2), verbose=1, validation_data=(x_test, y_test))

test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', test_loss)
print('Test accuracy:', test_acc)
