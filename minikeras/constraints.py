"""Weight constraints (Keras 2's `keras.constraints`, with tf-keras 2.21's classes, formulas and configs).

A constraint is a projection applied to a weight after each optimizer update: `c(w: np.ndarray) -> np.ndarray`
returns a new array of the same shape and dtype. The formulas are tf-keras's, including where `backend.epsilon()`
sits: `MaxNorm` computes `w * clip(norm, 0, max_value) / (epsilon + norm)` with the norm taken along `axis`
(axis 0 of a Dense kernel `(input_dim, units)` is the vector of weights entering each unit).

Names: `MaxNorm`/`max_norm`/`maxnorm`, `NonNeg`/`non_neg`/`nonneg`, `UnitNorm`/`unit_norm`/`unitnorm`,
`MinMaxNorm`/`min_max_norm`; `get`, `serialize` (tf-keras's four-key dict, module `keras.constraints`), `deserialize`.

>>> from minikeras import constraints
>>> c = constraints.get("max_norm")
>>> c
MaxNorm(max_value=2, axis=0)
>>> c(np.array([[3.0], [4.0]], dtype="float32"))
array([[1.2],
       [1.6]], dtype=float32)
"""
from __future__ import annotations

import inspect
import numbers
from typing import Any, Dict, Mapping, Optional, Sequence, Union

import numpy as np

from minikeras import backend
from minikeras.utils import generic_utils

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm", "RadialConstraint", "max_norm", "non_neg",
           "unit_norm", "min_max_norm", "radial_constraint", "maxnorm", "nonneg", "unitnorm", "get", "serialize",
           "deserialize"]

MODULE = "keras.constraints"
Axis = Union[int, Sequence[int]]


def _check_number(value: Any, name: str, owner: str) -> None:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise ValueError(f"Invalid value for argument `{name}` of {owner}: expected a number. "
                         f"Received: {name}={value!r}")


def _check_axis(axis: Any, owner: str) -> None:
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    if not items or any(isinstance(a, bool) or not isinstance(a, (numbers.Integral, np.integer)) for a in items):
        raise ValueError(f"Invalid value for argument `axis` of {owner}: expected an integer or a list of integers. "
                         f"Received: axis={axis!r}")


def _np_axis(axis: Axis) -> Any:
    return tuple(int(a) for a in axis) if isinstance(axis, (list, tuple)) else int(axis)


def _as_array(w: Any) -> np.ndarray:
    arr = np.asarray(w)
    if arr.dtype.kind != "f":
        arr = arr.astype(backend.floatx())
    return arr


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def _norms(w: np.ndarray, axis: Axis) -> np.ndarray:
    return np.sqrt(np.sum(np.square(w), axis=_np_axis(axis), keepdims=True))


class Constraint:
    """Base class of weight constraints: `c(w: np.ndarray) -> np.ndarray` (the base class returns `w` unchanged).

    >>> class Clip(Constraint):
    ...     def __call__(self, w):
    ...         return np.clip(w, -1.0, 1.0)
    >>> Clip()(np.array([-3.0, 0.5]))
    array([-1. ,  0.5])
    """

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return w

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a JSON-safe dict (tf-keras's keys)."""
        return {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Constraint":
        """Rebuild from `get_config()` (`cls(**config)`); unknown keys raise TypeError."""
        config = dict(config)
        params = inspect.signature(cls.__init__).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            generic_utils.validate_kwargs(cls.__name__, config, allowed=[k for k in params if k != "self"])
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """Constrains the weights entering each unit to have a norm of at most `max_value`.

    `w * clip(norm, 0, max_value) / (epsilon + norm)`, `norm = sqrt(sum(w**2, axis, keepdims=True))`.

    Args:
        max_value: the maximum norm (default `2`).
        axis: axis (or list of axes) along which norms are taken (default `0`: for a Dense kernel
            `(input_dim, units)`, each column; for a conv kernel `(rows, cols, in, out)` use `[0, 1, 2]`).

    >>> w = MaxNorm(max_value=1.0)(np.array([[3.0, 0.3], [4.0, 0.4]]))
    >>> np.round(np.linalg.norm(w, axis=0), 6)
    array([1. , 0.5])
    """

    def __init__(self, max_value: float = 2, axis: Axis = 0):
        _check_number(max_value, "max_value", "MaxNorm")
        _check_axis(axis, "MaxNorm")
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = _as_array(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return (w * (desired / (backend.epsilon() + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> Dict[str, Any]:
        return {"max_value": _json_value(self.max_value), "axis": _json_value(self.axis)}


class NonNeg(Constraint):
    """Constrains the weights to be non-negative: `w * (w >= 0)` (negative entries become zero).

    >>> NonNeg()(np.array([-1.0, 0.0, 2.0], dtype="float32"))
    array([-0.,  0.,  2.], dtype=float32)
    """

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = _as_array(w)
        return w * (w >= 0.0).astype(w.dtype)


class UnitNorm(Constraint):
    """Constrains the weights entering each unit to have unit norm: `w / (epsilon + norm)`.

    Args:
        axis: axis (or list of axes) along which norms are taken (default `0`).

    >>> w = UnitNorm()(np.array([[3.0], [4.0]]))
    >>> np.round(w, 6)
    array([[0.6],
           [0.8]])
    """

    def __init__(self, axis: Axis = 0):
        _check_axis(axis, "UnitNorm")
        self.axis = axis

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = _as_array(w)
        return (w / (backend.epsilon() + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self) -> Dict[str, Any]:
        return {"axis": _json_value(self.axis)}


class MinMaxNorm(Constraint):
    """Constrains the weights entering each unit to have a norm between `min_value` and `max_value`.

    `w * desired / (epsilon + norm)` with `desired = rate * clip(norm, min_value, max_value) + (1 - rate) * norm`:
    `rate=1.0` enforces the bounds strictly, a smaller rate moves the norm part of the way at each step.

    Args:
        min_value: the minimum norm (default `0.0`).
        max_value: the maximum norm (default `1.0`).
        rate: enforcement rate (default `1.0`).
        axis: axis (or list of axes) along which norms are taken (default `0`).

    >>> w = MinMaxNorm(min_value=0.5, max_value=0.8)(np.array([[3.0, 0.03], [4.0, 0.04]]))
    >>> np.round(np.linalg.norm(w, axis=0), 4)
    array([0.8, 0.5])
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis: Axis = 0):
        for name, value in (("min_value", min_value), ("max_value", max_value), ("rate", rate)):
            _check_number(value, name, "MinMaxNorm")
        _check_axis(axis, "MinMaxNorm")
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = _as_array(w)
        norms = _norms(w, self.axis)
        desired = self.rate * np.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (backend.epsilon() + norms))).astype(w.dtype, copy=False)

    def get_config(self) -> Dict[str, Any]:
        return {"min_value": _json_value(self.min_value), "max_value": _json_value(self.max_value),
                "rate": _json_value(self.rate), "axis": _json_value(self.axis)}


class RadialConstraint(Constraint):
    """tf-keras's `RadialConstraint` for `Conv2D` kernels, which minikeras (no convolutions) does not implement.

    Registered so that a config naming it fails with a clear message rather than "Unknown constraint".
    """

    def __init__(self) -> None:
        raise NotImplementedError("Keras's `RadialConstraint` (for Conv2D kernels) is not implemented in minikeras, "
                                  "which has no convolution layers. Received: class_name='RadialConstraint'")


# Aliases, as tf-keras.
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm
radial_constraint = RadialConstraint
# Keras 2 legacy aliases.
maxnorm = max_norm
nonneg = non_neg
unitnorm = unit_norm

ALL_OBJECTS = (MaxNorm, NonNeg, UnitNorm, MinMaxNorm, RadialConstraint)
ALL_OBJECTS_DICT: Dict[str, Any] = generic_utils.class_registry(
    ALL_OBJECTS, {"maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm})


def serialize(constraint: Any) -> Any:
    """tf-keras 2.21's form: `{"module": "keras.constraints", "class_name", "config", "registered_name": None}`.

    >>> serialize(MaxNorm(3.0))
    {'module': 'keras.constraints', 'class_name': 'MaxNorm', 'config': {'max_value': 3.0, 'axis': 0}, 'registered_name': None}
    """
    return generic_utils.serialize_keras_object(constraint, module=MODULE)


def deserialize(config: Any, custom_objects: Optional[Mapping[str, Any]] = None) -> Any:
    """A constraint from a name or a 2-key / 4-key config dict.

    >>> deserialize({"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}})
    MaxNorm(max_value=2, axis=0)
    """
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    obj = generic_utils.deserialize_keras_object(config, module_objects=ALL_OBJECTS_DICT,
                                                 custom_objects=custom_objects, printable_module_name="constraint")
    if inspect.isclass(obj):
        obj = obj()
    return obj


def get(identifier: Any) -> Any:
    """Resolve a constraint identifier: None, a name, a config dict, a class or a callable.

    >>> get("nonneg")
    NonNeg()
    >>> get({"module": "keras.constraints", "class_name": "UnitNorm", "config": {"axis": 0},
    ...      "registered_name": None})
    UnitNorm(axis=0)
    """
    if identifier is None:
        return None
    if isinstance(identifier, (dict, str)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(f"Could not interpret constraint function identifier: {identifier}")
