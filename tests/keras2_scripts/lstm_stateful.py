# A Keras 2-style script written for minikeras's tests: it uses the same Keras API as Keras 2's
# examples/lstm_stateful.py (model, arguments, training calls), written anew. `import _keras_alias` makes `keras`
# import minikeras; `quick(full, small)` picks smaller sizes when KERAS2_SCRIPTS_QUICK is set.
"""Stateful LSTMs predicting the next value of a long damped cosine, one time step per batch row (Keras 2 API).

The series is cut into samples of one step each. With `stateful=True` and a fixed `batch_size`, sample i of one
batch continues sample i of the previous batch, so the LSTMs carry their state across the whole series within an
epoch; `reset_states()` clears it between epochs, and `shuffle=False` keeps the order.
"""
from __future__ import print_function

import _keras_alias  # noqa: F401
from _keras_alias import quick
import numpy as np
import matplotlib.pyplot as plt

from keras.layers import LSTM, Dense
from keras.models import Sequential

STEPS_PER_SAMPLE = 1
BATCH = 25
EPOCHS = quick(25, 2)
AHEAD = 1  # predict the mean of the next AHEAD values


def damped_cosine(n_points, amplitude=100.0, period=1000, decay=1e-4):
    """Values amplitude * cos(2 pi t / period) * exp(-decay t) for t = 0..n_points-1, shaped (n, 1, 1)."""
    t = np.arange(n_points, dtype='float64')
    values = amplitude * np.cos(2 * np.pi * t / period) * np.exp(-decay * t)
    return values.reshape(n_points, 1, 1)


print('Generating Data')
series = damped_cosine(quick(50000, 500))
print('Input shape:', series.shape)
targets = np.zeros((len(series), 1))
for i in range(len(series) - AHEAD):
    targets[i, 0] = series[i + 1:i + 1 + AHEAD].mean()
print('Output shape')
print(targets.shape)

print('Creating Model')
model = Sequential()
model.add(LSTM(50, input_shape=(STEPS_PER_SAMPLE, 1), batch_size=BATCH, return_sequences=True, stateful=True))
model.add(LSTM(50, return_sequences=False, stateful=True))
model.add(Dense(1))
model.compile(loss='mse', optimizer='rmsprop')

print('Training')
for epoch in range(EPOCHS):
    print('Epoch', epoch, '/', EPOCHS)
    model.fit(series, targets, batch_size=BATCH, epochs=1, verbose=1, shuffle=False)
    model.reset_states()

print('Predicting')
predictions = model.predict(series, batch_size=BATCH)

print('Plotting Results')
for row, (values, title) in enumerate([(targets, 'Expected'), (predictions, 'Predicted')], start=1):
    plt.subplot(2, 1, row)
    plt.plot(values)
    plt.title(title)
plt.show()
