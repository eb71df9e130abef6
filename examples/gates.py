"""Look inside a trained LSTM: its input, forget and output gates, candidate cell, cell and hidden state per step.

What it shows: `minikeras.inspect.lstm_gates(model, x)` returns the quantities of the LSTM equations
(I_t, F_t, O_t, C~_t, C_t, H_t), arrays (samples, timesteps, units), for a trained model. The task makes them
readable: each sequence is 10 steps of random bits; the label is the bit at the FIRST step, so the LSTM must write
it into its cell at step 0 (input gate open), keep it through the noise (forget gate near 1, input gate mostly
shut) and read it out at the end. With matplotlib (`pip install -e '.[plot]'` in the clone) it writes PNG heatmaps
(`plot_gates`) and the learning curves (`plot_history`); without it, it prints the mean of each gate per timestep.

Run:  python examples/gates.py [out_dir]                (about 10 s on 2 cores; PNGs go to out_dir, default ".")
      MINIKERAS_QUICK=1 python examples/gates.py        (a couple of epochs; what CI runs)
"""
import os
import sys

import numpy as np

import minikeras as keras
from minikeras.inspect import lstm_gates
from minikeras.layers import LSTM, Dense
from minikeras.models import Sequential
from minikeras.utils import plotting

QUICK = os.environ.get("MINIKERAS_QUICK") == "1"
STEPS = 10


def make_data(n: int, rng: np.random.Generator):
    bits = rng.integers(0, 2, size=(n, STEPS)).astype("float32")
    x = np.stack([bits, 1.0 - bits], axis=-1)  # (n, STEPS, 2): one-hot bits
    return x, bits[:, 0]


def summary_table(gates: dict) -> str:
    lines = ["mean over samples and units, per timestep:",
             "step " + " ".join(f"{name:>11s}" for name in gates)]
    for t in range(gates["hidden"].shape[1]):
        lines.append(f"{t:4d} " + " ".join(f"{float(np.mean(v[:, t])):11.3f}" for v in gates.values()))
    return "\n".join(lines)


def main(out_dir: str = ".") -> dict:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x, y = make_data(256 if QUICK else 1024, rng)

    model = Sequential()
    model.add(LSTM(8, input_shape=(STEPS, 2), recurrent_activation="sigmoid", name="lstm"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=64, epochs=2 if QUICK else 15, validation_split=0.2, verbose=2)
    print(f"validation accuracy: {history.history['val_accuracy'][-1]:.3f}")

    gates = lstm_gates(model, x[:64])  # every array (64, STEPS, 8)
    h_last = gates["hidden"][:, -1]
    np.testing.assert_allclose(h_last, model.layers[0](x[:64]).numpy(), atol=1e-5)  # same as the layer's output
    print(summary_table(gates))

    try:
        paths = [plotting.plot_gates(gates, os.path.join(out_dir, "gates.png"), sample=0),
                 plotting.plot_history(history, os.path.join(out_dir, "history.png"))]
        print("wrote", ", ".join(paths))
    except ImportError as error:
        print(f"no PNGs: {error}")
    return gates


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
