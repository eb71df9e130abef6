"""Saving and loading: legacy HDF5 (`.h5`, Keras 1/2), Keras 3 (`.keras`, `.weights.h5`), conversions.

The format is chosen from the file name as Keras does: `.keras` -> Keras 3 zip; `.weights.h5` -> Keras 3 weights;
`.h5` / `.hdf5` -> tf.keras legacy HDF5.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional

from minikeras.saving import hdf5_legacy, keras3
from minikeras.saving.atomic import remove_stale_temp_files
from minikeras.saving.errors import (ConfigError, FileFormatError, SavingError, UnsupportedConfigError,
                                     WeightMismatchError)


def _kind(filepath: Any, save_format: Optional[str] = None) -> str:
    name = os.fspath(filepath)
    if save_format is not None:
        fmt = str(save_format).lower()
        if fmt in ("h5", "hdf5"):
            return "h5"
        if fmt == "keras":
            return "keras"
        raise ValueError(f"Unknown `save_format`, expected 'h5' or 'keras'. Received: save_format={save_format!r}")
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".weights.h5"):
        return "weights.h5"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    raise ValueError("Invalid filepath extension for saving, expected `.keras`, `.weights.h5`, `.h5` or `.hdf5`. "
                     f"Received: filepath={name}")


def save_model(model: Any, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
               save_format: Optional[str] = None) -> None:
    """`model.save(path)`: `.keras` (Keras 3 zip) or `.h5` (tf.keras full-model HDF5), written atomically."""
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"File exists and overwrite=False. Received: filepath={filepath}")
    kind = _kind(filepath, save_format)
    if kind == "keras":
        keras3.save_model_keras3(model, filepath)
    elif kind == "h5":
        hdf5_legacy.save_model(model, filepath, include_optimizer=include_optimizer)
    else:
        raise ValueError("A `.weights.h5` file holds weights only; use `model.save_weights(path)` for it, or save "
                         f"the whole model as `.keras` or `.h5`. Received: filepath={filepath}")


def load_model(filepath: Any, custom_objects: Optional[Dict[str, Any]] = None, compile: bool = True) -> Any:
    """Load a model Keras or minikeras saved (`.keras`, `.h5`/`.hdf5`). Nothing in the file is executed."""
    if not os.path.exists(filepath):
        raise FileFormatError("No such file", filepath)
    kind = _kind(filepath)
    remove_stale_temp_files(filepath)
    if kind == "keras":
        return keras3.load_model_keras3(filepath, custom_objects=custom_objects, compile=compile)
    if kind == "h5":
        return hdf5_legacy.load_model(filepath, custom_objects=custom_objects, compile=compile)
    raise ValueError("A `.weights.h5` file holds weights only: build the model, then call "
                     f"`model.load_weights(path)`. Received: filepath={filepath}")


def save_weights(model: Any, filepath: Any, overwrite: bool = True, save_format: Optional[str] = None) -> None:
    """`model.save_weights(path)`: `.weights.h5` (Keras 3 layout) or `.h5` (tf.keras legacy layout)."""
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"File exists and overwrite=False. Received: filepath={filepath}")
    kind = _kind(filepath, save_format)
    if kind == "weights.h5":
        keras3.save_weights_keras3(model, filepath)
    elif kind == "h5":
        hdf5_legacy.save_weights(model, filepath)
    else:
        raise ValueError("`save_weights` writes `.weights.h5` or `.h5` files; use `model.save(path)` for `.keras`. "
                         f"Received: filepath={filepath}")


def load_weights(model: Any, filepath: Any, by_name: bool = False, skip_mismatch: bool = False) -> None:
    """`model.load_weights(path)`: `.weights.h5`, `.keras` or legacy `.h5` (topological or `by_name`)."""
    if not os.path.exists(filepath):
        raise FileFormatError("No such file", filepath)
    kind = _kind(filepath)
    remove_stale_temp_files(filepath)
    if kind in ("weights.h5", "keras"):
        if by_name:
            raise ValueError("`by_name` only supports loading legacy '.h5' or '.hdf5' files. "
                             f"Received: filepath={filepath}")
        if kind == "keras":
            keras3.load_weights_from_keras_zip(model, filepath, skip_mismatch=skip_mismatch)
        else:
            keras3.load_weights_keras3(model, filepath, skip_mismatch=skip_mismatch)
        return
    hdf5_legacy.load_weights(model, filepath, by_name=by_name, skip_mismatch=skip_mismatch)


def check_savable(model: Any, filepath: Any, weights_only: bool = False, save_format: Optional[str] = None) -> None:
    """Raise the error that saving `model` to `filepath` would raise, without writing anything.

    `ModelCheckpoint` calls it at the start of training, so a file format that cannot hold the model (a `.keras`
    file for a layer using Keras 2's hard_sigmoid where no exact export exists, a `.weights.h5` path given to
    `model.save`, an unknown extension) fails before the first epoch instead of after it.
    """
    kind = _kind(filepath, save_format)
    if weights_only and kind == "keras":
        raise ValueError("`save_weights` writes `.weights.h5` or `.h5` files; use `model.save(path)` for `.keras`. "
                         f"Received: filepath={filepath}")
    if not weights_only and kind == "weights.h5":
        raise ValueError("A `.weights.h5` file holds weights only; use `model.save_weights(path)` for it, or save "
                         f"the whole model as `.keras` or `.h5`. Received: filepath={filepath}")
    if weights_only or not getattr(model, "built", False):
        return
    if kind == "keras":
        keras3.model_config_keras3(model)
        keras3.hard_sigmoid_scales(model, era=2)
    else:
        keras3.hard_sigmoid_scales(model, era=3)


__all__ = ["save_model", "load_model", "save_weights", "load_weights", "check_savable", "SavingError", "FileFormatError",
           "WeightMismatchError", "ConfigError", "UnsupportedConfigError"]
