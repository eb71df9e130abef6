"""Serialization of Keras objects (`serialize_keras_object`, `deserialize_keras_object`) and name helpers.

Nothing here imports a module named in a config: only classes found in the given registries or in
`custom_objects` are ever constructed (a config is data, never code).
"""
from __future__ import annotations

import inspect
import re
import threading
from typing import Any, Dict, Mapping, Optional

_GLOBAL_CUSTOM_OBJECTS: Dict[str, Any] = {}
_SCOPE = threading.local()


def to_snake_case(name: str) -> str:
    """`'GlorotUniform'` -> `'glorot_uniform'`, as Keras's `to_snake_case` (used for layer names and file paths)."""
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    if insecure[0] != "_":
        return insecure
    return "private" + insecure


def get_custom_objects() -> Dict[str, Any]:
    """The global dict of user classes/functions that deserialization may construct (Keras's API)."""
    return _GLOBAL_CUSTOM_OBJECTS


class custom_object_scope:  # noqa: N801 - Keras's name
    """Context manager adding `custom_objects` to what deserialization may construct.

    >>> with custom_object_scope({"MyLayer": object}):
    ...     pass
    """

    def __init__(self, *args: Optional[Mapping[str, Any]]):
        self.custom_objects = {}
        for a in args:
            self.custom_objects.update(a or {})

    def __enter__(self) -> "custom_object_scope":
        stack = getattr(_SCOPE, "stack", [])
        stack.append(self.custom_objects)
        _SCOPE.stack = stack
        return self

    def __exit__(self, *exc: Any) -> None:
        _SCOPE.stack.pop()


CustomObjectScope = custom_object_scope


def _scoped_custom_objects() -> Dict[str, Any]:
    merged = dict(_GLOBAL_CUSTOM_OBJECTS)
    for d in getattr(_SCOPE, "stack", []):
        merged.update(d)
    return merged


def serialize_keras_object(instance: Any, module: Optional[str] = None) -> Any:
    """Serialize an object as tf.keras 2.21 does for nested objects.

    Functions (activations, losses given as functions) serialize to their name; objects with `get_config` to
    `{"module", "class_name", "config", "registered_name"}` when `module` is given (tf-keras's form for
    initializers, regularizers and constraints), else to the Keras 2 `{"class_name", "config"}` pair.
    """
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        name = type(instance).__name__
        out: Dict[str, Any] = {"class_name": name, "config": instance.get_config()}
        if module is not None:
            out = {"module": module, "class_name": name, "config": out["config"], "registered_name": None}
        return out
    if hasattr(instance, "__name__"):
        return instance.__name__
    raise ValueError(f"Cannot serialize {instance!r}: expected a function or an object with `get_config()`. "
                     f"Received: instance={instance!r}")


def deserialize_keras_object(identifier: Any, module_objects: Mapping[str, Any],
                             custom_objects: Optional[Mapping[str, Any]] = None,
                             printable_module_name: str = "object") -> Any:
    """Turn a string or a config dict (2-key Keras 2, 4-key tf-keras/Keras 3) into an object or function.

    Only names found in `module_objects`, `custom_objects`, `custom_object_scope` or `get_custom_objects()` are
    resolved; the `module` key of a config is informational and is never imported.
    """
    if identifier is None:
        return None
    objects = dict(module_objects)
    objects.update(_scoped_custom_objects())
    if custom_objects:
        objects.update(custom_objects)
    if isinstance(identifier, dict):
        if "class_name" not in identifier or not isinstance(identifier["class_name"], str):
            raise ValueError(f"Improper config format for {printable_module_name}: expected a dict with keys "
                             f"'class_name' and 'config'. Received: {identifier!r}")
        class_name = identifier["class_name"]
        registered = identifier.get("registered_name")
        cls = objects.get(class_name)
        if cls is None and isinstance(registered, str):
            cls = objects.get(registered) or objects.get(registered.split(">")[-1])
        if cls is None:
            raise ValueError(f"Unknown {printable_module_name}: '{class_name}'. Please ensure you are using a "
                             "`minikeras` object and, for your own classes, pass them via `custom_objects`. "
                             f"Received: class_name={class_name!r}")
        config = identifier.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, dict):
            if isinstance(config, str) and not inspect.isclass(cls):
                return cls  # Keras 3 serializes some functions as {"class_name": "function", "config": "name"}
            raise ValueError(f"Improper config format for {printable_module_name} '{class_name}': expected "
                             f"`config` to be a dict. Received: config={config!r}")
        if inspect.isclass(cls):
            if hasattr(cls, "from_config"):
                return cls.from_config(config)
            return cls(**config)
        if callable(cls) and not config:
            return cls
        raise ValueError(f"Cannot build {printable_module_name} '{class_name}' from a config. Received: {identifier!r}")
    if isinstance(identifier, str):
        obj = objects.get(identifier)
        if obj is None:
            raise ValueError(f"Unknown {printable_module_name}: '{identifier}'. Please ensure you are using a "
                             "`minikeras` object and, for your own objects, pass them via `custom_objects`. "
                             f"Received: identifier={identifier!r}")
        return obj
    raise ValueError(f"Could not interpret {printable_module_name} identifier: {identifier!r}")


def class_registry(classes: Any, aliases: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Build a registry `{ClassName: cls, class_name: cls, **aliases}` (C7)."""
    out: Dict[str, Any] = {}
    for cls in classes:
        out[cls.__name__] = cls
        out[to_snake_case(cls.__name__)] = cls
    out.update(aliases or {})
    return out


def validate_kwargs(cls_name: str, kwargs: Mapping[str, Any], allowed: Any = ()) -> None:
    """Raise Keras's `Unrecognized keyword arguments passed to X: {...}` for unknown keyword arguments."""
    unknown = {k: v for k, v in kwargs.items() if k not in allowed}
    if unknown:
        raise TypeError(f"Unrecognized keyword arguments passed to {cls_name}: {unknown}")
