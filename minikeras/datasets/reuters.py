"""Reuters newswire topic classification dataset (Keras 2's `keras.datasets.reuters`), read from Keras's cached
`reuters.npz`."""
from __future__ import annotations

import json
import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np

from minikeras.datasets._files import dataset_path, load_npz, remove_long_seq

__all__ = ["load_data", "get_word_index", "get_label_names"]

_HASH = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
_WORD_INDEX_HASH = "4d44cc38712099c9e383dc6e5f11a921"


def load_data(path: str = "reuters.npz", num_words: Optional[int] = None, skip_top: int = 0,
              maxlen: Optional[int] = None, test_split: float = 0.2, seed: int = 113, start_char: Optional[int] = 1,
              oov_char: Optional[int] = 2, index_from: int = 3, cache_dir: Optional[str] = None, **kwargs: Any):
    """Loads the Reuters newswire dataset: 11,228 newswires labelled over 46 topics.

    The newswires are shuffled (`np.random.RandomState(seed)`), encoded as IMDB's reviews are, and split:
    the first `int(len * (1 - test_split))` are the training set. The file is Keras's `reuters.npz`, read from
    `~/.keras/datasets` or `path`; minikeras never downloads. The result is exactly Keras's for the same file.

    Args:
        path: a name under `~/.keras/datasets` (or `cache_dir/datasets`), or an absolute path.
        num_words, skip_top, maxlen, seed, start_char, oov_char, index_from: as `imdb.load_data`.
        test_split: fraction of the data to use as the test set (0.2).
        cache_dir: cache root instead of `~/.keras`.
        **kwargs: Keras 1's `nb_words` (renamed `num_words`, with Keras's warning).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints, and int label arrays.

    Raises:
        FileNotFoundError: the file is absent; the message names the path and the file to put there.
    """
    if "nb_words" in kwargs:
        warnings.warn("The `nb_words` argument in `load_data` has been renamed `num_words`.", stacklevel=2)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {str(kwargs)}")
    fpath = dataset_path(path, "reuters.npz", _HASH, cache_dir, loader="reuters.load_data")
    f = load_npz(fpath, ("x", "y"))
    xs, labels = f["x"], f["y"]

    rng = np.random.RandomState(seed)
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    xs, labels = xs[indices], labels[indices]

    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    else:
        xs = [[w + index_from for w in x] for x in xs]
    if maxlen:
        xs, labels = remove_long_seq(maxlen, xs, labels)
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    idx = int(len(xs) * (1 - test_split))
    x_train, y_train = np.array(xs[:idx], dtype="object"), np.array(labels[:idx])
    x_test, y_test = np.array(xs[idx:], dtype="object"), np.array(labels[idx:])
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path: str = "reuters_word_index.json", cache_dir: Optional[str] = None) -> Dict[str, int]:
    """The word -> index dictionary of the Reuters dataset (Keras's `reuters_word_index.json`)."""
    fpath = dataset_path(path, "reuters_word_index.json", _WORD_INDEX_HASH, cache_dir,
                         loader="reuters.get_word_index")
    with open(fpath) as f:
        return json.load(f)


def get_label_names() -> Tuple[str, ...]:
    """The 46 topic names, in label order."""
    return ("cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
            "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
            "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
            "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
            "dlr", "gas", "silver", "wpi", "hog", "lead")
