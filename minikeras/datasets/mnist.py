"""MNIST handwritten digits (Keras 2's `keras.datasets.mnist`), read from Keras's cached `mnist.npz`."""
from __future__ import annotations

from typing import Optional

from minikeras.datasets._files import dataset_path, load_npz

__all__ = ["load_data"]

_HASH = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path: str = "mnist.npz", cache_dir: Optional[str] = None):
    """Loads the MNIST dataset: 60,000 training and 10,000 test 28x28 grayscale digit images.

    Read from Keras's `mnist.npz` in `~/.keras/datasets` or at `path`; minikeras never downloads.

    Args:
        path: a name under `~/.keras/datasets` (or `cache_dir/datasets`), or an absolute path.
        cache_dir: cache root instead of `~/.keras`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 arrays of shape `(num_samples, 28, 28)` and uint8 labels
        0-9, as stored in the file.

    Raises:
        FileNotFoundError: the file is absent; the message names the path and the file to put there.
    """
    fpath = dataset_path(path, "mnist.npz", _HASH, cache_dir, loader="mnist.load_data")
    f = load_npz(fpath, ("x_train", "y_train", "x_test", "y_test"))
    return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
