"""Small data files in the formats Keras 2's example scripts read, so the scripts run without a network.

`write_all(home, workdir)` writes, under `<home>/.keras/datasets` (where `keras.datasets` and `get_file` look):
`imdb.npz` and `imdb_word_index.json` (Keras's layout: object arrays `x_train`, `x_test` of lists of word ranks,
int arrays `y_train`, `y_test`; ranks start at 1, as in Keras's file, and `load_data` adds `index_from`),
`reuters.npz` (object array `x`, int array `y`), `mnist.npz` (uint8 `x_train` (n, 28, 28), `y_train`, `x_test`,
`y_test`), `nietzsche.txt`; and under `workdir`, `fra-eng/fra.txt`
(tab-separated English and French sentences, one pair a line, the two-column file of Keras 2's era).

The reviews carry a learnable signal: positive ones draw most words from one band of ranks, negative ones from
another, so a working model's accuracy rises above chance within a few epochs.
"""
import json
import os

import numpy as np

VOCAB = 300


def _reviews(rng, n, low, high):
    x, y = [], []
    for i in range(n):
        label = i % 2
        length = int(rng.randint(low, high))
        band = np.arange(10, 60) if label else np.arange(60, 110)
        words = np.where(rng.rand(length) < 0.8, rng.choice(band, length), rng.randint(1, VOCAB, length))
        x.append([int(w) for w in words])
        y.append(label)
    return x, np.array(y, dtype="int64")


def _object_array(lists):
    out = np.empty(len(lists), dtype=object)
    for i, item in enumerate(lists):
        out[i] = item
    return out


def write_all(home, workdir):
    rng = np.random.RandomState(0)
    datasets = os.path.join(home, ".keras", "datasets")
    os.makedirs(datasets, exist_ok=True)

    x_train, y_train = _reviews(rng, 160, 20, 100)
    x_test, y_test = _reviews(rng, 80, 20, 100)
    np.savez(os.path.join(datasets, "imdb.npz"), x_train=_object_array(x_train), y_train=y_train,
             x_test=_object_array(x_test), y_test=y_test)
    with open(os.path.join(datasets, "imdb_word_index.json"), "w") as f:
        json.dump({f"word{i}": i for i in range(1, VOCAB)}, f)

    # Reuters: 46 topics in Keras's file; here 5, each with its own band of ranks.
    xs, ys = [], []
    for _ in range(250):
        topic = int(rng.randint(5))
        length = int(rng.randint(10, 60))
        band = np.arange(20 + 40 * topic, 60 + 40 * topic)
        words = np.where(rng.rand(length) < 0.6, rng.choice(band, length), rng.randint(1, VOCAB, length))
        xs.append([int(w) for w in words])
        ys.append(topic)
    np.savez(os.path.join(datasets, "reuters.npz"), x=_object_array(xs), y=np.array(ys, dtype="int64"))

    # MNIST: each "digit" k is a bright 6x6 block at its own place on a noisy 28x28 image.
    def digits(n):
        labels = np.arange(n) % 10
        images = rng.randint(0, 60, size=(n, 28, 28))
        for i, k in enumerate(labels):
            r, c = 2 + 8 * (k // 4), 2 + 6 * (k % 4)
            images[i, r:r + 6, c:c + 6] = 255
        return images.astype("uint8"), labels.astype("uint8")

    x_train, y_train = digits(200)
    x_test, y_test = digits(100)
    np.savez(os.path.join(datasets, "mnist.npz"), x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

    words = ["the", "will", "to", "power", "of", "truth", "is", "a", "woman", "what", "then", "morality",
             "philosopher", "and", "free", "spirit", "beyond", "good", "evil", "man"]
    sentences = []
    for _ in range(40):
        sentence = " ".join(rng.choice(words, rng.randint(4, 12)))
        sentences.append(sentence.capitalize() + rng.choice([".", "!", "?", ";"]))
    with open(os.path.join(datasets, "nietzsche.txt"), "w", encoding="utf-8") as f:
        f.write("PREFACE\n\n\n" + " ".join(sentences) + "\n")

    pairs = [("Go.", "Va !"), ("Hi.", "Salut !"), ("Run!", "Cours !"), ("Wow!", "Ça alors !"),
             ("Fire!", "Au feu !"), ("Help!", "À l'aide !"), ("Stop!", "Arrête-toi !"), ("Wait!", "Attends !"),
             ("I see.", "Je comprends."), ("I try.", "J'essaye."), ("I won!", "J'ai gagné !"),
             ("Oh no!", "Oh non !"), ("Relax.", "Détends-toi."), ("Smile.", "Souris."), ("Attack!", "Attaque !"),
             ("Get up.", "Lève-toi."), ("Got it!", "Compris !"), ("Hug me.", "Serre-moi dans tes bras !"),
             ("I fell.", "Je suis tombé."), ("I know.", "Je sais."), ("I left.", "Je suis parti."),
             ("I lost.", "J'ai perdu."), ("I'm 19.", "J'ai 19 ans."), ("I'm OK.", "Je vais bien."),
             ("Listen.", "Écoutez !"), ("No way!", "Pas question !"), ("Really?", "Vraiment ?"),
             ("Thanks.", "Merci !"), ("We try.", "On essaye."), ("Why me?", "Pourquoi moi ?")]
    os.makedirs(os.path.join(workdir, "fra-eng"), exist_ok=True)
    with open(os.path.join(workdir, "fra-eng", "fra.txt"), "w", encoding="utf-8") as f:
        for english, french in pairs:
            f.write(f"{english}\t{french}\n")
