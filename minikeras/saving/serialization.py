"""Model configs across Keras eras: normalising what a file says into minikeras configs, and training configs.

Keras 2.2.2 wrote a bare list of layers, tf.keras a dict with an InputLayer entry and 2- or 4-key nested objects,
Keras 3 adds `module`/`registered_name`/`build_config`, `batch_shape` and `DTypePolicy` dicts. Everything is JSON
data: only registered minikeras classes (and `custom_objects`) are ever constructed; nothing is imported or executed.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Dict, List, Optional

from minikeras import activations, losses, optimizers
from minikeras.models import Sequential
from minikeras.saving.errors import ConfigError, SavingError, UnsupportedConfigError
from minikeras.saving.h5file import MAX_WEIGHT_BYTES

MAX_CONFIG_DEPTH = 64
# Keras 3 layer keys that carry no behaviour when they hold their default (dropped when loading).
_NO_OP_DEFAULTS = {"quantization_config": None, "lora_rank": None, "lora_alpha": None, "optional": False}


def era_of(version: Optional[str]) -> int:
    """1, 2 or 3 from a `keras_version` string ('1' when the attribute was missing)."""
    if not version:
        return 2
    head = str(version).split(".")[0]
    return {"1": 1, "3": 3}.get(head, 2)


def _depth(obj: Any, level: int = 0) -> int:
    if level > MAX_CONFIG_DEPTH:
        return level
    if isinstance(obj, dict):
        return max([_depth(v, level + 1) for v in obj.values()] + [level])
    if isinstance(obj, list):
        return max([_depth(v, level + 1) for v in obj] + [level])
    return level


def _check_sizes(obj: Any) -> None:
    """Refuse, before anything is allocated, a recurrent layer whose `units` alone need more than 1 GB of weights
    (the recurrent kernel is units x 4*units). Other sizes depend on input shapes and fail in `build`."""
    if isinstance(obj, list):
        for v in obj:
            _check_sizes(v)
    elif isinstance(obj, dict):
        cfg = obj.get("config")
        if obj.get("class_name") in ("LSTM", "GRU", "SimpleRNN", "CuDNNLSTM", "CuDNNGRU") and isinstance(cfg, dict):
            units = cfg.get("units")
            if isinstance(units, int) and not isinstance(units, bool) and units * units * 4 * 4 > MAX_WEIGHT_BYTES:
                raise ConfigError(f"Layer {cfg.get('name')!r} declares units={units}, whose recurrent kernel would "
                                  f"need more than {MAX_WEIGHT_BYTES} bytes; refusing to build it")
        for v in obj.values():
            _check_sizes(v)


def normalize_layer_entry(entry: Any) -> Dict[str, Any]:
    """One layer entry of a file's model config -> `{"class_name", "config"}` minikeras's layers accept."""
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ConfigError(f"Invalid layer entry in model config, expected {{'class_name': str, 'config': dict}}. "
                          f"Received: {str(entry)[:200]}")
    class_name = entry["class_name"]
    config = entry.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"Invalid config of layer class {class_name!r}: expected a dict. Received: {str(config)[:200]}")
    if class_name == "Lambda":
        raise UnsupportedConfigError("Keras's `Lambda` layer runs arbitrary code and cannot be loaded from a file. "
                                     f"Received: class_name='Lambda' in layer {config.get('name')!r}")
    module = entry.get("module")
    if isinstance(module, str) and module and not module.startswith("keras"):
        raise UnsupportedConfigError(f"Layer {config.get('name')!r} comes from module {module!r}; minikeras builds "
                                     "only Keras's own layers (pass your classes in `custom_objects`). "
                                     f"Received: module={module!r}, class_name={class_name!r}")
    config = {k: v for k, v in config.items()
              if not (k in _NO_OP_DEFAULTS and v == _NO_OP_DEFAULTS[k]) and k != "shared_object_id"}
    for key in ("layer", "backward_layer"):  # wrappers hold nested layer entries
        if isinstance(config.get(key), dict):
            config[key] = normalize_layer_entry(config[key])
    return {"class_name": class_name, "config": _strip_nested(config)}


def _strip_nested(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_nested(v) for k, v in obj.items() if k != "shared_object_id"}
    if isinstance(obj, list):
        return [_strip_nested(v) for v in obj]
    return obj


def normalize_model_config(config: Any) -> Any:
    """A file's `{"class_name": "Sequential", "config": ...}` -> a Sequential config minikeras builds from."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"Invalid model config, expected a dict with 'class_name' and 'config'. "
                          f"Received: {str(config)[:200]}")
    if _depth(config) > MAX_CONFIG_DEPTH:
        raise ConfigError(f"Model config is nested deeper than {MAX_CONFIG_DEPTH} levels; refusing to build it")
    _check_sizes(config)
    class_name = config["class_name"]
    if class_name in ("Functional", "Model"):
        raise UnsupportedConfigError("minikeras builds Sequential models only; this file holds a functional model. "
                                     f"Received: class_name={class_name!r}")
    if class_name != "Sequential":
        raise UnsupportedConfigError(f"Unknown model class in file. Received: class_name={class_name!r}")
    inner = config.get("config")
    if isinstance(inner, list):  # Keras <= 2.2.2
        return [normalize_layer_entry(e) for e in inner]
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise ConfigError("Invalid Sequential config: expected {'name': ..., 'layers': [...]}. "
                          f"Received: {str(inner)[:200]}")
    out = {"name": inner.get("name"), "layers": [normalize_layer_entry(e) for e in inner["layers"]]}
    if inner.get("build_input_shape") is not None:
        out["build_input_shape"] = inner["build_input_shape"]
    return out


@contextlib.contextmanager
def _era_scope(era: int) -> Any:
    if era == 3:
        with activations.keras_era(3):
            yield
    else:
        yield


def model_from_file_config(config: Any, version: Optional[str], custom_objects: Optional[Dict[str, Any]] = None,
                           filepath: Any = None) -> Any:
    """Build the model a file describes, with era-correct activations (`hard_sigmoid` of Keras 3 files)."""
    if era_of(version) == 1:
        raise UnsupportedConfigError("Keras 1 model configs use Keras 1 argument names; build the model in code and "
                                     "use `model.load_weights(path)` (Keras 1 weights are converted)", filepath)
    try:
        if isinstance(config, dict) and config.get("class_name") in ("Functional", "Model"):
            # NOTE: minikeras.saving.functional imports this module: a real cycle
            from minikeras.saving.functional import functional_from_config

            with _era_scope(era_of(version)):
                return functional_from_config(config, custom_objects=custom_objects, filepath=filepath)
        normalized = normalize_model_config(config)
        with _era_scope(era_of(version)):
            return Sequential.from_config(normalized, custom_objects=custom_objects)
    except SavingError as e:
        if e.filepath is None:
            raise type(e)(str(e), filepath) from None
        raise
    except NotImplementedError as e:
        raise UnsupportedConfigError(str(e), filepath) from None
    except (TypeError, ValueError, KeyError, RecursionError) as e:
        raise ConfigError(f"Cannot build the model from the file's config: {e}", filepath) from None
    except MemoryError as e:
        raise ConfigError(f"The file's config asks for more memory than is available ({e})", filepath) from None


# ------------------------------------------------------------------------------------------ training config


def _serialize_loss(loss: Any) -> Any:
    if loss is None or isinstance(loss, (str, list, dict)):
        return loss
    return losses.serialize(loss)


def training_config(model: Any) -> Optional[Dict[str, Any]]:
    """tf.keras's `training_config` for a compiled model: loss, metrics, loss_weights, optimizer_config."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    compile_args = model.get_compile_config() or {}
    metrics = compile_args.get("metrics")
    return {
        "loss": _serialize_loss(compile_args.get("loss")),
        "metrics": [m if isinstance(m, str) else getattr(m, "name", str(m)) for m in (metrics or [])] or None,
        "weighted_metrics": None,
        "loss_weights": compile_args.get("loss_weights"),
        "optimizer_config": {"class_name": type(optimizer).__name__, "config": optimizer.get_config()},
    }


def _metric_names(metrics: Any) -> List[Any]:
    """tf.keras writes `[[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy", ...}}]]`."""
    out: List[Any] = []

    def visit(m: Any) -> None:
        if m is None:
            return
        if isinstance(m, list):
            for x in m:
                visit(x)
        elif isinstance(m, str):
            out.append(m)
        elif isinstance(m, dict):
            cfg = m.get("config") if isinstance(m.get("config"), dict) else {}
            name = cfg.get("name") or cfg.get("fn")
            if not isinstance(name, str):
                raise ConfigError(f"Cannot interpret metric in training_config. Received: {str(m)[:200]}")
            out.append(name)
        else:
            raise ConfigError(f"Cannot interpret metric in training_config. Received: {m!r}")

    visit(metrics)
    return out


def optimizer_config_from_file(opt_cfg: Dict[str, Any], era: int, filepath: Any = None) -> Dict[str, Any]:
    """A file's optimizer config -> the `{"class_name", "config"}` `optimizers.deserialize` builds as that era did.

    Keras 3 configs carry no `is_legacy_optimizer` (tf_keras would read them as pre-2.11 optimizers) and add
    `loss_scale_factor` / `gradient_accumulation_steps`, accepted here only at their no-op defaults.
    """
    module = opt_cfg.get("module")
    if isinstance(module, str) and module and not module.startswith("keras"):
        raise UnsupportedConfigError(f"Optimizer from module {module!r} is not supported; minikeras builds only "
                                     f"Keras's own optimizers. Received: class_name={opt_cfg.get('class_name')!r}",
                                     filepath)
    class_name = opt_cfg.get("class_name")
    if isinstance(class_name, str) and ">" in class_name:  # tf.keras writes "Custom>Adam"
        class_name = class_name.split(">")[-1]
    inner = opt_cfg.get("config") or {}
    if era == 3 and isinstance(inner, dict):
        inner = {k: v for k, v in inner.items()
                 if not (k in ("loss_scale_factor", "gradient_accumulation_steps") and v is None)}
        inner["is_legacy_optimizer"] = False
    return {"class_name": class_name, "config": inner}


def loss_from_file(loss: Any) -> Any:
    """Keras 3 serializes a loss function as `{"module": "builtins", "config": "mse", ...}`; names pass through."""
    if isinstance(loss, dict) and loss.get("module") == "builtins" and isinstance(loss.get("config"), str):
        return loss["config"]
    if isinstance(loss, dict):
        return losses.deserialize({"class_name": loss.get("class_name"), "config": loss.get("config") or {}})
    return loss


def compile_from_training_config(model: Any, tc: Any, optimizer_values: Optional[List[Any]] = None,
                                 filepath: Any = None, era: int = 2) -> None:
    """Re-compile `model` as the file's `training_config` says and restore the optimizer state.

    `era` 3 (a Keras 3 `.h5`) builds the optimizer with Keras 3's semantics; its state, in Keras 3's order, is for
    `keras3.restore_optimizer_values` (pass `optimizer_values` only for tf_keras's order). Raises `ConfigError`
    when the config cannot be honoured; the model is then left uncompiled.
    """
    if not isinstance(tc, dict) or not isinstance(tc.get("optimizer_config"), dict):
        raise ConfigError("Invalid training_config: expected a dict with 'optimizer_config'", filepath)
    opt_cfg = optimizer_config_from_file(tc["optimizer_config"], era, filepath)
    try:
        optimizer = optimizers.deserialize(opt_cfg)
        model.compile(optimizer=optimizer, loss=loss_from_file(tc.get("loss")),
                      metrics=_metric_names(tc.get("metrics")) or None, loss_weights=tc.get("loss_weights"))
    except SavingError:
        raise
    except (TypeError, ValueError, KeyError) as e:
        raise ConfigError(f"Cannot re-compile the model from the file's training_config: {e}", filepath) from None
    if optimizer_values:
        restore_optimizer_state(model, optimizer_values, filepath)


def restore_optimizer_state(model: Any, values: List[Any], filepath: Any = None) -> None:
    """Build the optimizer's slots for the model's trainable weights, then set them from `values` (tf.keras order)."""
    opt = model.optimizer
    if hasattr(opt, "build"):
        opt.build(model.trainable_weights)
    if not hasattr(opt, "set_weights"):
        raise UnsupportedConfigError("The optimizer cannot restore its state (no set_weights)", filepath)
    try:
        opt.set_weights(values)
    except (ValueError, TypeError) as e:
        warnings.warn(f"Optimizer state in {filepath} does not match the model's optimizer and was not restored "
                      f"({e}); training restarts the optimizer from scratch.", stacklevel=3)
