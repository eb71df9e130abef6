"""MaxPooling1D, AveragePooling1D, GlobalMaxPooling1D, GlobalAveragePooling1D (Keras 2's `keras.layers.pooling`).

Window pooling is one op (`ops.max_pool1d` / `ops.avg_pool1d`) on a strided view, with no loop over positions.
Arguments, shapes, masks and `get_config` keys follow tf_keras 2.21: `GlobalAveragePooling1D` averages over the
unmasked steps only; the other pooling layers ignore a Keras mask and do not pass it on.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from minikeras.autograd import Tensor, ops
from minikeras.engine.base_layer import InputSpec, Layer
from minikeras.layers.convolutional import (_to_channels_last, conv_output_length, normalize_data_format,
                                            normalize_padding, normalize_tuple, same_padding)
from minikeras.legacy import interfaces

__all__ = ["MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D", "MaxPool1D",
           "AvgPool1D", "GlobalMaxPool1D", "GlobalAvgPool1D"]

Shape = Tuple[Optional[int], ...]


def _shape(input_shape: Any) -> Shape:
    return tuple(None if d is None else int(d) for d in input_shape)


# ************************************************************ window pooling


class _Pooling1D(Layer):
    """Shared code of MaxPooling1D and AveragePooling1D (tf_keras's `Pooling1D`)."""

    _mode = "max"

    def __init__(self, pool_size: Union[int, Sequence[int]] = 2, strides: Union[int, Sequence[int], None] = None,
                 padding: str = "valid", data_format: Optional[str] = "channels_last", **kwargs: Any):
        super().__init__(**kwargs)
        if strides is None:
            strides = pool_size
        self.pool_size = normalize_tuple(pool_size, 1, "pool_size")
        self.strides = normalize_tuple(strides, 1, "strides")
        self.padding = normalize_padding(padding, ("valid", "same"))
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs: Tensor) -> Tensor:
        x = _to_channels_last(inputs, self.data_format)
        steps = x.shape[1]
        if conv_output_length(steps, self.pool_size[0], self.padding, self.strides[0]) <= 0:
            self.compute_output_shape(tuple(inputs.shape))  # raises
        pad = same_padding(steps, self.pool_size[0], self.strides[0]) if self.padding == "same" else (0, 0)
        pool = ops.max_pool1d if self._mode == "max" else ops.avg_pool1d
        return _to_channels_last(pool(x, self.pool_size[0], self.strides[0], pad), self.data_format)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim=3, found "
                             f"ndim={len(input_shape)}. Full shape received: {input_shape}")
        first = self.data_format == "channels_first"
        steps, features = (input_shape[2], input_shape[1]) if first else (input_shape[1], input_shape[2])
        length = conv_output_length(steps, self.pool_size[0], self.padding, self.strides[0])
        if length is not None and length <= 0:
            raise ValueError(f"Computed output size would be negative in layer '{self.name}': the input has {steps} "
                             f"steps, expected at least pool_size={self.pool_size[0]} with padding='valid'. "
                             f"Received: input_shape={input_shape}")
        return (input_shape[0], features, length) if first else (input_shape[0], length, features)

    def get_config(self) -> Dict[str, Any]:
        config = {"strides": self.strides, "pool_size": self.pool_size, "padding": self.padding,
                  "data_format": self.data_format}
        return {**super().get_config(), **config}


class MaxPooling1D(_Pooling1D):
    """Max pooling operation for 1D temporal data.

    Downsamples the input by taking the maximum over a window of `pool_size` steps, moved by `strides`. With
    `padding="valid"` the output has `floor((steps - pool_size) / strides) + 1` steps; with `"same"` it has
    `ceil(steps / strides)` steps and the padded positions never win.

    Args:
        pool_size: integer (or tuple of one), size of the max pooling window (default 2).
        strides: integer (or tuple of one), or None: the factor by which to downscale; None means `pool_size`.
        padding: `"valid"` or `"same"` (case-insensitive).
        data_format: `"channels_last"` (default, `(batch, steps, features)`) or `"channels_first"`.
        **kwargs: base layer arguments. Keras 1's `pool_length`, `stride`, `border_mode` are converted with
            Keras 2.0's warning.

    Input shape:
        3D tensor `(batch_size, steps, features)` (channels_last) or `(batch_size, features, steps)`.

    Output shape:
        3D tensor `(batch_size, downsampled_steps, features)` (channels_last). A Keras mask is dropped.

    >>> import numpy as np
    >>> x = np.array([1., 2., 3., 4., 5.]).reshape(1, 5, 1)
    >>> MaxPooling1D(pool_size=2, strides=1)(x).numpy().ravel().tolist()
    [2.0, 3.0, 4.0, 5.0]
    >>> MaxPooling1D(pool_size=2, strides=2, padding="same")(x).numpy().ravel().tolist()
    [2.0, 4.0, 5.0]
    """

    _mode = "max"

    @interfaces.legacy_pooling1d_support
    def __init__(self, pool_size: Union[int, Sequence[int]] = 2, strides: Union[int, Sequence[int], None] = None,
                 padding: str = "valid", data_format: Optional[str] = "channels_last", **kwargs: Any):
        super().__init__(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


class AveragePooling1D(_Pooling1D):
    """Average pooling for temporal data.

    Downsamples the input by taking the mean over a window of `pool_size` steps, moved by `strides`. With
    `padding="same"`, a window that overlaps the padding is averaged over its real steps only (TF's rule).

    Args:
        pool_size: integer (or tuple of one), size of the average pooling window (default 2).
        strides: integer (or tuple of one), or None: the factor by which to downscale; None means `pool_size`.
        padding: `"valid"` or `"same"` (case-insensitive).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        **kwargs: base layer arguments. Keras 1's `pool_length`, `stride`, `border_mode` are converted with
            Keras 2.0's warning.

    Input shape:
        3D tensor `(batch_size, steps, features)` (channels_last) or `(batch_size, features, steps)`.

    Output shape:
        3D tensor `(batch_size, downsampled_steps, features)` (channels_last). A Keras mask is dropped.

    >>> import numpy as np
    >>> x = np.array([1., 2., 3., 4., 5.]).reshape(1, 5, 1)
    >>> AveragePooling1D(pool_size=2, strides=1)(x).numpy().ravel().tolist()
    [1.5, 2.5, 3.5, 4.5]
    >>> AveragePooling1D(pool_size=2, strides=2, padding="same")(x).numpy().ravel().tolist()
    [1.5, 3.5, 5.0]
    """

    _mode = "avg"

    @interfaces.legacy_pooling1d_support
    def __init__(self, pool_size: Union[int, Sequence[int]] = 2, strides: Union[int, Sequence[int], None] = None,
                 padding: str = "valid", data_format: Optional[str] = "channels_last", **kwargs: Any):
        super().__init__(pool_size=pool_size, strides=strides, padding=padding, data_format=data_format, **kwargs)


# ************************************************************ global pooling


class _GlobalPooling1D(Layer):
    """Shared code of the global 1D pooling layers (tf_keras's `GlobalPooling1D`)."""

    def __init__(self, data_format: Optional[str] = "channels_last", keepdims: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.input_spec = InputSpec(ndim=3)
        self.data_format = normalize_data_format(data_format)
        if not isinstance(keepdims, (bool, np.bool_)):
            raise TypeError(f"Expected `keepdims` to be a boolean. Received: keepdims={keepdims!r}")
        self.keepdims = bool(keepdims)

    def _steps_axis(self) -> int:
        return 1 if self.data_format == "channels_last" else 2

    def build(self, input_shape: Shape) -> None:
        input_shape = _shape(input_shape)
        axis = self._steps_axis()
        if len(input_shape) == 3 and input_shape[axis] == 0:
            raise ValueError(f"Incorrect input shape {input_shape} with dimension 0 at reduction axis {axis}.")
        super().build(input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        input_shape = _shape(input_shape)
        if self.data_format == "channels_first":
            return (input_shape[0], input_shape[1], 1) if self.keepdims else (input_shape[0], input_shape[1])
        return (input_shape[0], 1, input_shape[2]) if self.keepdims else (input_shape[0], input_shape[2])

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Global max pooling operation for 1D temporal data: the maximum over the steps axis.

    As in Keras, a Keras mask is ignored (padded steps take part in the maximum) and not passed on.

    Args:
        data_format: `"channels_last"` (default, `(batch, steps, features)`) or `"channels_first"`.
        keepdims: whether to keep the steps axis with length 1 (default False).
        **kwargs: base layer arguments. Keras 1's `dim_ordering` (`'tf'`, `'th'`) is converted with Keras 2.0's
            warning.

    Input shape:
        3D tensor `(batch_size, steps, features)` (channels_last) or `(batch_size, features, steps)`.

    Output shape:
        `(batch_size, features)`, or with `keepdims=True` `(batch_size, 1, features)` (channels_last).

    >>> import numpy as np
    >>> x = np.array([[[1., 6.], [4., 2.], [3., 5.]]])
    >>> GlobalMaxPooling1D()(x).numpy().tolist()
    [[4.0, 6.0]]
    """

    @interfaces.legacy_global_pooling_support
    def __init__(self, data_format: Optional[str] = "channels_last", keepdims: bool = False, **kwargs: Any):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)

    def call(self, inputs: Tensor) -> Tensor:
        return ops.max(inputs, axis=self._steps_axis(), keepdims=self.keepdims)


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Global average pooling operation for temporal data: the mean over the steps axis.

    With a Keras mask (after `Embedding(mask_zero=True)` or `Masking`), the mean is over the unmasked steps only:
    `sum(x * mask) / sum(mask)`, as Keras. A sample whose steps are all masked gives NaN, as in Keras.

    Args:
        data_format: `"channels_last"` (default, `(batch, steps, features)`) or `"channels_first"`.
        keepdims: whether to keep the steps axis with length 1 (default False).
        **kwargs: base layer arguments. Keras 1's `dim_ordering` is converted with Keras 2.0's warning.

    Call arguments:
        inputs: a 3D tensor.
        mask: boolean array of shape `(batch_size, steps)`: which steps take part in the average.

    Input shape:
        3D tensor `(batch_size, steps, features)` (channels_last) or `(batch_size, features, steps)`.

    Output shape:
        `(batch_size, features)`, or with `keepdims=True` `(batch_size, 1, features)` (channels_last). The mask is
        consumed.

    >>> import numpy as np
    >>> x = np.array([[[1., 2.], [3., 4.], [9., 9.]]])
    >>> GlobalAveragePooling1D()(x, mask=np.array([[True, True, False]])).numpy().tolist()
    [[2.0, 3.0]]
    """

    @interfaces.legacy_global_pooling_support
    def __init__(self, data_format: Optional[str] = "channels_last", keepdims: bool = False, **kwargs: Any):
        super().__init__(data_format=data_format, keepdims=keepdims, **kwargs)
        self.supports_masking = True

    def call(self, inputs: Tensor, mask: Any = None) -> Tensor:
        axis = self._steps_axis()
        if mask is None:
            return ops.mean(inputs, axis=axis, keepdims=self.keepdims)
        m = np.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(inputs.dtype)
        m = np.expand_dims(m, 2 if self.data_format == "channels_last" else 1)
        with np.errstate(invalid="ignore", divide="ignore"):  # an all-masked sample is 0 / 0 = NaN, as in Keras
            total = ops.sum(inputs * m, axis=axis, keepdims=self.keepdims)
            return total / m.sum(axis=axis, keepdims=self.keepdims)


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
