"""Sequence preprocessing (Keras 2's `keras.preprocessing.sequence`): `pad_sequences`, `make_sampling_table`,
`skipgrams`, `TimeseriesGenerator`.

Behaviour follows tf_keras 2.21 (`tf_keras/src/utils/data_utils.py` `pad_sequences`,
`tf_keras/src/preprocessing/sequence.py`), including its numpy casts: float values padded with the default
`dtype='int32'` are truncated toward zero, and `dtype=str` gives one-character strings (`np.full(..., dtype=str)` is
`<U1`). Pass `dtype=object` for variable-length strings.
"""
from __future__ import annotations

import json
import random
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"]


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def pad_sequences(sequences: Sequence[Sequence[Any]], maxlen: Optional[int] = None, dtype: Any = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pads sequences to the same length.

    Transforms a list (of length `num_samples`) of sequences (lists of integers) into a 2D numpy array of shape
    `(num_samples, num_timesteps)`, where `num_timesteps` is `maxlen` if given, else the length of the longest
    sequence. Shorter sequences are padded with `value`; longer ones are truncated. Sequences whose items are
    arrays give `(num_samples, num_timesteps) + item_shape`.

    Args:
        sequences: list of sequences (each a list of integers, or of equally shaped arrays).
        maxlen: optional int, maximum length of all sequences (default: the longest sequence).
        dtype: type of the output (default `"int32"`: float values are truncated toward zero, as numpy casts).
            Use `object` for variable-length strings (`str` gives fixed one-character strings).
        padding: `"pre"` (default) or `"post"`: pad before or after each sequence.
        truncating: `"pre"` (default) or `"post"`: remove values from the beginning or the end of sequences longer
            than `maxlen`.
        value: float or string, the padding value (default 0.0).

    Returns:
        A numpy array of shape `(len(sequences), maxlen)`.

    Raises:
        ValueError: for invalid `padding`, `truncating` or `maxlen`, a string `value` with a non-string `dtype`,
            items that are not sequences, sequences whose items have different shapes, or values that `dtype`
            cannot hold.

    >>> sequence = [[1], [2, 3], [4, 5, 6]]
    >>> pad_sequences(sequence)
    array([[0, 0, 1],
           [0, 2, 3],
           [4, 5, 6]], dtype=int32)
    >>> pad_sequences(sequence, value=-1)
    array([[-1, -1,  1],
           [-1,  2,  3],
           [ 4,  5,  6]], dtype=int32)
    >>> pad_sequences(sequence, padding='post')
    array([[1, 0, 0],
           [2, 3, 0],
           [4, 5, 6]], dtype=int32)
    >>> pad_sequences(sequence, maxlen=2)
    array([[0, 1],
           [2, 3],
           [5, 6]], dtype=int32)
    >>> pad_sequences([['a', 'bc'], ['def']], dtype=object, value='')
    array([['a', 'bc'],
           ['', 'def']], dtype=object)
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable and sized: a list of sequences or an array (convert "
                         f"generators with `list(...)`). Received: sequences={_short(sequences)}")
    # NOTE: Keras raises these only when it meets a non-empty sequence; checking first fails the same way always.
    if truncating not in ("pre", "post"):
        raise ValueError(f'Truncating type "{truncating}" not understood: expected "pre" or "post". '
                         f"Received: truncating={truncating!r}")
    if padding not in ("pre", "post"):
        raise ValueError(f'Padding type "{padding}" not understood: expected "pre" or "post". '
                         f"Received: padding={padding!r}")
    if maxlen is not None and (not _is_int(maxlen) or maxlen < 0):
        raise ValueError("Received an invalid value for argument `maxlen`, expected a non-negative integer or None. "
                         f"Received: maxlen={maxlen!r}")
    num_samples = len(sequences)

    lengths = []
    sample_shape: Tuple[int, ...] = ()
    flag = True
    # The sample shape comes from the first non-empty sequence; the main loop checks the others against it.
    for idx, x in enumerate(sequences):
        try:
            lengths.append(len(x))
        except TypeError as e:
            raise ValueError("`sequences` must be a list of iterables. "
                             f"Found non-iterable: {x!s} at position {idx}. Received: sequences[{idx}]={_short(x)}"
                             ) from e
        if flag and len(x):
            try:
                sample_shape = np.asarray(x).shape[1:]
            except ValueError as e:
                raise ValueError(f"The items of the sequence at position {idx} have different shapes; each "
                                 "sequence must be a list of numbers or of equally shaped arrays. "
                                 f"Received: sequences[{idx}]={_short(x)}") from e
            flag = False

    if maxlen is None:
        # NOTE: Keras fails on np.max([]) for an empty list; an empty batch pads to shape (0, 0).
        maxlen = int(np.max(lengths)) if lengths else 0

    is_dtype_str = np.issubdtype(dtype, np.str_)
    if isinstance(value, str) and dtype != object and not is_dtype_str:
        raise ValueError(f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
                         "You should set `dtype=object` for variable length strings. "
                         f"Received: dtype={dtype!r}, value={value!r}")

    x = np.full((num_samples, maxlen) + sample_shape, value, dtype=dtype)
    for idx, s in enumerate(sequences):
        if not len(s):
            continue  # empty list/array
        # NOTE: `s[-0:]` is the whole sequence, which Keras then fails to fit into 0 columns; maxlen=0 gives (n, 0).
        if maxlen == 0:
            continue
        trunc = s[-maxlen:] if truncating == "pre" else s[:maxlen]

        try:
            trunc = np.asarray(trunc, dtype=dtype)
        except (TypeError, ValueError) as e:  # numpy's message names the value, not the sequence
            cls = TypeError if isinstance(e, TypeError) else ValueError
            raise cls(f"Could not convert the sequence at position {idx} to dtype {np.dtype(dtype).name}: {e}. "
                          "Sequences of strings need `dtype=object` (and a string `value`). "
                          f"Received: sequences[{idx}]={_short(s)}") from e
        if trunc.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {trunc.shape[1:]} of sequence at position {idx} is different from "
                             f"expected shape {sample_shape}")
        if padding == "post":
            x[idx, :len(trunc)] = trunc
        else:
            x[idx, -len(trunc):] = trunc
    return x


def make_sampling_table(size: int, sampling_factor: float = 1e-5) -> np.ndarray:
    """Generates a word rank-based probabilistic sampling table (for `skipgrams`).

    `sampling_table[i]` is the probability of sampling the i-th most common word, from word2vec's
    `p(word) = min(1, sqrt(frequency / sampling_factor) / (frequency / sampling_factor))`, with Zipf frequencies
    `frequency(rank) ~ 1 / (rank * (log(rank) + gamma) + 1/2 - 1/(12 * rank))` (gamma = 0.577).

    Args:
        size: int, number of possible words to sample.
        sampling_factor: the sampling factor in the word2vec formula (default 1e-5).

    Returns:
        A 1D numpy array of length `size`; entry i is the probability that a word of rank i is sampled.

    >>> make_sampling_table(5).round(5)
    array([0.00315, 0.00315, 0.00548, 0.00742, 0.00913])
    """
    if not _is_int(size) or size < 1:
        raise ValueError(f"Received an invalid value for argument `size`, expected a positive integer. "
                         f"Received: size={size!r}")
    gamma = 0.577
    rank = np.arange(size)
    rank[0] = 1
    inv_fq = rank * (np.log(rank) + gamma) + 0.5 - 1.0 / (12.0 * rank)
    f = sampling_factor * inv_fq
    return np.minimum(1.0, f / np.sqrt(f))


def skipgrams(sequence: Sequence[int], vocabulary_size: int, window_size: int = 4, negative_samples: float = 1.0,
              shuffle: bool = True, categorical: bool = False, sampling_table: Optional[np.ndarray] = None,
              seed: Optional[int] = None) -> Tuple[List[List[int]], List[Any]]:
    """Generates skipgram word pairs.

    Turns a sequence of word indices into pairs `(word, word in the same window)` with label 1 and
    `(word, random word from the vocabulary)` with label 0 (negative samples). Index 0 is a non-word and skipped.
    Random draws use Python's `random` module, as Keras does, so `random.seed(...)` makes them reproducible.

    Args:
        sequence: a word sequence (list of integer word indices). With a `sampling_table`, index i should be the
            i-th most frequent word.
        vocabulary_size: int, maximum possible word index + 1.
        window_size: int, half-size of the sampling window (default 4).
        negative_samples: float >= 0, number of negative samples per positive one (default 1.0).
        shuffle: whether to shuffle the couples before returning them (default True).
        categorical: if True, labels are `[0, 1]` / `[1, 0]` instead of `1` / `0`.
        sampling_table: optional 1D array where entry i is the probability of keeping a word of rank i.
        seed: random seed of the shuffle.

    Returns:
        `(couples, labels)`: lists of `[word, context]` pairs and their labels.

    >>> couples, labels = skipgrams([1, 2, 3], vocabulary_size=4, window_size=1, negative_samples=0.0, shuffle=False)
    >>> couples, labels
    ([[1, 2], [2, 1], [2, 3], [3, 2]], [1, 1, 1, 1])
    """
    couples: List[List[int]] = []
    labels: List[Any] = []
    for i, wi in enumerate(sequence):
        if not wi:
            continue
        if sampling_table is not None:
            if sampling_table[wi] < random.random():
                continue
        window_start = max(0, i - window_size)
        window_end = min(len(sequence), i + window_size + 1)
        for j in range(window_start, window_end):
            if j != i:
                wj = sequence[j]
                if not wj:
                    continue
                couples.append([wi, wj])
                labels.append([0, 1] if categorical else 1)

    if negative_samples > 0:
        num_negative_samples = int(len(labels) * negative_samples)
        words = [c[0] for c in couples]
        random.shuffle(words)
        couples += [[words[i % len(words)], random.randint(1, int(vocabulary_size - 1))]
                    for i in range(num_negative_samples)]
        if categorical:
            labels += [[1, 0]] * num_negative_samples
        else:
            labels += [0] * num_negative_samples

    if shuffle:
        if seed is None:
            seed = random.randint(0, int(10e6))
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)
        random.shuffle(labels)
    return couples, labels


class TimeseriesGenerator:
    """Utility class for generating batches of temporal data (Keras 2's `TimeseriesGenerator`).

    Takes data points gathered at equal intervals, plus time series parameters (stride, length of history, ...),
    and yields batches `(samples, targets)` for training or evaluation. Sample `k` of a batch ends just before row
    `r` and holds `data[r - length:r:sampling_rate]`; its target is `targets[r]`.

    Args:
        data: indexable (list or numpy array) of consecutive data points; axis 0 is time.
        targets: targets corresponding to the timesteps in `data`, same length as `data`.
        length: length of the output sequences (in number of timesteps).
        sampling_rate: period between successive timesteps within a sequence (default 1).
        stride: period between successive output sequences (default 1).
        start_index: data points before `start_index` are not used (default 0).
        end_index: data points after `end_index` are not used (default: the last one).
        shuffle: whether to draw the samples at random (`np.random.randint`) instead of in order (default False).
        reverse: if True, timesteps of each sample are in reverse chronological order (default False).
        batch_size: number of samples per batch, except maybe the last one (default 128).

    >>> import numpy as np
    >>> data = np.array([[i] for i in range(50)])
    >>> gen = TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
    >>> len(gen)
    20
    >>> x, y = gen[0]
    >>> x[:, :, 0].tolist(), y.tolist()
    ([[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]], [[10], [11]])
    """

    def __init__(self, data: Any, targets: Any, length: int, sampling_rate: int = 1, stride: int = 1,
                 start_index: int = 0, end_index: Optional[int] = None, shuffle: bool = False, reverse: bool = False,
                 batch_size: int = 128):
        if len(data) != len(targets):
            raise ValueError("Data and targets have to be of same length. "
                             f"Data length is {len(data)} while target length is {len(targets)}")
        for name, val in (("length", length), ("sampling_rate", sampling_rate), ("stride", stride),
                          ("batch_size", batch_size)):
            if not _is_int(val) or val < 1:
                raise ValueError(f"Received an invalid value for argument `{name}`, expected a positive integer. "
                                 f"Received: {name}={val!r}")
        self.data = data
        self.targets = targets
        self.length = length
        self.sampling_rate = sampling_rate
        self.stride = stride
        self.start_index = start_index + length
        if end_index is None:
            end_index = len(data) - 1
        self.end_index = end_index
        self.shuffle = shuffle
        self.reverse = reverse
        self.batch_size = batch_size
        if self.start_index > self.end_index:
            raise ValueError(f"`start_index+length={self.start_index} > end_index={self.end_index}` is disallowed, "
                             "as no part of the sequence would be left to be used as current step.")

    def __len__(self) -> int:
        return (self.end_index - self.start_index + self.batch_size * self.stride) // (self.batch_size * self.stride)

    def __getitem__(self, index: int) -> Tuple[np.ndarray, np.ndarray]:
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            i = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(i, min(i + self.batch_size * self.stride, self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def __iter__(self):
        """Yields the batches in order, as Keras's `utils.Sequence` does."""
        for i in range(len(self)):
            yield self[i]

    def on_epoch_end(self) -> None:
        """Called at the end of each epoch (nothing to do; kept for the `Sequence` interface)."""

    def get_config(self) -> dict:
        """Returns the generator configuration, with `data` and `targets` as JSON strings (as Keras does).

        >>> TimeseriesGenerator([1, 2, 3], [1, 2, 3], length=1).get_config()['data']
        '[1, 2, 3]'
        """
        def dumps(values: Any, what: str) -> str:
            if type(values).__module__ == np.__name__:
                values = values.tolist()
            try:
                return json.dumps(values)
            except TypeError as e:
                raise TypeError(f"{what} not JSON Serializable: expected lists or numpy arrays of numbers. "
                                f"Received: {what.lower()}={_short(values)}") from e

        return {"data": dumps(self.data, "Data"), "targets": dumps(self.targets, "Targets"), "length": self.length,
                "sampling_rate": self.sampling_rate, "stride": self.stride, "start_index": self.start_index,
                "end_index": self.end_index, "shuffle": self.shuffle, "reverse": self.reverse,
                "batch_size": self.batch_size}

    def to_json(self, **kwargs: Any) -> str:
        """Returns a JSON string `{"class_name": "TimeseriesGenerator", "config": get_config()}`.

        Args:
            **kwargs: passed to `json.dumps()`.
        """
        return json.dumps({"class_name": self.__class__.__name__, "config": self.get_config()}, **kwargs)
