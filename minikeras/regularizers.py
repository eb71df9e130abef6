"""Weight regularizers (Keras 2's `keras.regularizers`, with tf-keras 2.21's classes, formulas and configs).

A regularizer is called on a weight `Tensor` and returns a scalar `Tensor` built from autograd ops, so the penalty
is differentiable; layers add it to `layer.losses` and training adds those to the loss. The formulas are tf-keras's,
without a 0.5 factor: `L1: l1 * sum(|x|)`, `L2: l2 * sum(x**2)`.

Factors are stored cast to `backend.floatx()`, as tf-keras's `backend.cast_to_floatx`, so the config of `L2(0.01)`
is `{"l2": 0.009999999776482582}` (the float32 value), exactly what tf-keras and Keras 3 write.

`l1` and `l2` are the classes `L1` and `L2` (tf-keras's aliases; Keras 2's functions returned `L1L2`), and
`l1_l2(l1=0.01, l2=0.01)` returns an `L1L2`. The string `'l1_l2'` means `L1L2(l1=0.01, l2=0.01)` (tf-keras's special
case), while the class `L1L2()` defaults to zero factors.

>>> from minikeras import regularizers
>>> from minikeras.autograd import Tensor
>>> reg = regularizers.L2(2.0)
>>> float(reg(Tensor(np.ones((5, 5)))))
50.0
>>> regularizers.serialize(regularizers.l2(0.01))
{'module': 'keras.regularizers', 'class_name': 'L2', 'config': {'l2': 0.009999999776482582}, 'registered_name': None}
"""
from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Dict, Mapping, Optional

import numpy as np

from minikeras import backend
from minikeras.autograd import Tensor, ops
from minikeras.utils import generic_utils

__all__ = ["Regularizer", "L1", "L2", "L1L2", "OrthogonalRegularizer", "l1", "l2", "l1_l2", "orthogonal_regularizer",
           "get", "serialize", "deserialize"]

MODULE = "keras.regularizers"


def _check_penalty_number(value: Any, name: str) -> float:
    """Keras 3's `validate_float_arg` (tf-keras's `_check_penalty_number` plus the sign check).

    Accepts finite non-negative Python or numpy real numbers; bools, strings, NaN, inf and negatives raise ValueError.
    """
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating))
            or math.isinf(value) or math.isnan(value) or value < 0):
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class Regularizer:
    """Base class of regularizers: `reg(x: Tensor) -> scalar Tensor`.

    Subclasses implement `__call__` with autograd ops and `get_config()` returning the constructor arguments.

    >>> class Sum(Regularizer):
    ...     def __call__(self, x):
    ...         return x.sum() * 0.5
    ...     def get_config(self):
    ...         return {}
    >>> float(Sum()(Tensor([1.0, 3.0])))
    2.0
    """

    def __call__(self, x: Tensor) -> Tensor:
        """The penalty of `x` (the base class penalizes nothing)."""
        return Tensor(np.zeros((), dtype=_as_tensor(x).dtype))

    def get_config(self) -> Dict[str, Any]:
        raise NotImplementedError(f"{self} does not implement get_config()")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Regularizer":
        """Rebuild from `get_config()` (`cls(**config)`); unknown keys raise TypeError."""
        config = dict(config)
        params = inspect.signature(cls.__init__).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            generic_utils.validate_kwargs(cls.__name__, config, allowed=[k for k in params if k != "self"])
        return cls(**config)

    def __repr__(self) -> str:
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """A regularizer that applies both L1 and L2 penalties: `l1 * sum(|x|) + l2 * sum(x**2)`.

    Args:
        l1: non-negative L1 factor (default `0.0`; `None` means `0.0`).
        l2: non-negative L2 factor (default `0.0`; `None` means `0.0`).

    Keras 2 wrote `regularizers.l2(0.01)` as `{"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}}`.
    The string identifier `'l1_l2'` gives `L1L2(l1=0.01, l2=0.01)`.

    >>> reg = L1L2(l1=0.5, l2=0.25)
    >>> float(reg(Tensor([1.0, -2.0])))
    2.75
    >>> reg.get_config()
    {'l1': 0.5, 'l2': 0.25}
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        # NOTE: the defaults differ from `l1_l2()`'s for backward compatibility: `L1L2(l2=0.1)` has no L1 penalty.
        l1 = 0.0 if l1 is None else l1
        l2 = 0.0 if l2 is None else l2
        _check_penalty_number(l1, "l1")
        _check_penalty_number(l2, "l2")
        self.l1 = backend.cast_to_floatx(l1)
        self.l2 = backend.cast_to_floatx(l2)

    def __call__(self, x: Tensor) -> Tensor:
        x = _as_tensor(x)
        regularization = Tensor(np.zeros((), dtype=x.dtype))
        if self.l1:
            regularization = regularization + ops.abs(x).sum() * float(self.l1)
        if self.l2:
            regularization = regularization + ops.square(x).sum() * float(self.l2)
        return regularization

    def get_config(self) -> Dict[str, Any]:
        return {"l1": float(self.l1), "l2": float(self.l2)}


class L1(Regularizer):
    """A regularizer that applies an L1 penalty: `l1 * sum(|x|)`.

    Args:
        l1: non-negative factor (default `0.01`; `None` means `0.01`). Keras 2's keyword `l` is accepted.

    Also available as `l1` (the string `'l1'` gives `L1(0.01)`).

    >>> float(L1(0.5)(Tensor([1.0, -3.0])))
    2.0
    """

    def __init__(self, l1: float = 0.01, **kwargs: Any):
        l1 = kwargs.pop("l", l1)  # Keras 2's `l1(l=...)`
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to L1: {kwargs}")
        l1 = 0.01 if l1 is None else l1
        _check_penalty_number(l1, "l1")
        self.l1 = backend.cast_to_floatx(l1)

    def __call__(self, x: Tensor) -> Tensor:
        return ops.abs(_as_tensor(x)).sum() * float(self.l1)

    def get_config(self) -> Dict[str, Any]:
        return {"l1": float(self.l1)}


class L2(Regularizer):
    """A regularizer that applies an L2 penalty: `l2 * sum(x**2)` (no 0.5 factor, as Keras).

    Args:
        l2: non-negative factor (default `0.01`; `None` means `0.01`). Keras 2's keyword `l` is accepted.

    Also available as `l2` (the string `'l2'` gives `L2(0.01)`).

    >>> float(L2(0.5)(Tensor([1.0, -3.0])))
    5.0
    >>> L2(0.01).get_config()
    {'l2': 0.009999999776482582}
    """

    def __init__(self, l2: float = 0.01, **kwargs: Any):
        l2 = kwargs.pop("l", l2)  # Keras 2's `l2(l=...)`
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to L2: {kwargs}")
        l2 = 0.01 if l2 is None else l2
        _check_penalty_number(l2, "l2")
        self.l2 = backend.cast_to_floatx(l2)

    def __call__(self, x: Tensor) -> Tensor:
        return ops.square(_as_tensor(x)).sum() * float(self.l2)

    def get_config(self) -> Dict[str, Any]:
        return {"l2": float(self.l2)}


class OrthogonalRegularizer(Regularizer):
    """Regularizer that pushes the rows (or columns) of a 2D weight towards being orthogonal to each other.

    With the rows (`mode="rows"`) or columns (`mode="columns"`) L2-normalized to `v_i`, the penalty is
    `factor * 0.5 * sum_{i != j} |v_i . v_j| / (n * (n - 1) / 2)`, `n` the number of rows (columns).

    Args:
        factor: non-negative factor (default `0.01`).
        mode: `"rows"` (default) or `"columns"`.

    >>> float(OrthogonalRegularizer(factor=1.0)(Tensor(np.eye(3))))
    0.0
    >>> round(float(OrthogonalRegularizer(factor=1.0)(Tensor([[1.0, 0.0], [1.0, 0.0]]))), 6)
    1.0
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows"):
        _check_penalty_number(factor, "factor")
        self.factor = backend.cast_to_floatx(factor)
        if mode not in ("rows", "columns"):
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", "columns"}. '
                             f"Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, inputs: Tensor) -> Tensor:
        x = _as_tensor(inputs)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        axis = 1 if self.mode == "rows" else 0
        # tf.math.l2_normalize: x / sqrt(max(sum(x**2), 1e-12)).
        x = x / ops.sqrt(ops.maximum(ops.square(x).sum(axis=axis, keepdims=True), 1e-12))
        product = x @ x.T if self.mode == "rows" else x.T @ x
        size = x.shape[0] if self.mode == "rows" else x.shape[1]
        off_diagonal = product * (1.0 - np.eye(size, dtype=x.dtype))
        num_pairs = size * (size - 1.0) / 2.0
        return ops.abs(off_diagonal).sum() * (float(self.factor) * 0.5 / num_pairs)

    def get_config(self) -> Dict[str, Any]:
        return {"factor": float(self.factor), "mode": self.mode}


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """An `L1L2` regularizer with both penalties (defaults `0.01` each, unlike the `L1L2` class).

    >>> l1_l2()
    L1L2(l1=0.009999999776482582, l2=0.009999999776482582)
    """
    return L1L2(l1=l1, l2=l2)


# Deserialization aliases, as tf-keras.
l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS = (L1, L2, L1L2, OrthogonalRegularizer)
ALL_OBJECTS_DICT: Dict[str, Any] = generic_utils.class_registry(ALL_OBJECTS, {"l1_l2": l1_l2})


def serialize(regularizer: Any) -> Any:
    """tf-keras 2.21's form: `{"module": "keras.regularizers", "class_name", "config", "registered_name": None}`.

    >>> serialize(L1L2(l1=0.0, l2=0.5))
    {'module': 'keras.regularizers', 'class_name': 'L1L2', 'config': {'l1': 0.0, 'l2': 0.5}, 'registered_name': None}
    """
    return generic_utils.serialize_keras_object(regularizer, module=MODULE)


def deserialize(config: Any, custom_objects: Optional[Mapping[str, Any]] = None) -> Any:
    """A regularizer from a name or a 2-key / 4-key config dict.

    >>> deserialize({"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}})
    L1L2(l1=0.0, l2=0.009999999776482582)
    >>> deserialize("l1_l2")
    L1L2(l1=0.009999999776482582, l2=0.009999999776482582)
    """
    if config == "l1_l2":
        # tf-keras's special case: the string's defaults differ from those of the L1L2 class.
        return L1L2(l1=0.01, l2=0.01)
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    obj = generic_utils.deserialize_keras_object(config, module_objects=ALL_OBJECTS_DICT,
                                                 custom_objects=custom_objects, printable_module_name="regularizer")
    if obj is l1_l2:  # {"class_name": "l1_l2", "config": {}}
        return l1_l2()
    if inspect.isclass(obj):
        obj = obj()
    return obj


def get(identifier: Any) -> Any:
    """Resolve a regularizer identifier: None, a name, a config dict, a class or a callable.

    Classes are instantiated with their defaults; callables (instances, functions) pass through.

    >>> get("l2")
    L2(l2=0.009999999776482582)
    >>> get(None) is None
    True
    """
    if identifier is None:
        return None
    if isinstance(identifier, (dict, str)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(f"Could not interpret regularizer identifier: {identifier}")
