"""Data plumbing for `Model.fit`/`evaluate`/`predict` (Keras 2's `keras.engine.data_adapter`).

Turns what the user passes (arrays, lists of arrays) into lists of numpy arrays, checks that they agree on the
number of samples, splits off validation data, turns `class_weight` into sample weights and cuts epochs into
batches, as tf_keras 2.21's `tf_keras/src/engine/data_adapter.py` does.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend
from minikeras.autograd import Tensor


def as_array(value: Any, name: str) -> np.ndarray:
    """One input/target/weight array as numpy; non-numeric data fails with Keras's conversion message."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:  # ragged nested lists
        raise ValueError(f"Failed to convert a NumPy array to a Tensor ({e}). Expected `{name}` to be a numeric array "
                         f"with one shape. Received: {name} of type {type(value).__name__}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        bad = next((v for v in arr.ravel() if not isinstance(v, (numbers.Number, np.number, bool, np.bool_))),
                   arr.ravel()[0] if arr.size else None)
        raise ValueError(f"Failed to convert a NumPy array to a Tensor (Unsupported object type "
                         f"{type(bad).__name__}). Expected `{name}` to be a numeric array. "
                         f"Received: {name} with dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"Expected `{name}` to be an array with a batch axis. Received: {name} with shape ()")
    return arr


def flatten_data(data: Any, name: str) -> Optional[List[np.ndarray]]:
    """None, one array, or a list/tuple of arrays (several model inputs/outputs) -> None or a list of arrays."""
    if data is None:
        return None
    if isinstance(data, dict):
        raise NotImplementedError("Dict inputs/targets (named model inputs) are not supported by minikeras's "
                                  f"Sequential models. Received: {name} as a dict with keys {list(data)}")
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, (np.ndarray, Tensor)) for d in data):
        return [as_array(d, name) for d in data]
    return [as_array(data, name)]


def single_batch(x: Any, batch_size: int) -> Any:
    """`x` itself when it is a numeric numpy array (or a list/tuple of them) of 1 to `batch_size` samples, the same
    number in each, so that it can go through the model as one batch without copies; None otherwise (the caller
    takes the general path, which also gives the errors for bad data)."""
    arrays = x if isinstance(x, (list, tuple)) and x else [x]
    n = None
    for a in arrays:
        if not isinstance(a, np.ndarray) or a.ndim == 0 or a.dtype.kind not in "biuf":
            return None
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            return None
    if not 0 < n <= batch_size:
        return None
    return list(x) if isinstance(x, (list, tuple)) else x


def unflatten(arrays: Optional[List[Any]]) -> Any:
    if arrays is None:
        return None
    return arrays[0] if len(arrays) == 1 else list(arrays)


def check_data_cardinality(x: Any, y: Any, sw: Any) -> int:
    """Number of samples; tf.keras's "Data cardinality is ambiguous" error when the arrays disagree."""
    sizes = {int(a.shape[0]) for part in (x, y, sw) if part is not None for a in part}
    if len(sizes) > 1:
        msg = "Data cardinality is ambiguous:\n"
        for label, part in zip(("x", "y", "sample_weight"), (x, y, sw)):
            if part is not None:
                msg += f"  {label} sizes: {', '.join(str(a.shape[0]) for a in part)}\n"
        msg += "Make sure all arrays contain the same number of samples."
        raise ValueError(msg)
    return sizes.pop() if sizes else 0


def unpack_x_y_sample_weight(data: Any) -> Tuple[Any, Any, Any]:
    """`(x,)`, `(x, y)` or `(x, y, sample_weight)` -> `(x, y, sample_weight)` (tf.keras's helper)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found: {str(data)[:200]}")


def check_positive_int(name: str, value: Any, allow_zero: bool = False) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"Expected `{name}` to be a {kind} integer. Received: {name}={value!r}")
    return int(value)


def get_verbosity(verbose: Any) -> int:
    """'auto' -> 1 (tf.keras's interactive default); 0, 1, 2 pass through."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)) or not isinstance(verbose, (int, np.integer)) or verbose < 0:
        raise ValueError(f"Expected `verbose` to be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


def train_validation_split(arrays: Sequence[Any], validation_split: float) -> Tuple[List[Any], List[Any]]:
    """The last `validation_split` fraction becomes validation data, before any shuffling (tf.keras)."""
    first = next(a[0] for a in arrays if a is not None)
    batch_dim = int(first.shape[0])
    split_at = int(math.floor(batch_dim * (1.0 - validation_split)))
    if split_at == 0 or split_at == batch_dim:
        raise ValueError(f"Training data contains {batch_dim} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. Either "
                         "provide more data, or a different value for the `validation_split` argument.")
    train = [None if a is None else [t[:split_at] for t in a] for a in arrays]
    val = [None if a is None else [t[split_at:] for t in a] for a in arrays]
    return train, val


def class_weight_to_sample_weight(class_weight: Any, y: List[np.ndarray], sw: Optional[List[np.ndarray]]
                                   ) -> List[np.ndarray]:
    """Per-sample weights from a `{class index: weight}` dict, multiplied into any given sample weights (tf.keras)."""
    if not isinstance(class_weight, dict):
        raise ValueError("Expected `class_weight` to be a dict mapping class indices to weights. "
                         f"Received: class_weight={class_weight!r}")
    if len(y) != 1:
        raise ValueError("`class_weight` is only supported for Models with a single output.")
    class_ids = sorted(class_weight.keys())
    if class_ids != list(range(len(class_ids))):
        raise ValueError("Expected `class_weight` to be a dict with keys from 0 to one less than the number of "
                         f"classes, found {class_weight}")
    table = np.asarray([class_weight[int(c)] for c in class_ids], dtype=backend.floatx())
    target = y[0]
    if target.ndim >= 2:
        classes = (np.argmax(target, axis=-1) if target.shape[-1] > 1
                   else np.round(np.squeeze(target, axis=-1)).astype(np.int64))
    else:
        classes = np.round(target).astype(np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= len(table)):
        missing = sorted(set(np.unique(classes).tolist()) - set(range(len(table))))
        raise ValueError(f"`class_weight` must contain all classes in the data. The classes {missing} exist in the "
                         f"data but not in `class_weight`. Received: class_weight={class_weight}")
    cw = table[classes]
    if sw is None:
        return [cw]
    w = sw[0].astype(cw.dtype)
    w = w.reshape(w.shape + (1,) * (cw.ndim - w.ndim))
    return [w * cw]


def batch_indices(n: int, batch_size: int, shuffle: Any) -> List[Any]:
    """One epoch of batch index selections: slices in order, or permuted indices drawn from `backend.rng()`."""
    if not shuffle:
        return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    rng = backend.rng()
    if shuffle == "batch":
        batches = [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
        order = rng.permutation(len(batches))
        return [rng.permutation(batches[j]) for j in order]
    perm = rng.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


def take(arrays: Optional[List[np.ndarray]], idx: Any) -> Any:
    """The batch `idx` of every array (None stays None), unflattened."""
    if arrays is None:
        return None
    return unflatten([a[idx] for a in arrays])
