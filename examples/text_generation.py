"""A character-level LSTM learns a short text (shipped below) and then writes text like it.

What it shows: next-character prediction. Every window of SEQ_LEN characters of the text is one-hot encoded,
(samples, timesteps, characters); an LSTM reads it and a Dense softmax predicts the character that follows
(`sparse_categorical_crossentropy`). Then the model generates: start from a seed window, predict a distribution
over the next character, sample from it with a *temperature* (low: the most likely characters, repetitive;
high: more surprising, more mistakes), append, repeat. Generation streams: `model.predict_timestep` feeds one
character at a time and the model keeps the LSTM's state between calls, so each new character costs one LSTM step
instead of re-reading a whole window (`model.reset_states()` starts a new text). The model was trained on
windows of SEQ_LEN characters, so a long stream drifts further from the text than a sliding window would.

Run:  python examples/text_generation.py                    (about 10 s on 2 cores; up to 40 s on a busy machine)
      MINIKERAS_QUICK=1 python examples/text_generation.py   (one short epoch; what CI runs)
"""
import os

import numpy as np

import minikeras as keras
from minikeras.layers import LSTM, Dense
from minikeras.models import Sequential

QUICK = os.environ.get("MINIKERAS_QUICK") == "1"
SEQ_LEN = 12

TEXT = (
    "the cat sat on the mat. the dog sat on the log. "
    "the cat saw the dog and the dog saw the cat. "
    "a bird sang in the tree and the cat looked up. "
    "the dog ran to the tree and the bird flew away. "
    "then the cat sat on the mat again and the dog sat on the log again. "
)


def vectorize(text: str, chars: list):
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text])
    starts = np.arange(len(text) - SEQ_LEN)
    windows = ids[starts[:, None] + np.arange(SEQ_LEN)]
    x = np.eye(len(chars), dtype="float32")[windows]  # (samples, SEQ_LEN, len(chars))
    y = ids[starts + SEQ_LEN]
    return x, y


def sample(probabilities: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """Draw an index from `probabilities` sharpened (temperature < 1) or flattened (> 1)."""
    logits = np.log(np.maximum(probabilities.astype("float64"), 1e-12)) / temperature
    p = np.exp(logits - logits.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def generate(model, seed: str, chars: list, length: int, temperature: float, rng: np.random.Generator) -> str:
    """Stream the seed through the model one character at a time, then sample and feed back each new character."""
    index = {c: i for i, c in enumerate(chars)}
    eye = np.eye(len(chars), dtype="float32")
    model.reset_states()
    for c in seed:
        probabilities = model.predict_timestep(eye[[index[c]]])[0]
    text = seed
    for _ in range(length):
        nxt = chars[sample(probabilities, temperature, rng)]
        text += nxt
        probabilities = model.predict_timestep(eye[[index[nxt]]])[0]
    return text


def main() -> float:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    chars = sorted(set(TEXT))
    x, y = vectorize(TEXT, chars)
    print(f"text of {len(TEXT)} characters, {len(chars)} distinct; {len(x)} windows of {SEQ_LEN}")

    model = Sequential()
    model.add(LSTM(64, input_shape=(SEQ_LEN, len(chars)), recurrent_activation="sigmoid"))
    model.add(Dense(len(chars), activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=1 if QUICK else 20, verbose=2)
    final_loss = history.history["loss"][-1]
    print(f"training loss after {len(history.epoch)} epochs: {final_loss:.3f}")

    seed = TEXT[:SEQ_LEN]
    for temperature in (0.2, 0.7, 1.2):
        out = generate(model, seed, chars, 20 if QUICK else 80, temperature, rng)
        print(f"temperature {temperature}: {out!r}")
    return float(final_loss)


if __name__ == "__main__":
    main()
