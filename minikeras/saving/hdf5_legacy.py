"""Keras 1 / Keras 2 (tf.keras) legacy HDF5 files: `save_weights('w.h5')`, `save('m.h5')` and their loaders.

Layouts follow tf-keras 2.21's `tf_keras/src/saving/legacy/hdf5_format.py` (research notes §1–§2): root attributes
`layer_names` (chunked past 64 KB), `backend`, `keras_version`; one group per layer with `weight_names`; datasets
named `<layer>/<cell>/kernel:0`. Loading validates every count and shape before it assigns anything, so a failed
load leaves the model exactly as it was.
"""
from __future__ import annotations

import json
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import h5py
import numpy as np

from minikeras import __keras_version__ as WRITTEN_KERAS_VERSION, __version__
from minikeras.engine.base_layer import Layer
from minikeras.saving.atomic import atomic_write
from minikeras.saving.convert import preprocess_weights_for_loading
from minikeras.saving.errors import ConfigError, FileFormatError, SavingError, WeightMismatchError
from minikeras.saving.functional import is_functional, keras3_layers
from minikeras.saving.h5file import MAX_WEIGHT_BYTES, open_h5
from minikeras.saving.keras3 import (HARD_SIGMOID_SCALE, hard_sigmoid_scales, rescaled_layers,
                                     restore_optimizer_values, uses_hard_sigmoid)
from minikeras.saving.serialization import (compile_from_training_config, era_of, model_from_file_config,
                                            training_config)

HDF5_OBJECT_HEADER_LIMIT = 64512
#: What minikeras writes as `keras_version`: the tf.keras release whose layout and numerics it follows. The
#: `minikeras_version` attribute beside it says which program really wrote the file.


# ------------------------------------------------------------------------------------------ attributes


def _decode(value: Any) -> Any:
    return value.decode("utf8") if hasattr(value, "decode") else value


def save_attributes_to_hdf5_group(group: Any, name: str, data: Sequence[bytes]) -> None:
    """Write a list attribute as fixed-length bytes, split into `name0`, `name1`, ... past 64 KB (as Keras)."""
    bad = [x for x in data if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    if bad:
        raise SavingError(f"The following attributes cannot be saved to HDF5 file because they are larger than "
                          f"{HDF5_OBJECT_HEADER_LIMIT} bytes: {bad}")
    data_npy = np.asarray(list(data), dtype="S") if len(data) else np.asarray([], dtype="float64")
    num_chunks = 1
    chunks = np.array_split(data_npy, num_chunks)
    while any(c.nbytes > HDF5_OBJECT_HEADER_LIMIT for c in chunks):
        num_chunks += 1
        chunks = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for i, chunk in enumerate(chunks):
            group.attrs[f"{name}{i}"] = chunk
    else:
        group.attrs[name] = data_npy


def load_attributes_from_hdf5_group(group: Any, name: str) -> List[str]:
    """Read a list attribute, plain or chunked, bytes or str."""
    if name in group.attrs:
        return [_decode(n) for n in np.atleast_1d(group.attrs[name])]
    data: List[str] = []
    i = 0
    while f"{name}{i}" in group.attrs:
        data.extend(_decode(n) for n in np.atleast_1d(group.attrs[f"{name}{i}"]))
        i += 1
    return data


# ------------------------------------------------------------------------------------------ weight names


def sublayers(layer: Any) -> List[Tuple[str, Any]]:
    """(attribute name, sub-layer) for every Layer held in a public attribute, in assignment order."""
    return [(k, v) for k, v in vars(layer).items() if not k.startswith("_") and isinstance(v, Layer)]


def legacy_weight_names(layer: Any) -> List[str]:
    """tf.keras's HDF5 weight names for `layer.weights`: `lstm/lstm_cell/kernel:0`, `time_distributed/kernel:0`."""
    names: Dict[int, str] = {}

    def walk(l: Any, scope: str) -> None:
        subs = sublayers(l)
        inner = {id(w) for _, sub in subs for w in sub.weights}
        for w in l.weights:
            if id(w) not in inner:
                names[id(w)] = f"{scope}{w.name}:0"
        for attr, sub in subs:
            # NOTE: tf.keras builds TimeDistributed's inner layer in the wrapper's own name scope
            walk(sub, scope if type(l).__name__ == "TimeDistributed" else f"{scope}{sub.name}/")

    walk(layer, f"{layer.name}/")
    return [names.get(id(w), f"{layer.name}/{w.name}:0") for w in layer.weights]


# ------------------------------------------------------------------------------------------ save


def save_weights_to_hdf5_group(f: Any, model: Any, scales: Optional[Dict[int, np.ndarray]] = None) -> None:
    """Write `model`'s weights in tf.keras's legacy layout into an open h5py group; `scales` (by variable `id`)
    multiplies the last axis of the variables it names."""
    scales = scales or {}
    layers = model.layers
    save_attributes_to_hdf5_group(f, "layer_names", [l.name.encode("utf8") for l in layers])
    f.attrs["backend"] = np.bytes_(b"tensorflow")
    f.attrs["keras_version"] = np.bytes_(WRITTEN_KERAS_VERSION.encode("utf8"))
    f.attrs["minikeras_version"] = np.bytes_(__version__.encode("utf8"))
    # NOTE: groups created in sorted name order, as tf.keras does against prefix clashes (keras-team/keras#12195)
    for layer in sorted(layers, key=lambda l: l.name):
        g = f.create_group(layer.name)
        values = [w.data if id(w) not in scales else
                  (np.asarray(w.data, np.float64) * scales[id(w)]).astype(w.data.dtype) for w in layer.weights]
        _save_subset(g, legacy_weight_names(layer), values)
    g = f.create_group("top_level_model_weights")
    _save_subset(g, [], [])


def _save_subset(group: Any, names: Sequence[str], values: Sequence[np.ndarray]) -> None:
    save_attributes_to_hdf5_group(group, "weight_names", [n.encode("utf8") for n in names])
    for name, val in zip(names, values):
        dset = group.create_dataset(name, val.shape, dtype=val.dtype)
        if not val.shape:
            dset[()] = val
        else:
            dset[:] = val


# ------------------------------------------------------------------------------------------ load


def _file_versions(f: Any) -> Tuple[str, Optional[str]]:
    version = _decode(f.attrs["keras_version"]) if "keras_version" in f.attrs else "1"
    backend_name = _decode(f.attrs["backend"]) if "backend" in f.attrs else None
    return str(version), backend_name


def _read_subset(group: Any, filepath: Any, layer_name: str) -> List[np.ndarray]:
    names = load_attributes_from_hdf5_group(group, "weight_names")
    values = []
    for n in names:
        if not isinstance(n, str):
            raise FileFormatError(f"Layer '{layer_name}': `weight_names` holds {type(n).__name__} values, expected "
                                  "strings", filepath)
        link = group.get(n, getlink=True)
        if link is not None and not isinstance(link, h5py.HardLink):
            raise FileFormatError(f"Layer '{layer_name}': refusing weight '{n}': it is a {type(link).__name__} "
                                  "(data outside this group or file)", filepath)
        if n not in group:
            raise FileFormatError(f"Layer '{layer_name}': weight '{n}' is listed in `weight_names` but missing from "
                                  "the file", filepath)
        ds = group[n]
        if not hasattr(ds, "shape") or not hasattr(ds, "dtype"):
            raise FileFormatError(f"Layer '{layer_name}': '{n}' is not a dataset", filepath)
        if ds.dtype.kind not in "fiub":
            raise WeightMismatchError(f"Layer '{layer_name}': weight '{n}' has non-numeric dtype {ds.dtype}; "
                                      "expected a float array", filepath)
        nbytes = int(np.prod(ds.shape, dtype=object)) * ds.dtype.itemsize if ds.shape is not None else 0
        if nbytes > MAX_WEIGHT_BYTES:
            raise WeightMismatchError(f"Layer '{layer_name}': weight '{n}' declares shape {ds.shape} "
                                      f"({nbytes} bytes), more than the {MAX_WEIGHT_BYTES}-byte limit; refusing to "
                                      "read it", filepath)
        if ds.external or ds.is_virtual:
            raise FileFormatError(f"Layer '{layer_name}': refusing weight '{n}': its data lives outside the file",
                                  filepath)
        values.append(np.asarray(ds[()]))
    return values


def _check_and_pair(layer: Any, values: List[np.ndarray], index: int, file_name: str, filepath: Any,
                    skip_mismatch: bool = False) -> List[Tuple[Any, np.ndarray]]:
    params = layer.weights
    if len(values) != len(params):
        msg = (f"Weight count mismatch for layer #{index} (named {layer.name} in the current model, {file_name} in "
               f"the save file). Layer expects {len(params)} weight(s). Received {len(values)} saved weight(s)")
        if skip_mismatch:
            warnings.warn("Skipping loading of weights: " + msg, stacklevel=3)
            return []
        raise WeightMismatchError(msg, filepath)
    pairs = []
    for p, v in zip(params, values):
        if tuple(p.shape) != tuple(v.shape):
            msg = (f"Shape mismatch in layer #{index} (named {layer.name}) for weight {p.path}. Weight expects shape "
                   f"{tuple(p.shape)}. Received saved weight with shape {tuple(v.shape)}")
            if skip_mismatch:
                warnings.warn("Skipping loading of weight: " + msg, stacklevel=3)
                continue
            raise WeightMismatchError(msg, filepath)
        pairs.append((p, v))
    return pairs


def load_weights_from_hdf5_group(f: Any, model: Any, by_name: bool = False, skip_mismatch: bool = False,
                                 filepath: Any = None, from_config: bool = False) -> str:
    """Load a legacy weights group into `model`; all-or-nothing. Returns the file's `keras_version`.
    `from_config`: the model was built from the same file's config (no activation guess to warn about)."""
    version, _ = _file_versions(f)
    if skip_mismatch and not by_name:
        raise ValueError("When calling model.load_weights, skip_mismatch can only be set to True when by_name is "
                         "True.")
    layer_names = load_attributes_from_hdf5_group(f, "layer_names")
    for name in layer_names:
        if name not in f:
            raise FileFormatError(f"Layer group '{name}' listed in `layer_names` is missing from the file", filepath)
    pairs: List[Tuple[Any, np.ndarray]] = []
    try:
        if by_name:
            index = {l.name: l for l in model.layers}
            for k, name in enumerate(layer_names):
                layer = index.get(name)
                if layer is None:
                    continue
                values = preprocess_weights_for_loading(layer, _read_subset(f[name], filepath, name), version)
                pairs += _check_and_pair(layer, values, k, name, filepath, skip_mismatch)
        else:
            # Keras 3's legacy writer lists a functional model's layers in Keras 3's order (mask operations count)
            ordered = keras3_layers(model) if version.split(".")[0] == "3" else model.layers
            filtered_layers = [l for l in ordered if l.weights]
            file_layers = [n for n in layer_names if load_attributes_from_hdf5_group(f[n], "weight_names")]
            if len(file_layers) != len(filtered_layers):
                raise WeightMismatchError(
                    "Layer count mismatch when loading weights from file. Model expected "
                    f"{len(filtered_layers)} layers, found {len(file_layers)} saved layers.", filepath)
            for k, (name, layer) in enumerate(zip(file_layers, filtered_layers)):
                values = preprocess_weights_for_loading(layer, _read_subset(f[name], filepath, name), version)
                pairs += _check_and_pair(layer, values, k, name, filepath, skip_mismatch)
    except SavingError:
        raise
    except ValueError as e:  # conversions (GRU reset_after, bad bias shapes)
        raise WeightMismatchError(str(e), filepath) from None
    for p, v in pairs:
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            warnings.warn(f"Weight {p.path} loaded from {filepath} contains NaN or infinite values.", stacklevel=3)
        p.assign(v)
    if not from_config:
        _warn_recurrent_activation(model, version)
    return version


def _warn_recurrent_activation(model: Any, version: str) -> None:
    """Keras >= 2.3 and Keras 3 default LSTM/GRU to `recurrent_activation='sigmoid'`; minikeras follows Keras 2.0's
    'hard_sigmoid'. Weights from such a file loaded into a layer built in code with 'hard_sigmoid' were most likely
    trained with 'sigmoid' (a full-model file says which, so `load_model` never warns)."""
    try:
        newer = version != "1" and tuple(int(p) for p in version.split(".")[:2]) >= (2, 3)
    except ValueError:
        newer = False
    if not newer:
        return
    for layer in _all_layers(model):
        act = getattr(layer, "recurrent_activation", None)
        if type(layer).__name__ in ("LSTM", "GRU") and getattr(act, "__name__", None) == "hard_sigmoid":
            warnings.warn(f"Layer '{layer.name}' uses recurrent_activation='hard_sigmoid' (minikeras's default, as in "
                          f"Keras 2.0), but these weights come from Keras {version}, whose default is 'sigmoid'. If "
                          "that model used the default, build the layer with recurrent_activation='sigmoid'.",
                          stacklevel=4)


def _all_layers(model: Any) -> List[Any]:
    out = []
    stack = list(model.layers)
    while stack:
        l = stack.pop(0)
        out.append(l)
        stack.extend(s for _, s in sublayers(l))
    return out


# ------------------------------------------------------------------------------------------ files


def load_weights(model: Any, filepath: Any, by_name: bool = False, skip_mismatch: bool = False) -> str:
    """`model.load_weights('w.h5')`: a weights file or a full-model file (its `model_weights` group)."""
    with open_h5(filepath) as f:
        try:
            g = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
            if "layer_names" not in g.attrs and "layer_names0" not in g.attrs:
                if "layers" in g and "vars" in g:
                    raise FileFormatError("This is a Keras 3 `.weights.h5` file; name it with the `.weights.h5` "
                                          "suffix to load it", filepath)
                raise FileFormatError("Not a Keras weights file: the `layer_names` attribute is missing", filepath)
            return load_weights_from_hdf5_group(g, model, by_name=by_name, skip_mismatch=skip_mismatch,
                                                filepath=filepath)
        except SavingError:
            raise
        except (KeyError, OSError, RuntimeError, TypeError, UnicodeDecodeError) as e:
            raise FileFormatError(f"Corrupt or unreadable weights file ({e.__class__.__name__}: {e})",
                                  filepath) from None


def save_weights(model: Any, filepath: Any) -> None:
    """`model.save_weights('w.h5')` in tf.keras's legacy layout (written atomically)."""

    with atomic_write(filepath) as tmp:
        with h5py.File(tmp, "w") as f:
            save_weights_to_hdf5_group(f, model)


# ------------------------------------------------------------------------------------------ full model


def save_model(model: Any, filepath: Any, include_optimizer: bool = True) -> None:
    """`model.save('m.h5')`: model_config, training_config, model_weights, optimizer_weights (tf.keras layout)."""
    config = {"class_name": "Functional" if is_functional(model) else "Sequential",
              "config": _shared_config(model.get_config())}
    scales = hard_sigmoid_scales(model, era=3)
    if scales:
        warnings.warn("This model uses Keras 3's hard_sigmoid (clip(x / 6 + 0.5)), which tf_keras's `.h5` format "
                      "calls 'hard_sigmoid' with another formula (clip(0.2 x + 0.5)): the file stores the weights "
                      f"feeding it divided by {HARD_SIGMOID_SCALE}, so it computes exactly this model's outputs.",
                      stacklevel=4)
    elif uses_hard_sigmoid(model, era=2):
        warnings.warn("This `.h5` file is tf_keras's: it uses Keras 2's hard_sigmoid (clip(0.2 x + 0.5)), which "
                      "Keras 3 reads as clip(x / 6 + 0.5) from a `.h5` file, so Keras 3 would compute other outputs. "
                      "For Keras 3, save the model as `.keras` (its weights are rescaled there to stay exact).",
                      stacklevel=4)
    with atomic_write(filepath) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["keras_version"] = WRITTEN_KERAS_VERSION
            f.attrs["backend"] = "tensorflow"
            f.attrs["minikeras_version"] = __version__
            f.attrs["model_config"] = json.dumps(config).encode("utf8")
            if scales:  # read by `python -m minikeras.check`; Keras ignores it
                f.attrs["minikeras_hard_sigmoid_rescaled"] = json.dumps(rescaled_layers(model, scales))
            save_weights_to_hdf5_group(f.create_group("model_weights"), model, scales)
            optimizer = getattr(model, "optimizer", None)
            if include_optimizer and optimizer is not None:
                tc = training_config(model)
                if tc is not None:
                    f.attrs["training_config"] = json.dumps(tc).encode("utf8")
                names, values = _optimizer_state(model)
                if names:
                    g = f.create_group("optimizer_weights")
                    _save_subset(g, names, values)


#: Keys tf_keras writes that Keras 3 refuses ("Unrecognized keyword arguments"), left out when they hold the value
#: tf_keras reads when the key is absent, so one `.h5` loads in both eras.
_KERAS3_REFUSED_DEFAULTS = {"time_major": False}


def _shared_config(obj: Any) -> Any:
    """A Sequential config as both tf_keras and Keras 3 read it from a `.h5`: defaults Keras 3 refuses left out,
    layers nested in wrappers written with their `module` (Keras 3 cannot find a nested bare class name)."""
    if isinstance(obj, list):
        return [_shared_config(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: _shared_config(v) for k, v in obj.items()
           if not (k in _KERAS3_REFUSED_DEFAULTS and v == _KERAS3_REFUSED_DEFAULTS[k])}
    for key in ("layer", "backward_layer"):
        nested = out.get(key)
        if isinstance(nested, dict) and "class_name" in nested and "module" not in nested:
            out[key] = {"module": "keras.layers", "class_name": nested["class_name"], "config": nested.get("config"),
                        "registered_name": None}
    return out


def _compile_from_file(model: Any, f: Any, version: str, filepath: Any) -> None:
    """Compile as the file's `training_config` says. A config minikeras cannot honour (an optimizer it does not have,
    malformed JSON) costs only the compilation: one warning, and the model is returned uncompiled, as tf_keras does
    when it cannot compile a loaded model."""
    try:
        try:
            tc = json.loads(_decode(f.attrs["training_config"]))
        except (TypeError, ValueError, RecursionError) as e:
            raise ConfigError(f"Malformed `training_config` JSON: {e}", filepath) from None
        opt_values = None
        if "optimizer_weights" in f:
            opt_values = _read_subset(f["optimizer_weights"], filepath, "optimizer_weights")
        era = era_of(version)
        compile_from_training_config(model, tc, None if era == 3 else opt_values, filepath=filepath, era=era)
        if era == 3 and opt_values:
            restore_optimizer_values(model, opt_values, filepath)
    except (ConfigError, WeightMismatchError) as e:
        warnings.warn(f"The model's weights were loaded, but the model was not compiled: {e}. Compile it with "
                      "`model.compile(...)` before training.", stacklevel=4)


def _optimizer_state(model: Any) -> Tuple[List[str], List[np.ndarray]]:
    opt = model.optimizer
    variables = list(getattr(opt, "variables", []) or [])
    if callable(variables):
        variables = list(variables())
    names = [getattr(v, "name", f"var_{i}") for i, v in enumerate(variables)]
    names = [n if n.endswith(":0") else f"{n}:0" for n in names]
    # NOTE: loaders restore optimizer state by position; names only need to be unique (Keras 2's `_uniquify`)
    seen: Dict[str, int] = {}
    unique = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        unique.append(n if k == 0 else f"{n[:-2]}_{k}:0")
    names = unique
    return names, [np.asarray(v.data if hasattr(v, "data") else v) for v in variables]


def load_model(filepath: Any, custom_objects: Optional[Dict[str, Any]] = None, compile: bool = True) -> Any:
    """`load_model('m.h5')`: rebuild from `model_config`, load weights, re-compile with the optimizer state."""
    with open_h5(filepath) as f:
        try:
            if "model_config" not in f.attrs:
                raise FileFormatError("No model found in config file: the `model_config` attribute is missing "
                                      "(this may be a weights-only file; use `model.load_weights`)", filepath)
            version, _ = _file_versions(f)
            try:
                config = json.loads(_decode(f.attrs["model_config"]))
            except (TypeError, ValueError, RecursionError) as e:
                raise ConfigError(f"Malformed `model_config` JSON: {e}", filepath) from None
            model = model_from_file_config(config, version, custom_objects=custom_objects, filepath=filepath)
            g = f["model_weights"] if "model_weights" in f else f
            load_weights_from_hdf5_group(g, model, filepath=filepath, from_config=True)
            if compile and "training_config" in f.attrs:
                _compile_from_file(model, f, version, filepath)
        except SavingError:
            raise
        except (KeyError, OSError, RuntimeError, TypeError, UnicodeDecodeError) as e:
            raise FileFormatError(f"Corrupt or unreadable model file ({e.__class__.__name__}: {e})",
                                  filepath) from None
    return model
