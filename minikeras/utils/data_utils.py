"""Data utilities (Keras 2's `keras.utils.data_utils`): `Sequence`."""
from __future__ import annotations

from typing import Any, Iterator


class Sequence:
    """Base object for fitting to a sequence of data, such as a dataset (Keras 2's `keras.utils.Sequence`).

    Every `Sequence` must implement `__getitem__` (one complete batch, as `(x, y)` or `(x, y, sample_weight)`) and
    `__len__` (the number of batches). `on_epoch_end` is called after each epoch of `fit`, so a Sequence can
    reshuffle its data there. Because batches are addressed by index, `fit(shuffle=True)` shuffles the order in
    which batches are requested, and every batch is seen exactly once per epoch.

    Example:

    >>> import numpy as np
    >>> class Batches(Sequence):
    ...     def __init__(self, x, y, batch_size):
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return int(np.ceil(len(self.x) / self.batch_size))
    ...     def __getitem__(self, idx):
    ...         s = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
    ...         return self.x[s], self.y[s]
    >>> seq = Batches(np.zeros((10, 3)), np.zeros((10, 1)), batch_size=4)
    >>> len(seq), seq[2][0].shape
    (3, (2, 3))
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch."""

    def __iter__(self) -> Iterator[Any]:
        """Yields every batch of the Sequence, in order."""
        for i in range(len(self)):
            yield self[i]
