"""Numpy utilities (Keras 2's `keras.utils.np_utils`): `to_categorical`, `to_ordinal`, `normalize`.

Behaviour follows tf_keras 2.21 (`tf_keras/src/utils/np_utils.py`): labels are cast with `np.array(y, dtype="int")`
(so float labels are truncated toward zero), a trailing axis of size 1 is squeezed when `y` has more than one axis,
and `num_classes=None` (or 0) means `max(y) + 1`. Where Keras wraps a negative label around to the last class, or
fails with numpy's `IndexError` for a label `>= num_classes`, minikeras raises a ValueError naming the label.
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np

__all__ = ["normalize", "to_categorical", "to_ordinal"]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _labels(y: Any, num_classes: Optional[int], fn: str):
    """Keras's label handling: int cast, `(..., 1)` squeezed, `num_classes` inferred; plus range checks."""
    if num_classes is not None and (not isinstance(num_classes, (int, np.integer))
                                    or isinstance(num_classes, (bool, np.bool_)) or num_classes < 0):
        raise ValueError(f"Received an invalid value for argument `num_classes`, expected a positive integer or None. "
                         f"Received: num_classes={num_classes!r}")
    try:
        labels = np.asarray(y)
        if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
            raise ValueError("found NaN or infinite labels")
        y = np.array(labels, dtype="int")
    except (TypeError, ValueError) as e:
        cls = TypeError if isinstance(e, TypeError) else ValueError
        raise cls(f"`{fn}` expects integer class labels (from 0 to num_classes - 1), and could not convert `y` to "
                  f"integers ({e}). Received: y={_short(y)}") from e
    input_shape = y.shape
    # Shrink the last dimension if the shape is (..., 1).
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.reshape(-1)
    if not num_classes:
        if y.size == 0:
            raise ValueError(f"`{fn}` cannot infer `num_classes` from an empty `y` (it would be max(y) + 1); pass "
                             f"`num_classes`. Received: y={_short(y)}, num_classes={num_classes!r}")
        num_classes = int(np.max(y)) + 1
    if y.size:
        low, high = int(y.min()), int(y.max())
        if low < 0:
            raise ValueError(f"`{fn}` expects class labels in [0, num_classes), but found the negative label {low}. "
                             f"Received: y={_short(y)}")
        if high >= num_classes:
            raise ValueError(f"`{fn}` expects class labels in [0, num_classes) = [0, {num_classes}), but found the "
                             f"label {high}. Pass a larger `num_classes` (or None to use max(y) + 1). "
                             f"Received: num_classes={num_classes}")
    return y, input_shape, num_classes


def to_categorical(y: Any, num_classes: Optional[int] = None, dtype: Any = "float32") -> np.ndarray:
    """Converts a class vector (integers) to a binary class matrix (one-hot), e.g. for `categorical_crossentropy`.

    The class axis is placed last. A trailing axis of size 1 is dropped first when `y` has more than one axis, so
    `(batch, 1)` labels give `(batch, num_classes)`; a scalar gives `(num_classes,)`.

    Args:
        y: array-like of class values (integers from 0 to `num_classes - 1`; floats are truncated toward zero).
        num_classes: total number of classes. If None (or 0), it is inferred as `max(y) + 1`.
        dtype: dtype of the output (default `"float32"`).

    Returns:
        A binary matrix representation of the input, of shape `y.shape + (num_classes,)` (minus the trailing 1).

    Raises:
        ValueError: if a label is negative or `>= num_classes`, or if `num_classes` is invalid.

    >>> to_categorical([0, 1, 2, 3], num_classes=4)
    array([[1., 0., 0., 0.],
           [0., 1., 0., 0.],
           [0., 0., 1., 0.],
           [0., 0., 0., 1.]], dtype=float32)
    >>> to_categorical([[1], [0]]).shape
    (2, 2)
    """
    y, input_shape, num_classes = _labels(y, num_classes, "to_categorical")
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def to_ordinal(y: Any, num_classes: Optional[int] = None, dtype: Any = "float32") -> np.ndarray:
    """Converts a class vector (integers) to an ordinal regression matrix.

    A sample of class `k` becomes `k` ones followed by zeros, over `num_classes - 1` columns. Shape rules are those
    of `to_categorical`.

    Args:
        y: array-like of class values (integers from 0 to `num_classes - 1`).
        num_classes: total number of classes. If None (or 0), it is inferred as `max(y) + 1`.
        dtype: dtype of the output (default `"float32"`).

    Returns:
        An ordinal matrix of shape `y.shape + (num_classes - 1,)` (minus a trailing 1 axis).

    >>> to_ordinal([0, 1, 2, 3], num_classes=4)
    array([[0., 0., 0.],
           [1., 0., 0.],
           [1., 1., 0.],
           [1., 1., 1.]], dtype=float32)
    """
    y, input_shape, num_classes = _labels(y, num_classes, "to_ordinal")
    n = y.shape[0]
    range_values = np.tile(np.expand_dims(np.arange(num_classes - 1), 0), [n, 1])
    ordinal = np.zeros((n, num_classes - 1), dtype=dtype)
    ordinal[range_values < np.expand_dims(y, -1)] = 1
    return np.reshape(ordinal, input_shape + (num_classes - 1,))


def normalize(x: Any, axis: int = -1, order: Any = 2) -> np.ndarray:
    """Normalizes a numpy array along `axis`: `x / norm(x, order, axis)`, leaving all-zero slices at zero.

    Args:
        x: numpy array to normalize.
        axis: axis along which to normalize (default -1).
        order: normalization order, as `np.linalg.norm`'s `ord` (default 2, the L2 norm).

    Returns:
        A normalized copy of the array.

    >>> normalize([[3.0, 4.0], [0.0, 0.0]])
    array([[0.6, 0.8],
           [0. , 0. ]])
    """
    l2 = np.atleast_1d(np.linalg.norm(x, order, axis))
    l2[l2 == 0] = 1
    return x / np.expand_dims(l2, axis)
