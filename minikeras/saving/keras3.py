"""Keras 3 native formats: `.weights.h5` (weights, optionally optimizer state) and `.keras` (zip of config + weights).

Layout (Keras 3.15.1's `saving_lib`, the spec): weights live under Python *attribute paths*, not layer names.
The model's own variables are in `/vars`; `model.layers` (InputLayer excluded) under `layers/<snake_case class
name>` de-duplicated per class (`lstm`, `lstm_1`, ...: the 2nd LSTM, whatever its `name`); each object's own
variables (trainable then non-trainable) are datasets `"0".."n-1"` of its `vars` group, whose attribute `name` is the
object's name; sub-layers follow under the attribute holding them (`cell`, `forward_layer`, `backward_layer`, `layer`),
visited in sorted attribute order, each object once. A compiled model adds `optimizer/vars`: iteration, learning
rate, then the optimizer's slots.

Facts from the Keras 3.15.1 (JAX) fixtures: the iteration counter is `int32` (`int64` only on the TensorFlow
backend; both are read), learning rate `float32`, Adam slots interleaved per variable (m_0, v_0, m_1, ...);
`metadata.json` = `{"keras_version", "date_saved"}`; zip members stored uncompressed (ZIP_STORED).

minikeras writes `metadata.json` with Keras's two keys plus `"minikeras_version"`; `keras_version` is "3.15.1",
the Keras release whose format these files follow (Keras reads only `config.json` and the weights).

Loading reads JSON and HDF5 data only: nothing from a file is imported or executed; zip member names are checked.
A failed load leaves the model's weights bit-identical: every count and shape is checked before anything is assigned.
"""
from __future__ import annotations

import datetime
import io
import json
import re
import warnings
import zipfile
from typing import Any, Dict, Iterator, List, Optional, Tuple

import h5py
import numpy as np

from minikeras import __version__, activations, backend, optimizers
from minikeras.engine.base_layer import Layer
from minikeras.layers.recurrent import GRUCell, LSTMCell, SimpleRNNCell
from minikeras.saving import functional
from minikeras.saving.atomic import atomic_write
from minikeras.saving.h5file import open_h5
from minikeras.saving.errors import (ConfigError, FileFormatError, SavingError, UnsupportedConfigError,
                                     WeightMismatchError)
from minikeras.saving.serialization import (_metric_names, loss_from_file, model_from_file_config,
                                            optimizer_config_from_file, training_config)

KERAS_VERSION = "3.15.1"
_MEMBERS = ("metadata.json", "config.json", "model.weights.h5")
MAX_CONFIG_BYTES = 64 * 1024 * 1024
_DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


# ------------------------------------------------------------------------------------------------ structure


def _snake(name: str) -> str:
    """Keras 3's `naming.to_snake_case` (differs from tf.keras's on digits: `Conv2D` -> `conv2d`)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _class_name(obj: Any) -> str:
    return type(obj).__name__


def _name_key(name: str) -> str:
    return f"~{name}" if name.startswith("_") else name


def _own_variables(layer: Any) -> List[Any]:
    """The layer's own variables (trainable, then non-trainable): `layer.weights` less its sub-layers' (a model's
    `layers` included)."""
    subs = [child for _, child in _children(layer)] + list(getattr(layer, "layers", None) or [])
    inner = {id(w) for child in subs for w in child.weights}
    return [w for w in layer.weights if id(w) not in inner]


def _children(layer: Any) -> List[Tuple[str, Any]]:
    """Sub-layers held in public instance attributes, in `_walk_saveable`'s order (sorted attribute names)."""
    out = [(k, v) for k, v in vars(layer).items() if not k.startswith("_") and isinstance(v, Layer)]
    return sorted(out, key=lambda kv: _name_key(kv[0]))


def _walk(model: Any) -> Iterator[Tuple[str, Any, Any]]:
    """(inner path, object, its layer in `model.layers`) for the model and every (sub-)layer, in Keras's
    `_save_state` order; an object reachable twice is visited once (at its first path)."""
    visited = set()

    def visit(path: str, obj: Any, top: Any) -> Iterator[Tuple[str, Any, Any]]:
        if id(obj) in visited:
            return
        visited.add(id(obj))
        yield path, obj, top
        for attr, child in _children(obj):
            yield from visit(f"{path}/{attr}" if path else attr, child, top)

    visited.add(id(model))
    yield "", model, model
    used: Dict[str, int] = {}
    for layer in functional.keras3_layers(model):  # Keras 3's order for functional models (mask operations change it)
        base = _snake(_class_name(layer))
        if base in used:
            used[base] += 1
            name = f"{base}_{used[base]}"
        else:
            used[base] = 0
            name = base
        yield from visit(f"layers/{name}", layer, layer)


def _vars_path(path: str) -> str:
    return f"{path}/vars" if path else "vars"


def _var_name(var: Any) -> str:
    name = str(getattr(var, "name", None) or "variable")
    return name.split("/")[-1].split(":")[0]


def _data(var: Any) -> np.ndarray:
    return np.asarray(var.data if hasattr(var, "data") else var)


# ------------------------------------------------------------------------------------------------ optimizer


def _optimizer(model: Any) -> Any:
    """The model's optimizer if its state has Keras 3's layout; None otherwise (not compiled, or a legacy one)."""
    opt = getattr(model, "optimizer", None)
    if opt is not None and ".legacy" in type(opt).__module__:
        warnings.warn(f"The legacy optimizer {type(opt).__name__!r} keeps its state in tf.keras 2.10's layout, which "
                      "Keras 3 files cannot hold; its state is not saved to or loaded from this file.", stacklevel=4)
        return None
    return opt


def _optimizer_name(opt: Any) -> str:
    name = getattr(opt, "name", None)
    return name if isinstance(name, str) and name else _snake(type(opt).__name__)


def _learning_rate(opt: Any) -> Optional[float]:
    """The learning rate as a Keras 3 optimizer holds it: a float, or None where the optimizer's config gives a
    schedule (Keras 3 has no learning-rate variable then). minikeras writes Keras 2's `decay` as a schedule."""
    config = opt.get_config() if hasattr(opt, "get_config") else {}
    if isinstance(config.get("learning_rate"), dict):
        return None
    lr = getattr(opt, "learning_rate", getattr(opt, "lr", None))
    if hasattr(lr, "data"):
        lr = lr.data
    try:
        return float(np.asarray(lr))
    except (TypeError, ValueError):
        return None  # a schedule: Keras writes no learning-rate variable then


def _optimizer_values(opt: Any) -> List[np.ndarray]:
    """Keras 3's `optimizer.variables` order: iteration (int32), learning_rate (float32), then the slots.

    minikeras optimizers follow tf.keras 2.11+'s `get_weights()`: `[iterations, slot_0, slot_1, ...]` with the
    slots in the same order as Keras 3's (Adam m/v interleaved per variable; SGD momentums; RMSprop velocities,
    then momentums, then average gradients).
    """
    tf_values = [np.asarray(v) for v in opt.get_weights()] if hasattr(opt, "get_weights") else []
    iteration = int(np.asarray(tf_values[0])) if tf_values else int(np.asarray(getattr(opt, "iterations", 0)))
    out = [np.asarray(iteration, dtype=np.int32)]
    lr = _learning_rate(opt)
    if lr is not None:
        out.append(np.asarray(lr, dtype=np.float32))
    out.extend(np.asarray(v) for v in tf_values[1:])
    return out


def _build_optimizer(model: Any) -> Any:
    opt = _optimizer(model)
    if opt is None:
        return None
    if hasattr(opt, "build") and not getattr(opt, "built", getattr(opt, "_built", False)):
        opt.build(model.trainable_weights)
    return opt


# ------------------------------------------------------------------------------------------------ weights: save


def _write_weights(model: Any, h5file: Any, scales: Optional[Dict[int, np.ndarray]] = None) -> None:
    """Write every variable; `scales` (from `hard_sigmoid_scales`) multiplies the last axis of the ones it names."""
    functional.check_keras3_writable(model)  # nested models: refused, not silently left out
    scales = scales or {}
    for path, obj, _ in _walk(model):
        group = h5file.create_group(_vars_path(path))
        group.attrs["name"] = str(obj.name)
        for i, var in enumerate(_own_variables(obj)):
            value = _data(var)
            if id(var) in scales:  # in float64, rounded once to the variable's dtype
                value = (value.astype(np.float64) * scales[id(var)]).astype(value.dtype)
            group.create_dataset(str(i), data=value)
    opt = _optimizer(model)
    if opt is not None:
        group = h5file.create_group("optimizer/vars")
        group.attrs["name"] = _optimizer_name(opt)
        for i, value in enumerate(_optimizer_values(opt)):
            group.create_dataset(str(i), data=value)


def save_weights_keras3(model: Any, filepath: Any) -> None:
    """Write `model`'s weights (and optimizer state when compiled) as Keras 3's `.weights.h5`, atomically."""

    if not getattr(model, "built", False):
        raise ValueError("You are calling `save_weights` on a model that has not been built yet: call "
                         "`model.build(input_shape)` or call the model on data first.")
    with atomic_write(filepath) as tmp:
        with h5py.File(tmp, "w") as f:
            _write_weights(model, f)


# ------------------------------------------------------------------------------------------------ weights: load


def _get_local(h5file: Any, path: str, filepath: Any = None) -> Any:
    """`h5file[path]` following hard links only: external links (another file) and soft links are refused."""
    node = h5file
    for part in path.split("/"):
        if not isinstance(node, h5py.Group) or part not in node:
            return None
        link = node.get(part, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise FileFormatError(f"Refusing a {type(link).__name__} at {path!r} in a weights file", filepath)
        node = node[part]
    return node


def _lookup(h5file: Any, path: str, filepath: Any = None) -> Any:
    """The `vars` group at `path`, with Keras 2.13–2.15's `_layer_checkpoint_dependencies` fallback; None if absent."""
    candidates = [_vars_path(path)]
    if path.startswith("layers"):
        candidates.append(_vars_path("_layer_checkpoint_dependencies" + path[len("layers"):]))
    for c in candidates:
        obj = _get_local(h5file, c, filepath)
        if isinstance(obj, h5py.Group):
            return obj
    return None


def _datasets(group: Any, where: str, filepath: Any) -> List[Any]:
    """The datasets "0".."n-1" of a `vars` group, checked (names, numeric dtype, stored in this file) but not read."""
    if group is None:
        return []
    keys = list(group.keys())
    if sorted(keys) != sorted(str(i) for i in range(len(keys))):
        raise WeightMismatchError(f"Invalid weights group {where!r}: expected datasets named '0'..'{len(keys) - 1}'. "
                                  f"Received: {sorted(keys)[:20]}", filepath)
    out = []
    for i in range(len(keys)):
        link = group.get(str(i), getlink=True)
        ds = group[str(i)] if isinstance(link, h5py.HardLink) else None
        if not isinstance(ds, h5py.Dataset):
            raise WeightMismatchError(f"Invalid weights entry {where}/{i}: expected a dataset stored in the file",
                                      filepath)
        if ds.dtype.kind not in "biuf":
            raise WeightMismatchError(f"Weights entry {where}/{i} is not numeric. Received: dtype={ds.dtype}",
                                      filepath)
        if ds.external or ds.is_virtual:
            raise FileFormatError(f"Refusing weights entry {where}/{i}: its data lives outside the file", filepath)
        out.append(ds)
    return out


def _read(ds: Any, filepath: Any) -> np.ndarray:
    try:
        return np.asarray(ds[()])
    except (OSError, ValueError, TypeError) as e:
        raise FileFormatError(f"Cannot read dataset {ds.name} ({e})", filepath) from None


def _has_weights(group: Any) -> bool:
    """True if any dataset lives under `group` (empty `vars` groups of weightless layers do not count)."""
    found = []
    group.visititems(lambda name, obj: found.append(1) if isinstance(obj, h5py.Dataset) else None)
    return bool(found)


def _load_from_h5(model: Any, h5file: Any, filepath: Any, skip_mismatch: bool,
                  scales: Optional[Dict[int, np.ndarray]] = None) -> None:
    """Check every count and shape, read everything, then assign. Optimizer mismatches only warn (as Keras).
    `scales` (from `hard_sigmoid_scales`) divides the last axis of the variables it names (Keras 3 -> Keras 2
    hard_sigmoid)."""
    functional.check_keras3_writable(model)  # nested models: refused, not silently left unloaded
    scales = scales or {}
    pending: List[Tuple[Any, Any]] = []
    errors: List[str] = []
    for path, obj, top in _walk(model):
        own = _own_variables(obj)
        where = _vars_path(path)
        found = _datasets(_lookup(h5file, path, filepath), where, filepath)
        problem = None
        if len(found) != len(own):
            problem = (f"Layer '{obj.name}' expected {len(own)} variables, but received {len(found)} variables "
                       f"during loading. Expected: {[_var_name(v) for v in own]}")
        else:
            for var, ds in zip(own, found):
                if tuple(ds.shape) != tuple(var.shape):
                    problem = (f"Layer '{obj.name}' weight '{_var_name(var)}' has shape {tuple(var.shape)}, but the "
                               f"saved weight has shape {tuple(ds.shape)}")
                    break
        if problem is not None:
            owner = "" if top is obj else f" of layer '{top.name}'"
            message = f"{problem} (file path '{where}'{owner})"
            if skip_mismatch:
                warnings.warn(f"Skipping loading weights: {message}", stacklevel=3)
                continue
            errors.append(message)
            continue
        pending.extend(zip(own, found))
    layers_group = h5file.get("layers") if "layers" in h5file else None
    if isinstance(layers_group, h5py.Group):
        expected = {p.split("/")[1] for p, _, _ in _walk(model) if p.startswith("layers/")}
        extra = sorted(k for k in layers_group.keys() if k not in expected and _has_weights(layers_group[k]))
        if extra and not skip_mismatch:
            errors.append(f"The file holds weights for layers the model does not have: {extra} (the model has "
                          f"{len(expected)} layers with saved state)")
    if errors:
        head = errors[0] if len(errors) == 1 else (f"A total of {len(errors)} objects could not be loaded:\n"
                                                   + "\n".join(errors))
        raise WeightMismatchError(head, filepath)

    opt_found = None
    if _optimizer(model) is not None:
        opt_group = _get_local(h5file, "optimizer/vars", filepath)
        if isinstance(opt_group, h5py.Group):
            opt_found = _datasets(opt_group, "optimizer/vars", filepath)

    values = [(var, _read(ds, filepath)) for var, ds in pending]  # every read before the first assignment
    for var, val in values:
        if np.asarray(val).dtype.kind == "f" and not np.all(np.isfinite(val)):
            warnings.warn(f"Weight '{getattr(var, 'path', var.name)}' loaded from {filepath} contains NaN or "
                          "infinite values.", stacklevel=3)
        if id(var) in scales:
            val = np.asarray(val, np.float64) / scales[id(var)]
        var.assign(np.asarray(val, dtype=var.dtype))

    if opt_found is not None:
        _restore_optimizer(model, opt_found, filepath)


def _restore_optimizer(model: Any, found: List[Any], filepath: Any) -> None:
    opt = _build_optimizer(model)
    current = _optimizer_values(opt)
    if len(found) != len(current) or any(tuple(d.shape) != np.shape(c) for d, c in zip(found, current)):
        _warn_optimizer_skipped(opt, len(current), len(found), filepath)
        return
    restore_optimizer_values(model, [_read(d, filepath) for d in found], filepath)


def _warn_optimizer_skipped(opt: Any, n_current: int, n_found: int, filepath: Any) -> None:
    warnings.warn(f"Skipping variable loading for optimizer '{_optimizer_name(opt)}', because it has {n_current} "
                  f"variables whereas the saved optimizer has {n_found} variables (file: {filepath}).", stacklevel=5)


def restore_optimizer_values(model: Any, values: List[Any], filepath: Any = None) -> None:
    """Set the model's optimizer state from Keras 3's `optimizer.variables` order: iteration, learning rate (absent
    with a schedule), then the slots. A count or shape mismatch warns and leaves the optimizer fresh, as Keras does."""
    opt = _build_optimizer(model)
    if opt is None:
        return
    current = _optimizer_values(opt)
    if len(values) != len(current) or any(np.shape(v) != np.shape(c) for v, c in zip(values, current)):
        _warn_optimizer_skipped(opt, len(current), len(values), filepath)
        return
    has_lr = _learning_rate(opt) is not None
    slots = values[2:] if has_lr else values[1:]
    tf_current = opt.get_weights()
    iteration = np.asarray(int(np.asarray(values[0])), dtype=np.asarray(tf_current[0]).dtype)
    opt.set_weights([iteration] + [np.asarray(v, dtype=np.asarray(c).dtype) for v, c in zip(slots, tf_current[1:])])
    if has_lr:
        lr = float(np.asarray(values[1]))
        target = getattr(opt, "learning_rate", None)
        if hasattr(target, "assign"):
            target.assign(np.asarray(lr, dtype=np.asarray(target.data).dtype))
        else:
            opt.learning_rate = lr


def load_weights_keras3(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """Load a Keras 3 `.weights.h5` (or a file-like object holding one) into `model`; all-or-nothing."""
    f = open_h5(filepath)
    with f:
        try:
            _load_from_h5(model, f, filepath, skip_mismatch)
        except (KeyError, OSError, RuntimeError) as e:
            if isinstance(e, SavingError):
                raise
            raise FileFormatError(f"Corrupt weights file ({e.__class__.__name__}: {e})", filepath) from None


# ------------------------------------------------------------------------------------------------ config: write


def _k3_initializer(obj: Any) -> Any:
    if not isinstance(obj, dict) or "class_name" not in obj:
        return obj
    class_name = obj["class_name"]
    cfg = dict(obj.get("config") or {})
    if class_name in ("GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal"):
        cfg = {"seed": cfg.get("seed"), "input_axes": None, "output_axes": None}
    elif class_name == "VarianceScaling":
        cfg.setdefault("input_axes", None)
        cfg.setdefault("output_axes", None)
    elif class_name in ("RandomUniform", "RandomNormal", "TruncatedNormal") and "seed" in cfg:
        cfg = {"seed": cfg.pop("seed"), **cfg}  # Keras 3's key order
    elif class_name in ("Orthogonal", "OrthogonalInitializer"):
        class_name = "Orthogonal"
        cfg = {"seed": cfg.get("seed"), "gain": cfg.get("gain", 1.0)}
    module = obj.get("module") or "keras.initializers"
    return {"module": module, "class_name": class_name, "config": cfg, "registered_name": None}


_DROP = {"batch_input_shape", "time_major", "implementation", "input_length", "input_shape", "batch_size"}
_RNN = {"LSTM", "GRU", "SimpleRNN"}


#: Keras 2's hard_sigmoid is `clip(0.2 z + 0.5)`; Keras 3's is `clip(z / 6 + 0.5)`, so Keras 2's of `z` is Keras 3's
#: of `1.2 z`: a `.keras` file stores the weights feeding it multiplied by this factor.
HARD_SIGMOID_SCALE = 1.2


def _is_era(fn: Any, era: int) -> bool:
    return activations.era_of(fn) == era


def _no_exact_export(layer_name: str, why: str, era: int) -> UnsupportedConfigError:
    if era == 2:
        return UnsupportedConfigError(
            f"Layer '{layer_name}' uses Keras 2's hard_sigmoid (clip(0.2 x + 0.5)) {why}; Keras 3 reads "
            "'hard_sigmoid' in a `.keras` file as clip(x / 6 + 0.5), and no rescaling of the stored weights makes "
            "the file compute the same. Save the model as `.h5` (the tf_keras format), or use another activation "
            "there.")
    return UnsupportedConfigError(
        f"Layer '{layer_name}' uses Keras 3's hard_sigmoid (clip(x / 6 + 0.5)) {why}; tf_keras reads "
        "'hard_sigmoid' in a `.h5` file as clip(0.2 x + 0.5), and no rescaling of the stored weights makes the file "
        "compute the same. Save the model as `.keras`, or use another activation there.")


def uses_hard_sigmoid(model: Any, era: int) -> bool:
    """True if a layer or cell of `model` uses the hard_sigmoid of Keras `era` (2 or 3)."""
    return any(_is_era(getattr(obj, attr, None), era) for _, obj, _ in _walk(model)
               for attr in ("activation", "recurrent_activation"))


def rescaled_layers(model: Any, scales: Dict[int, np.ndarray]) -> List[str]:
    """Names of the layers of `model.layers` whose stored weights `scales` rescales."""
    return sorted({top.name for _, obj, top in _walk(model) for v in _own_variables(obj) if id(v) in scales})


def hard_sigmoid_scales(model: Any, era: int = 2) -> Dict[int, np.ndarray]:
    """Per variable (by `id`), the multipliers of its last axis that make the other era's hard_sigmoid compute the
    one of `era` the model uses: 1.2 for Keras 2's in a `.keras` file, 1 / 1.2 for Keras 3's in a `.h5` file.

    Exact exports: LSTM gates i, f, o (`recurrent_activation`); GRU gates z, r (`recurrent_activation`) and its
    candidate h (`activation`), in both `reset_after` modes (both bias rows); SimpleRNN; Dense-like layers (a
    `kernel` and `bias` whose last axis is the output). Anything else using Keras 2's hard_sigmoid has no exact
    export and raises `UnsupportedConfigError` (e.g. an `Activation('hard_sigmoid')` layer, or an LSTM's `activation`,
    which is also applied to the cell state).
    """
    factor = HARD_SIGMOID_SCALE if era == 2 else 1 / HARD_SIGMOID_SCALE
    scales: Dict[int, np.ndarray] = {}
    for _, obj, top in _walk(model):
        if obj is model:
            continue
        own = _own_variables(obj)
        act = getattr(obj, "activation", None)
        rec = getattr(obj, "recurrent_activation", None)
        if not (_is_era(act, era) or _is_era(rec, era)):
            continue
        if hasattr(obj, "cell") and not own:
            continue  # an RNN layer: its cell, visited next, holds the weights and the activations
        name = top.name if top is not obj else obj.name
        if isinstance(obj, (LSTMCell, GRUCell, SimpleRNNCell)):
            units = obj.units
            if isinstance(obj, LSTMCell):
                if _is_era(act, era):
                    raise _no_exact_export(name, "as the LSTM's `activation`, which is also applied to the cell "
                                                 "state", era)
                blocks = [_is_era(rec, era), _is_era(rec, era), False, _is_era(rec, era)]  # i, f, c, o
            elif isinstance(obj, GRUCell):
                blocks = [_is_era(rec, era), _is_era(rec, era), _is_era(act, era)]  # z, r, h
            else:
                blocks = [_is_era(act, era)]
            column = np.concatenate([np.full(units, factor if b else 1.0) for b in blocks])
        elif own and _is_era(act, era) and not _is_era(rec, era):
            shapes = [tuple(v.shape) for v in own]
            out = shapes[0][-1] if shapes[0] else None
            if len(own) > 2 or any(not sh or sh[-1] != out for sh in shapes):
                raise _no_exact_export(name, f"as the activation of a layer of class {type(obj).__name__}", era)
            column = np.full(out, factor)
        else:
            raise _no_exact_export(name, f"in a layer of class {type(obj).__name__}", era)
        for var in own:
            scales[id(var)] = column
    return scales


def _k3_layer_config(class_name: str, cfg: Dict[str, Any], layer: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {"name": cfg.get("name"), "trainable": cfg.get("trainable", True), "dtype": {
        **_DTYPE_POLICY, "config": {"name": cfg.get("dtype") if isinstance(cfg.get("dtype"), str) else "float32"}}}
    for k, v in cfg.items():
        if k in out or k in _DROP:
            continue
        if k.endswith("_initializer"):
            v = _k3_initializer(v)
        if class_name in _RNN and k == "units" and "zero_output_for_mask" not in out:
            out["zero_output_for_mask"] = bool(getattr(layer, "zero_output_for_mask", False))
        out[k] = v
    if class_name in _RNN:
        out.setdefault("zero_output_for_mask", bool(getattr(layer, "zero_output_for_mask", False)))
        if class_name in ("LSTM", "GRU"):
            out.setdefault("seed", None)
    if class_name == "Dense" and out.get("activity_regularizer", 0) is None:
        del out["activity_regularizer"]  # Keras 3's Dense config has no such key
    if class_name in ("Dense", "Embedding"):
        out.setdefault("quantization_config", None)
    if class_name == "SpatialDropout1D":  # Keras 3's own config: these four keys, dtype a plain string
        out = {"rate": out["rate"], "seed": out.get("seed"), "name": out["name"], "dtype": cfg.get("dtype")}
    if class_name == "Bidirectional":
        out = {k: v for k, v in out.items() if k not in ("layer", "backward_layer")}
        out["layer"] = _k3_layer_entry(layer.forward_layer)
        out["backward_layer"] = _k3_layer_entry(layer.backward_layer)
    elif class_name == "TimeDistributed":
        out["layer"] = _k3_layer_entry(layer.layer)
    return out


def _build_shape(layer: Any) -> Any:
    build_config = layer.get_build_config()
    if build_config is None:
        return None
    shape = build_config["input_shape"]
    if isinstance(shape, list):
        shape = shape[0]
    return [None if d is None else int(d) for d in shape]


# Keras 3 layers without a `build` method write no `build_config`.
_NO_BUILD_CONFIG = {"Masking", "Dropout", "Activation", "Flatten", "RepeatVector", "Reshape", "Permute",
                    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout",
                    "AlphaDropout", "ActivityRegularization"}


def _k3_layer_entry(layer: Any) -> Dict[str, Any]:
    class_name = _class_name(layer)
    entry: Dict[str, Any] = {"module": "keras.layers", "class_name": class_name,
                             "config": _k3_layer_config(class_name, layer.get_config(), layer),
                             "registered_name": None}
    shape = _build_shape(layer)
    if getattr(layer, "built", False) and shape is not None and class_name not in _NO_BUILD_CONFIG:
        entry["build_config"] = {"input_shape": shape}
    return entry


def _k3_optimizer(opt: Any) -> Dict[str, Any]:
    cfg = dict(opt.get_config())
    for k in ("jit_compile", "is_legacy_optimizer", "decay"):
        cfg.pop(k, None)
    if cfg.get("adaptive_epsilon") is False:
        cfg.pop("adaptive_epsilon")  # a minikeras/tf_keras Adam option Keras 3 does not have
    out: Dict[str, Any] = {"name": cfg.pop("name", _optimizer_name(opt))}
    lr = cfg.pop("learning_rate", _learning_rate(opt))
    if isinstance(lr, dict) and lr.get("module") == "keras.optimizers.schedules" and lr["config"].get("name") is None:
        # NOTE: tf_keras's schedules default to name=None, Keras 3's to their class name; Keras 3 refuses None
        # ("Argument `name` must be a string")
        lr = {**lr, "config": {**lr["config"], "name": lr["class_name"]}}
    out["learning_rate"] = float(np.float32(lr)) if isinstance(lr, (int, float, np.floating)) else lr
    for k, default in (("weight_decay", None), ("clipnorm", None), ("global_clipnorm", None), ("clipvalue", None),
                       ("use_ema", False), ("ema_momentum", 0.99), ("ema_overwrite_frequency", None),
                       ("loss_scale_factor", None), ("gradient_accumulation_steps", None)):
        out[k] = cfg.pop(k, default)
    out.update(cfg)
    return {"module": "keras.optimizers", "class_name": type(opt).__name__, "config": out, "registered_name": None}


def _compile_config(model: Any) -> Optional[Dict[str, Any]]:
    opt = _optimizer(model)
    if opt is None:
        return None
    tc = training_config(model) or {}
    return {"optimizer": _k3_optimizer(opt), "loss": tc.get("loss"), "loss_weights": tc.get("loss_weights"),
            "metrics": tc.get("metrics"), "weighted_metrics": None, "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False}


def model_config_keras3(model: Any) -> Dict[str, Any]:
    """`config.json` of a `.keras` file, as Keras 3.15.1's `serialize_keras_object(model)` writes it."""
    if functional.is_functional(model):
        return functional.model_config_keras3(model)
    if _class_name(model) != "Sequential":
        raise UnsupportedConfigError(f"Only Sequential models can be saved as .keras. Received: {_class_name(model)}")
    batch_shape = [None if d is None else int(d) for d in model.input_shape]
    # the Sequential's own config names its InputLayer (name, dtype) when it has one
    first = (model.get_config().get("layers") or [{}])[0]
    input_cfg = first.get("config", {}) if first.get("class_name") == "InputLayer" else {}
    layers: List[Dict[str, Any]] = [{
        "module": "keras.layers", "class_name": "InputLayer",
        "config": {"batch_shape": batch_shape, "dtype": input_cfg.get("dtype") or "float32", "sparse": False,
                   "ragged": False, "name": input_cfg.get("name") or "input_layer", "optional": False},
        "registered_name": None}]
    layers.extend(_k3_layer_entry(layer) for layer in model.layers)
    config = {"module": "keras", "class_name": "Sequential",
              "config": {"name": model.name, "trainable": model.trainable,
                         "dtype": {**_DTYPE_POLICY, "config": {"name": backend.floatx()}},
                         "layers": layers, "build_input_shape": batch_shape},
              "registered_name": None, "build_config": {"input_shape": batch_shape}}
    config["compile_config"] = _compile_config(model) or {}  # Keras 3.15 writes {} for an uncompiled model
    return config


# ------------------------------------------------------------------------------------------------ .keras: save


def save_model_keras3(model: Any, filepath: Any) -> None:
    """Write a Keras 3 `.keras` zip (metadata.json, config.json, model.weights.h5; ZIP_STORED), atomically."""
    if not getattr(model, "built", False):
        raise ValueError("You are calling `save` on a model that has not been built yet: call "
                         "`model.build(input_shape)` or call the model on data first.")
    config = model_config_keras3(model)
    scales = hard_sigmoid_scales(model)
    if scales:
        warnings.warn("This model uses Keras 2's hard_sigmoid (clip(0.2 x + 0.5)), which Keras 3 calls "
                      "'hard_sigmoid' with another formula (clip(x / 6 + 0.5)): the `.keras` file stores the weights "
                      f"feeding it multiplied by {HARD_SIGMOID_SCALE}, so Keras 3 (and minikeras) compute exactly "
                      "this model's outputs from it; `get_weights()` of the loaded model shows the rescaled values.",
                      stacklevel=4)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "minikeras_version": __version__}
    if scales:  # Keras reads only its own two keys; `python -m minikeras.check` reports this one
        metadata["minikeras_hard_sigmoid_rescaled"] = rescaled_layers(model, scales)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        _write_weights(model, f, scales)
    with atomic_write(filepath) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr("metadata.json", json.dumps(metadata))
            zf.writestr("config.json", json.dumps(config))
            zf.writestr("model.weights.h5", buf.getvalue())


# ------------------------------------------------------------------------------------------------ .keras: load


def _check_member_names(names: List[str], filepath: Any) -> None:
    for n in names:
        parts = n.replace("\\", "/").split("/")
        if n.startswith(("/", "\\")) or ".." in parts or ":" in parts[0] or "\x00" in n:
            raise FileFormatError(f"Unsafe member name in .keras zip: {n!r}", filepath)


def read_keras_zip(filepath: Any, need_config: bool = True) -> Tuple[Dict[str, Any], Dict[str, Any], bytes]:
    """(config, metadata, weights bytes) from a `.keras` file; JSON and bytes only."""
    try:
        zf = zipfile.ZipFile(filepath, "r")
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise FileFormatError(f"Not a readable .keras (zip) file ({e.__class__.__name__}: {e})", filepath) from None
    with zf:
        names = zf.namelist()
        _check_member_names(names, filepath)
        if "config.json" not in names and need_config:
            raise FileFormatError("The .keras file has no config.json member", filepath)
        if "model.weights.h5" not in names:
            if "model.weights.npz" in names:
                raise UnsupportedConfigError("`.keras` files with npz weights (weights_format='npz') are not "
                                             "supported", filepath)
            raise FileFormatError("The .keras file has no model.weights.h5 member", filepath)
        try:
            if not need_config:
                return {}, {}, zf.read("model.weights.h5")
            info = zf.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise FileFormatError(f"config.json is too large ({info.file_size} bytes)", filepath)
            raw_config = zf.read("config.json")
            raw_meta = zf.read("metadata.json") if "metadata.json" in names else b"{}"
            weights = zf.read("model.weights.h5")
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as e:
            if isinstance(e, SavingError):
                raise
            raise FileFormatError(f"Corrupt .keras file ({e.__class__.__name__}: {e})", filepath) from None
    try:
        config = json.loads(raw_config.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ConfigError(f"config.json is not valid JSON ({e})", filepath) from None
    try:
        metadata = json.loads(raw_meta.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        metadata = {}
    if not isinstance(config, dict):
        raise ConfigError("config.json must hold a JSON object", filepath)
    return config, metadata if isinstance(metadata, dict) else {}, weights


def _history(tensor: Any) -> Optional[str]:
    if isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__":
        hist = (tensor.get("config") or {}).get("keras_history")
        if isinstance(hist, list) and len(hist) == 3 and isinstance(hist[0], str) and hist[1:] == [0, 0]:
            return hist[0]
    return None


def _single_ref(ref: Any) -> Optional[str]:
    """`['name', 0, 0]` or `[['name', 0, 0]]` -> 'name'; None for several tensors."""
    if isinstance(ref, list) and len(ref) == 1 and isinstance(ref[0], list):
        ref = ref[0]
    if isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str) and ref[1:] == [0, 0]:
        return ref[0]
    return None


def functional_to_sequential(config: Dict[str, Any], filepath: Any = None) -> Dict[str, Any]:
    """A Keras 3 `Functional` config that is a plain chain (one input, one output, each layer called once on the
    previous one's output) -> the equivalent Sequential config. Masks Keras recorded as ops (`NotEqual`/`Any` after an
    `Embedding(mask_zero=True)` or `Masking`) are what the Sequential's mask propagation computes, so they are
    dropped; anything else (several inputs/outputs, `initial_state`, shared layers, other ops) is refused."""
    inner = config.get("config")
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise ConfigError("Invalid Functional config: expected {'layers': [...]}", filepath)

    def refuse(why: str) -> UnsupportedConfigError:
        return UnsupportedConfigError("minikeras builds Sequential models only; this file holds a functional model "
                                      f"that is not a simple chain of layers ({why})", filepath)

    first, last = _single_ref(inner.get("input_layers")), _single_ref(inner.get("output_layers"))
    if first is None or last is None:
        raise refuse("several inputs or outputs")
    by_name: Dict[str, Dict[str, Any]] = {}
    for entry in inner["layers"]:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name in by_name:
            raise ConfigError("Invalid Functional config: every layer entry needs a unique 'name'", filepath)
        by_name[name] = entry
    if first not in by_name or by_name[first].get("class_name") != "InputLayer":
        raise refuse("the input is not an InputLayer")

    def node_of(entry: Dict[str, Any]) -> Tuple[List[Any], Dict[str, Any]]:
        nodes = entry.get("inbound_nodes")
        if not isinstance(nodes, list) or len(nodes) != 1 or not isinstance(nodes[0], dict):
            raise refuse(f"layer {entry.get('name')!r} is called {len(nodes) if isinstance(nodes, list) else '?'} "
                         "times")
        return list(nodes[0].get("args") or []), dict(nodes[0].get("kwargs") or {})

    def is_op(name: Optional[str]) -> bool:
        entry = by_name.get(name or "")
        return bool(entry) and str(entry.get("module", "")).startswith("keras.src.ops")

    def op_root(name: str) -> Optional[str]:
        """Follow a chain of op nodes (NotEqual, Any) back to the layer tensor it starts from."""
        seen = 0
        while is_op(name) and seen < len(by_name):
            args, _ = node_of(by_name[name])
            tensors = [a for a in args if _history(a) is not None]
            if len(tensors) != 1:
                return None
            name, seen = _history(tensors[0]), seen + 1
        return name

    def mask_ops_match(name: str, value: Any) -> bool:
        """The op nodes are Keras's own mask computation: `NotEqual(x, value)`, optionally then `Any(axis=-1)`."""
        while is_op(name):
            entry = by_name[name]
            args, kwargs = node_of(entry)
            if entry.get("class_name") == "NotEqual":
                consts = [a for a in args if _history(a) is None]
                if len(consts) != 1 or consts[0] != value or kwargs:
                    return False
            elif entry.get("class_name") != "Any" or (entry.get("config") or {}).get("axis") != -1:
                return False
            tensors = [a for a in args if _history(a) is not None]
            name = _history(tensors[0]) if len(tensors) == 1 else ""
        return True

    chain: List[Dict[str, Any]] = []
    used = {first}
    name = last
    while name != first:
        entry = by_name.get(name)
        if entry is None or is_op(name) or name in used:
            raise refuse(f"unexpected node {name!r}")
        used.add(name)
        args, kwargs = node_of(entry)
        if len(args) != 1 or _history(args[0]) is None:
            raise refuse(f"layer {name!r} takes several inputs")
        prev = _history(args[0])
        extra = set(kwargs) - {"training", "mask"}
        if extra or kwargs.get("training") not in (None, False):
            raise refuse(f"layer {name!r} is called with {sorted(set(kwargs) - {'mask'})}")
        mask = kwargs.get("mask")
        if mask is not None:
            prev_entry = by_name.get(prev, {})
            prev_cfg = prev_entry.get("config") or {}
            masking = (prev_entry.get("class_name") == "Masking"
                       or (prev_entry.get("class_name") == "Embedding" and prev_cfg.get("mask_zero") is True))
            prev_args, _ = node_of(prev_entry) if prev_entry else ([], {})
            prev_in = _history(prev_args[0]) if len(prev_args) == 1 else None
            if (not masking or not is_op(_history(mask)) or op_root(_history(mask) or "") != prev_in
                    or not mask_ops_match(_history(mask) or "", prev_cfg.get("mask_value", 0.0)
                                          if prev_entry.get("class_name") == "Masking" else 0)):
                raise refuse(f"layer {name!r} receives an explicit mask")
        chain.append(entry)
        name = prev
    leftovers = [n for n in by_name if n not in used and not is_op(n)]
    if leftovers:
        raise refuse(f"layers outside the chain: {leftovers}")
    layers = [by_name[first]] + chain[::-1]
    out = {k: v for k, v in config.items() if k not in ("config", "class_name", "module")}
    out.update({"module": "keras", "class_name": "Sequential",
                "config": {"name": inner.get("name"), "trainable": inner.get("trainable", True),
                           "layers": [{k: v for k, v in e.items() if k not in ("name", "inbound_nodes")}
                                      for e in layers]}})
    return out


def _removeprefix(name: Any, prefix: str) -> Any:
    return name[len(prefix):] if isinstance(name, str) and name.startswith(prefix) else name


def _fix_bidirectional(entry: Any) -> Any:
    """Keras 3 stores the *forward* copy (`forward_gru`) as `layer` and prefixes names with `removeprefix`; minikeras's
    Bidirectional (tf.keras semantics) prefixes again, so the prefixes are removed before building."""
    if not isinstance(entry, dict):
        return entry
    cfg = entry.get("config")
    if entry.get("class_name") == "Bidirectional" and isinstance(cfg, dict):
        cfg = dict(cfg)
        for key, prefix in (("layer", "forward_"), ("backward_layer", "backward_")):
            inner = cfg.get(key)
            if isinstance(inner, dict) and isinstance(inner.get("config"), dict):
                inner_cfg = dict(inner["config"])
                inner_cfg["name"] = _removeprefix(inner_cfg.get("name"), prefix)
                cfg[key] = {**inner, "config": inner_cfg}
        return {**entry, "config": cfg}
    if entry.get("class_name") == "TimeDistributed" and isinstance(cfg, dict):
        return {**entry, "config": {**cfg, "layer": _fix_bidirectional(cfg.get("layer"))}}
    return entry


def keras3_model_config(config: Dict[str, Any], filepath: Any = None) -> Dict[str, Any]:
    """A Keras 3 `config.json` -> the config minikeras's normaliser builds (Sequential; chain Functional converted;
    Bidirectional names as Keras 3 means them)."""
    if not isinstance(config, dict):
        raise ConfigError("config.json must hold a JSON object", filepath)
    if config.get("class_name") == "Functional":
        try:
            config = functional_to_sequential(config, filepath)
        except UnsupportedConfigError:
            return config  # not a chain: built as a functional model (minikeras.saving.functional)
    inner = config.get("config")
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        config = {**config, "config": {**inner, "layers": [_fix_bidirectional(e) for e in inner["layers"]]}}
    return config


def compile_from_config(model: Any, compile_config: Dict[str, Any], filepath: Any = None) -> None:
    """`model.compile(...)` as a Keras 3 `compile_config` says (optimizer, loss, metrics by name)."""
    opt_cfg = compile_config.get("optimizer")
    try:
        if isinstance(opt_cfg, dict):
            optimizer = optimizers.deserialize(optimizer_config_from_file(opt_cfg, 3, filepath))
        else:
            optimizer = optimizers.get(opt_cfg)
        metrics = _metric_names(compile_config.get("metrics")) or None
        model.compile(optimizer=optimizer, loss=loss_from_file(compile_config.get("loss")), metrics=metrics,
                      loss_weights=compile_config.get("loss_weights"))
    except SavingError:
        raise
    except (TypeError, ValueError, KeyError) as e:
        raise ConfigError(f"Cannot re-compile the model from the file's compile_config: {e}", filepath) from None


def load_weights_from_keras_zip(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """`model.load_weights('m.keras')`: the zip's `model.weights.h5` (member names checked), read in memory."""
    _, _, weights = read_keras_zip(filepath, need_config=False)
    try:
        # the file's weights are Keras 3's: where this model uses Keras 2's hard_sigmoid they are divided by 1.2
        scales = hard_sigmoid_scales(model)
    except UnsupportedConfigError:
        scales = {}
    _load_weights_bytes(model, weights, filepath, skip_mismatch, scales)


def _load_weights_bytes(model: Any, weights: bytes, filepath: Any, skip_mismatch: bool,
                        scales: Optional[Dict[int, np.ndarray]] = None) -> None:
    try:
        f = open_h5(weights, filepath)
    except FileFormatError as e:
        raise FileFormatError(f"The .keras file's model.weights.h5: {str(e).replace(f' (file: {filepath})', '')}",
                              filepath) from None
    with f:
        try:
            _load_from_h5(model, f, filepath, skip_mismatch, scales)
        except (KeyError, OSError, RuntimeError) as e:
            if isinstance(e, SavingError):
                raise
            raise FileFormatError(f"Corrupt weights in .keras file ({e.__class__.__name__}: {e})", filepath) from None


def load_model_keras3(filepath: Any, custom_objects: Optional[Dict[str, Any]] = None, compile: bool = True) -> Any:
    """Load a `.keras` file Keras 3 or minikeras wrote: build from config.json, load weights (+ optimizer state)."""
    config, metadata, weights = read_keras_zip(filepath)
    # Keras 2.13-2.15 wrote .keras files too: their `hard_sigmoid` is Keras 2's, so the era follows the metadata.
    version = metadata.get("keras_version") if isinstance(metadata.get("keras_version"), str) else KERAS_VERSION
    config = keras3_model_config(config, filepath)
    model = model_from_file_config(config, version, custom_objects=custom_objects, filepath=filepath)
    if not getattr(model, "built", False):
        shape = (config.get("build_config") or {}).get("input_shape") if isinstance(config, dict) else None
        if shape is not None:
            model.build(tuple(shape))
    compile_config = config.get("compile_config")
    if compile and isinstance(compile_config, dict) and compile_config:
        try:
            compile_from_config(model, compile_config, filepath)
        except ConfigError as e:
            # as Keras 3: a compile_config that cannot be honoured costs the compilation, never the weights
            warnings.warn(f"The model was loaded without compiling it: {e}. Compile it with `model.compile(...)` "
                          "before training.", stacklevel=3)
    _load_weights_bytes(model, weights, filepath, skip_mismatch=False)
    return model


__all__ = ["save_weights_keras3", "load_weights_keras3", "save_model_keras3", "load_model_keras3",
           "load_weights_from_keras_zip", "functional_to_sequential", "keras3_model_config",
           "model_config_keras3", "read_keras_zip", "compile_from_config"]
