"""Dense, Activation, Dropout, Flatten, Masking, RepeatVector, Reshape, Permute, Lambda, ActivityRegularization
(Keras 2's `keras.layers.core`).

Every layer takes Keras 2's arguments with Keras's meaning and writes tf_keras 2.21's `get_config` keys, in
tf_keras's order. Layers that keep the time axis pass a Keras mask through (`supports_masking`); layers that
reshape drop it, as tf_keras does.
"""
from __future__ import annotations

import inspect
import numbers
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from minikeras import activations, backend, constraints, initializers, regularizers
from minikeras.autograd import Tensor, ops
from minikeras.engine.base_layer import InputSpec, Layer, _same_maths
from minikeras.legacy import interfaces

__all__ = ["Dense", "Activation", "Dropout", "SpatialDropout1D", "Flatten", "Masking", "RepeatVector", "Reshape",
           "Permute", "Lambda", "ActivityRegularization"]

Shape = Tuple[Optional[int], ...]

# Keras 3 layer keys that carry no behaviour at their default value (accepted, never written back).
_KERAS3_NO_OPS = {"lora_rank": None, "lora_alpha": None, "quantization_config": None}


def _pop_keras3_no_ops(kwargs: Dict[str, Any], cls_name: str) -> None:
    """Accept Keras 3's LoRA / quantization keys at their defaults; refuse them otherwise (C6)."""
    for key, default in _KERAS3_NO_OPS.items():
        if key in kwargs:
            value = kwargs.pop(key)
            if value != default:
                raise NotImplementedError(f"Keras 3's `{key}` (LoRA / quantization) is not implemented in minikeras's "
                                          f"{cls_name}. Received: {key}={value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _positive_int(value: Any, arg: str) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"Received an invalid value for `{arg}`, expected a positive integer. "
                         f"Received: {arg}={value!r}")
    return int(value)


def _shape_tuple(shape: Any) -> Shape:
    return tuple(None if d is None else int(d) for d in shape)


# ************************************************************ Dense


class Dense(Layer):
    """Just your regular densely-connected NN layer.

    `Dense` implements `output = activation(dot(input, kernel) + bias)`. For an input of rank > 2 the product is
    taken along the last axis of the input (Keras's `tensordot` semantics): `(batch, d0, d1)` becomes
    `(batch, d0, units)` with a kernel of shape `(d1, units)` shared by every `(batch, d0)` position.

    Args:
        units: positive integer, dimensionality of the output space.
        activation: activation function or name (default None: linear, `a(x) = x`).
        use_bias: whether the layer uses a bias vector (default True).
        kernel_initializer: initializer of the `kernel` matrix (default `'glorot_uniform'`).
        bias_initializer: initializer of the bias vector (default `'zeros'`).
        kernel_regularizer, bias_regularizer: regularizers of the kernel / bias (default None).
        activity_regularizer: regularizer of the layer's output (default None).
        kernel_constraint, bias_constraint: constraints applied after each optimizer update (default None).
        **kwargs: base layer arguments (`name`, `trainable`, `dtype`, `input_dim`, `input_shape`,
            `batch_input_shape`, `batch_size`, `weights`).

    Call arguments:
        inputs: float tensor of rank >= 2. Integer inputs are cast to the layer dtype, as tf_keras does.

    Input shape:
        `(batch_size, ..., input_dim)`.

    Output shape:
        `(batch_size, ..., units)`. A Keras mask on the input is passed through unchanged.

    Attributes:
        kernel: weight of shape `(input_dim, units)` (Keras's layout, never torch's transposed one).
        bias: weight of shape `(units,)`, or None when `use_bias=False`.

    >>> import numpy as np
    >>> layer = Dense(3, activation="relu")
    >>> layer(np.ones((2, 5, 4))).shape
    (2, 5, 3)
    >>> [w.shape for w in layer.weights]
    [(4, 3), (3,)]
    """

    supports_streaming = True  # each timestep on its own: minikeras.streaming can run it

    @interfaces.legacy_dense_support
    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        _pop_keras3_no_ops(kwargs, "Dense")
        self.units = _positive_int(units, "units")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not np.issubdtype(np.dtype(self.dtype), np.floating):
            raise TypeError("A Dense layer can only be built with a floating-point dtype. "
                            f"Received: dtype={self.dtype}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True

    def build(self, input_shape: Shape) -> None:
        input_shape = _shape_tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected min_ndim=2, "
                             f"found ndim={len(input_shape)}. Full shape received: {input_shape}")
        last_dim = input_shape[-1]
        if last_dim is None:
            raise ValueError(_unknown_last_dim_message("inputs to a Dense layer", input_shape))
        self.input_spec = InputSpec(min_ndim=2, axes={-1: last_dim})
        self.kernel = self.add_weight(name="kernel", shape=(last_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
                                      dtype=self.dtype, trainable=True)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        dtype=self.dtype, trainable=True)
        else:
            self.bias = None
        self.built = True

    def _pure_for_inference(self) -> bool:
        return _same_maths(self, Dense)

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.dtype != np.dtype(self.dtype):
            inputs = ops.cast(inputs, self.dtype)
        # NOTE: matmul of an N-D input with the 2-D kernel is Keras's tensordot over the last axis; its backward folds
        # the leading axes into one GEMM for the kernel gradient.
        outputs = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape_tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected min_ndim=2, "
                             f"found ndim={len(input_shape)}. Full shape received: {input_shape}")
        if input_shape[-1] is None:
            raise ValueError(_unknown_last_dim_message("input shape of a Dense layer", input_shape))
        return input_shape[:-1] + (self.units,)

    def get_config(self) -> Dict[str, Any]:
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }
        return {**super().get_config(), **config}


def _unknown_last_dim_message(what: str, shape: Shape) -> str:
    return (f"The last dimension of the {what} should be defined. Found None. Full input shape received: {shape}. "
            "This happens after a Flatten layer whose input has an unknown axis (for example the time axis of an "
            "Embedding without `input_length`, or of an LSTM built with `input_shape=(None, features)`): declare "
            "the sequence length (`input_length=` on the first layer, or `input_shape=(timesteps, features)`).")


# ************************************************************ Activation


class Activation(Layer):
    """Applies an activation function to an output.

    Args:
        activation: activation function, or the name of a built-in one such as `'relu'`.
        **kwargs: base layer arguments.

    Input shape:
        Arbitrary.

    Output shape:
        Same shape as input. A Keras mask is passed through.

    >>> import numpy as np
    >>> Activation("relu")(np.array([-3.0, -1.0, 0.0, 2.0])).numpy().tolist()
    [0.0, 0.0, 0.0, 2.0]
    """

    supports_streaming = True  # each timestep on its own: minikeras.streaming can run it

    def __init__(self, activation: Any, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def _pure_for_inference(self) -> bool:
        return _same_maths(self, Activation)

    def call(self, inputs: Tensor) -> Tensor:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return _shape_tuple(input_shape)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


# ************************************************************ Dropout


class Dropout(Layer):
    """Applies Dropout to the input.

    When called with `training=True`, sets each input unit to 0 with probability `rate` and scales the kept units
    by `1 / (1 - rate)` (inverted dropout), so the expected sum is unchanged. In inference (the default, and in
    `predict`/`evaluate`) the layer is the identity.

    Args:
        rate: float in [0, 1), the fraction of the input units to drop.
        noise_shape: optional shape of the binary dropout mask, broadcast against the input; `None` entries take
            the input's size. E.g. `(batch_size, 1, features)` drops the same features at every timestep.
        seed: optional integer; the layer then draws from its own generator seeded with it (reproducible),
            otherwise from `minikeras.backend.rng()` (seeded by `backend.set_random_seed`).
        **kwargs: base layer arguments.

    Call arguments:
        inputs: tensor of any rank.
        training: whether to drop units (True) or pass the input through (False/None).

    Output shape:
        Same shape as input. A Keras mask is passed through.

    >>> import numpy as np
    >>> layer = Dropout(0.5, seed=0)
    >>> layer(np.ones((2, 3))).numpy().tolist()
    [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    >>> sorted(set(layer(np.ones((100,)), training=True).numpy().tolist()))
    [0.0, 2.0]
    """

    supports_streaming = True  # each timestep on its own: minikeras.streaming can run it

    @interfaces.legacy_dropout_support
    def __init__(self, rate: float, noise_shape: Optional[Sequence[Optional[int]]] = None,
                 seed: Optional[int] = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(rate, numbers.Real) or isinstance(rate, (bool, np.bool_)):
            raise TypeError(f"Invalid value {rate!r} received for `rate`, expected a float between 0 and 1. "
                            f"Received: rate={rate!r}")
        if not 0 <= rate < 1:
            raise ValueError(f"Invalid value {rate} received for `rate`, expected a value between 0 and 1 "
                             f"(1 excluded: no unit would be kept). Received: rate={rate}")
        if noise_shape is not None:
            if isinstance(noise_shape, (str, bytes)) or not isinstance(noise_shape, (list, tuple)):
                raise TypeError("Invalid `noise_shape`, expected a tuple of integers (or None entries). "
                                f"Received: noise_shape={noise_shape!r}")
            for d in noise_shape:
                if d is not None and (not _is_int(d) or d < 1):
                    raise ValueError("Invalid `noise_shape`, expected positive integers or None entries. "
                                     f"Received: noise_shape={noise_shape!r}")
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        if seed is not None and (not _is_int(seed) or seed < 0):
            raise ValueError(f"Invalid `seed`, expected a non-negative integer or None. Received: seed={seed!r}")
        self.rate = rate
        self.noise_shape = noise_shape
        self.seed = None if seed is None else int(seed)
        self.supports_masking = True
        self._generator = np.random.default_rng(self.seed) if self.seed is not None else None

    def _get_noise_shape(self, inputs: Tensor) -> Tuple[int, ...]:
        if self.noise_shape is None:
            return tuple(inputs.shape)
        if len(self.noise_shape) != inputs.ndim:
            raise ValueError(f"Layer '{self.name}': `noise_shape` must have one entry per input axis, expected "
                             f"{inputs.ndim} entries. Received: noise_shape={self.noise_shape}, input shape "
                             f"{tuple(inputs.shape)}")
        shape = tuple(size if d is None else d for d, size in zip(self.noise_shape, inputs.shape))
        for d, size in zip(shape, inputs.shape):
            if d != 1 and d != size:
                raise ValueError(f"Layer '{self.name}': `noise_shape` must broadcast to the input shape (each entry "
                                 f"1 or the input's size). Received: noise_shape={self.noise_shape}, input shape "
                                 f"{tuple(inputs.shape)}")
        return shape

    def _pure_for_inference(self) -> bool:
        return _same_maths(self, Dropout)

    def call(self, inputs: Tensor, training: Optional[bool] = None) -> Tensor:
        if not training or self.rate == 0:
            return inputs
        gen = self._generator if self._generator is not None else backend.rng()
        keep = gen.random(self._get_noise_shape(inputs)) >= self.rate
        # NOTE: TF's dropout: x * (uniform >= rate) / (1 - rate); the scale is folded into the mask.
        scale = np.where(keep, 1.0 / (1.0 - self.rate), 0.0).astype(inputs.dtype)
        return inputs * scale

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return _shape_tuple(input_shape)

    def get_config(self) -> Dict[str, Any]:
        config = {"rate": self.rate, "noise_shape": self.noise_shape, "seed": self.seed}
        return {**super().get_config(), **config}


# ************************************************************ SpatialDropout1D


class SpatialDropout1D(Dropout):
    """Spatial 1D version of Dropout: drops entire 1D feature maps instead of individual elements.

    In training, each channel of each sample is dropped at every timestep at once (noise shape
    `(batch_size, 1, channels)`), and kept channels are scaled by `1 / (1 - rate)`. If adjacent frames within
    feature maps are strongly correlated (as is normally the case in early convolution layers) then regular dropout
    will not regularize the activations and will otherwise just result in an effective learning rate decrease.
    In inference the layer is the identity.

    Args:
        rate: float in [0, 1), the fraction of the input channels to drop.
        **kwargs: base layer arguments; `seed` (and `noise_shape`, which tf_keras writes in the config and then
            ignores) as for `Dropout`. Keras 1's `p` is converted with Keras 2.0's warning.

    Call arguments:
        inputs: a 3D tensor.
        training: whether to drop channels (True) or pass the input through (False/None).

    Input shape:
        3D tensor `(samples, timesteps, channels)`.

    Output shape:
        Same as input. A Keras mask is passed through.

    >>> import numpy as np
    >>> y = SpatialDropout1D(0.5, seed=1)(np.ones((2, 4, 3)), training=True).numpy()
    >>> bool(np.all(y == y[:, :1, :]))  # the same channels are dropped at every timestep
    True
    """

    @interfaces.legacy_spatialdropout1d_support
    def __init__(self, rate: float, **kwargs: Any):
        super().__init__(rate, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def _get_noise_shape(self, inputs: Tensor) -> Tuple[int, ...]:
        # NOTE: tf_keras ignores a `noise_shape` argument here; one mask entry per (sample, channel).
        return (inputs.shape[0], 1, inputs.shape[2])


# ************************************************************ Flatten


def _normalize_data_format(value: Any) -> str:
    if value is None:
        return backend.image_data_format()
    data_format = value.lower() if isinstance(value, str) else value
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError('The `data_format` argument must be one of "channels_first", "channels_last". '
                         f"Received: data_format={value!r}")
    return data_format


class Flatten(Layer):
    """Flattens the input. Does not affect the batch size.

    Inputs shaped `(batch,)` without a feature axis become `(batch, 1)`.

    Note: the flattened size is known only when every non-batch axis is. After an LSTM with
    `return_sequences=True` (or an Embedding), declare the sequence length (`input_length=` / a full
    `input_shape`) when a Dense layer follows Flatten; otherwise the Dense layer cannot be built and says so.

    Args:
        data_format: `'channels_last'` (default, `(batch, ..., channels)`) or `'channels_first'`
            (`(batch, channels, ...)`, moved to channels-last before flattening, as Keras does).
        **kwargs: base layer arguments.

    Input shape:
        `(batch_size, ...)`.

    Output shape:
        `(batch_size, prod(non-batch dims))`. Masks are not propagated.

    >>> import numpy as np
    >>> Flatten()(np.zeros((2, 5, 6))).shape
    (2, 30)
    """

    def __init__(self, data_format: Optional[str] = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.data_format = _normalize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def _pure_for_inference(self) -> bool:
        return _same_maths(self, Flatten)

    def call(self, inputs: Tensor) -> Tensor:
        if self.data_format == "channels_first" and inputs.ndim > 1:
            inputs = ops.transpose(inputs, (0,) + tuple(range(2, inputs.ndim)) + (1,))
        size = int(np.prod(inputs.shape[1:], dtype=np.int64))  # NOTE: explicit size, so a batch of 0 reshapes too
        return inputs.reshape((inputs.shape[0], size))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape_tuple(input_shape)
        if not input_shape:
            return (1,)
        rest = input_shape[1:]
        if all(d is not None for d in rest):
            return (input_shape[0], int(np.prod(rest, dtype=np.int64)))
        return (input_shape[0], None)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


# ************************************************************ Masking


class Masking(Layer):
    """Masks a sequence by using a mask value to skip timesteps.

    A timestep (axis 1) is masked when all its features equal `mask_value`; downstream layers that support
    masking (LSTM, GRU, ...) then skip it. The output is the input with masked timesteps set to zero, as Keras.
    The mask is `any(inputs != mask_value, axis=-1)`.

    Args:
        mask_value: the value marking padded timesteps (default 0.0).
        **kwargs: base layer arguments.

    Input shape:
        `(batch_size, timesteps, features)` (any rank >= 2).

    Output shape:
        Same shape as input, with the Keras mask `(batch_size, timesteps)` attached.

    >>> import numpy as np
    >>> x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
    >>> y = Masking(0.0)(x)
    >>> y._keras_mask.tolist()
    [[True, False, True]]
    """

    supports_streaming = True  # each timestep on its own: minikeras.streaming can run it

    def __init__(self, mask_value: Any = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.mask_value = mask_value

    def _boolean_mask(self, inputs: Any) -> np.ndarray:
        data = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
        return np.any(data != self.mask_value, axis=-1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> np.ndarray:
        return self._boolean_mask(inputs)

    def call(self, inputs: Tensor) -> Tensor:
        keep = self._boolean_mask(inputs)[..., None].astype(inputs.dtype)
        return inputs * keep

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return _shape_tuple(input_shape)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}


# ************************************************************ RepeatVector


class RepeatVector(Layer):
    """Repeats the input n times.

    Args:
        n: integer, repetition factor.
        **kwargs: base layer arguments.

    Input shape:
        2D tensor of shape `(num_samples, features)`.

    Output shape:
        3D tensor of shape `(num_samples, n, features)`.

    >>> import numpy as np
    >>> RepeatVector(3)(np.zeros((2, 32))).shape
    (2, 3, 32)
    """

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if not _is_int(n):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}. Received: n={n!r}")
        if n < 0:
            raise ValueError(f"Expected a non-negative integer for `n`. Received: n={n}")
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs: Tensor) -> Tensor:
        # NOTE: a gather of index 0, n times, along a new axis: its backward sums the n gradients.
        return ops.take(ops.expand_dims(inputs, 1), np.zeros(self.n, dtype=np.int64), axis=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape_tuple(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "n": self.n}


# ************************************************************ Reshape


class Reshape(Layer):
    """Layer that reshapes inputs into the given shape.

    Args:
        target_shape: tuple of integers, not including the batch axis. One entry may be -1: it is inferred from
            the input size.
        **kwargs: base layer arguments.

    Input shape:
        Arbitrary (all non-batch axes known when `-1` is used in the output shape).

    Output shape:
        `(batch_size,) + target_shape`.

    >>> import numpy as np
    >>> Reshape((3, 4))(np.zeros((2, 12))).shape
    (2, 3, 4)
    >>> Reshape((-1, 2, 2)).compute_output_shape((None, 12))
    (None, 3, 2, 2)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(target_shape, (str, bytes)) or not isinstance(target_shape, (list, tuple)):
            raise TypeError("Invalid `target_shape`, expected a tuple of integers. "
                            f"Received: target_shape={target_shape!r}")
        for d in target_shape:
            if not _is_int(d) or (d < 1 and d != -1):
                raise ValueError("Invalid `target_shape`, expected positive integers and at most one -1. "
                                 f"Received: target_shape={tuple(target_shape)!r}")
        self.target_shape = tuple(int(d) for d in target_shape)
        if self.target_shape.count(-1) > 1:
            raise ValueError("There must be at most one unknown dimension in output_shape. "
                             f"Received: output_shape={list(self.target_shape)}.")

    def _fix_unknown_dimension(self, input_shape: Sequence[int], output_shape: Sequence[int]) -> Tuple[int, ...]:
        """Replace the -1 of `output_shape` by its size (numpy's rule); errors as Keras."""
        output_shape = list(output_shape)
        msg = (f"total size of new array must be unchanged, input_shape = {list(input_shape)}, "
               f"output_shape = {output_shape}")
        known, unknown = 1, None
        for index, dim in enumerate(output_shape):
            if dim < 0:
                unknown = index
            else:
                known *= dim
        original = int(np.prod(input_shape, dtype=np.int64))
        if unknown is not None:
            if known == 0 or original % known != 0:
                raise ValueError(msg)
            output_shape[unknown] = original // known
        elif original != known:
            raise ValueError(msg)
        return tuple(output_shape)

    def call(self, inputs: Tensor) -> Tensor:
        shape = self._fix_unknown_dimension(inputs.shape[1:], self.target_shape)
        return inputs.reshape((inputs.shape[0],) + shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape_tuple(input_shape)
        if None in input_shape[1:]:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        return (input_shape[0],) + self._fix_unknown_dimension(input_shape[1:], self.target_shape)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "target_shape": self.target_shape}


# ************************************************************ Permute


class Permute(Layer):
    """Permutes the dimensions of the input according to a given pattern.

    Args:
        dims: tuple of integers, the permutation of the non-batch axes, indexed from 1: `(2, 1)` swaps the first
            and second non-batch axes.
        **kwargs: base layer arguments.

    Input shape:
        Arbitrary, of rank `len(dims) + 1`.

    Output shape:
        The input shape with the non-batch axes re-ordered by `dims`.

    >>> import numpy as np
    >>> Permute((2, 1))(np.zeros((2, 10, 64))).shape
    (2, 64, 10)
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(dims, (str, bytes)) or not isinstance(dims, (list, tuple)) or \
                not all(_is_int(d) for d in dims):
            raise TypeError(f"Invalid permutation argument `dims` for Permute Layer, expected a tuple of integers. "
                            f"Received: dims={dims!r}")
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError("Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` "
                             f"must be consecutive and start from 1. Received dims={tuple(dims)}")
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    def call(self, inputs: Tensor) -> Tensor:
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape_tuple(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}


# ************************************************************ Lambda


class Lambda(Layer):
    """Wraps an arbitrary function of tensors as a layer (for code only: a Lambda is never saved or loaded).

    minikeras refuses to serialize Python code: `get_config()` and loading a `Lambda` from a config raise
    `NotImplementedError`. Subclass `Layer` for anything that must be saved.

    Args:
        function: the function to apply; takes the input tensor as first argument (and `mask=` / `training=`
            when its signature names them).
        output_shape: optional output shape without the batch axis (a tuple), or a function of the full input
            shape; inferred by running the function on zeros when None.
        mask: None (no mask), a callable `mask(inputs, mask)` returning the output mask, or a fixed mask.
        arguments: optional dict of keyword arguments passed to `function`.
        **kwargs: base layer arguments.

    >>> import numpy as np
    >>> Lambda(lambda x: x * 2)(np.ones((1, 2))).numpy().tolist()
    [[2.0, 2.0]]
    """

    def __init__(self, function: Callable[..., Any], output_shape: Any = None, mask: Any = None,
                 arguments: Optional[Dict[str, Any]] = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Expected `function` to be callable. Received: function={function!r}")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Expected `arguments` to be a dict. Received: arguments={arguments!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        if mask is not None:
            self.supports_masking = True
        self._output_shape = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_mask_arg = "mask" in params
        self._fn_expects_training_arg = "training" in params

    def call(self, inputs: Any, mask: Any = None, training: Optional[bool] = None) -> Any:
        kwargs = dict(self.arguments)
        if self._fn_expects_mask_arg:
            kwargs["mask"] = mask
        if self._fn_expects_training_arg:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        batch = input_shape[0][0] if isinstance(input_shape, list) else input_shape[0]
        return (batch,) + _shape_tuple(self._output_shape)

    def get_config(self) -> Dict[str, Any]:
        raise NotImplementedError("Keras's `Lambda` layer runs arbitrary code and cannot be serialized by minikeras: "
                                  "write a `Layer` subclass with `get_config` instead. "
                                  f"Received: class_name='Lambda' in layer {self.name!r}")

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Lambda":
        name = config.get("name") if isinstance(config, dict) else None
        raise NotImplementedError("Keras's `Lambda` layer runs arbitrary code and cannot be loaded from a file. "
                                  f"Received: class_name='Lambda' in layer {name!r}")


# ************************************************************ ActivityRegularization


class ActivityRegularization(Layer):
    """Layer that adds an L1/L2 penalty on its input activity to the model's losses; the output is the input.

    The penalty `l1 * sum(|x|) + l2 * sum(x**2)` is divided by the batch size (tf_keras) and listed in
    `layer.losses` after each call.

    Args:
        l1: L1 regularization factor (non-negative float, default 0.0).
        l2: L2 regularization factor (non-negative float, default 0.0).
        **kwargs: base layer arguments.

    Output shape:
        Same shape as input. A Keras mask is passed through.

    >>> import numpy as np
    >>> layer = ActivityRegularization(l1=0.5)
    >>> _ = layer(np.array([[1.0, -2.0]]))
    >>> float(layer.losses[0].numpy())
    1.5
    """

    supports_streaming = True  # each timestep on its own: minikeras.streaming can run it

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any):
        for arg, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0 or value != value:
                raise ValueError(f"Received an invalid value for `{arg}`, expected a non-negative float. "
                                 f"Received: {arg}={value!r}")
        kwargs.pop("activity_regularizer", None)  # NOTE: it is always the L1L2 of l1/l2, as in tf_keras
        super().__init__(activity_regularizer={"class_name": "L1L2", "config": {"l1": l1, "l2": l2}}, **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return _shape_tuple(input_shape)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
