"""Keras 2's two-LSTM example, verbatim, explained, then trained with a Dense head on a small synthetic task.

What it shows: the shapes that flow through stacked LSTMs, and what `return_sequences` changes.

    model = Sequential()
    model.add(LSTM(128, input_dim=64, input_length=5, return_sequences=True))
    model.add(LSTM(256, return_sequences=False))

- The input is a 3-D array (samples, timesteps, input_dim) = (samples, 5, 64): each sample is a sequence of
  `input_length=5` timesteps, each timestep a vector of `input_dim=64` features. `input_dim`/`input_length` are
  Keras 1 arguments: as Keras 2 does, minikeras accepts them with two warnings that give the Keras 2 spelling,
  `input_shape=(5, 64)`.
- The first LSTM has 128 units: at each timestep it updates a hidden state H_t of 128 numbers (and a cell C_t of
  128 numbers) from x_t and H_{t-1}. With `return_sequences=True` it returns every H_t: (samples, 5, 128), a
  sequence again, which is exactly what the second LSTM needs as its input.
- The second LSTM has 256 units and `return_sequences=False`: it returns only its last hidden state,
  (samples, 256), one vector per sample that summarises the whole sequence.
- A Dense head (not in the example) maps that vector to a prediction. The task: each sample is noise, plus a signal
  of +s or -s added to feature 0 at every timestep; the label says whether the signal is positive. Any one step
  is ambiguous, so the model has to integrate over time.

Run:  python examples/seed_two_lstms.py                    (about 20 s on 2 cores)
      MINIKERAS_QUICK=1 python examples/seed_two_lstms.py   (one small epoch; what CI runs)
"""
import os

import numpy as np

import minikeras as keras
from minikeras.layers import Dense
from minikeras.layers.recurrent import LSTM
from minikeras.models import Sequential

QUICK = os.environ.get("MINIKERAS_QUICK") == "1"


def make_data(samples: int, rng: np.random.Generator):
    """(samples, 5, 64) noise with a weak signal of sign y on feature 0 at every step; y in {0, 1}."""
    y = rng.integers(0, 2, size=samples)
    x = rng.standard_normal((samples, 5, 64)).astype("float32")
    x[:, :, 0] += np.where(y == 1, 0.8, -0.8)[:, None]
    return x, y.astype("float32")


def main() -> float:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = make_data(96 if QUICK else 600, rng)
    x_test, y_test = make_data(200, rng)

    # ---- Keras 2's two-LSTM example, verbatim
    model = Sequential()
    model.add(LSTM(128, input_dim=64, input_length=5, return_sequences=True))
    model.add(LSTM(256, return_sequences=False))
    # ----
    print("first LSTM output shape (return_sequences=True): ", model.layers[0].compute_output_shape((None, 5, 64)))
    print("second LSTM output shape (return_sequences=False):", model.layers[1].compute_output_shape((None, 5, 128)))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.summary()

    sequences = model.layers[0](x[:2]).numpy()
    print(f"inputs {x[:2].shape} -> first LSTM {sequences.shape} -> second LSTM "
          f"{model.layers[1](sequences).numpy().shape} -> Dense {model.predict(x[:2], verbose=0).shape}")

    model.fit(x, y, batch_size=32, epochs=1 if QUICK else 3, validation_split=0.1, verbose=2)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy: {acc:.3f} (chance: 0.5)")
    return float(acc)


if __name__ == "__main__":
    main()
