"""`KerasTensor`, the symbolic value of the functional API, and the nest helpers the graph code shares.

A `KerasTensor` holds no data: a shape (batch axis included, `None` where unknown), a dtype, and its Keras
history `(layer, node_index, tensor_index)`: which call of which layer produced it. `Input(...)` returns one;
calling a layer on KerasTensors records a `Node` and returns new KerasTensors (Keras 2's `keras_tensor.py`).
"""
from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Optional, Tuple

import numpy as np

Shape = Tuple[Optional[int], ...]


class KerasHistory(NamedTuple):
    """Where a KerasTensor comes from: `layer._inbound_nodes[node_index]`, output number `tensor_index`."""

    layer: Any
    node_index: int
    tensor_index: int


class KerasTensor:
    """A symbolic tensor: shape and dtype of a value a model will compute, and the layer call that makes it.

    Args:
        shape: full shape, batch axis first (`None` for unknown sizes).
        dtype: dtype name, e.g. `'float32'` or `'int32'`.
        name: optional name (an `Input`'s name).

    >>> from minikeras import Input
    >>> x = Input(shape=(5, 3))
    >>> x.shape, x.dtype
    ((None, 5, 3), 'float32')
    """

    def __init__(self, shape: Shape, dtype: str, name: Optional[str] = None):
        self.shape: Shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self._keras_history: Optional[KerasHistory] = None
        # NOTE: masks are computed when the graph runs on data (they depend on the values); a symbolic tensor
        # only carries one when given explicitly, never a computed placeholder.
        self._keras_mask: Any = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def node(self) -> Any:
        """The `Node` that produced this tensor."""
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    def __repr__(self) -> str:
        origin = f" (created by layer '{self._keras_history.layer.name}')" if self._keras_history else ""
        return f"<KerasTensor: shape={self.shape} dtype={self.dtype}{origin}>"

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"You are passing {self!r}, a symbolic Keras input/output, to a function that needs "
                        "data (numpy). Symbolic tensors only describe a model: pass them to Keras layers and to "
                        "`Model(inputs, outputs)`, then call the model (or `predict`) on arrays.")

    def __bool__(self) -> bool:
        raise TypeError(f"A symbolic KerasTensor has no truth value. Received: {self!r}")

    def __iter__(self) -> Any:
        raise TypeError(f"A symbolic KerasTensor is not iterable; index the outputs of a multi-output layer "
                        f"instead. Received: {self!r}")

    def _op_error(self, *args: Any) -> Any:
        raise TypeError("minikeras does not turn arithmetic on symbolic KerasTensors into layers (tf.keras's "
                        "TFOpLambda): use the merge layers (`Add`, `Subtract`, `Multiply`, ...) or a `Lambda` "
                        f"layer. Received: an operator applied to {self!r}")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _op_error
    __matmul__ = __rmatmul__ = __pow__ = __neg__ = __getitem__ = _op_error


def is_keras_tensor(x: Any) -> bool:
    return isinstance(x, KerasTensor)


# ------------------------------------------------------------------ nested structures (tf.nest's rules)
def flatten(struct: Any) -> List[Any]:
    """Leaves of nested lists/tuples/dicts, dict values in sorted-key order (as `tf.nest.flatten`)."""
    if isinstance(struct, dict):
        return [leaf for k in sorted(struct) for leaf in flatten(struct[k])]
    if isinstance(struct, (list, tuple)):
        return [leaf for item in struct for leaf in flatten(item)]
    return [struct]


def pack_sequence_as(structure: Any, flat: List[Any]) -> Any:
    """Inverse of `flatten`: the leaves of `flat`, in the shape of `structure`."""
    it = iter(flat)

    def pack(s: Any) -> Any:
        if isinstance(s, dict):
            packed = {k: pack(s[k]) for k in sorted(s)}
            return {k: packed[k] for k in s}  # keep the user's key order
        if isinstance(s, (list, tuple)):
            return type(s)(pack(v) for v in s)
        return next(it)

    return pack(structure)


def map_structure(fn: Callable[[Any], Any], struct: Any) -> Any:
    return pack_sequence_as(struct, [fn(x) for x in flatten(struct)])


def is_shape(value: Any) -> bool:
    """True for one shape (a tuple/list of ints and Nones), False for a structure of shapes."""
    return isinstance(value, (tuple, list)) and all(d is None or (isinstance(d, (int, np.integer))
                                                                   and not isinstance(d, bool)) for d in value)
