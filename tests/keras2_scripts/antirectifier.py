# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/antirectifier.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""A custom Keras 2 layer built from backend functions, trained on MNIST digits.

`Antirectifier` centres each sample, scales it to unit L2 norm and returns its positive and negative parts side
by side, so the layer doubles the feature count and, unlike a ReLU, keeps the information in negative values.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick

import keras
from keras import backend as K
from keras import layers
from keras.datasets import mnist
from keras.models import Sequential


class Antirectifier(layers.Layer):
    """[relu(z), relu(-z)] for z = the sample centred and L2-normalised.

    Input shape: 2D tensor `(batch, features)`. Output shape: `(batch, 2 * features)`.
    """

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError('Antirectifier expects 2D inputs, Received: input_shape=%s' % (input_shape,))
        return (input_shape[0], 2 * input_shape[1])

    def call(self, inputs):
        centred = inputs - K.mean(inputs, axis=1, keepdims=True)
        unit = K.l2_normalize(centred, axis=1)
        return K.concatenate([K.relu(unit), K.relu(-unit)], axis=1)


def flat_pixels(images, count):
    # reshape to `count` rows of 784 pixels in [0, 1]
    return images.reshape(count, 784).astype('float32') / 255


(train_images, train_digits), (test_images, test_digits) = mnist.load_data()
x_train = flat_pixels(train_images, quick(60000, 200))  # quick: the small data file's sample counts
x_test = flat_pixels(test_images, quick(10000, 100))
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')
y_train = keras.utils.to_categorical(train_digits, 10)
y_test = keras.utils.to_categorical(test_digits, 10)

model = Sequential()
model.add(layers.Dense(256, input_shape=(784,)))
for block in range(2):
    if block:
        model.add(layers.Dense(256))
    model.add(Antirectifier())
    model.add(layers.Dropout(0.1))
model.add(layers.Dense(10))
model.add(layers.Activation('softmax'))
model.compile(optimizer='rmsprop', loss='categorical_crossentropy', metrics=['accuracy'])
model.fit(x_train, y_train, batch_size=128, epochs=quick(40, 3), verbose=1, validation_data=(x_test, y_test))
