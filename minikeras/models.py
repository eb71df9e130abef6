"""`load_model`, `model_from_json`, and `Model`/`Sequential` re-exported (Keras 2's `keras.models`)."""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from minikeras.engine.functional import Functional
from minikeras.engine.sequential import Sequential
from minikeras.engine.training import Model

__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "model_from_config", "model_from_json"]


def load_model(filepath: Any, custom_objects: Optional[Dict[str, Any]] = None, compile: bool = True) -> Model:
    """Load a model saved by Keras 2, Keras 3 or minikeras (`.h5`, `.hdf5`, `.keras`). Nothing in it is executed."""
    from minikeras import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile)


def save_model(model: Model, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
               save_format: Optional[str] = None) -> None:
    """Functional form of `model.save`."""
    model.save(filepath, overwrite=overwrite, include_optimizer=include_optimizer, save_format=save_format)


def model_from_config(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> Model:
    """Build a model from `{"class_name": "Sequential", "config": ...}` as any Keras era writes it."""
    from minikeras.saving.serialization import model_from_file_config

    version = config.get("keras_version") if isinstance(config, dict) else None
    if version is None and isinstance(config, dict) and "module" in config:
        version = "3"  # Keras 3's 4-key top-level entry
    return model_from_file_config(config, version, custom_objects=custom_objects)


def model_from_json(json_string: str, custom_objects: Optional[Dict[str, Any]] = None) -> Model:
    """Build a model from `model.to_json()` output (or a Keras `config.json`)."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Could not parse the model JSON: {e}. Received: a string of length "
                         f"{len(json_string) if isinstance(json_string, str) else '?'}") from None
    return model_from_config(config, custom_objects=custom_objects)
