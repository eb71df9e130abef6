"""Conv1D, the temporal convolution of Keras 2 sentence models (Keras 2's `keras.layers.convolutional`).

The convolution is one op (`ops.conv1d`): im2col on a strided view of the padded input and one GEMM per group, so
there is no Python loop over positions. Arguments, shapes, errors and `get_config` keys are tf_keras 2.21's.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from minikeras import activations, backend, constraints, initializers, regularizers
from minikeras.autograd import Tensor, ops
from minikeras.engine.base_layer import InputSpec, Layer
from minikeras.legacy import interfaces

__all__ = ["Conv1D", "Convolution1D"]

Shape = Tuple[Optional[int], ...]


# ************************************************************ argument normalisation (tf_keras's conv_utils)


def normalize_tuple(value: Any, n: int, name: str, allow_zero: bool = False) -> Tuple[int, ...]:
    """An int or an iterable of `n` ints -> a tuple of `n` ints, with tf_keras's error messages."""
    error_msg = f"The `{name}` argument must be a tuple of {n} integers. Received: {value}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value_tuple = (int(value),) * n
    else:
        if isinstance(value, (str, bytes)):
            raise ValueError(error_msg)
        try:
            value_tuple = tuple(value)
        except TypeError:
            raise ValueError(error_msg) from None
        if len(value_tuple) != n:
            raise ValueError(error_msg)
        for single in value_tuple:
            if not isinstance(single, (int, np.integer)) or isinstance(single, bool):
                raise ValueError(error_msg + f" including element {single} of type {type(single)}")
        value_tuple = tuple(int(v) for v in value_tuple)
    bad = {v for v in value_tuple if (v < 0 if allow_zero else v <= 0)}
    if bad:
        req = ">= 0" if allow_zero else "> 0"
        raise ValueError(error_msg + f" including {bad} that does not satisfy the requirement `{req}`.")
    return value_tuple


def normalize_padding(value: Any, allowed: Sequence[str] = ("valid", "same", "causal")) -> str:
    """'valid' / 'same' (/ 'causal' for Conv1D), case-insensitive."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        names = ", ".join(f'"{a}"' for a in allowed)
        raise ValueError(f"The `padding` argument must be one of {names}. Received: {value!r}")
    return padding


def normalize_data_format(value: Any) -> str:
    if value is None:
        value = backend.image_data_format()
    data_format = value.lower() if isinstance(value, str) else value
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError('The `data_format` argument must be one of "channels_first", "channels_last". '
                         f"Received: {value}")
    return data_format


def conv_output_length(length: Optional[int], size: int, padding: str, stride: int, dilation: int = 1) -> Optional[int]:
    """Output steps of a convolution or pooling window (tf_keras's `conv_output_length`)."""
    if length is None:
        return None
    span = size + (size - 1) * (dilation - 1)
    out = length if padding in ("same", "causal") else length - span + 1
    return (out + stride - 1) // stride


def same_padding(length: int, size: int, stride: int, dilation: int = 1) -> Tuple[int, int]:
    """TF's `SAME`: output `ceil(length / stride)` steps, the extra step of an odd padding on the right."""
    out = -(-length // stride)
    total = max((out - 1) * stride + (size - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


def _to_channels_last(x: Tensor, data_format: str) -> Tensor:
    return ops.transpose(x, (0, 2, 1)) if data_format == "channels_first" else x


# ************************************************************ Conv1D


class Conv1D(Layer):
    """1D convolution layer (e.g. temporal convolution).

    This layer creates a convolution kernel that is convolved with the layer input over a single spatial (or
    temporal) dimension to produce a tensor of outputs. If `use_bias` is True, a bias vector is created and added
    to the outputs. Finally, if `activation` is not None, it is applied to the outputs as well:
    `outputs[b, t, f] = activation(sum_{k, c} x[b, t * strides + k * dilation_rate, c] * kernel[k, c, f] + bias[f])`
    on the padded input.

    Args:
        filters: positive integer, the number of output filters in the convolution.
        kernel_size: an integer or tuple of a single integer, the length of the 1D convolution window.
        strides: an integer or tuple of a single integer, the stride length of the convolution (default 1).
            `strides > 1` is incompatible with `dilation_rate > 1`.
        padding: `"valid"` (no padding), `"same"` (zero padding so that the output has `ceil(steps / strides)`
            steps, the odd extra step on the right, as TF) or `"causal"` (`dilation_rate * (kernel_size - 1)`
            zeros on the left, so that `output[t]` does not depend on `input[t + 1:]`). Case-insensitive.
        data_format: `"channels_last"` (default, inputs `(batch, steps, channels)`) or `"channels_first"`
            (`(batch, channels, steps)`).
        dilation_rate: an integer or tuple of a single integer, the dilation rate of the convolution (default 1).
        groups: a positive integer dividing both the input channels and `filters`: the input is split into
            `groups` groups along the channel axis, each convolved with `filters / groups` filters, and the
            outputs concatenated.
        activation: activation function or name (default None: linear).
        use_bias: whether the layer uses a bias vector (default True).
        kernel_initializer: initializer of the kernel (default `"glorot_uniform"`).
        bias_initializer: initializer of the bias vector (default `"zeros"`).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional regularizers.
        kernel_constraint, bias_constraint: optional constraints applied after each optimizer update.
        **kwargs: base layer arguments (`name`, `trainable`, `dtype`, `input_shape`, `batch_input_shape`, ...).
            Keras 1 names (`nb_filter`, `filter_length`, `subsample_length`, `border_mode`, `init`,
            `W_regularizer`, ...) are converted with Keras 2.0's warning.

    Input shape:
        3D tensor `(batch_size, steps, input_dim)` (channels_last) or `(batch_size, input_dim, steps)`; extra
        leading batch axes are allowed, as in tf_keras.

    Output shape:
        `(batch_size, new_steps, filters)` (channels_last) or `(batch_size, filters, new_steps)`; `new_steps`
        depends on `padding`, `strides` and `dilation_rate`. A Keras mask is not propagated, as in Keras.

    Attributes:
        kernel: weight of shape `(kernel_size, input_dim // groups, filters)`.
        bias: weight of shape `(filters,)`, or None when `use_bias=False`.

    >>> import numpy as np
    >>> layer = Conv1D(32, 3, activation="relu")
    >>> layer(np.zeros((4, 10, 128), "float32")).shape
    (4, 8, 32)
    >>> Conv1D(8, 3, padding="causal", dilation_rate=2).compute_output_shape((None, 10, 4))
    (None, 10, 8)
    """

    @interfaces.legacy_conv1d_support
    def __init__(self, filters: int, kernel_size: Union[int, Sequence[int]], strides: Union[int, Sequence[int]] = 1,
                 padding: str = "valid", data_format: Optional[str] = "channels_last",
                 dilation_rate: Union[int, Sequence[int]] = 1, groups: int = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(filters, float) and float(filters).is_integer():
            filters = int(filters)  # tf_keras accepts 32.0
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters <= 0:
            raise ValueError("Invalid value for argument `filters`. Expected a strictly positive value. "
                             f"Received filters={filters!r}.")
        self.filters = int(filters)
        if groups is None:
            groups = 1
        if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups <= 0:
            raise ValueError(f"Invalid value for argument `groups`, expected a positive integer. "
                             f"Received: groups={groups!r}")
        self.groups = int(groups)
        self.kernel_size = normalize_tuple(kernel_size, 1, "kernel_size")
        self.strides = normalize_tuple(strides, 1, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, 1, "dilation_rate")
        if self.filters % self.groups != 0:
            raise ValueError("The number of filters must be evenly divisible by the number of groups. "
                             f"Received: groups={self.groups}, filters={self.filters}")
        if self.strides[0] > 1 and self.dilation_rate[0] > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        if not np.issubdtype(np.dtype(self.dtype), np.floating):
            raise TypeError("A Conv1D layer can only be built with a floating-point dtype. "
                            f"Received: dtype={self.dtype}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=3)

    def _channel_axis(self) -> int:
        return -2 if self.data_format == "channels_first" else -1

    def build(self, input_shape: Shape) -> None:
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
        if len(input_shape) < 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected min_ndim=3, "
                             f"found ndim={len(input_shape)}. Full shape received: {input_shape}")
        axis = self._channel_axis()
        channels = input_shape[axis]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. The input_shape received is "
                             f"{input_shape}, where axis {axis} (0-based) is the channel dimension, which found to "
                             "be `None`.")
        if channels % self.groups != 0:
            raise ValueError("The number of input channels must be evenly divisible by the number of groups. "
                             f"Received groups={self.groups}, but the input has {channels} channels (full input "
                             f"shape is {input_shape}).")
        self.compute_output_shape(input_shape)  # raises when the output would have no steps
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, trainable=True, dtype=self.dtype)
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                                        trainable=True, dtype=self.dtype)
        else:
            self.bias = None
        self.input_spec = InputSpec(min_ndim=3, axes={axis: channels})
        self.built = True

    def _padding_amounts(self, steps: int) -> Tuple[int, int]:
        size, stride, dilation = self.kernel_size[0], self.strides[0], self.dilation_rate[0]
        if self.padding == "causal":
            return dilation * (size - 1), 0
        if self.padding == "same":
            return same_padding(steps, size, stride, dilation)
        return 0, 0

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.dtype != np.dtype(self.dtype):
            inputs = ops.cast(inputs, self.dtype)
        lead = tuple(inputs.shape[:-2])
        x = inputs.reshape((-1,) + tuple(inputs.shape[-2:])) if len(lead) != 1 else inputs
        x = _to_channels_last(x, self.data_format)
        if conv_output_length(x.shape[1], self.kernel_size[0], self.padding, self.strides[0],
                              self.dilation_rate[0]) <= 0:
            self.compute_output_shape(tuple(inputs.shape))  # raises Keras's message
        outputs = ops.conv1d(x, self.kernel, strides=self.strides[0], padding=self._padding_amounts(x.shape[1]),
                             dilation_rate=self.dilation_rate[0], groups=self.groups)
        if self.use_bias:
            outputs = outputs + self.bias
        outputs = _to_channels_last(outputs, self.data_format)  # the swap is its own inverse
        if len(lead) != 1:
            outputs = outputs.reshape(lead + tuple(outputs.shape[1:]))
        return self.activation(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = tuple(None if d is None else int(d) for d in input_shape)
        steps_axis = -1 if self.data_format == "channels_first" else -2
        steps = conv_output_length(input_shape[steps_axis], self.kernel_size[0], self.padding, self.strides[0],
                                   self.dilation_rate[0])
        if steps is not None and steps <= 0:
            raise ValueError(f"One of the dimensions in the output is <= 0 due to downsampling in {self.name}. "
                             f"Consider increasing the input size. Received input shape {list(input_shape)} which "
                             "would produce output shape with a zero or negative value in a dimension.")
        if self.data_format == "channels_first":
            return input_shape[:-2] + (self.filters, steps)
        return input_shape[:-2] + (steps, self.filters)

    def get_config(self) -> Dict[str, Any]:
        config = {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": self.dilation_rate,
            "groups": self.groups,
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


Convolution1D = Conv1D


def __getattr__(name: str) -> Any:
    # Keras 2's convolutional.py re-exported the pooling layers ("imports for backwards namespace compatibility"),
    # so Keras 2 code writes `from keras.layers.convolutional import MaxPooling1D`.
    if name in ("MaxPooling1D", "AveragePooling1D"):
        # NOTE: minikeras.layers.pooling imports this module: a real cycle
        from minikeras.layers import pooling

        return getattr(pooling, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
