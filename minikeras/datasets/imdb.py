"""IMDB sentiment classification dataset (Keras 2's `keras.datasets.imdb`), read from Keras's cached `imdb.npz`."""
from __future__ import annotations

import json
import warnings
from typing import Any, Dict, Optional

import numpy as np

from minikeras.datasets._files import dataset_path, load_npz, remove_long_seq

__all__ = ["load_data", "get_word_index"]

_HASH = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_WORD_INDEX_HASH = "bfafd718b763782e994055a2d397834f"


def load_data(path: str = "imdb.npz", num_words: Optional[int] = None, skip_top: int = 0,
              maxlen: Optional[int] = None, seed: int = 113, start_char: Optional[int] = 1,
              oov_char: Optional[int] = 2, index_from: int = 3, cache_dir: Optional[str] = None, **kwargs: Any):
    """Loads the IMDB dataset: 25,000 movie reviews per split, labelled by sentiment (positive 1 / negative 0).

    Reviews are lists of word indices; index `i + index_from` is the i-th most frequent word. The file is Keras's
    `imdb.npz`, read from `~/.keras/datasets` (where Keras downloads it) or from `path`; minikeras never downloads.
    The result is exactly Keras's, for the same file and arguments.

    Args:
        path: the file: a name under `~/.keras/datasets` (or `cache_dir/datasets`), or an absolute path.
        num_words: keep the `num_words` most frequent words; rarer ones become `oov_char` (or are dropped when
            `oov_char` is None). None keeps every word.
        skip_top: skip the `skip_top` most frequent words (they become `oov_char`, too).
        maxlen: drop the reviews of `maxlen` words or more (counting `start_char`).
        seed: seed of the shuffle of each split (`np.random.RandomState(seed)`, as Keras).
        start_char: index that starts each review (1; None for none).
        oov_char: index of out-of-vocabulary words (2).
        index_from: offset added to every word index (3).
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
        raise TypeError(f"Unrecognized keyword arguments: {str(kwargs)}.")
    fpath = dataset_path(path, "imdb.npz", _HASH, cache_dir, loader="imdb.load_data")
    f = load_npz(fpath, ("x_train", "y_train", "x_test", "y_test"))
    x_train, labels_train, x_test, labels_test = f["x_train"], f["y_train"], f["x_test"], f["y_test"]

    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = x_train[indices], labels_train[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = x_test[indices], labels_test[indices]

    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    else:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]

    if maxlen:
        x_train, labels_train = remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={str(maxlen)}, no sequence was kept. "
                             "Increase maxlen.")

    xs = x_train + x_test
    labels = np.concatenate([labels_train, labels_test])
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]

    idx = len(x_train)
    # NOTE: Keras's np.array(..., dtype="object"): 1-D of lists, or 2-D when every review has the same length
    x_train, y_train = np.array(xs[:idx], dtype="object"), labels[:idx]
    x_test, y_test = np.array(xs[idx:], dtype="object"), labels[idx:]
    return (x_train, y_train), (x_test, y_test)


def get_word_index(path: str = "imdb_word_index.json", cache_dir: Optional[str] = None) -> Dict[str, int]:
    """The word -> index dictionary of the IMDB dataset (Keras's `imdb_word_index.json`), before `index_from`.

    Args:
        path: a name under `~/.keras/datasets`, or an absolute path.
        cache_dir: cache root instead of `~/.keras`.
    """
    fpath = dataset_path(path, "imdb_word_index.json", _WORD_INDEX_HASH, cache_dir, loader="imdb.get_word_index")
    with open(fpath) as f:
        return json.load(f)
