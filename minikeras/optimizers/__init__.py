"""Optimizers (Keras 2's `keras.optimizers`, the tf_keras 2.11+ optimizers of tf_keras 2.21), in numpy.

`get`/`deserialize` choose between the 2.11+ optimizers and `minikeras.optimizers.legacy` exactly as tf_keras 2.21
does: a non-empty config without `"is_legacy_optimizer": false` (every Keras 2 file written before 2.11, e.g.
`{"class_name": "Adam", "config": {"lr": 0.001, "decay": 0.0, ...}}`) builds the legacy optimizer, whose arithmetic,
`lr`/`decay` handling and state layout are those of that era; names and empty configs build the new ones.

>>> get("adam").get_config()["learning_rate"]
0.0010000000474974513
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Optional

from minikeras.optimizers import legacy, schedules
from minikeras.optimizers.adadelta import Adadelta
from minikeras.optimizers.adagrad import Adagrad
from minikeras.optimizers.adam import Adam
from minikeras.optimizers.adamax import Adamax
from minikeras.optimizers.adamw import AdamW
from minikeras.optimizers.nadam import Nadam
from minikeras.optimizers.optimizer import Optimizer
from minikeras.optimizers.rmsprop import RMSprop
from minikeras.optimizers.sgd import SGD
from minikeras.utils.generic_utils import deserialize_keras_object, serialize_keras_object

RMSProp = RMSprop

_NEW_CLASSES: Dict[str, Any] = {
    "adadelta": Adadelta, "adagrad": Adagrad, "adam": Adam, "adamw": AdamW, "adamax": Adamax, "nadam": Nadam,
    "rmsprop": RMSprop, "sgd": SGD, "experimentaladadelta": Adadelta, "experimentaladagrad": Adagrad,
    "experimentaladam": Adam, "experimentalsgd": SGD,
}
# tf_keras maps the legacy names to the legacy classes, but keeps the `experimental*` ones new.
_LEGACY_CLASSES: Dict[str, Any] = {**legacy.ALL_CLASSES, "experimentaladadelta": Adadelta,
                                   "experimentaladagrad": Adagrad, "experimentaladam": Adam, "experimentalsgd": SGD}

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "legacy",
           "schedules", "get", "serialize", "deserialize"]


def serialize(optimizer: Any) -> Optional[Dict[str, Any]]:
    """tf_keras's 4-key dict: `{"module": "keras.optimizers", "class_name": "Adam", "config": {...},
    "registered_name": None}` (module `keras.optimizers.legacy` for the legacy classes)."""
    if optimizer is None:
        return None
    module = "keras.optimizers.legacy" if isinstance(optimizer, legacy.OptimizerV2) else "keras.optimizers"
    return serialize_keras_object(optimizer, module=module)


def deserialize(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None,
                use_legacy_optimizer: bool = False) -> Any:
    """Build an optimizer from `{"class_name", "config"}` (2-key or 4-key), as tf_keras 2.21 decides:

    a non-empty config uses `config.get("is_legacy_optimizer", True)` to pick the legacy classes; the class name is
    matched case-insensitively for built-in optimizers (`"Adam"`, `"adam"`; tf_keras's `"Custom>Adam"` too).
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"Could not interpret optimizer identifier: {config}")
    config = dict(config)
    inner = config.get("config") or {}
    if not isinstance(inner, dict):
        raise ValueError(f"Improper config format for optimizer '{config['class_name']}': expected `config` to be "
                         f"a dict. Received: config={inner!r}")
    if len(inner) > 0:
        use_legacy_optimizer = inner.get("is_legacy_optimizer", True)
    classes = _LEGACY_CLASSES if use_legacy_optimizer else _NEW_CLASSES
    class_name = config["class_name"]
    if class_name.startswith("Custom>"):
        class_name = class_name[len("Custom>"):]
    if class_name.lower() in classes:
        class_name = class_name.lower()
    elif class_name.lower().startswith("legacy>") or class_name.lower() in legacy.ALL_CLASSES:
        classes = _LEGACY_CLASSES
        class_name = class_name.lower().split(">")[-1]
    config["class_name"] = class_name
    config["config"] = inner
    module_objects = dict(classes)
    return deserialize_keras_object(config, module_objects, custom_objects=custom_objects,
                                    printable_module_name="optimizer")


def get(identifier: Any, **kwargs: Any) -> Any:
    """Resolve an optimizer: an instance (returned as is), a name (`'adam'`, `'sgd'`, `'rmsprop'`, ...: a new
    optimizer with defaults), a config dict, or an optimizer class (instantiated)."""
    use_legacy_optimizer = kwargs.pop("use_legacy_optimizer", False)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments: {kwargs}")
    if isinstance(identifier, (Optimizer, legacy.OptimizerV2)):
        return identifier
    if inspect.isclass(identifier) and issubclass(identifier, (Optimizer, legacy.OptimizerV2)):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier, use_legacy_optimizer=use_legacy_optimizer)
    if isinstance(identifier, str):
        return deserialize({"class_name": str(identifier), "config": {}}, use_legacy_optimizer=use_legacy_optimizer)
    raise ValueError(f"Could not interpret optimizer identifier: {identifier}")
