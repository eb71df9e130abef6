"""Data plumbing for `Model.fit`/`evaluate`/`predict` (Keras 2's `keras.engine.data_adapter`).

Turns what the user passes (arrays, lists of arrays) into lists of numpy arrays, checks that they agree on the
number of samples, splits off validation data, turns `class_weight` into sample weights and cuts epochs into
batches, as tf_keras 2.21's `tf_keras/src/engine/data_adapter.py` does.
"""
from __future__ import annotations

import collections
import concurrent.futures
import itertools
import math
import numbers
import queue
import threading
import warnings
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend
from minikeras.autograd import Tensor
from minikeras.utils import data_utils


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


class NamedArrays(list):
    """The arrays of a dict (`{'input_name': array}`, `{'output_name': targets}`), in the dict's order, remembering
    the keys so that every batch is handed to the model and the losses as a dict again."""

    def __init__(self, keys: Sequence[str], arrays: Sequence[Any]):
        super().__init__(arrays)
        self.keys = list(keys)

    def map(self, fn: Any) -> "NamedArrays":
        return NamedArrays(self.keys, [fn(a) for a in self])


def map_arrays(arrays: Optional[List[Any]], fn: Any) -> Optional[List[Any]]:
    """`fn` applied to every array, keeping dict keys."""
    if arrays is None:
        return None
    return arrays.map(fn) if isinstance(arrays, NamedArrays) else [fn(a) for a in arrays]


def flatten_data(data: Any, name: str) -> Optional[List[np.ndarray]]:
    """None, one array, a list/tuple of arrays or a dict of arrays (several model inputs/outputs) -> None or a list
    of arrays (a `NamedArrays` for a dict)."""
    if data is None:
        return None
    if isinstance(data, dict):
        if not data:
            raise ValueError(f"Expected `{name}` to hold arrays. Received: {name}={{}}")
        return NamedArrays(list(data), [as_array(v, f"{name}['{k}']") for k, v in data.items()])
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
    """The inverse of `flatten_data`: None, one array, a list of arrays or (`NamedArrays`) a dict."""
    if arrays is None:
        return None
    if isinstance(arrays, NamedArrays):
        return dict(zip(arrays.keys, arrays))
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
    train = [map_arrays(a, lambda t: t[:split_at]) for a in arrays]
    val = [map_arrays(a, lambda t: t[split_at:]) for a in arrays]
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
    return unflatten(map_arrays(arrays, lambda a: a[idx]))


# ---------------------------------------------------------------------------------------------------- batch sources
def is_generator_or_sequence(x: Any) -> bool:
    """True for a Python generator/iterator or a `keras.utils.Sequence` (data that comes batch by batch)."""
    return isinstance(x, data_utils.Sequence) or (hasattr(x, "__next__") and hasattr(x, "__iter__"))


def _input_kind(x: Any) -> str:
    return "`keras.utils.Sequence`" if isinstance(x, data_utils.Sequence) else "python generator"


class _ArrayBatches:
    """Arrays cut into batches. With `repeat` (`fit(steps_per_epoch=...)` on arrays), epochs take their batches from
    one endless stream of passes over the data, each pass reshuffled; otherwise an epoch is one pass, cut short at
    `steps` batches."""

    def __init__(self, xs: List[np.ndarray], ys: Optional[List[np.ndarray]], sws: Optional[List[np.ndarray]],
                 batch_size: int, shuffle: Any, steps: Optional[int], repeat: bool):
        self.arrays = (xs, ys, sws)
        self.n = int(xs[0].shape[0])
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps = steps
        self._stream = self._index_stream() if repeat and steps else None

    def _index_stream(self) -> Any:
        while True:
            for idx in batch_indices(self.n, self.batch_size, self.shuffle):
                yield idx

    def size(self) -> int:
        if self._stream is not None:
            return self.steps
        full = int(math.ceil(self.n / self.batch_size))
        return min(self.steps, full) if self.steps else full

    def epoch(self) -> Any:
        # NOTE: the epoch's index lists are drawn up front, at the start of the epoch, so the shuffling draws from
        # `backend.rng()` come before any draw the model makes during the epoch (dropout), run after run.
        if self._stream is not None:
            indices = [next(self._stream) for _ in range(self.steps)]
        else:
            indices = batch_indices(self.n, self.batch_size, self.shuffle)[:self.size()]
        xs, ys, sws = self.arrays
        for idx in indices:
            yield take(xs, idx), take(ys, idx), take(sws, idx)

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        pass


class _SequenceBatches:
    """A `keras.utils.Sequence`: each epoch requests every batch index once, in order or (`shuffle`) in a new
    random order drawn from `backend.rng()`; `workers > 1` threads fetch up to `max_queue_size` batches ahead and
    the batches still come in that order (Keras's `OrderedEnqueuer`)."""

    def __init__(self, sequence: Any, shuffle: Any, workers: int, max_queue_size: int):
        self.sequence = sequence
        self.shuffle = bool(shuffle)
        self.workers = workers
        self.max_queue_size = max_queue_size

    def size(self) -> int:
        return len(self.sequence)

    def epoch(self) -> Any:
        order = list(range(len(self.sequence)))
        if self.shuffle:
            order = [int(i) for i in backend.rng().permutation(len(order))]
        if self.workers <= 1:
            for i in order:
                yield self.sequence[i]
            return
        executor = concurrent.futures.ThreadPoolExecutor(self.workers, thread_name_prefix="minikeras-sequence")
        try:
            indices = iter(order)
            pending = collections.deque(executor.submit(self.sequence.__getitem__, i)
                                        for i in itertools.islice(indices, self.max_queue_size))
            while pending:
                batch = pending.popleft().result()
                for i in itertools.islice(indices, 1):
                    pending.append(executor.submit(self.sequence.__getitem__, i))
                yield batch
        finally:
            executor.shutdown(wait=True, cancel_futures=True)

    def on_epoch_end(self) -> None:
        self.sequence.on_epoch_end()

    def close(self) -> None:
        pass


_END = object()


class _GeneratorBatches:
    """A Python generator (or any iterator): one iterator for the whole of `fit`, each epoch continuing where the
    last one stopped. `workers > 1` reads it in a background thread that keeps up to `max_queue_size` batches
    ready; a generator cannot run in two threads at once, so one thread reads it whatever `workers` says."""

    def __init__(self, generator: Any, prefetch: bool, max_queue_size: int):
        self.iterator = iter(generator)
        self.prefetch = prefetch
        self.max_queue_size = max_queue_size
        self._queue: Optional[queue.Queue] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._exhausted = False

    def size(self) -> None:
        return None

    def _produce(self) -> None:
        def put(item: Any) -> bool:
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            for item in self.iterator:
                if not put(item):
                    return
            put(_END)
        except BaseException as e:  # handed to the training thread, which raises it where the batch was wanted
            put(_Raised(e))

    def _next(self) -> Any:
        if self._exhausted:
            raise StopIteration
        if not self.prefetch:
            try:
                return next(self.iterator)
            except StopIteration:
                self._exhausted = True
                raise
        if self._thread is None:
            self._queue = queue.Queue(self.max_queue_size)
            self._thread = threading.Thread(target=self._produce, name="minikeras-generator", daemon=True)
            self._thread.start()
        item = self._queue.get()
        if item is _END:
            self._exhausted = True
            raise StopIteration
        if isinstance(item, _Raised):
            self._exhausted = True
            raise item.error
        return item

    def epoch(self) -> Any:
        while True:
            try:
                batch = self._next()
            except StopIteration:
                return
            yield batch

    def on_epoch_end(self) -> None:
        pass

    def close(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None


class _Raised:
    def __init__(self, error: BaseException):
        self.error = error


def standardize_batch(data: Any, class_weight: Any = None) -> Tuple[Any, Any, Any]:
    """One batch from a generator or Sequence, `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, as checked
    `(x, y, sample_weight)` (each an array, a list of arrays or None), with `class_weight` folded into the weights."""
    x, y, sw = unpack_x_y_sample_weight(data)
    xs, ys, sws = flatten_data(x, "x"), flatten_data(y, "y"), flatten_data(sw, "sample_weight")
    if xs is None:
        raise ValueError("Expected each batch to hold input data `x`. Received: a batch with x=None")
    check_data_cardinality(xs, ys, sws)
    if class_weight is not None:
        if ys is None:
            raise ValueError("`class_weight` needs targets `y`. Received: a batch with y=None")
        sws = class_weight_to_sample_weight(class_weight, ys, sws)
    return unflatten(xs), unflatten(ys), unflatten(sws)


class DataHandler:
    """The batches of each epoch, from arrays, a generator or a `Sequence` (tf_keras's `DataHandler`).

    `inferred_steps` is the number of batches per epoch: given (`steps_per_epoch`/`steps`), from the data (arrays,
    `len(sequence)`), or, for a generator without `steps`, None until the first epoch has read it to the end. When
    the data runs out before that many batches, a warning says so and `insufficient_data` is set: training stops
    after the epoch, as in Keras.
    """

    def __init__(self, source: Any, steps: Optional[int], class_weight: Any = None):
        self._source = source
        self._class_weight = class_weight
        self.inferred_steps = steps if steps is not None else source.size()
        self.insufficient_data = False
        self._epochs_total: Optional[int] = None

    @classmethod
    def from_arrays(cls, xs: List[np.ndarray], ys: Any, sws: Any, batch_size: int, shuffle: Any = False,
                    steps: Optional[int] = None, repeat: bool = False) -> "DataHandler":
        """Arrays already checked and weighted (`class_weight` folded into `sws`)."""
        return cls(_ArrayBatches(xs, ys, sws, batch_size, shuffle, steps, repeat), steps=None)

    @classmethod
    def from_generator(cls, x: Any, y: Any = None, sample_weight: Any = None, steps: Optional[int] = None,
                       shuffle: Any = False, class_weight: Any = None, max_queue_size: int = 10, workers: int = 1,
                       use_multiprocessing: bool = False) -> "DataHandler":
        """A generator or `Sequence`; `y` and `sample_weight` must come from its batches (errors as tf_keras)."""
        kind = _input_kind(x)
        if y is not None:
            raise ValueError(f"`y` argument is not supported when using {kind} as input.")
        if sample_weight is not None:
            raise ValueError(f"`sample_weight` argument is not supported when using {kind} as input.")
        if use_multiprocessing:
            warnings.warn("minikeras reads batches with threads, not processes: `use_multiprocessing=True` runs "
                          f"the {kind} in {workers} thread(s) of this process. Batches and results are the same.",
                          RuntimeWarning, stacklevel=3)
        if isinstance(x, data_utils.Sequence):
            source: Any = _SequenceBatches(x, shuffle, workers, max_queue_size)
        else:
            source = _GeneratorBatches(x, workers > 1 or use_multiprocessing, max_queue_size)
        return cls(source, steps=steps, class_weight=class_weight)

    def epoch(self) -> Any:
        """The `(x, y, sample_weight)` batches of one epoch."""
        batches = self._source.epoch()
        count = 0
        try:
            while self.inferred_steps is None or count < self.inferred_steps:
                try:
                    data = next(batches)
                except StopIteration:
                    if self.inferred_steps is None:
                        self.inferred_steps = count
                    else:
                        self._ran_out()
                    return
                count += 1
                # arrays were checked, and weighted by `class_weight`, as a whole
                yield data if isinstance(self._source, _ArrayBatches) else standardize_batch(data, self._class_weight)
        finally:
            batches.close()

    def _ran_out(self) -> None:
        self.insufficient_data = True
        total = ("" if self._epochs_total is None
                 else f" (in this case, {self._epochs_total * self.inferred_steps} batches)")
        warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or generator can "
                      f"generate at least `steps_per_epoch * epochs` batches{total}.", RuntimeWarning, stacklevel=4)

    def enumerate_epochs(self, initial_epoch: int, epochs: int) -> Any:
        """`(epoch, batches)` for each epoch; the Sequence's `on_epoch_end` runs after each epoch."""
        self._epochs_total = epochs - initial_epoch
        try:
            for epoch in range(initial_epoch, epochs):
                if self.insufficient_data:
                    break
                yield epoch, self.epoch()
                self._source.on_epoch_end()
        finally:
            self.close()

    def on_epoch_end(self) -> None:
        self._source.on_epoch_end()

    def close(self) -> None:
        """Stop any background reader."""
        self._source.close()
