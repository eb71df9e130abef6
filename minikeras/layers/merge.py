"""Merge layers (Keras 2's `keras.layers.merge`): `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum`,
`Concatenate`, `Dot`, and their functional forms `add`, `subtract`, ..., `concatenate`, `dot`.

Each takes a list of tensors. The elementwise ones broadcast as tf.keras does (an input of lower rank gets axes of
size 1 inserted after the batch axis); their output mask is the AND of the inputs' masks. `Concatenate`'s mask is
the AND, along the last axis, of the inputs' masks joined on the concatenation axis (an input without a mask counts
as all True). `Dot` has no output mask.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from minikeras.autograd import Tensor, ops
from minikeras.engine.base_layer import Layer, Shape
from minikeras.engine.keras_tensor import is_shape

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


def _mask_data(m: Any) -> Optional[np.ndarray]:
    if m is None:
        return None
    return np.asarray(m.data if isinstance(m, Tensor) else m, dtype=bool)


def _check_list_of_shapes(input_shape: Any, what: str) -> List[Shape]:
    if not isinstance(input_shape, (list, tuple)) or is_shape(input_shape) or not input_shape:
        raise ValueError(f"A {what} layer should be called on a list of inputs. Received: input_shape={input_shape} "
                         "(not a list of shapes)")
    return [tuple(s) for s in input_shape]


class _Merge(Layer):
    """Base of the elementwise merge layers: shape checks and broadcasting as tf.keras's `_Merge`."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._reshape_required = False

    def _merge_function(self, inputs: List[Tensor]) -> Tensor:
        raise NotImplementedError

    @staticmethod
    def _compute_elemwise_op_output_shape(shape1: Shape, shape2: Shape) -> Shape:
        if len(shape1) < len(shape2):
            return _Merge._compute_elemwise_op_output_shape(shape2, shape1)
        if not shape2:
            return tuple(shape1)
        output = list(shape1[:-len(shape2)])
        for i, j in zip(shape1[-len(shape2):], shape2):
            if i is None or j is None:
                output.append(None)
            elif i == 1:
                output.append(j)
            elif j == 1:
                output.append(i)
            else:
                if i != j:
                    raise ValueError(f"Inputs have incompatible shapes. Received shapes {tuple(shape1)} and "
                                     f"{tuple(shape2)}")
                output.append(i)
        return tuple(output)

    def build(self, input_shape: Any) -> None:
        shapes = _check_list_of_shapes(input_shape, "merge")
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Got tensors with shapes {shapes}")
        output = shapes[0][1:]
        for s in shapes[1:]:
            output = self._compute_elemwise_op_output_shape(output, s[1:])
        self._reshape_required = len({len(s) for s in shapes}) != 1

    def call(self, inputs: Any) -> Tensor:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: inputs={inputs} (not a "
                             "list of tensors)")
        inputs = list(inputs)
        if len({x.ndim for x in inputs}) != 1:
            # tf.keras: lower-rank inputs get axes of size 1 after the batch axis, then broadcast
            max_ndim = max(x.ndim for x in inputs)
            reshaped = []
            for x in inputs:
                if x.ndim < max_ndim:
                    x = x.reshape((x.shape[0],) + (1,) * (max_ndim - x.ndim) + tuple(x.shape[1:]))
                reshaped.append(x)
            inputs = reshaped
        return self._merge_function(inputs)

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = _check_list_of_shapes(input_shape, "merge")
        output = shapes[0][1:]
        for s in shapes[1:]:
            output = self._compute_elemwise_op_output_shape(output, s[1:])
        batch_sizes = {s[0] for s in shapes} - {None}
        return ((batch_sizes.pop(),) if len(batch_sizes) == 1 else (None,)) + tuple(output)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"`mask` should be a list. Received: mask={mask}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`inputs` should be a list. Received: inputs={inputs}")
        if len(mask) != len(inputs):
            raise ValueError("The lists `inputs` and `mask` should have the same length. Received: inputs of length "
                             f"{len(inputs)}, and mask of length {len(mask)}")
        masks = [_mask_data(m) for m in mask if m is not None]
        if not masks:
            return None
        return np.logical_and.reduce(np.stack(masks), axis=0)


class Add(_Merge):
    """Adds a list of inputs elementwise (same shapes, or broadcastable as tf.keras).

    Input shape: a list of tensors, e.g. two of `(batch, d)`. Output shape: the broadcast shape.

    >>> import numpy as np
    >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).numpy()[0].tolist()
    [2.0, 2.0, 2.0]
    """

    def _merge_function(self, inputs: List[Tensor]) -> Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output


class Subtract(_Merge):
    """Subtracts two inputs: `inputs[0] - inputs[1]`.

    >>> import numpy as np
    >>> Subtract()([np.full((1, 2), 3.0), np.ones((1, 2))]).numpy().tolist()
    [[2.0, 2.0]]
    """

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: "
                             f"input_shape={input_shape}")

    def _merge_function(self, inputs: List[Tensor]) -> Tensor:
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: {len(inputs)} "
                             "inputs")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Multiplies a list of inputs elementwise.

    >>> import numpy as np
    >>> Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)]).numpy().tolist()
    [[6.0, 6.0]]
    """

    def _merge_function(self, inputs: List[Tensor]) -> Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = output * x
        return output


class Average(_Merge):
    """Averages a list of inputs elementwise.

    >>> import numpy as np
    >>> Average()([np.full((1, 2), 3.0), np.ones((1, 2))]).numpy().tolist()
    [[2.0, 2.0]]
    """

    def _merge_function(self, inputs: List[Tensor]) -> Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output / float(len(inputs))


class Maximum(_Merge):
    """Elementwise maximum of a list of inputs.

    >>> import numpy as np
    >>> Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy().tolist()
    [[3.0, 5.0]]
    """

    def _merge_function(self, inputs: List[Tensor]) -> Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.maximum(output, x)
        return output


class Minimum(_Merge):
    """Elementwise minimum of a list of inputs.

    >>> import numpy as np
    >>> Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy().tolist()
    [[1.0, 2.0]]
    """

    def _merge_function(self, inputs: List[Tensor]) -> Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = ops.minimum(output, x)
        return output


class Concatenate(_Merge):
    """Concatenates a list of inputs along `axis`; all other axes must match.

    Args:
        axis: axis along which to concatenate (default -1, the features).
        **kwargs: base layer arguments.

    Input shape: a list of tensors. Output shape: the inputs' shape with the sizes along `axis` added.

    >>> import numpy as np
    >>> Concatenate()([np.zeros((2, 3)), np.ones((2, 1))]).shape
    (2, 4)
    """

    def __init__(self, axis: int = -1, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
            raise TypeError(f"Expected `axis` to be an integer. Received: axis={axis!r}")
        self.axis = int(axis)

    def build(self, input_shape: Any) -> None:
        if not isinstance(input_shape, (list, tuple)) or is_shape(input_shape) or not input_shape:
            raise ValueError("A `Concatenate` layer should be called on a list of at least 1 input. Received: "
                             f"input_shape={input_shape}")
        shapes = [list(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        message = ("A `Concatenate` layer requires inputs with matching shapes except for the concatenation axis. "
                   f"Received: input_shape={[tuple(s) for s in input_shape]}")
        if len(ranks) != 1:
            raise ValueError(message)
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(f"Invalid `axis` for inputs of rank {rank}: expected -{rank} <= axis < {rank}. "
                             f"Received: axis={self.axis}")
        for s in shapes:
            del s[self.axis]
        for position in range(rank - 1):
            if len({s[position] for s in shapes if s[position] is not None}) > 1:
                raise ValueError(message)

    def call(self, inputs: Any) -> Tensor:
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A `Concatenate` layer should be called on a list of inputs. Received: inputs={inputs}")
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape: Any) -> Shape:
        if not isinstance(input_shape, (list, tuple)) or is_shape(input_shape):
            raise ValueError(f"A `Concatenate` layer should be called on a list of inputs. Received: "
                             f"input_shape={input_shape}")
        output = list(input_shape[0])
        for shape in input_shape[1:]:
            if output[self.axis] is None or shape[self.axis] is None:
                output[self.axis] = None
                break
            output[self.axis] += shape[self.axis]
        return tuple(output)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"`mask` should be a list. Received mask={mask}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"`inputs` should be a list. Received: inputs={inputs}")
        if len(mask) != len(inputs):
            raise ValueError("The lists `inputs` and `mask` should have the same length. Received: inputs of length "
                             f"{len(inputs)}, and mask of length {len(mask)}")
        if all(m is None for m in mask):
            return None
        masks = []
        for x, m in zip(inputs, mask):
            shape = tuple(x.shape)
            if m is None:
                masks.append(np.ones(shape, dtype=bool))
                continue
            m = _mask_data(m)
            if m.ndim < len(shape):
                m = np.expand_dims(m, -1)
            # NOTE: tf.keras concatenates the (batch, time, 1) mask with the (batch, time, d) ones; broadcasting to
            # the input's shape gives the same AND below and also works when concatenating on another axis
            masks.append(np.broadcast_to(m, shape))
        return np.all(np.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two inputs along `axes`, per sample (tf.keras's `batch_dot`).

    Args:
        axes: an int, or a pair of ints (one axis per input), never the batch axis 0.
        normalize: L2-normalize both inputs along the dot axes first (the output is then the cosine similarity).
        **kwargs: base layer arguments.

    Input shape: two tensors of rank >= 2. Output shape: the first input's shape without its dot axis, then the
    second's without its batch and dot axes; `(batch, 1)` when nothing else remains.

    >>> import numpy as np
    >>> Dot(axes=1)([np.ones((2, 3)), np.full((2, 3), 2.0)]).numpy().tolist()
    [[6.0], [6.0]]
    """

    def __init__(self, axes: Any, normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. Received: "
                                f"axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. Received: "
                                 f"axes={axes}")
            if not isinstance(axes[0], int) or not isinstance(axes[1], int):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. Received: "
                                 f"axes={axes}")
            axes = list(axes)
        self.axes = axes
        self.normalize = bool(normalize)
        self.supports_masking = True

    def _resolve_axes(self, ndim1: int, ndim2: int) -> List[int]:
        if isinstance(self.axes, int):
            return [self.axes % ndim1, self.axes % ndim2] if self.axes < 0 else [self.axes] * 2
        return [a % n if a < 0 else a for a, n in zip(self.axes, (ndim1, ndim2))]

    def build(self, input_shape: Any) -> None:
        if not isinstance(input_shape, (list, tuple)) or is_shape(input_shape) or len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shape}")
        shape1, shape2 = tuple(input_shape[0]), tuple(input_shape[1])
        axes = self._resolve_axes(len(shape1), len(shape2))
        if 0 in axes:
            raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                             f"batch dimension to your inputs. Received: axes={self.axes}")
        if max(axes[0] - len(shape1), axes[1] - len(shape2)) >= 0:
            raise ValueError(f"Invalid `axes` for inputs of shapes {shape1} and {shape2}. Received: axes={self.axes}")
        if shape1[axes[0]] != shape2[axes[1]]:
            raise ValueError(f"Incompatible input shapes: axis values {shape1[axes[0]]} (at axis {axes[0]}) != "
                             f"{shape2[axes[1]]} (at axis {axes[1]}). Full input shapes: {shape1}, {shape2}")

    def call(self, inputs: Any) -> Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"A `Dot` layer should be called on exactly 2 inputs. Received: inputs={inputs}")
        x1, x2 = inputs
        axes = self._resolve_axes(x1.ndim, x2.ndim)
        if self.normalize:
            x1 = _l2_normalize(x1, axes[0])
            x2 = _l2_normalize(x2, axes[1])
        return _batch_dot(x1, x2, axes)

    def compute_output_shape(self, input_shape: Any) -> Shape:
        if not isinstance(input_shape, (list, tuple)) or is_shape(input_shape) or len(input_shape) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shape}")
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        axes = self._resolve_axes(len(shape1), len(shape2))
        shape1.pop(axes[0])
        shape2.pop(axes[1])
        shape2.pop(0)
        output = shape1 + shape2
        if len(output) == 1:
            output += [1]
        return tuple(output)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return None

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    """`x / sqrt(max(sum(x**2, axis), 1e-12))`, tf.math.l2_normalize's formula."""
    square_sum = ops.sum(x * x, axis=axis, keepdims=True)
    return x / ops.sqrt(ops.maximum(square_sum, 1e-12))


def _batch_dot(x: Tensor, y: Tensor, axes: Sequence[int]) -> Tensor:
    """Per-sample tensordot of `x` and `y` over `x` axis `axes[0]` and `y` axis `axes[1]` (Keras's `batch_dot`):
    both become 3-D (batch, rows, k) @ (batch, k, cols), one batched GEMM."""
    a0, a1 = axes
    batch = x.shape[0]
    x_rest = [d for i, d in enumerate(x.shape) if i not in (0, a0)]
    y_rest = [d for i, d in enumerate(y.shape) if i not in (0, a1)]
    k = x.shape[a0]
    x_perm = [0] + [i for i in range(1, x.ndim) if i != a0] + [a0]
    y_perm = [0, a1] + [i for i in range(1, y.ndim) if i != a1]
    xm = ops.transpose(x, x_perm).reshape((batch, int(np.prod(x_rest, dtype=np.int64)), k))
    ym = ops.transpose(y, y_perm).reshape((batch, k, int(np.prod(y_rest, dtype=np.int64))))
    out = ops.matmul(xm, ym)
    shape = [batch] + x_rest + y_rest
    if len(shape) == 1:
        shape.append(1)
    return out.reshape(tuple(shape))


# ------------------------------------------------------------------ functional forms
def _functional(cls: Any, inputs: Any, kwargs: Dict[str, Any]) -> Any:
    return cls(**kwargs)(inputs)


def add(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of `Add`: `add([x1, x2])`."""
    return _functional(Add, inputs, kwargs)


def subtract(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of `Subtract`: `subtract([x1, x2])`."""
    return _functional(Subtract, inputs, kwargs)


def multiply(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of `Multiply`."""
    return _functional(Multiply, inputs, kwargs)


def average(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of `Average`."""
    return _functional(Average, inputs, kwargs)


def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of `Maximum`."""
    return _functional(Maximum, inputs, kwargs)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """Functional form of `Minimum`."""
    return _functional(Minimum, inputs, kwargs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """Functional form of `Concatenate`: `concatenate([x1, x2], axis=-1)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Sequence[Any], axes: Any, normalize: bool = False, **kwargs: Any) -> Any:
    """Functional form of `Dot`: `dot([x1, x2], axes=1)`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
