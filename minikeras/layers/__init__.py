"""Keras layers (Keras 2's `keras.layers`), plus `serialize`/`deserialize` of layer configs."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

from minikeras.engine.base_layer import InputSpec, Layer
from minikeras.engine.input_layer import Input, InputLayer
from minikeras.layers.convolutional import *  # noqa: F401,F403
from minikeras.layers.core import *  # noqa: F401,F403
from minikeras.layers.embeddings import *  # noqa: F401,F403
from minikeras.layers.pooling import *  # noqa: F401,F403
from minikeras.layers.recurrent import *  # noqa: F401,F403
from minikeras.layers.wrappers import *  # noqa: F401,F403
from minikeras.layers.merge import *  # noqa: F401,F403
from minikeras.layers import convolutional, core, embeddings, merge, pooling, recurrent, wrappers
from minikeras.utils.generic_utils import deserialize_keras_object


def _registry() -> Dict[str, Any]:
    out: Dict[str, Any] = {"InputLayer": InputLayer}
    for module in (core, embeddings, recurrent, wrappers, convolutional, pooling, merge):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if isinstance(obj, type) and issubclass(obj, Layer):
                out[name] = obj
    out.update(getattr(recurrent, "LEGACY_ALIASES", {}))
    # NOTE: minikeras.engine.functional and minikeras.models import this package: a real cycle (models nest as
    # layers, and models are built from layers)
    from minikeras.engine.functional import Functional
    from minikeras.models import Sequential

    out.update({"Functional": Functional, "Model": Functional, "Sequential": Sequential})
    return out


def serialize(layer: Layer) -> Dict[str, Any]:
    """`{"class_name": ..., "config": layer.get_config()}` (tf.keras's layer entry)."""
    return {"class_name": type(layer).__name__,
            "config": layer.get_config()}


def deserialize(config: Mapping[str, Any], custom_objects: Optional[Mapping[str, Any]] = None) -> Layer:
    """Build a layer from `{"class_name", "config"}` (2-key or Keras 3's 4-key form).

    Only registered minikeras layers and `custom_objects` are constructed; `Lambda` and unknown classes raise.
    """
    if isinstance(config, Mapping) and config.get("class_name") == "Lambda":
        name = (config.get("config") or {}).get("name")
        raise NotImplementedError("Keras's `Lambda` layer runs arbitrary code and cannot be loaded from a file. "
                                  f"Received: class_name='Lambda' in layer {name!r}")
    return deserialize_keras_object(dict(config), _registry(), custom_objects, printable_module_name="layer")


def get(identifier: Any) -> Layer:
    if isinstance(identifier, Layer):
        return identifier
    return deserialize(identifier)
