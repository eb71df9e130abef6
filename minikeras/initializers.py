"""Weight initializers (Keras 2's `keras.initializers`, with tf-keras 2.21's classes, defaults and configs).

An initializer is called as `init(shape, dtype=None)` and returns a new numpy array of that shape and dtype
(`backend.floatx()` when `dtype` is None). Random initializers draw from `backend.rng()`, so
`backend.set_random_seed(n)` makes a whole model reproducible; an initializer given its own integer `seed` draws
from a fresh `np.random.default_rng(seed)` at every call, so it returns the same values each time (tf-keras's
stateless semantics). minikeras never reproduces TensorFlow's random streams, only its distributions.

`get(identifier)` resolves every form Keras has written: names (`'glorot_uniform'`, `'GlorotUniform'`, Keras 1/2
aliases such as `'normal'`, `'uniform'`, `'zero'`, `'one'`), Keras 2 two-key dicts
(`{"class_name": "VarianceScaling", "config": {...}}`, which Keras 2.0-2.3 wrote for `glorot_uniform`), tf.keras 1.x
configs carrying a `dtype` key, and tf-keras / Keras 3 four-key dicts (`{"module": "keras.initializers", ...}`).
`serialize` writes tf-keras 2.21's four-key form.

>>> from minikeras import initializers
>>> init = initializers.get("glorot_uniform")
>>> init
GlorotUniform(seed=None)
>>> init((3, 4)).shape
(3, 4)
>>> initializers.serialize(init)
{'module': 'keras.initializers', 'class_name': 'GlorotUniform', 'config': {'seed': None}, 'registered_name': None}
"""
from __future__ import annotations

import inspect
import math
import numbers
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from minikeras import backend
from minikeras.utils import generic_utils

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "Orthogonal", "Identity", "compute_fans", "get", "serialize", "deserialize",
    "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal", "variance_scaling",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal",
    "identity", "normal", "uniform", "zero", "one",
]

Shape = Union[int, Sequence[int]]
SeedLike = Union[None, int, Dict[str, Any]]
MODULE = "keras.initializers"

# scipy.stats.truncnorm.std(a=-2, b=2, loc=0., scale=1.): the std of a unit normal truncated at two std devs.
TRUNCATED_NORMAL_STD = 0.87962566103423978


# ************************************************************ helpers


def _standardize_shape(shape: Shape) -> Tuple[int, ...]:
    if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"Expected `shape` to be a tuple of non-negative integers. Received: shape={shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)) or d < 0:
            raise ValueError("Expected `shape` to be a tuple of non-negative integers (a fully defined shape). "
                             f"Received: shape={shape!r}")
        out.append(int(d))
    return tuple(out)


def _dtype(dtype: Any) -> np.dtype:
    try:
        return np.dtype(backend.floatx() if dtype is None else dtype)
    except TypeError:
        raise ValueError(f"Invalid `dtype`, expected a numpy dtype or its name. Received: dtype={dtype!r}") from None


def _float_dtype(dtype: Any, owner: str) -> np.dtype:
    dt = _dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"Initializer {owner} expected a floating point `dtype`. Received: dtype={dt}")
    return dt


def _json_value(value: Any) -> Any:
    """Numpy scalars -> Python numbers so configs stay JSON-safe."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _validate_seed(seed: Any) -> None:
    if seed is None or isinstance(seed, dict):
        return
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise ValueError("`seed` argument should be an integer (or a Keras 3 `SeedGenerator` config). "
                         f"Received: seed={seed!r}")


def compute_fans(shape: Shape) -> Tuple[int, int]:
    """`(fan_in, fan_out)` of a weight shape, as Keras's `_compute_fans`.

    Scalars give `(1, 1)`, vectors `(n, n)`, matrices `(rows, cols)`; rank > 2 is read as a convolution kernel
    `(..., input_depth, depth)` whose leading dimensions form the receptive field.

    >>> compute_fans((3, 4))
    (3, 4)
    >>> compute_fans((5, 5, 3, 8))  # a 5x5 conv kernel, 3 -> 8 channels
    (75, 200)
    """
    shape = _standardize_shape(shape)
    if len(shape) < 1:  # Just to avoid errors for constants.
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field_size = 1
        for dim in shape[:-2]:
            receptive_field_size *= dim
        fan_in = shape[-2] * receptive_field_size
        fan_out = shape[-1] * receptive_field_size
    return int(fan_in), int(fan_out)


def _truncated_standard_normal(gen: np.random.Generator, shape: Tuple[int, ...]) -> np.ndarray:
    """Unit normal draws with every value beyond two standard deviations re-drawn (`tf.random.truncated_normal`)."""
    out = gen.standard_normal(shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out


# ************************************************************ base classes


class Initializer:
    """Base class of initializers: `init(shape, dtype=None) -> np.ndarray`.

    Subclasses implement `__call__` and, when they take arguments, `get_config()` returning exactly the
    constructor arguments (the base `from_config` is `cls(**config)`).

    >>> class Halves(Initializer):
    ...     def __call__(self, shape, dtype=None):
    ...         return np.full(shape, 0.5, dtype=dtype or "float32")
    >>> Halves()((2,))
    array([0.5, 0.5], dtype=float32)
    """

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a JSON-safe dict (tf-keras's keys)."""
        return {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Initializer":
        """Rebuild from `get_config()`; the `dtype` key tf.keras 1.x wrote is dropped, as tf-keras does."""
        config = dict(config)
        config.pop("dtype", None)
        _check_config_keys(cls, config)
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _check_config_keys(cls: type, config: Mapping[str, Any]) -> None:
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    generic_utils.validate_kwargs(cls.__name__, config, allowed=[k for k in params if k != "self"])


class _RandomInitializer(Initializer):
    """Shared seed handling: `backend.rng()` when unseeded, a fresh generator per call for an integer seed."""

    def __init__(self, seed: SeedLike = None):
        _validate_seed(seed)
        self.seed = seed
        self._stateful: Optional[np.random.Generator] = None
        if isinstance(seed, dict):
            # NOTE: Keras 3 serializes a `keras.random.SeedGenerator` seed as a config dict; such a generator yields
            # new values at every call, so it maps to a generator this initializer keeps.
            inner = seed["config"] if isinstance(seed.get("config"), dict) else seed
            value = inner.get("seed")
            if value is not None and (isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer))):
                raise ValueError("Invalid `SeedGenerator` config in `seed`, expected an integer seed. "
                                 f"Received: seed={seed!r}")
            self._stateful = np.random.default_rng(None if value is None else int(value) % 2**64)

    def _generator(self) -> np.random.Generator:
        if self._stateful is not None:
            return self._stateful
        if self.seed is None:
            return backend.rng()
        return np.random.default_rng(int(self.seed) % 2**64)


# ************************************************************ constant initializers


class Zeros(Initializer):
    """Initializer that generates arrays of zeros.

    Also available as `zeros` and (Keras 1/2) `zero`.

    >>> Zeros()((2, 2))
    array([[0., 0.],
           [0., 0.]], dtype=float32)
    """

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        return np.zeros(_standardize_shape(shape), dtype=_dtype(dtype))


class Ones(Initializer):
    """Initializer that generates arrays of ones.

    Also available as `ones` and (Keras 1/2) `one`.

    >>> Ones()((3,), dtype="float64")
    array([1., 1., 1.])
    """

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        return np.ones(_standardize_shape(shape), dtype=_dtype(dtype))


class Constant(Initializer):
    """Initializer that generates arrays filled with a constant value.

    Args:
        value: a Python scalar (default `0`). An array whose size equals the requested size is reshaped to it, as
            `tf.constant(value, shape=shape)` does.

    >>> Constant(3.0)((2,))
    array([3., 3.], dtype=float32)
    >>> Constant(3.0).get_config()
    {'value': 3.0}
    """

    def __init__(self, value: Any = 0):
        self.value = value

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = _standardize_shape(shape)
        dt = _dtype(dtype)
        arr = np.asarray(self.value, dtype=dt)
        if arr.ndim and arr.size == int(np.prod(shape)) and arr.shape != shape:
            return arr.reshape(shape).copy()
        try:
            return np.array(np.broadcast_to(arr, shape), dtype=dt)
        except ValueError:
            raise ValueError(f"Constant initializer value of shape {arr.shape} cannot fill a weight of shape "
                             f"{shape}; expected a scalar. Received: value={self.value!r}") from None

    def get_config(self) -> Dict[str, Any]:
        value = self.value
        if isinstance(value, np.ndarray):
            # Keras 3 / tf-keras's serialization of a numpy value.
            return {"value": {"class_name": "__numpy__", "config": {"value": value.tolist(), "dtype": str(value.dtype)}}}
        return {"value": _json_value(value)}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Constant":
        config = dict(config)
        config.pop("dtype", None)
        config.pop("verify_shape", None)  # tf.keras 1.x (tf.compat.v1.constant_initializer)
        value = config.get("value")
        if isinstance(value, dict):
            inner = value.get("config")
            if value.get("class_name") not in ("__numpy__", "__tensor__") or not isinstance(inner, dict):
                raise ValueError("Constant initializer `value` must be a number or a serialized array. "
                                 f"Received: value={value!r}")
            config["value"] = np.asarray(inner.get("value"), dtype=inner.get("dtype"))
        _check_config_keys(cls, config)
        return cls(**config)


class Identity(Initializer):
    """Initializer that generates the identity matrix (2D shapes only; rectangular shapes get `np.eye`).

    Args:
        gain: multiplicative factor applied to the identity matrix (default `1.0`).

    >>> Identity(gain=2.0)((2, 3))
    array([[2., 0., 0.],
           [0., 2., 0.]], dtype=float32)
    """

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = _standardize_shape(shape)
        dt = _float_dtype(dtype, type(self).__name__)
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(dt)

    def get_config(self) -> Dict[str, Any]:
        return {"gain": _json_value(self.gain)}


# ************************************************************ random initializers


class RandomNormal(_RandomInitializer):
    """Initializer that draws from a normal distribution.

    Args:
        mean: mean of the values (default `0.0`).
        stddev: standard deviation of the values (default `0.05`).
        seed: optional integer; a seeded initializer returns the same values at every call.

    Also available as `random_normal` and (Keras 1/2) `normal`.

    >>> values = RandomNormal(mean=0.0, stddev=1.0, seed=1)((2, 2))
    >>> values.shape, values.dtype
    ((2, 2), dtype('float32'))
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: SeedLike = None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = _standardize_shape(shape)
        dt = _float_dtype(dtype, type(self).__name__)
        return self._generator().normal(self.mean, self.stddev, shape).astype(dt)

    def get_config(self) -> Dict[str, Any]:
        return {"mean": _json_value(self.mean), "stddev": _json_value(self.stddev), "seed": self.seed}


class RandomUniform(_RandomInitializer):
    """Initializer that draws from a uniform distribution on `[minval, maxval)`.

    Args:
        minval: lower bound, inclusive (default `-0.05`).
        maxval: upper bound, exclusive (default `0.05`).
        seed: optional integer; a seeded initializer returns the same values at every call.

    Integer dtypes draw integers in `[minval, maxval)`. Also available as `random_uniform` and (Keras 1/2) `uniform`.

    >>> values = RandomUniform(minval=0.0, maxval=1.0)((100,))
    >>> bool(values.min() >= 0.0 and values.max() < 1.0)
    True
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: SeedLike = None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = _standardize_shape(shape)
        dt = _dtype(dtype)
        gen = self._generator()
        if dt.kind in "iu":
            return gen.integers(int(self.minval), int(self.maxval), shape).astype(dt)
        if dt.kind != "f":
            raise ValueError(f"Initializer RandomUniform expected a float or integer `dtype`. Received: dtype={dt}")
        return gen.uniform(self.minval, self.maxval, shape).astype(dt)

    def get_config(self) -> Dict[str, Any]:
        return {"minval": _json_value(self.minval), "maxval": _json_value(self.maxval), "seed": self.seed}


class TruncatedNormal(_RandomInitializer):
    """Initializer that draws from a normal distribution truncated at two standard deviations.

    Values more than `2 * stddev` away from `mean` are discarded and re-drawn (tf-keras's semantics), so `stddev`
    is the standard deviation *before* truncation.

    Args:
        mean: mean of the values (default `0.0`).
        stddev: standard deviation before truncation (default `0.05`).
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> values = TruncatedNormal(mean=0.0, stddev=1.0)((1000,))
    >>> bool(np.abs(values).max() <= 2.0)
    True
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: SeedLike = None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = _standardize_shape(shape)
        dt = _float_dtype(dtype, type(self).__name__)
        z = _truncated_standard_normal(self._generator(), shape)
        return (self.mean + self.stddev * z).astype(dt)

    def get_config(self) -> Dict[str, Any]:
        return {"mean": _json_value(self.mean), "stddev": _json_value(self.stddev), "seed": self.seed}


class VarianceScaling(_RandomInitializer):
    """Initializer that adapts its scale to the shape of the weight.

    With `n` = `fan_in`, `fan_out` or `(fan_in + fan_out) / 2` (by `mode`, see `compute_fans`), and
    `s = scale / max(1, n)`:

    - `distribution="truncated_normal"`: normal truncated at two standard deviations, with
      `stddev = sqrt(s) / 0.87962566103423978` so that the standard deviation *after* truncation is `sqrt(s)`;
    - `distribution="untruncated_normal"`: normal with `stddev = sqrt(s)`;
    - `distribution="uniform"`: uniform on `[-limit, limit]` with `limit = sqrt(3 * s)`.

    Args:
        scale: positive scaling factor (default `1.0`).
        mode: one of `"fan_in"` (default), `"fan_out"`, `"fan_avg"`.
        distribution: one of `"truncated_normal"` (default), `"untruncated_normal"`, `"uniform"`; Keras 2's
            `"normal"` means `"truncated_normal"`.
        seed: optional integer; a seeded initializer returns the same values at every call.
        input_axes, output_axes: Keras 3.15 keys; only their default `None` is implemented.

    >>> init = VarianceScaling(scale=1.0, mode="fan_avg", distribution="uniform")
    >>> limit = np.sqrt(3.0 / ((20 + 30) / 2))
    >>> bool(np.abs(init((20, 30))).max() <= limit)
    True
    >>> init.get_config()
    {'scale': 1.0, 'mode': 'fan_avg', 'distribution': 'uniform', 'seed': None}
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: SeedLike = None, input_axes: Any = None, output_axes: Any = None):
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0.0:
            raise ValueError(f"`scale` must be positive float. Received: scale={scale}.")
        allowed_modes = ("fan_in", "fan_out", "fan_avg")
        if mode not in allowed_modes:
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of the {list(allowed_modes)}. "
                             f"Received: mode={mode!r}")
        if not isinstance(distribution, str):
            raise ValueError(f"Invalid `distribution` argument, expected a string. Received: distribution={distribution!r}")
        distribution = distribution.lower()
        if distribution == "normal":  # Keras 2's name for the truncated normal
            distribution = "truncated_normal"
        allowed = ("truncated_normal", "untruncated_normal", "uniform")
        if distribution not in allowed:
            raise ValueError(f"Invalid `distribution` argument: {distribution}. Allowed distributions: "
                             f"{list(allowed)}. Received: distribution={distribution!r}")
        if input_axes is not None or output_axes is not None:
            raise NotImplementedError("Keras 3.15's `input_axes`/`output_axes` of VarianceScaling initializers (fans "
                                      "over chosen axes) are not implemented in minikeras. "
                                      f"Received: input_axes={input_axes!r}, output_axes={output_axes!r}")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = _standardize_shape(shape)
        dt = _float_dtype(dtype, type(self).__name__)
        scale = float(self.scale)
        fan_in, fan_out = compute_fans(shape)
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        gen = self._generator()
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / TRUNCATED_NORMAL_STD
            return (stddev * _truncated_standard_normal(gen, shape)).astype(dt)
        if self.distribution == "untruncated_normal":
            return gen.normal(0.0, math.sqrt(scale), shape).astype(dt)
        limit = math.sqrt(3.0 * scale)
        return gen.uniform(-limit, limit, shape).astype(dt)

    def get_config(self) -> Dict[str, Any]:
        return {"scale": _json_value(self.scale), "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class _SeedOnlyVarianceScaling(VarianceScaling):
    """The named VarianceScaling presets: only `seed` is an argument and the config is `{"seed": ...}`."""

    _preset: Tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: SeedLike = None, input_axes: Any = None, output_axes: Any = None):
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes)

    def get_config(self) -> Dict[str, Any]:
        return {"seed": self.seed}


class GlorotUniform(_SeedOnlyVarianceScaling):
    """Glorot (Xavier) uniform initializer: uniform on `[-limit, limit]`, `limit = sqrt(6 / (fan_in + fan_out))`.

    `VarianceScaling(scale=1.0, mode="fan_avg", distribution="uniform")`; Keras's default kernel initializer.
    Keras 2.0-2.3 serialized it as that VarianceScaling config; tf-keras as `{"seed": None}`.

    Args:
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> w = GlorotUniform(seed=0)((64, 32))
    >>> bool(np.abs(w).max() <= np.sqrt(6 / (64 + 32)))
    True
    """

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_SeedOnlyVarianceScaling):
    """Glorot (Xavier) normal initializer: truncated normal with standard deviation `sqrt(2 / (fan_in + fan_out))`.

    `VarianceScaling(scale=1.0, mode="fan_avg", distribution="truncated_normal")`.

    Args:
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> GlorotNormal(seed=0)((4, 4)).shape
    (4, 4)
    """

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_SeedOnlyVarianceScaling):
    """He normal initializer: truncated normal with standard deviation `sqrt(2 / fan_in)`.

    `VarianceScaling(scale=2.0, mode="fan_in", distribution="truncated_normal")`.

    Args:
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> HeNormal(seed=0)((4, 4)).dtype
    dtype('float32')
    """

    _preset = (2.0, "fan_in", "truncated_normal")


class HeUniform(_SeedOnlyVarianceScaling):
    """He uniform initializer: uniform on `[-limit, limit]` with `limit = sqrt(6 / fan_in)`.

    `VarianceScaling(scale=2.0, mode="fan_in", distribution="uniform")`.

    Args:
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> bool(np.abs(HeUniform()((24, 5))).max() <= np.sqrt(6 / 24))
    True
    """

    _preset = (2.0, "fan_in", "uniform")


class LecunNormal(_SeedOnlyVarianceScaling):
    """LeCun normal initializer: truncated normal with standard deviation `sqrt(1 / fan_in)`.

    `VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal")`.

    Args:
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> LecunNormal(seed=3).get_config()
    {'seed': 3}
    """

    _preset = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_SeedOnlyVarianceScaling):
    """LeCun uniform initializer: uniform on `[-limit, limit]` with `limit = sqrt(3 / fan_in)`.

    `VarianceScaling(scale=1.0, mode="fan_in", distribution="uniform")`.

    Args:
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> bool(np.abs(LecunUniform()((12, 5))).max() <= 0.5)
    True
    """

    _preset = (1.0, "fan_in", "uniform")


class Orthogonal(_RandomInitializer):
    """Initializer that generates a (semi-)orthogonal matrix; Keras's default recurrent initializer.

    The weight is seen as a matrix of `prod(shape[:-1])` rows and `shape[-1]` columns. A normal matrix of shape
    `(max(rows, cols), min(rows, cols))` is QR-decomposed; `Q` is multiplied by the signs of `diag(R)` (so the
    result is uniformly distributed), transposed when `rows < cols`, reshaped to `shape` and scaled by `gain`.
    The columns (or rows, when there are fewer rows than columns) are orthonormal times `gain`.

    Args:
        gain: multiplicative factor (default `1.0`).
        seed: optional integer; a seeded initializer returns the same values at every call.

    >>> q = Orthogonal(seed=0)((4, 4), dtype="float64")
    >>> np.allclose(q.T @ q, np.eye(4))
    True
    """

    def __init__(self, gain: float = 1.0, seed: SeedLike = None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = _standardize_shape(shape)
        dt = _float_dtype(dtype, type(self).__name__)
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        num_rows = 1
        for dim in shape[:-1]:
            num_rows *= dim
        num_cols = shape[-1]
        flat_shape = (max(num_cols, num_rows), min(num_cols, num_rows))
        a = self._generator().standard_normal(flat_shape)
        q, r = np.linalg.qr(a)  # reduced: q is (max, min)
        q = q * np.sign(np.diag(r))
        if num_rows < num_cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dt)

    def get_config(self) -> Dict[str, Any]:
        return {"gain": _json_value(self.gain), "seed": self.seed}


# ************************************************************ registry and module API

ALL_OBJECTS = (Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
               GlorotNormal, GlorotUniform, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal)

_ALIASES: Dict[str, Any] = {
    # tf-keras compatibility aliases (TF 2.x class names that reached saved configs).
    "ConstantV2": Constant, "GlorotNormalV2": GlorotNormal, "GlorotUniformV2": GlorotUniform, "HeNormalV2": HeNormal,
    "HeUniformV2": HeUniform, "IdentityV2": Identity, "LecunNormalV2": LecunNormal, "LecunUniformV2": LecunUniform,
    "OnesV2": Ones, "OrthogonalV2": Orthogonal, "RandomNormalV2": RandomNormal, "RandomUniformV2": RandomUniform,
    "TruncatedNormalV2": TruncatedNormal, "VarianceScalingV2": VarianceScaling, "ZerosV2": Zeros,
    "glorot_normalV2": GlorotNormal, "glorot_uniformV2": GlorotUniform, "he_normalV2": HeNormal,
    "he_uniformV2": HeUniform, "lecun_normalV2": LecunNormal, "lecun_uniformV2": LecunUniform,
    # Keras 1/2 names.
    "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
    # Keras 3 export names.
    "OrthogonalInitializer": Orthogonal, "IdentityInitializer": Identity,
}
ALL_OBJECTS_DICT: Dict[str, Any] = generic_utils.class_registry(ALL_OBJECTS, _ALIASES)

# Functional-style aliases, as `keras.initializers.glorot_uniform` etc.
zeros = zero = Zeros
ones = one = Ones
constant = Constant
identity = Identity
random_normal = normal = RandomNormal
random_uniform = uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = Orthogonal


def serialize(initializer: Any) -> Any:
    """tf-keras 2.21's form: `{"module": "keras.initializers", "class_name", "config", "registered_name": None}`.

    >>> serialize(Orthogonal())
    {'module': 'keras.initializers', 'class_name': 'Orthogonal', 'config': {'gain': 1.0, 'seed': None}, 'registered_name': None}
    >>> serialize(None) is None
    True
    """
    return generic_utils.serialize_keras_object(initializer, module=MODULE)


def deserialize(config: Any, custom_objects: Optional[Mapping[str, Any]] = None) -> Any:
    """An initializer from a name or a 2-key / 4-key config dict (any Keras era).

    >>> deserialize({"class_name": "VarianceScaling",
    ...              "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}})
    VarianceScaling(scale=1.0, mode='fan_avg', distribution='uniform', seed=None)
    """
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    obj = generic_utils.deserialize_keras_object(config, module_objects=ALL_OBJECTS_DICT,
                                                 custom_objects=custom_objects, printable_module_name="initializer")
    if inspect.isclass(obj):
        obj = obj()
    return obj


def get(identifier: Any) -> Any:
    """Resolve an initializer identifier: None, a name, a config dict, a class or a callable.

    Classes are instantiated with their defaults; callables (instances, functions) pass through.

    >>> get("he_normal")
    HeNormal(seed=None)
    >>> get({"module": "keras.initializers", "class_name": "Orthogonal",
    ...      "config": {"gain": 2.0, "seed": None}, "registered_name": None})
    Orthogonal(gain=2.0, seed=None)
    >>> get("zero")
    Zeros()
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier}")
