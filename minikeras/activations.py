"""Built-in activation functions (Keras 2's `keras.activations`), on minikeras Tensors.

Every function takes a Tensor (or an array) and returns a Tensor built from `minikeras.autograd.ops`, so gradients
flow through it. Names and signatures are tf-keras 2.21's; Keras 3's additions (`relu6`, `leaky_relu`, `hard_silu`,
`hard_swish`, `log_softmax`, `crelu`) are here too.

`hard_sigmoid` is the one name whose formula changed between eras: Keras 1/2 use `clip(0.2 * x + 0.5, 0, 1)`,
Keras 3 uses `clip(x / 6 + 0.5, 0, 1)`. `get("hard_sigmoid")` gives Keras 2's unless inside `keras_era(3)` (what the
Keras 3 file loader uses); both function objects are named `"hard_sigmoid"`, and `era_of(fn)` tells them apart.

>>> from minikeras import activations
>>> activations.get("relu")([-1.0, 2.0]).numpy()
array([0., 2.], dtype=float32)
>>> with activations.keras_era(3):
...     activations.era_of(activations.get("hard_sigmoid"))
3
"""
from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

from minikeras.autograd import ops
from minikeras.autograd.tensor import Tensor, as_tensor
from minikeras.utils.generic_utils import _scoped_custom_objects, serialize_keras_object

# ************************************************************ the functions


def softmax(x, axis=-1):
    """softmax(x) = exp(x) / sum(exp(x), axis), computed as exp(x - max(x)) / sum(exp(x - max(x)))."""
    x = as_tensor(x)
    if x.ndim <= 1:
        # NOTE: tf-keras 2.21 refuses 1-D inputs here (recorded in tests/fixtures/keras2/activations/meta.json).
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: {x}")
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """log_softmax(x) = x - log(sum(exp(x), axis))."""
    return ops.log_softmax(x, axis=axis)


def elu(x, alpha=1.0):
    """elu(x) = x if x > 0 else alpha * (exp(x) - 1)."""
    return ops.elu(x, alpha=alpha)


def selu(x):
    """selu(x) = scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha=1.67326324, scale=1.05070098."""
    return ops.selu(x)


def softplus(x):
    """softplus(x) = log(exp(x) + 1)."""
    return ops.softplus(x)


def softsign(x):
    """softsign(x) = x / (abs(x) + 1)."""
    return ops.softsign(x)


def swish(x):
    """swish(x) = x * sigmoid(x) (also exported as `silu`)."""
    return ops.swish(x)


# NOTE: tf-keras exports `silu = tf.nn.silu`, whose `__name__` is "swish": the same maths under the same serialized
# name, so minikeras makes it the same object (Keras 3 does too: `get("swish") is get("silu")`).
silu = swish


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """relu(x) = min(x if x > threshold else 0, max_value) - alpha * relu(threshold - x)."""
    return ops.relu(x, alpha=alpha, max_value=max_value, threshold=threshold)


def gelu(x, approximate=False):
    """gelu(x) = 0.5 * x * (1 + erf(x / sqrt(2))), or 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))."""
    return ops.gelu(x, approximate=approximate)


def tanh(x):
    """tanh(x) = (exp(x) - exp(-x)) / (exp(x) + exp(-x))."""
    return ops.tanh(x)


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x))."""
    return ops.sigmoid(x)


def exponential(x):
    """exponential(x) = exp(x)."""
    return ops.exponential(x)


def hard_sigmoid(x):
    """hard_sigmoid(x) = clip(0.2 * x + 0.5, 0, 1) (Keras 1 and 2)."""
    return ops.hard_sigmoid(x, era=2)


def _hard_sigmoid_keras3(x):
    """hard_sigmoid(x) = relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1) (Keras 3)."""
    return ops.hard_sigmoid(x, era=3)


# NOTE: Keras 3 files say "hard_sigmoid" for this formula, so the object carries that name (and serializes to it).
_hard_sigmoid_keras3.__name__ = _hard_sigmoid_keras3.__qualname__ = "hard_sigmoid"
hard_sigmoid_keras3 = _hard_sigmoid_keras3


def hard_silu(x):
    """hard_silu(x) = x * relu6(x + 3) / 6 (Keras 3; also exported as `hard_swish`)."""
    x = as_tensor(x)
    return x * ops.hard_sigmoid(x, era=3)


hard_swish = hard_silu


def relu6(x):
    """relu6(x) = min(max(x, 0), 6)."""
    return ops.relu(x, max_value=6.0)


def leaky_relu(x, negative_slope=0.2):
    """leaky_relu(x) = x if x >= 0 else negative_slope * x."""
    return ops.relu(x, alpha=negative_slope)


def mish(x):
    """mish(x) = x * tanh(softplus(x))."""
    x = as_tensor(x)
    return x * ops.tanh(ops.softplus(x))


def crelu(x):
    """crelu(x) = concatenate([relu(x), relu(-x)], axis=-1) (Keras 3)."""
    x = as_tensor(x)
    return ops.concatenate([ops.relu(x), ops.relu(-x)], axis=-1)


def linear(x):
    """linear(x) = x."""
    return x if isinstance(x, Tensor) else as_tensor(x)


# ************************************************************ registry (C7)

ALL_OBJECTS = (relu, leaky_relu, relu6, softmax, log_softmax, elu, selu, softplus, softsign, swish, gelu, tanh,
               sigmoid, exponential, hard_sigmoid, hard_silu, linear, mish, crelu)

_ERA2_OBJECTS: Dict[str, Callable] = {fn.__name__: fn for fn in ALL_OBJECTS}
_ERA2_OBJECTS.update({"silu": swish, "hard_swish": hard_silu,
                      # NOTE: TF 2.0-2.1 wrote tf.nn's internal names into configs (tf-keras maps them back).
                      "softmax_v2": softmax, "log_softmax_v2": log_softmax})
_ERA3_OBJECTS: Dict[str, Callable] = {**_ERA2_OBJECTS, "hard_sigmoid": _hard_sigmoid_keras3}

#: Every name `get` resolves to a built-in function, in either era.
ACTIVATION_NAMES = frozenset(_ERA2_OBJECTS)

#: The built-in function objects (both hard_sigmoids included), to tell a built-in from a user callable.
BUILTIN_FUNCTIONS = frozenset(ALL_OBJECTS) | {_hard_sigmoid_keras3}

_ERA = threading.local()


def current_era() -> int:
    """2 unless inside `keras_era(3)`."""
    return getattr(_ERA, "era", 2)


@contextlib.contextmanager
def keras_era(era: int) -> Iterator[None]:
    """Within this block, names resolve as Keras `era` (2 or 3) defines them; only `'hard_sigmoid'` differs.

    >>> with keras_era(3):
    ...     get("hard_sigmoid") is hard_sigmoid_keras3
    True
    """
    if era not in (2, 3):
        raise ValueError(f"Expected a Keras era of 2 or 3. Received: era={era!r}")
    prev = current_era()
    _ERA.era = era
    try:
        yield
    finally:
        _ERA.era = prev


def era_of(fn: Any) -> Optional[int]:
    """2 or 3 for the two `hard_sigmoid` functions (the only built-in whose formula depends on the era), else None."""
    if fn is hard_sigmoid:
        return 2
    if fn is _hard_sigmoid_keras3:
        return 3
    return None


def is_builtin(fn: Any) -> bool:
    """True for minikeras's own activation functions (both hard_sigmoids), False for user callables."""
    try:
        return fn in BUILTIN_FUNCTIONS
    except TypeError:  # unhashable callables
        return False


def _module_objects() -> Dict[str, Callable]:
    return _ERA3_OBJECTS if current_era() == 3 else _ERA2_OBJECTS


# ************************************************************ module API


def serialize(activation: Any) -> Any:
    """The name of a built-in activation (`'tanh'`), as tf-keras writes it into layer configs.

    User functions serialize to the name they are registered under in the custom objects (else their `__name__`),
    so `deserialize(name, custom_objects=...)` finds them again; callable objects with `get_config` to a config dict.
    """
    if is_builtin(activation):
        return activation.__name__
    if hasattr(activation, "get_config"):
        return serialize_keras_object(activation)
    for name, obj in _scoped_custom_objects().items():
        if obj is activation:
            return name
    name = getattr(activation, "__name__", None)
    if not callable(activation) or not name or name == "<lambda>":
        raise ValueError(f"Unknown activation function '{activation}' cannot be serialized: expected a named "
                         f"function. Received: activation={activation!r}")
    return name


def deserialize(name: Any, custom_objects: Optional[Mapping[str, Any]] = None) -> Callable:
    """The activation function a name or config denotes: `'relu'`, `{"class_name": "relu", "config": {}}` or Keras
    3's `{"module": "keras.activations", "class_name": "function", "config": "relu", "registered_name": ...}`.

    Only built-ins and `custom_objects` (or objects registered with `custom_object_scope`) are ever returned; the
    `module` of a config is never imported.
    """
    objects: Dict[str, Any] = dict(_module_objects())
    objects.update(_scoped_custom_objects())
    objects.update(custom_objects or {})
    if isinstance(name, dict):
        class_name, config = name.get("class_name"), name.get("config")
        if class_name == "function" and isinstance(config, str):
            # Keras 3 writes functions as {"class_name": "function", "config": <name>, "registered_name": ...}
            candidates = [config, name.get("registered_name"), config.split(">")[-1]]
        elif isinstance(class_name, str) and not config:
            candidates = [class_name, name.get("registered_name")]
        else:
            obj = objects.get(class_name) if isinstance(class_name, str) else None
            if obj is not None and isinstance(obj, type):
                return obj.from_config(config) if hasattr(obj, "from_config") else obj(**config)
            raise ValueError(f"Unknown activation function: {class_name!r}. Please ensure you are using a "
                             "`minikeras` activation and, for your own, pass them via `custom_objects`. "
                             f"Received: {name!r}")
        for key in candidates:
            if isinstance(key, str) and key in objects:
                return objects[key]
        raise ValueError(f"Unknown activation function: {candidates[0]!r}. Please ensure you are using a "
                         "`minikeras` activation and, for your own, pass them via `custom_objects`. "
                         f"Received: {name!r}")
    if isinstance(name, str):
        if name in objects:
            return objects[name]
        raise ValueError(f"Unknown activation function: {name!r}. Please ensure you are using a `minikeras` "
                         "activation and, for your own, pass them via `custom_objects`. "
                         f"Received: name={name!r}")
    raise ValueError(f"Could not interpret activation function identifier: {name!r}")


def get(identifier: Any) -> Callable:
    """Resolve an activation identifier: None -> `linear`, a name or config -> the function, a callable -> itself.

    >>> get("tanh") is tanh
    True
    >>> get(None) is linear
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, (str, dict)):
        try:
            return deserialize(identifier)
        except ValueError as e:
            raise ValueError(f"Could not interpret activation function identifier: {identifier}. {e}") from None
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret activation function identifier: {identifier}. Expected a name, a "
                     f"config dict or a callable. Received: identifier={identifier!r}")


__all__ = ["softmax", "log_softmax", "elu", "selu", "softplus", "softsign", "swish", "silu", "relu", "gelu", "tanh",
           "sigmoid", "exponential", "hard_sigmoid", "hard_sigmoid_keras3", "hard_silu", "hard_swish", "relu6",
           "leaky_relu", "mish", "crelu", "linear", "get", "serialize", "deserialize", "keras_era", "era_of",
           "is_builtin", "current_era", "ACTIVATION_NAMES", "BUILTIN_FUNCTIONS", "ALL_OBJECTS"]
