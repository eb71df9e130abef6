"""Embedding (Keras 2's `keras.layers.embeddings`)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from minikeras import constraints, initializers, regularizers
from minikeras.autograd import Tensor, ops
from minikeras.engine.base_layer import Layer, _same_maths
from minikeras.legacy import interfaces
from minikeras.layers.core import _is_int, _pop_keras3_no_ops, _shape_tuple

__all__ = ["Embedding"]

Shape = Tuple[Optional[int], ...]


class Embedding(Layer):
    """Turns non-negative integers (indexes) into dense vectors of fixed size.

    e.g. `[[4], [20]] -> [[0.25, 0.1], [0.6, -0.2]]`. The lookup is a gather (`ops.take`) whose gradient
    scatter-adds into the rows that were used (a row used twice gets both gradients).

    Args:
        input_dim: size of the vocabulary, i.e. maximum integer index + 1.
        output_dim: dimension of the dense embedding.
        embeddings_initializer: initializer of the `embeddings` matrix (default `'uniform'`:
            `RandomUniform(-0.05, 0.05)`).
        embeddings_regularizer: regularizer of the `embeddings` matrix (default None).
        activity_regularizer: regularizer of the output (default None).
        embeddings_constraint: constraint of the `embeddings` matrix (default None).
        mask_zero: whether index 0 is padding: the layer then outputs the Keras mask `inputs != 0`, which
            recurrent layers use to skip those steps (so index 0 cannot be a word: `input_dim` = vocabulary + 1).
        input_length: length of the input sequences when constant. As in tf_keras, it sets the layer's
            `batch_input_shape` to `(None, input_length)` (`(None, None)` without it), and it is required to
            connect `Flatten` then `Dense` after the embedding. Keras 3 dropped it; minikeras accepts both.
        sparse: tf_keras's SparseTensor output; only False is supported.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: integer array of indices in `[0, input_dim)`. Float arrays are accepted when they hold whole
            numbers (cast as tf_keras does); other values, and indices out of range, raise ValueError.

    Input shape:
        `(batch_size, input_length)` (any rank).

    Output shape:
        `(batch_size, input_length, output_dim)`.

    Attributes:
        embeddings: weight of shape `(input_dim, output_dim)`.

    >>> import numpy as np
    >>> layer = Embedding(1000, 64, input_length=10, mask_zero=True)
    >>> y = layer(np.array([[4, 20, 0, 0, 0, 0, 0, 0, 0, 0]]))
    >>> y.shape
    (1, 10, 64)
    >>> y._keras_mask[0, :3].tolist()
    [True, True, False]
    """

    supports_streaming = True  # each timestep on its own: minikeras.streaming can run it

    @interfaces.legacy_embedding_support
    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, activity_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False, input_length: Any = None,
                 sparse: bool = False, **kwargs: Any):
        _pop_keras3_no_ops(kwargs, "Embedding")
        if not (_is_int(input_dim) and _is_int(output_dim)) or input_dim <= 0 or output_dim <= 0:
            raise ValueError("Both `input_dim` and `output_dim` should be positive integers. "
                             f"Received: input_dim={input_dim!r}, output_dim={output_dim!r}")
        if input_length is not None:
            lengths = input_length if isinstance(input_length, (list, tuple)) else [input_length]
            if not lengths or any(l is not None and (not _is_int(l) or l <= 0) for l in lengths):
                raise ValueError("Invalid `input_length`, expected a positive integer (or a tuple of them for inputs "
                                 f"of rank > 2) or None. Received: input_length={input_length!r}")
            input_length = (tuple(None if l is None else int(l) for l in input_length)
                            if isinstance(input_length, (list, tuple)) else int(input_length))
        if sparse:
            raise NotImplementedError("Sparse embedding outputs (`sparse=True`, a sparse tensor) are not supported "
                                      "by minikeras. Received: sparse=True")
        if "input_shape" not in kwargs and "batch_input_shape" not in kwargs:
            # NOTE: tf_keras always declares an input shape for Embedding (the time axis may be unknown)
            if isinstance(input_length, tuple):
                kwargs["input_shape"] = input_length
            else:
                kwargs["input_shape"] = (input_length,)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not np.issubdtype(np.dtype(self.dtype), np.floating):
            raise TypeError("The `dtype` of an Embedding is the dtype of its weights and output, expected a float "
                            f"dtype. Received: dtype={self.dtype}")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = input_length

    def build(self, input_shape: Any = None) -> None:
        self.embeddings = self.add_weight(name="embeddings", shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint, dtype=self.dtype)
        self.built = True

    def _convert_input(self, x: Any) -> Any:
        # NOTE: no autocast to the float dtype (tf_keras sets autocast=False): indices stay integers, and float
        # indices are checked on their exact values in `call`.
        if isinstance(x, Tensor) or x is None:
            return x
        if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
            return type(x)(self._convert_input(v) for v in x)
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"Embedding layer '{self.name}' expects integer indices, expected a numeric array. "
                            f"Received: an array of dtype {arr.dtype}")
        return Tensor._wrap(arr, False)

    def _indices(self, inputs: Any) -> np.ndarray:
        """The integer index array of `inputs`, validated against `input_dim`."""
        data = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs)
        kind = data.dtype.kind
        if kind == "b":
            data = data.astype(np.int64)
        elif kind == "f":
            finite = np.isfinite(data)
            whole = finite & (data == np.round(np.where(finite, data, 0)))
            if not np.all(whole):
                pos = tuple(int(i) for i in np.argwhere(~whole)[0])
                raise ValueError(f"Embedding layer '{self.name}' expects integer indices, expected whole numbers in a "
                                 f"float input. Received: value {data[pos]!r} at position {pos}")
            data = data.astype(np.int64)
        elif kind not in "iu":
            raise TypeError(f"Embedding layer '{self.name}' expects integer indices. Received: inputs of dtype "
                            f"{data.dtype}")
        if data.size:
            bad = (data < 0) | (data >= self.input_dim)
            if np.any(bad):
                pos = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ValueError(f"Embedding layer '{self.name}' received an index out of range: expected indices "
                                 f"in [0, {self.input_dim}) (input_dim={self.input_dim}). Received: index "
                                 f"{int(data[pos])} at position {pos}")
        return data

    def _pure_for_inference(self) -> bool:
        return _same_maths(self, Embedding) and not self.mask_zero  # mask_zero: the output carries a Keras mask

    def call(self, inputs: Tensor) -> Tensor:
        return ops.take(self.embeddings, self._indices(inputs), axis=0)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Optional[np.ndarray]:
        if not self.mask_zero:
            return None
        data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return np.not_equal(data, 0)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape_tuple(input_shape)
        if self.input_length is None:
            return input_shape + (self.output_dim,)
        in_lens = list(self.input_length) if isinstance(self.input_length, tuple) else [self.input_length]
        if len(in_lens) != len(input_shape) - 1:
            raise ValueError(f'"input_length" is {self.input_length}, but received input has shape {input_shape}')
        for i, (s1, s2) in enumerate(zip(in_lens, input_shape[1:])):
            if s1 is not None and s2 is not None and s1 != s2:
                raise ValueError(f'"input_length" is {self.input_length}, but received input has shape '
                                 f"{input_shape}")
            if s1 is None:
                in_lens[i] = s2
        return (input_shape[0],) + tuple(in_lens) + (self.output_dim,)

    def get_config(self) -> Dict[str, Any]:
        config = {
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "input_length": list(self.input_length) if isinstance(self.input_length, tuple) else self.input_length,
        }
        return {**super().get_config(), **config}
