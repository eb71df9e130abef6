"""Global numeric settings, name counters, the random source and the variable helpers Keras 2 scripts call as
`K.get_value`, `K.set_value`, `K.int_shape`, ..., and the few tensor functions custom layers call in `call`
(`K.mean`, `K.l2_normalize`, `K.relu`, `K.concatenate`, ...) (Keras 2's `keras.backend`).

This module imports nothing from minikeras, so every other module may import it.
"""
from __future__ import annotations

import collections
import random as _py_random
from typing import Any, Iterable, List, Optional, Sequence, Tuple

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_UID_COUNTS: "collections.defaultdict[str, int]" = collections.defaultdict(int)
# The generator `set_random_seed` made; None: draws follow numpy's global generator (see `rng`).
_SEEDED_RNG: Optional[np.random.Generator] = None
_SHARED_RNG: Optional[np.random.Generator] = None


def floatx() -> str:
    """Return the default float type as a string, `'float32'` unless changed.

    >>> floatx()
    'float32'
    """
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type: `'float16'`, `'float32'` or `'float64'`."""
    global _FLOATX
    accepted = {"float16", "float32", "float64"}
    if value not in accepted:
        raise ValueError(f"Unknown `floatx` value, expected one of {sorted(accepted)}. Received: value={value!r}")
    _FLOATX = str(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (`1e-7`, as Keras)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """Return `'channels_last'` (the only layout minikeras implements)."""
    return _IMAGE_DATA_FORMAT


def get_uid(prefix: str = "") -> int:
    """Return a per-prefix counter: 1 for the first call, 2 for the second (Keras 2's `backend.get_uid`)."""
    _UID_COUNTS[prefix] += 1
    return _UID_COUNTS[prefix]


def reset_uids() -> None:
    """Reset the layer-name counters."""
    _UID_COUNTS.clear()


def clear_session() -> None:
    """Reset the layer-name counters, as Keras's `clear_session()` does for names."""
    reset_uids()


def _global_bit_generator():
    # NOTE: `np.random.get_bit_generator` is numpy >= 1.25; before it, the same object is the legacy
    # RandomState's private `_bit_generator`.
    getter = getattr(np.random, "get_bit_generator", None)
    return getter() if getter is not None else np.random.mtrand._rand._bit_generator


def rng() -> np.random.Generator:
    """The numpy Generator every random draw in minikeras uses (initializers, dropout, shuffling).

    Until `set_random_seed` is called, it draws from the same bit generator as numpy's legacy global functions, so
    `np.random.seed(1337)` at the top of a script makes its weights, dropout masks and shuffles repeatable, as it
    did in Keras 2 (whose backend drew every unseeded random op's seed from `np.random`). After
    `set_random_seed(seed)`, it is a generator of its own seeded with `seed`.

    >>> set_random_seed(None)
    >>> np.random.seed(1); a = rng().random(2)
    >>> np.random.seed(1); bool((rng().random(2) == a).all())
    True
    """
    global _SHARED_RNG
    if _SEEDED_RNG is not None:
        return _SEEDED_RNG
    bit_generator = _global_bit_generator()
    # rebuilt when a user installs another global bit generator (`np.random.set_bit_generator`)
    if _SHARED_RNG is None or _SHARED_RNG.bit_generator is not bit_generator:
        _SHARED_RNG = np.random.Generator(bit_generator)
    return _SHARED_RNG


def set_random_seed(seed: Optional[int]) -> None:
    """Seed minikeras's generator, numpy's legacy global generator and Python's `random`.

    `seed=None` goes back to drawing from numpy's global generator (see `rng`).
    """
    global _SEEDED_RNG
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"Expected `seed` to be a non-negative integer or None. Received: seed={seed!r}")
    if seed is None:
        _SEEDED_RNG = None
        return
    _SEEDED_RNG = np.random.default_rng(seed)
    np.random.seed(int(seed) % (2**32))
    _py_random.seed(int(seed))


def cast_to_floatx(x) -> np.ndarray:
    """Cast a numpy array or scalar to the default float type."""
    return np.asarray(x, dtype=_FLOATX)


# ************************************************************ Keras 2's `K.*` helpers for variables and shapes
# (duck-typed: this module imports nothing from minikeras, so a Variable is "anything with assign / numpy")


def get_value(x: Any) -> np.ndarray:
    """Returns the value of a variable as a numpy array (Keras 2's `K.get_value`).

    Works on minikeras Variables and Tensors (layer weights, optimizer hyperparameters such as
    `model.optimizer.lr`), numpy arrays and Python numbers.

    >>> from minikeras.autograd import Variable
    >>> get_value(Variable(np.array([1.0, 2.0])))
    array([1., 2.])
    >>> float(get_value(0.5))
    0.5
    """
    if hasattr(x, "numpy") and callable(x.numpy):
        return np.asarray(x.numpy())
    return np.asarray(x)


def batch_get_value(tensors: Sequence[Any]) -> List[np.ndarray]:
    """Returns the value of more than one variable: `[get_value(x) for x in tensors]`."""
    return [get_value(x) for x in tensors]


def set_value(x: Any, value: Any) -> None:
    """Sets the value of a variable from a numpy array or number (Keras 2's `K.set_value`): `x.assign(value)`.

    `K.set_value(model.optimizer.lr, 1e-4)` changes the learning rate of the next training step.

    >>> from minikeras.autograd import Variable
    >>> v = Variable(np.zeros(2, "float32"))
    >>> set_value(v, [3.0, 4.0])
    >>> v.numpy().tolist()
    [3.0, 4.0]
    """
    if not callable(getattr(x, "assign", None)):
        raise TypeError("`set_value` expected a variable (an object with an `assign` method, such as a layer weight "
                        "or an optimizer hyperparameter); a Python number or array cannot be changed in place. "
                        f"Received: x={x!r} of type {type(x).__name__}")
    dtype = getattr(x, "dtype", None)
    x.assign(np.asarray(value, dtype=dtype) if dtype is not None else np.asarray(value))


def batch_set_value(tuples: Iterable[Tuple[Any, Any]]) -> None:
    """Sets the values of many variables at once from `(variable, value)` pairs."""
    for x, value in tuples:
        set_value(x, value)


def int_shape(x: Any) -> Tuple[Optional[int], ...]:
    """Returns the shape of a tensor, variable or array as a tuple of ints (Keras 2's `K.int_shape`).

    >>> int_shape(np.zeros((2, 3)))
    (2, 3)
    """
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"`int_shape` expected a tensor, variable or array. Received: x={x!r} of type "
                        f"{type(x).__name__}")
    return tuple(None if d is None else int(d) for d in shape)


def count_params(x: Any) -> int:
    """Returns the number of scalars in a variable or array (Keras 2's `K.count_params`).

    >>> count_params(np.zeros((3, 4)))
    12
    """
    return int(np.prod(int_shape(x), dtype=np.int64))


def learning_phase() -> int:
    """Returns the learning phase flag: 0 (test) outside training, as tf_keras 2.x returns eagerly.

    minikeras layers take the phase from their `training` argument, which `fit` sets to True and `predict` and
    `evaluate` leave False; this function exists so Keras 2 scripts that read it keep running.
    """
    return 0


# ---------------------------------------------------------------------------------------- tensor math for layers
# The few Keras 2 backend functions that custom layers in Keras 2's own examples call inside `call`
# (`examples/antirectifier.py`: `K.mean`, `K.l2_normalize`, `K.relu`, `K.concatenate`), and their close
# relatives; not the whole tensor API. Each works on minikeras Tensors (recorded for gradients) and on numpy
# arrays. The autograd ops are imported inside the functions so that importing this module still imports nothing
# from minikeras.


def _ops():
    # NOTE: minikeras.autograd imports backend: a real cycle
    from minikeras.autograd import ops

    return ops


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """Mean of a tensor along `axis` (an int, a list of ints, or None for all), as Keras 2's `K.mean`.

    Example:

    >>> from minikeras import backend as K
    >>> K.mean(np.array([[1.0, 2.0], [3.0, 5.0]]), axis=1, keepdims=True).numpy().tolist()
    [[1.5], [4.0]]
    """
    return _ops().mean(x, axis=_axis(axis), keepdims=keepdims)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001 - Keras's name
    """Sum of a tensor along `axis`, as Keras 2's `K.sum`."""
    return _ops().sum(x, axis=_axis(axis), keepdims=keepdims)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001 - Keras's name
    """Maximum of a tensor along `axis`, as Keras 2's `K.max`."""
    return _ops().max(x, axis=_axis(axis), keepdims=keepdims)


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001 - Keras's name
    """Minimum of a tensor along `axis`, as Keras 2's `K.min`."""
    return _ops().min(x, axis=_axis(axis), keepdims=keepdims)


def _axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def square(x: Any) -> Any:
    """Element-wise square, as Keras 2's `K.square`."""
    return _ops().square(x)


def sqrt(x: Any) -> Any:
    """Element-wise square root, as Keras 2's `K.sqrt`."""
    return _ops().sqrt(x)


def exp(x: Any) -> Any:
    """Element-wise exponential, as Keras 2's `K.exp`."""
    return _ops().exp(x)


def log(x: Any) -> Any:
    """Element-wise natural logarithm, as Keras 2's `K.log`."""
    return _ops().log(x)


def abs(x: Any) -> Any:  # noqa: A001 - Keras's name
    """Element-wise absolute value, as Keras 2's `K.abs`."""
    return _ops().abs(x)


def relu(x: Any, alpha: float = 0.0, max_value: Optional[float] = None, threshold: float = 0.0) -> Any:
    """Rectified linear unit, as Keras 2's `K.relu`: `x` above `threshold`, `alpha * (x - threshold)` below,
    capped at `max_value`."""
    return _ops().relu(x, alpha=alpha, max_value=max_value, threshold=threshold)


def sigmoid(x: Any) -> Any:
    """Element-wise sigmoid, as Keras 2's `K.sigmoid`."""
    return _ops().sigmoid(x)


def tanh(x: Any) -> Any:
    """Element-wise tanh, as Keras 2's `K.tanh`."""
    return _ops().tanh(x)


def softmax(x: Any, axis: int = -1) -> Any:
    """Softmax along `axis`, as Keras 2's `K.softmax`."""
    return _ops().softmax(x, axis=axis)


def clip(x: Any, min_value: Any, max_value: Any) -> Any:
    """Element-wise clipping to `[min_value, max_value]`, as Keras 2's `K.clip`."""
    return _ops().clip(x, min_value=min_value, max_value=max_value)


def concatenate(tensors: Sequence[Any], axis: int = -1) -> Any:
    """Concatenates a list of tensors along `axis`, as Keras 2's `K.concatenate`."""
    return _ops().concatenate(list(tensors), axis=axis)


def l2_normalize(x: Any, axis: Any = None) -> Any:
    """Normalizes `x` to unit L2 norm along `axis`, as Keras 2's `K.l2_normalize` (TensorFlow's
    `tf.nn.l2_normalize`): `x / sqrt(max(sum(x ** 2, axis), 1e-12))`.

    Example:

    >>> from minikeras import backend as K
    >>> K.l2_normalize(np.array([[3.0, 4.0]]), axis=1).numpy().tolist()
    [[0.6, 0.8]]
    """
    ops = _ops()
    squares = ops.sum(ops.square(x), axis=_axis(axis), keepdims=True)
    return ops.divide(x, ops.sqrt(ops.maximum(squares, 1e-12)))


def function(inputs: Any, outputs: Any, updates: Any = None, name: Optional[str] = None, **kwargs: Any) -> Any:
    """A callable computing `outputs` from values of the symbolic `inputs`, as Keras 2's `K.function` (tf_keras 2.x,
    eager: it builds `Model(inputs, outputs)` and calls it in inference mode, returning numpy arrays).

    Keras 2 code uses it to read a layer's output: `K.function([model.input], [model.layers[0].output])`.

    Args:
        inputs: a symbolic tensor or a list of them (`Input(...)`, `model.input`, `layer.input`).
        outputs: a symbolic tensor or a list of them (`layer.output`).
        updates: not supported (graph-mode variable updates); a non-empty value raises ValueError, as tf_keras.
        name: unused, as in tf_keras's eager `function`.
        **kwargs: none accepted (TensorFlow session arguments in Keras 2): ValueError, as tf_keras in eager mode.

    Returns:
        `f(values)`: `values` holds one array per input (a list, or one array for one input); the result is a list
        of arrays when `outputs` is a list, else one array.

    Example:

    >>> from minikeras import Sequential, layers, backend as K
    >>> model = Sequential([layers.Dense(4, input_shape=(3,), activation="relu"), layers.Dense(2)])
    >>> get_hidden = K.function([model.input], [model.layers[0].output])
    >>> get_hidden([np.ones((5, 3))])[0].shape
    (5, 4)
    """
    if kwargs:
        raise ValueError("Session keyword arguments are not supported during eager execution. "
                         f"You passed: {kwargs}")
    if updates:
        # tf_keras 2.x's message: graph-mode variable updates have no eager (or minikeras) meaning
        raise ValueError(f"`updates` argument is not supported during eager execution. You passed: {updates}")
    # NOTE: minikeras.autograd and minikeras.engine import backend: a real cycle
    from minikeras.autograd import no_grad
    from minikeras.engine.training import Model

    model = Model(inputs=inputs, outputs=outputs)
    wrap_outputs = isinstance(outputs, list) and len(outputs) == 1

    def func(model_inputs: Any) -> Any:
        with no_grad():
            outs = model(model_inputs)
        if wrap_outputs:
            outs = [outs]
        if isinstance(outs, (list, tuple)):
            return [o.numpy() for o in outs]
        return outs.numpy()

    return func
