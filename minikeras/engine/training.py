"""`Model`: the training and inference API shared by every model (Keras 2's `keras.engine.training`).

`compile` resolves the optimizer, losses and metrics; `fit`, `evaluate`, `predict`, `train_on_batch`,
`test_on_batch` and `predict_on_batch` follow tf.keras 2.21 (`tf_keras/src/engine/training.py`,
`engine/data_adapter.py`, `engine/compile_utils.py`): the same defaults, log names, progress output and errors.
"""
from __future__ import annotations

import copy
import math
import numbers
import warnings
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend
from minikeras.autograd import Tensor, no_grad
from minikeras.engine.base_layer import Layer
from minikeras.utils.generic_utils import to_snake_case

# ---------------------------------------------------------------------------------------------------- data helpers
def _as_array(value: Any, name: str) -> np.ndarray:
    """One input/target/weight array as numpy; non-numeric data fails with Keras's conversion message."""
    if isinstance(value, Tensor):
        value = value.data
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:  # ragged nested lists
        raise ValueError(f"Failed to convert a NumPy array to a Tensor ({e}). Expected `{name}` to be a numeric array "
                         f"with one shape. Received: {name} of type {type(value).__name__}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        bad = next((v for v in arr.ravel() if not isinstance(v, (numbers.Number, np.number, bool, np.bool_))),
                   arr.ravel()[0] if arr.size else None)
        raise ValueError(f"Failed to convert a NumPy array to a Tensor (Unsupported object type "
                         f"{type(bad).__name__}). Expected `{name}` to be a numeric array. "
                         f"Received: {name} with dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"Expected `{name}` to be an array with a batch axis. Received: {name} with shape ()")
    return arr


def _flatten_data(data: Any, name: str) -> Optional[List[np.ndarray]]:
    """None, one array, or a list/tuple of arrays (several model inputs/outputs) -> None or a list of arrays."""
    if data is None:
        return None
    if isinstance(data, dict):
        raise NotImplementedError("Dict inputs/targets (named model inputs) are not supported by minikeras's "
                                  f"Sequential models. Received: {name} as a dict with keys {list(data)}")
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, (np.ndarray, Tensor)) for d in data):
        return [_as_array(d, name) for d in data]
    return [_as_array(data, name)]


def _unflatten(arrays: Optional[List[Any]]) -> Any:
    if arrays is None:
        return None
    return arrays[0] if len(arrays) == 1 else list(arrays)


def _check_data_cardinality(x: Any, y: Any, sw: Any) -> int:
    """Number of samples; tf.keras's "Data cardinality is ambiguous" error when the arrays disagree."""
    sizes = {int(a.shape[0]) for part in (x, y, sw) if part is not None for a in part}
    if len(sizes) > 1:
        msg = "Data cardinality is ambiguous:\n"
        for label, part in zip(("x", "y", "sample_weight"), (x, y, sw)):
            if part is not None:
                msg += f"  {label} sizes: {', '.join(str(a.shape[0]) for a in part)}\n"
        msg += "Make sure all arrays contain the same number of samples."
        raise ValueError(msg)
    return sizes.pop() if sizes else 0


def unpack_x_y_sample_weight(data: Any) -> Tuple[Any, Any, Any]:
    """`(x,)`, `(x, y)` or `(x, y, sample_weight)` -> `(x, y, sample_weight)` (tf.keras's helper)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                     f"found: {str(data)[:200]}")


def _check_positive_int(name: str, value: Any, allow_zero: bool = False) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or value < 0 or (value == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"Expected `{name}` to be a {kind} integer. Received: {name}={value!r}")
    return int(value)


def _get_verbosity(verbose: Any) -> int:
    """'auto' -> 1 (tf.keras's interactive default); 0, 1, 2 pass through."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, (bool, np.bool_)) or not isinstance(verbose, (int, np.integer)) or verbose < 0:
        raise ValueError(f"Expected `verbose` to be 'auto', 0, 1 or 2. Received: verbose={verbose!r}")
    return int(verbose)


def _train_validation_split(arrays: Sequence[Any], validation_split: float) -> Tuple[List[Any], List[Any]]:
    """The last `validation_split` fraction becomes validation data, before any shuffling (tf.keras)."""
    first = next(a[0] for a in arrays if a is not None)
    batch_dim = int(first.shape[0])
    split_at = int(math.floor(batch_dim * (1.0 - validation_split)))
    if split_at == 0 or split_at == batch_dim:
        raise ValueError(f"Training data contains {batch_dim} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. Either "
                         "provide more data, or a different value for the `validation_split` argument.")
    train = [None if a is None else [t[:split_at] for t in a] for a in arrays]
    val = [None if a is None else [t[split_at:] for t in a] for a in arrays]
    return train, val


def _class_weight_to_sample_weight(class_weight: Any, y: List[np.ndarray], sw: Optional[List[np.ndarray]]
                                   ) -> List[np.ndarray]:
    """Per-sample weights from a `{class index: weight}` dict, multiplied into any given sample weights (tf.keras)."""
    if not isinstance(class_weight, dict):
        raise ValueError("Expected `class_weight` to be a dict mapping class indices to weights. "
                         f"Received: class_weight={class_weight!r}")
    if len(y) != 1:
        raise ValueError("`class_weight` is only supported for Models with a single output.")
    class_ids = sorted(class_weight.keys())
    if class_ids != list(range(len(class_ids))):
        raise ValueError("Expected `class_weight` to be a dict with keys from 0 to one less than the number of "
                         f"classes, found {class_weight}")
    table = np.asarray([class_weight[int(c)] for c in class_ids], dtype=backend.floatx())
    target = y[0]
    if target.ndim >= 2:
        classes = (np.argmax(target, axis=-1) if target.shape[-1] > 1
                   else np.round(np.squeeze(target, axis=-1)).astype(np.int64))
    else:
        classes = np.round(target).astype(np.int64)
    if classes.size and (classes.min() < 0 or classes.max() >= len(table)):
        missing = sorted(set(np.unique(classes).tolist()) - set(range(len(table))))
        raise ValueError(f"`class_weight` must contain all classes in the data. The classes {missing} exist in the "
                         f"data but not in `class_weight`. Received: class_weight={class_weight}")
    cw = table[classes]
    if sw is None:
        return [cw]
    w = sw[0].astype(cw.dtype)
    w = w.reshape(w.shape + (1,) * (cw.ndim - w.ndim))
    return [w * cw]


def flatten_metrics_in_order(logs: Dict[str, Any], metrics_names: Sequence[str]) -> Any:
    """The `logs` dict as a list in `metrics_names` order (a scalar if there is one entry), as tf.keras returns."""
    results = [logs[name] for name in metrics_names if name in logs]
    results += [logs[key] for key in sorted(logs) if key not in metrics_names]
    return results[0] if len(results) == 1 else results


def _get_custom_object_name(obj: Any) -> Optional[str]:
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return obj.__name__
    if hasattr(obj, "__class__"):
        return to_snake_case(obj.__class__.__name__)
    return None


def _match_dtype_and_rank(y_t: np.ndarray, y_p: Tensor, sw: Optional[np.ndarray]
                          ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """tf.keras's `match_dtype_and_rank`: (n,) targets and weights next to (n, k) outputs gain a last axis."""
    if y_t.ndim == 1 and y_p.ndim == 2:
        y_t = y_t[:, None]
    if sw is not None and sw.ndim == 1 and y_p.ndim == 2:
        sw = sw[:, None]
    p_kind = y_p.dtype.kind
    if (y_t.dtype.kind == "f" and p_kind == "f") or (y_t.dtype.kind in "iu" and p_kind in "iu") or \
            y_t.dtype.kind == "b":
        y_t = y_t.astype(y_p.dtype, copy=False)
    if sw is not None:
        sw = sw.astype(y_p.dtype, copy=False)
    return y_t, sw


def _apply_mask(mask: Optional[np.ndarray], sw: Optional[np.ndarray], dtype: Any) -> Optional[np.ndarray]:
    """Fold the output's Keras mask into the sample weights (tf.keras's `losses_utils.apply_mask`)."""
    if mask is None:
        return sw
    mask = mask.astype(dtype)
    if sw is None:
        return mask
    if sw.ndim == mask.ndim + 1 and sw.shape[-1] == 1:
        sw = np.squeeze(sw, -1)
    elif sw.ndim == mask.ndim - 1:
        sw = sw[..., None]
    return sw * mask


# ---------------------------------------------------------------------------------------------------- containers
class _FunctionLoss:
    """A per-sample loss function with tf.keras's `SUM_OVER_BATCH_SIZE` reduction and sample weighting.

    Used when `minikeras.losses` does not provide `LossFunctionWrapper`.
    """

    def __init__(self, fn: Any, name: str):
        self.fn = fn
        self.name = name

    def __call__(self, y_true: Tensor, y_pred: Tensor, sample_weight: Any = None) -> Tensor:
        values = self.fn(y_true, y_pred)
        if sample_weight is not None:
            sw = np.asarray(getattr(sample_weight, "data", sample_weight), dtype=values.dtype)
            if sw.ndim == values.ndim + 1 and sw.shape[-1] == 1:
                sw = np.squeeze(sw, -1)
            elif sw.ndim == values.ndim - 1:
                sw = sw[..., None]
            values = values * np.broadcast_to(sw, values.shape)
        return values.sum() / float(max(values.size, 1))


class LossesContainer:
    """The compiled loss (tf.keras's `compile_utils.LossesContainer`).

    Calling it returns the total loss Tensor: the sum over outputs of `loss_weight * loss(y, y_pred, sample_weight)`,
    plus the sum of `model.losses` (regularization penalties, added unweighted, as tf.keras does). It also updates the
    `loss` mean metric, weighted by the batch size, so an epoch's `loss` is the mean over its samples.
    """

    def __init__(self, losses: Any, loss_weights: Any = None, output_names: Optional[List[str]] = None):
        from minikeras import metrics as metrics_mod

        self._user_losses = losses
        self._user_loss_weights = loss_weights
        self._losses: Any = losses
        self._loss_weights: Any = loss_weights
        self._output_names = output_names
        self._total_loss_mean = metrics_mod.Mean(name="loss")
        self._per_output_metrics: List[Any] = []
        self._built = False

    @property
    def metrics(self) -> List[Any]:
        if not self._built:
            return []
        return [self._total_loss_mean] + [m for m in self._per_output_metrics if m is not None]

    def _conform(self, n_out: int, struct: Any, what: str, broadcast: bool) -> List[Any]:
        names = self._output_names or (["output_1"] if n_out == 1 else [f"output_{i + 1}" for i in range(n_out)])
        if isinstance(struct, dict):
            struct = dict(struct)
            out = [struct.pop(name, None) for name in names]
            if struct:
                raise ValueError(f"Found unexpected losses or metrics that do not correspond to any Model output: "
                                 f"{struct.keys()}. Valid mode output names: {names}. Received struct is: {struct}.")
            return out
        if isinstance(struct, (list, tuple)):
            if len(struct) != n_out:
                raise ValueError(f"Expected one {what} per model output ({n_out}), got {len(struct)}. "
                                 f"Received: {what}={struct!r}")
            return list(struct)
        return [struct] * n_out if broadcast or n_out == 1 else [struct] + [None] * (n_out - 1)

    def build(self, y_pred: List[Tensor]) -> None:
        from minikeras import metrics as metrics_mod

        n = len(y_pred)
        if self._output_names is None or len(self._output_names) != n:
            self._output_names = ["output_1"] if n == 1 else [f"output_{i + 1}" for i in range(n)]
        self._losses = [self._get_loss_object(l) for l in self._conform(n, self._losses, "loss", True)]
        weights = self._loss_weights
        self._loss_weights = self._conform(n, weights, "loss weight", True) if weights is not None else [None] * n
        if n == 1:
            self._per_output_metrics = [None]
        else:
            self._per_output_metrics = [None if l is None else metrics_mod.Mean(name=f"{name}_loss")
                                        for l, name in zip(self._losses, self._output_names)]
        self._built = True

    @staticmethod
    def _get_loss_object(loss: Any) -> Any:
        if loss is None:
            return None
        from minikeras import losses as losses_mod

        obj = losses_mod.get(loss)
        loss_cls = getattr(losses_mod, "Loss", None)
        if loss_cls is not None and isinstance(obj, loss_cls):
            return obj
        if not callable(obj):
            raise ValueError(f"Loss should be a callable, received: {loss}")
        name = _get_custom_object_name(obj)
        if name is None:
            raise ValueError(f"Loss should be a callable, received: {loss}")
        wrapper = getattr(losses_mod, "LossFunctionWrapper", None)
        return wrapper(obj, name=name) if wrapper is not None else _FunctionLoss(obj, name)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                 regularization_losses: Optional[Sequence[Tensor]] = None) -> Optional[Tensor]:
        y_pred = list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]
        if not self._built:
            self.build(y_pred)
        y_true = self._conform(len(y_pred), y_true, "target", False) if y_true is not None else [None] * len(y_pred)
        if sample_weight is None or not isinstance(sample_weight, (list, tuple)):
            sample_weight = [sample_weight] * len(y_pred)
        loss_values: List[Tensor] = []
        mean_values: List[float] = []
        batch_dim = None
        for y_t, y_p, sw, loss_obj, loss_weight, metric_obj in zip(y_true, y_pred, sample_weight, self._losses,
                                                                   self._loss_weights, self._per_output_metrics):
            if y_t is None or loss_obj is None:
                continue
            y_t, sw = _match_dtype_and_rank(np.asarray(y_t), y_p, None if sw is None else np.asarray(sw))
            _check_targets(loss_obj, y_t, y_p)
            sw = _apply_mask(getattr(y_p, "_keras_mask", None), sw, y_p.dtype)
            value = loss_obj(Tensor(y_t), y_p, sample_weight=None if sw is None else Tensor(sw))
            if batch_dim is None:
                batch_dim = int(y_t.shape[0])
            if metric_obj is not None:
                metric_obj.update_state(float(value.data), sample_weight=batch_dim)
            mean_value = float(value.data)
            if loss_weight is not None:
                value = value * float(loss_weight)
                mean_value = float(value.data)
            loss_values.append(value)
            mean_values.append(mean_value)
        if regularization_losses:
            reg = regularization_losses[0]
            for r in regularization_losses[1:]:
                reg = reg + r
            if loss_values:
                reg = reg.astype(loss_values[0].dtype) if reg.dtype != loss_values[0].dtype else reg
            mean_values.append(float(reg.data))
            loss_values.append(reg)
        if not loss_values:
            return None
        total = loss_values[0]
        for v in loss_values[1:]:
            total = total + v
        total_mean = np.sum(np.asarray(mean_values, dtype=total.dtype), dtype=total.dtype)
        self._total_loss_mean.update_state(float(total_mean), sample_weight=batch_dim if batch_dim else 1)
        return total

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()


def _loss_name(loss_obj: Any) -> str:
    for candidate in (getattr(loss_obj, "fn", None), loss_obj):
        name = getattr(candidate, "__name__", None) or getattr(candidate, "name", None)
        if isinstance(name, str):
            return to_snake_case(name) if name[:1].isupper() else name
    return ""


def _check_targets(loss_obj: Any, y_t: np.ndarray, y_p: Tensor) -> None:
    """Clear errors for targets that do not fit the loss, before the loss computes garbage from them."""
    name = _loss_name(loss_obj)
    if "crossentropy" not in name:
        return
    if "sparse" in name:
        if y_p.ndim < 1:
            return
        n_classes = y_p.shape[-1]
        labels = y_t
        if labels.dtype.kind == "f" and labels.size and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
            raise ValueError(f"Expected integer class labels for `{name}`. Received: y with non-integer values "
                             f"such as {labels[labels != np.round(labels)].ravel()[:3].tolist()}")
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            bad = labels[(labels < 0) | (labels >= n_classes)].ravel()[0]
            raise ValueError(f"Received a label value of {bad:g} which is outside the valid range of "
                             f"[0, {n_classes}). Label values: {' '.join(f'{v:g}' for v in labels.ravel()[:20])}")
        return
    t_shape, p_shape = tuple(y_t.shape[1:]), tuple(y_p.shape[1:])
    # NOTE: a trailing axis of 1 on one side only is squeezed by the loss (tf.keras's squeeze_or_expand_dimensions)
    t_cmp = t_shape[:-1] if len(t_shape) == len(p_shape) + 1 and t_shape[-1:] == (1,) else t_shape
    p_cmp = p_shape[:-1] if len(p_shape) == len(t_shape) + 1 and p_shape[-1:] == (1,) else p_shape
    if t_cmp != p_cmp:
        hint = ""
        if "categorical" in name and t_shape[-1:] == (1,):
            hint = (" The targets look like integer class labels; use `sparse_categorical_crossentropy` or "
                    "one-hot encode them (`keras.utils.to_categorical`).")
        elif "categorical" in name:
            hint = (f" The targets have {t_shape[-1] if t_shape else 1} classes but the model outputs "
                    f"{p_shape[-1] if p_shape else 1}.")
        raise ValueError(f"Shapes {(None,) + t_shape} and {(None,) + p_shape} are incompatible: `y` does not match "
                         f"the model output for loss `{name}`.{hint}")


class MetricsContainer:
    """The compiled metrics (tf.keras's `compile_utils.MetricsContainer`).

    `'accuracy'`/`'acc'` (and `'crossentropy'`/`'ce'`) become binary, categorical or sparse categorical versions from
    the shapes of the first targets and outputs, and keep the name the user wrote. `metrics` get no sample weights
    (only the output mask); `weighted_metrics` get the sample weights, and a `weighted_` prefix if the name is taken.
    """

    def __init__(self, metrics: Any = None, weighted_metrics: Any = None, output_names: Optional[List[str]] = None):
        self._check_duplicated_metrics(metrics, weighted_metrics)
        self._user_metrics = metrics
        self._user_weighted_metrics = weighted_metrics
        self._metrics: Any = metrics
        self._weighted_metrics: Any = weighted_metrics
        self._output_names = output_names
        self._metrics_in_order: List[Any] = []
        self._built = False

    @staticmethod
    def _check_duplicated_metrics(metrics: Any, weighted_metrics: Any) -> None:
        from minikeras import metrics as metrics_mod

        metric_cls = getattr(metrics_mod, "Metric", None)
        if metric_cls is None:
            return
        seen: List[Any] = []
        duplicated = []
        for x in _flatten_nested(metrics) + _flatten_nested(weighted_metrics):
            if isinstance(x, metric_cls):
                if any(x is s for s in seen):
                    duplicated.append(x)
                seen.append(x)
        if duplicated:
            raise ValueError("Found duplicated metrics object in the user provided metrics and weighted metrics. "
                             "This will cause the same metric object to be updated multiple times, and report wrong "
                             f"results. \nDuplicated items: {duplicated}")

    @property
    def metrics(self) -> List[Any]:
        return self._metrics_in_order if self._built else []

    def _per_output(self, struct: Any, n: int) -> List[List[Any]]:
        if struct is None:
            return [[] for _ in range(n)]
        if isinstance(struct, dict):
            names = self._output_names or [f"output_{i + 1}" for i in range(n)]
            if n == 1 and len(names) == 1:
                names = names[:1]
            struct = dict(struct)
            out = [struct.pop(name, None) for name in names]
            if struct:
                raise ValueError(f"Found unexpected losses or metrics that do not correspond to any Model output: "
                                 f"{struct.keys()}. Valid mode output names: {names}. Received struct is: {struct}.")
            return [[] if o is None else (list(o) if isinstance(o, (list, tuple)) else [o]) for o in out]
        if not isinstance(struct, (list, tuple)):
            return [[struct] for _ in range(n)]
        if n > 1 and any(isinstance(s, (list, tuple, dict)) for s in struct):
            if len(struct) != n:
                raise ValueError(f"Expected one list of metrics per model output ({n}). Received: {struct!r}")
            return [[] if s is None else (list(s) if isinstance(s, (list, tuple)) else [s]) for s in struct]
        if n == 1:
            return [list(struct)]
        # the same list of metrics for every output, each output with its own copies of Metric objects
        return [list(struct) if i == 0 else [self._copy_object(m) for m in struct] for i in range(n)]

    @staticmethod
    def _copy_object(obj: Any) -> Any:
        if hasattr(obj, "get_config") and hasattr(type(obj), "from_config") and hasattr(obj, "update_state"):
            return type(obj).from_config(obj.get_config())
        return obj

    def build(self, y_pred: List[Tensor], y_true: List[np.ndarray]) -> None:
        n = len(y_pred)
        if self._output_names is None or len(self._output_names) != n:
            self._output_names = ["output_1"] if n == 1 else [f"output_{i + 1}" for i in range(n)]
        metrics = self._per_output(self._metrics, n)
        weighted = self._per_output(self._weighted_metrics, n)
        self._metrics = [[self._get_metric_object(m, y_t, y_p) for m in ms]
                         for ms, y_t, y_p in zip(metrics, y_true, y_pred)]
        self._weighted_metrics = [[self._get_metric_object(m, y_t, y_p) for m in ms]
                                  for ms, y_t, y_p in zip(weighted, y_true, y_pred)]
        self._set_metric_names()
        self._metrics_in_order = []
        for ms, wms in zip(self._metrics, self._weighted_metrics):
            self._metrics_in_order += [m for m in ms if m is not None]
            self._metrics_in_order += [m for m in wms if m is not None]
        self._built = True

    def _set_metric_names(self) -> None:
        names = set()
        multi = len(self._output_names) > 1
        for output_name, ms, wms in zip(self._output_names, self._metrics, self._weighted_metrics):
            for m in ms:
                if m is None:
                    continue
                if multi:
                    _set_name(m, f"{output_name}_{m.name}")
                if m.name in names:
                    raise ValueError(f"Found two metrics with the same name: {m.name}. All the metrics added to the "
                                     "model need to have unique names.")
                names.add(m.name)
            for wm in wms:
                if wm is None:
                    continue
                if multi:
                    if f"{output_name}_{wm.name}" in names:
                        _set_name(wm, f"{output_name}_weighted_{wm.name}")
                    else:
                        _set_name(wm, f"{output_name}_{wm.name}")
                elif wm.name in names:
                    _set_name(wm, f"weighted_{wm.name}")
                if wm.name in names:
                    raise ValueError(f"Found two weighted metrics with the same name: {wm.name}.All the metrics "
                                     "added to the model need to have unique names.")
                names.add(wm.name)

    @staticmethod
    def _get_metric_object(metric: Any, y_t: Optional[np.ndarray], y_p: Tensor) -> Any:
        """A `Metric` from what the user wrote; `'accuracy'`/`'acc'`/`'crossentropy'`/`'ce'` by the shapes of the
        targets and outputs, keeping the user's name (`metrics.get_metric`, tf.keras's `_get_metric_object`)."""
        from minikeras import metrics as metrics_mod

        if metric is None:
            return None
        return metrics_mod.get_metric(metric, output_shape=tuple(y_p.shape),
                                      target_shape=None if y_t is None else tuple(y_t.shape))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]
        n = len(y_pred)
        if y_true is None:
            y_true = [None] * n
        elif not isinstance(y_true, (list, tuple)):
            y_true = [y_true]
        if sample_weight is None or not isinstance(sample_weight, (list, tuple)):
            sample_weight = [sample_weight] * n
        if not self._built:
            self.build(y_pred, [None if t is None else np.asarray(t) for t in y_true])
        for y_t, y_p, sw, ms, wms in zip(y_true, y_pred, sample_weight, self._metrics, self._weighted_metrics):
            if y_t is None or (not any(m is not None for m in ms) and not any(m is not None for m in wms)):
                continue
            y_t, sw = _match_dtype_and_rank(np.asarray(y_t), y_p, None if sw is None else np.asarray(sw))
            mask = getattr(y_p, "_keras_mask", None)
            sw = _apply_mask(mask, sw, y_p.dtype)
            y_t_tensor, y_p_plain = Tensor(y_t), Tensor._wrap(y_p.data, False)
            mask_t = None if mask is None else Tensor(mask.astype(y_p.dtype))
            for m in ms:
                if m is not None:
                    m.update_state(y_t_tensor, y_p_plain, sample_weight=mask_t)
            for wm in wms:
                if wm is not None:
                    wm.update_state(y_t_tensor, y_p_plain, sample_weight=None if sw is None else Tensor(sw))

    def reset_state(self) -> None:
        if self._built:
            metrics = self._metrics_in_order
        else:
            metrics = [m for m in _flatten_nested(self._user_metrics) + _flatten_nested(self._user_weighted_metrics)
                       if hasattr(m, "reset_state")]
        for m in metrics:
            m.reset_state()


def _set_name(metric: Any, name: str) -> None:
    if hasattr(metric, "_name"):
        metric._name = name
    try:
        metric.name = name
    except AttributeError:
        pass


def _flatten_nested(struct: Any) -> List[Any]:
    if struct is None:
        return []
    if isinstance(struct, dict):
        return [x for v in struct.values() for x in _flatten_nested(v)]
    if isinstance(struct, (list, tuple)):
        return [x for v in struct for x in _flatten_nested(v)]
    return [struct]


def _to_float(value: Any) -> float:
    return float(np.asarray(getattr(value, "data", value)))


# ---------------------------------------------------------------------------------------------------- the Model
class Model(Layer):
    """Base class of models: a layer made of layers, with `compile`, `fit`, `evaluate` and `predict`.

    `Model(inputs, outputs)` returns a functional model (`minikeras.engine.functional.Functional`);
    `Sequential` is one whose graph is a chain.

    Training follows tf.keras 2.21: the loss minimized is the compiled loss plus the sum of `model.losses`
    (regularization penalties); the logged `loss` includes them too. `train_on_batch` returns the loss (and metrics)
    computed by the forward pass *before* that batch's update. A training step writes the weights only as its very
    last action, and `fit` puts back the weights and optimizer state from the start of a batch when anything in that
    batch raises (a layer, the loss, the optimizer, or a callback), so an interrupted `fit` never leaves a
    half-updated model.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Model":
        # NOTE: as tf.keras: `Model(inputs, outputs)` builds a functional model (engine/functional.py)
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from minikeras.engine.functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise NotImplementedError("A subclass of `Model` whose constructor passes `inputs`/`outputs` to "
                                      "`Model.__init__` is not supported by minikeras: subclass "
                                      "`minikeras.engine.functional.Functional`, or build `Model(inputs, outputs)`. "
                                      f"Received: {type(self).__name__} with inputs/outputs")
        super().__init__(**kwargs)
        self.optimizer: Any = None
        self.compiled_loss: Optional[LossesContainer] = None
        self.compiled_metrics: Optional[MetricsContainer] = None
        self.loss: Any = None
        self._is_compiled = False
        self._compile_args: Optional[Dict[str, Any]] = None
        self._run_eagerly: Optional[bool] = None
        self._jit_compile: Optional[bool] = None
        self._steps_per_execution = 1
        self.stop_training = False
        self.history: Any = None
        self._batch_start_state: Any = None

    @property
    def layers(self) -> List[Layer]:
        return list(self._layers)

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> "Model":
        """`Model.from_config` of a functional config builds the functional model (tf.keras)."""
        from minikeras.engine.functional import Functional

        if cls is Model and isinstance(config, dict) and "input_layers" in config:
            return Functional.from_config(config, custom_objects=custom_objects)
        return super().from_config(config)

    @property
    def output_names(self) -> Optional[List[str]]:
        """Names used for per-output losses and metrics: the last layer's name for a layer stack (tf.keras)."""
        if getattr(self, "_input_layer", None) is not None or hasattr(self, "_build_from"):
            layers = self.layers
            return [layers[-1].name] if layers else None
        return None

    @property
    def run_eagerly(self) -> bool:
        """minikeras always runs eagerly (numpy); the flag is kept for compatibility."""
        return True

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        self._run_eagerly = value

    @property
    def jit_compile(self) -> bool:
        return bool(self._jit_compile)

    @property
    def steps_per_execution(self) -> int:
        return self._steps_per_execution

    @property
    def distribute_strategy(self) -> None:
        return None

    def reset_states(self) -> None:
        """Reset the state of every stateful layer (Keras 2)."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None, loss_weights: Any = None,
                weighted_metrics: Any = None, run_eagerly: Optional[bool] = None, steps_per_execution: Any = None,
                jit_compile: Optional[bool] = None, **kwargs: Any) -> None:
        """Configure the model for training.

        Args:
            optimizer: name (`'rmsprop'`, default, `'adam'`, `'sgd'`, ...) or optimizer instance.
            loss: name, function `fn(y_true, y_pred)`, `Loss` instance, or a list/dict with one per output.
            metrics: list of metric names, functions or `Metric` instances (`'accuracy'`/`'acc'` is resolved to
                the binary, categorical or sparse categorical accuracy from the target and output shapes, and
                logged under the name you wrote). Not weighted by `sample_weight`.
            loss_weights: scalar coefficients per output (list or dict).
            weighted_metrics: metrics weighted by `sample_weight`/`class_weight`.
            run_eagerly, jit_compile: accepted for compatibility; minikeras always runs eagerly on numpy.
            steps_per_execution: batches per "execution": batch callbacks run once every this many batches.

        `model.metrics_names` is `[]` until the model has been trained or evaluated on data, as in tf.keras
        (the metric objects are built from the first batch's shapes).
        """
        from minikeras import optimizers

        kwargs.pop("pss_evaluation_shards", None)
        if "experimental_steps_per_execution" in kwargs:
            value = kwargs.pop("experimental_steps_per_execution")
            steps_per_execution = steps_per_execution or value
        kwargs.pop("from_serialized", None)
        kwargs.pop("cloning", None)
        kwargs.pop("experimental_run_tf_function", None)
        distribute = kwargs.pop("distribute", None)
        if distribute is not None:
            raise ValueError("`distribute` argument in compile is not available in TF 2.0. Please create the model "
                             f"under the `strategy.scope()`. Received: {distribute}.")
        target_tensors = kwargs.pop("target_tensors", None)
        if target_tensors is not None:
            raise ValueError("`target_tensors` argument is not supported when executing eagerly. "
                             f"Received: {target_tensors}.")
        kwargs.pop("sample_weight_mode", None)  # Keras 1/2 graph mode only; eager tf.keras ignores it too
        if kwargs:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {(set(kwargs),)}. Valid keyword arguments "
                            'include "cloning", "experimental_run_tf_function", "distribute", "target_tensors", or '
                            '"sample_weight_mode".')
        if run_eagerly and jit_compile:
            raise ValueError("You cannot enable `run_eagerly` and `jit_compile` at the same time.")
        if steps_per_execution in (None, "auto"):
            spe = 1
        else:
            spe = _check_positive_int("steps_per_execution", steps_per_execution)
        opt = optimizers.get(optimizer)
        losses_container = LossesContainer(loss, loss_weights, output_names=self.output_names)
        metrics_container = MetricsContainer(metrics, weighted_metrics, output_names=self.output_names)
        self.optimizer = opt
        self.compiled_loss = losses_container
        self.compiled_metrics = metrics_container
        self._steps_per_execution = spe
        self._run_eagerly = run_eagerly
        self._jit_compile = jit_compile
        self.loss = loss or {}
        self._compile_args = {"optimizer": optimizer, "loss": loss, "metrics": metrics, "loss_weights": loss_weights,
                              "weighted_metrics": weighted_metrics}
        self._is_compiled = True
        self.stop_training = False

    def get_compile_config(self) -> Optional[Dict[str, Any]]:
        """The arguments `compile` was called with (tf.keras 2.13+), or None before `compile`."""
        if not self._is_compiled or self._compile_args is None:
            return None
        return dict(self._compile_args)

    def compile_from_config(self, config: Dict[str, Any]) -> None:
        """Compile from the output of `get_compile_config()`."""
        self.compile(**config)

    def _assert_compile_was_called(self) -> None:
        if not self._is_compiled:
            raise RuntimeError("You must compile your model before training/testing. "
                               "Use `model.compile(optimizer, loss)`.")

    # ------------------------------------------------------------------ metrics
    @property
    def metrics(self) -> List[Any]:
        """The loss mean and compiled metrics, once built by the first batch (tf.keras: `[]` before)."""
        out: List[Any] = []
        if self._is_compiled:
            if self.compiled_loss is not None:
                out += self.compiled_loss.metrics
            if self.compiled_metrics is not None:
                out += self.compiled_metrics.metrics
        return out

    @property
    def metrics_names(self) -> List[str]:
        """Display labels of the values `evaluate`/`train_on_batch` return, e.g. `['loss', 'accuracy']`."""
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        """Reset the state of all metrics of the model."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> Dict[str, float]:
        """The current value of every metric in `self.metrics`, as Python floats."""
        out: Dict[str, float] = {}
        for m in self.metrics:
            result = m.result()
            if isinstance(result, dict):
                out.update({k: _to_float(v) for k, v in result.items()})
            else:
                out[m.name] = _to_float(result)
        return out

    # ------------------------------------------------------------------ steps
    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None
                     ) -> Optional[Tensor]:
        """Total loss: the compiled loss plus `sum(self.losses)`; also updates the `loss` metric."""
        del x
        return self.compiled_loss(y, y_pred, sample_weight, regularization_losses=self.losses)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any) -> Dict[str, float]:
        """Update the compiled metrics with this batch and return every metric's value."""
        del x
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _validate_target_and_loss(self, y: Any, loss: Any) -> None:
        if self.loss and y is None:
            raise ValueError(f"Target data is missing. Your model was compiled with loss={self.loss}, and therefore "
                             "expects target data to be provided in `fit()`.")
        if loss is None:
            raise ValueError("No loss found. You may have forgotten to provide a `loss` argument in the `compile()` "
                             "method.")

    def train_step(self, data: Any) -> Dict[str, float]:
        """One training step: forward (training=True), loss, gradients, metrics, then the weight update.

        The optimizer runs last, so a failure anywhere earlier leaves the weights untouched. Returns the metric
        values, which include this batch's loss computed before the update (as tf.keras).
        """
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight)
        self._validate_target_and_loss(y, loss)
        grads_and_vars = self._gradients(loss)
        with no_grad():
            logs = self.compute_metrics(x, y, y_pred, sample_weight)
        try:
            if grads_and_vars:
                self.optimizer.apply_gradients(grads_and_vars)
        finally:
            for _, v in grads_and_vars:
                v.grad = None
        return logs

    def _gradients(self, loss: Tensor) -> List[Tuple[Optional[np.ndarray], Any]]:
        """`(gradient, variable)` for every trainable weight (None where the loss does not depend on it; the
        optimizer skips those with a warning, and raises if all are None, as tf.keras's optimizers do)."""
        trainable = self.trainable_weights
        for w in self.weights:
            w.grad = None
        if not trainable:
            return []
        if loss.requires_grad:
            loss.backward()
        return [(w.grad, w) for w in trainable]

    def test_step(self, data: Any) -> Dict[str, float]:
        """One evaluation step: forward (training=False), loss (with regularization), metrics."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with no_grad():
            y_pred = self(x, training=False)
            self.compute_loss(x, y, y_pred, sample_weight)
            return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """One prediction step: the model's outputs as numpy arrays."""
        x, _, _ = unpack_x_y_sample_weight(data)
        with no_grad():
            y = self(x, training=False)
        return [t.data for t in y] if isinstance(y, (list, tuple)) else y.data

    # ------------------------------------------------------------------ transactional state
    def _capture_state(self) -> Tuple[List[Tuple[Any, np.ndarray]], Any]:
        """Copies of the weights and of the optimizer's state, to put back if a step fails."""
        weights = [(w, w.data.copy()) for w in self.weights]
        opt_state = None
        opt = self.optimizer
        if opt is not None and hasattr(opt, "__dict__"):
            # NOTE: the memo maps the model's variables to themselves, so the copy shares them instead of cloning.
            memo: Dict[int, Any] = {id(w): w for w, _ in weights}
            try:
                opt_state = copy.deepcopy(opt.__dict__, memo)
            except Exception:  # an optimizer holding something uncopyable: weights are still restored
                opt_state = None
        return weights, opt_state

    def _restore_state(self, state: Any) -> None:
        if state is None:
            return
        weights, opt_state = state
        for w, value in weights:
            if w.data.shape == value.shape:
                np.copyto(w.data, value)
            w.grad = None
        if opt_state is not None and self.optimizer is not None:
            memo: Dict[int, Any] = {id(w): w for w, _ in weights}
            self.optimizer.__dict__.clear()
            self.optimizer.__dict__.update(copy.deepcopy(opt_state, memo))

    def _restore_batch_start_state(self) -> None:
        """Put back the weights and optimizer state from the start of the current `fit` batch (TerminateOnNaN)."""
        self._restore_state(self._batch_start_state)

    # ------------------------------------------------------------------ data
    def _static_batch_size(self) -> Optional[int]:
        input_layer = getattr(self, "_input_layer", None)
        shape = getattr(input_layer, "batch_input_shape", None) if input_layer is not None else None
        if shape is None and self.layers:
            shape = getattr(self.layers[0], "batch_input_shape", None)
        return shape[0] if shape else None

    def _is_stateful(self) -> bool:
        stack = list(self._layers)
        while stack:
            layer = stack.pop()
            if getattr(layer, "stateful", False):
                return True
            stack.extend(getattr(layer, "_layers", []))
        return False

    def _resolve_batch_size(self, batch_size: Any, n: int, steps: Optional[int], what: str = "batch_size") -> int:
        if batch_size is not None:
            batch_size = _check_positive_int(what, batch_size)
        static = self._static_batch_size()
        if static is not None:
            if batch_size is None:
                batch_size = static
            elif batch_size != static:
                raise ValueError(f"The `batch_size` argument value {batch_size} is incompatible with the specified "
                                 f"batch size of your Input Layer: {static}")
        if batch_size is None:
            batch_size = int(math.ceil(n / steps)) if steps else 32
        if self._is_stateful() and n % batch_size != 0:
            raise ValueError("In a stateful network, you should only pass inputs with a number of samples that can "
                             f"be divided by the batch size. Found: {n} samples. Received: batch_size={batch_size}")
        return max(batch_size, 1)

    @staticmethod
    def _standardize(x: Any, y: Any, sample_weight: Any) -> Tuple[Any, Any, Any, int]:
        xs = _flatten_data(x, "x")
        if xs is None:
            raise ValueError("Expected input data `x`. Received: x=None")
        ys = _flatten_data(y, "y")
        sws = _flatten_data(sample_weight, "sample_weight")
        n = _check_data_cardinality(xs, ys, sws)
        return xs, ys, sws, n

    def _ensure_built(self, xs: List[np.ndarray]) -> None:
        if not self.built and hasattr(self, "_build_from") and len(xs) == 1:
            self.build((None,) + tuple(xs[0].shape[1:]))

    @staticmethod
    def _batch_indices(n: int, batch_size: int, shuffle: Any) -> List[Any]:
        """One epoch of batch index selections: slices in order, or permuted indices drawn from `backend.rng()`."""
        if not shuffle:
            return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
        rng = backend.rng()
        if shuffle == "batch":
            batches = [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
            order = rng.permutation(len(batches))
            return [rng.permutation(batches[j]) for j in order]
        perm = rng.permutation(n)
        return [perm[i:i + batch_size] for i in range(0, n, batch_size)]

    @staticmethod
    def _take(arrays: Optional[List[np.ndarray]], idx: Any) -> Any:
        if arrays is None:
            return None
        return _unflatten([a[idx] for a in arrays])

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: Any = True, class_weight: Optional[Dict[int, float]] = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: Optional[int] = None, validation_steps: Optional[int] = None,
            validation_batch_size: Optional[int] = None, validation_freq: Any = 1, max_queue_size: int = 10,
            workers: int = 1, use_multiprocessing: bool = False) -> Any:
        """Train the model for a fixed number of epochs.

        Args:
            x, y: input and target arrays (or lists of arrays for several inputs/outputs).
            batch_size: samples per gradient update (default 32; the input layer's batch size if it fixes one).
            epochs: index of the last epoch (training runs epochs `initial_epoch` .. `epochs - 1`).
            verbose: `'auto'` (= 1), 0 (silent), 1 (progress bar), 2 (one line per epoch). With 1, a terminal gets
                Keras's live bar (`2/2 [==============================] - 0s 41ms/step - loss: 0.6939`); when
                stdout is not a terminal (a log file, a pipe) only the finished bar is written, one line per epoch.
                With 2: `2/2 - 0s - loss: 0.6939 - 41ms/epoch - 20ms/step`.
            callbacks: list of `keras.callbacks.Callback`; `History` and `ProgbarLogger` are added automatically.
            validation_split: fraction in [0, 1) of the data held out for validation: the *last* samples,
                taken before shuffling (as Keras). Ignored when `validation_data` is given.
            validation_data: `(x_val, y_val)` or `(x_val, y_val, val_sample_weight)`.
            shuffle: shuffle the training samples before each epoch (draws from `minikeras.backend.rng()`, so
                `backend.set_random_seed` makes it reproducible); `'batch'` shuffles in batch-sized chunks.
            class_weight: `{class index: weight}` for the training loss (not validation).
            sample_weight: per-sample (or per-timestep, `(samples, steps)`) weights for the training loss.
            initial_epoch: epoch at which to start (to resume a run).
            steps_per_epoch: batches per epoch (the data is cycled, reshuffled at each pass); default one pass.
            validation_steps: number of validation batches (default all).
            validation_batch_size: default `batch_size`.
            validation_freq: validate every this many epochs, or on the epochs (from 1) listed.
            max_queue_size, workers, use_multiprocessing: accepted for compatibility (generators only in Keras).

        Returns:
            A `History`: `history.history` maps `'loss'`, each metric name and the `'val_'` versions to per-epoch
            values; `history.epoch` lists the epochs.
        """
        self._assert_compile_was_called()
        verbose = _get_verbosity(verbose)
        epochs = _check_positive_int("epochs", epochs, allow_zero=True)
        initial_epoch = _check_positive_int("initial_epoch", initial_epoch, allow_zero=True)
        if steps_per_epoch is not None:
            steps_per_epoch = _check_positive_int("steps_per_epoch", steps_per_epoch)
        if validation_steps is not None:
            validation_steps = _check_positive_int("validation_steps", validation_steps)
        if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) or \
                not 0.0 <= float(validation_split) < 1.0:
            raise ValueError("Expected `validation_split` to be a float in [0, 1). "
                             f"Received: validation_split={validation_split!r}")
        if not (isinstance(validation_freq, (int, np.integer)) and validation_freq > 0) and \
                not isinstance(validation_freq, (list, tuple, set)):
            raise ValueError("Expected `validation_freq` to be a list or int. Received: "
                             f"validation_freq={validation_freq} of the type {type(validation_freq)}.")
        xs, ys, sws, n = self._standardize(x, y, sample_weight)
        val_arrays = None
        if validation_split and validation_data is None:
            (xs, ys, sws), val_arrays = _train_validation_split([xs, ys, sws], validation_split)
            n = int(xs[0].shape[0])
        elif validation_data is not None:
            vx, vy, vsw = unpack_x_y_sample_weight(validation_data)
            vxs, vys, vsws, _ = self._standardize(vx, vy, vsw)
            val_arrays = [vxs, vys, vsws]
        if n == 0:
            raise ValueError("Expected input data to be non-empty.")
        batch_size = self._resolve_batch_size(batch_size, n, steps_per_epoch)
        if class_weight is not None:
            if ys is None:
                raise ValueError("`class_weight` needs targets `y`. Received: y=None")
            sws = _class_weight_to_sample_weight(class_weight, ys, sws)
        val_batch_size = None
        if val_arrays is not None:
            nv = _check_data_cardinality(*val_arrays)
            if nv == 0:
                raise ValueError("Expected validation data to be non-empty.")
            val_batch_size = self._resolve_batch_size(validation_batch_size or batch_size, nv, None,
                                                      "validation_batch_size")
        self._ensure_built(xs)
        steps = steps_per_epoch or int(math.ceil(n / batch_size))

        from minikeras import callbacks as callbacks_module

        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                      model=self, verbose=verbose, epochs=epochs, steps=steps)
        terminate_on_nan = any(isinstance(cb, callbacks_module.TerminateOnNaN) for cb in callbacks)
        spe = self._steps_per_execution

        def index_stream() -> Iterator[Any]:
            while True:
                for idx in self._batch_indices(n, batch_size, shuffle):
                    yield idx

        stream = index_stream() if steps_per_epoch else None
        self.stop_training = False
        callbacks.on_train_begin()
        training_logs = None
        logs: Optional[Dict[str, float]] = None
        nan_warned = False
        try:
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                callbacks.on_epoch_begin(epoch)
                if stream is not None:
                    epoch_batches: List[Any] = [next(stream) for _ in range(steps)]
                else:
                    epoch_batches = self._batch_indices(n, batch_size, shuffle)
                for start in range(0, len(epoch_batches), spe):
                    group = epoch_batches[start:start + spe]
                    self._batch_start_state = self._capture_state()
                    try:
                        callbacks.on_train_batch_begin(start)
                        for idx in group:
                            tmp_logs = self.train_step((self._take(xs, idx), self._take(ys, idx),
                                                        self._take(sws, idx)))
                            logs = tmp_logs
                        loss_value = logs.get("loss") if logs else None
                        if loss_value is not None and not np.isfinite(loss_value) and not terminate_on_nan \
                                and not nan_warned:
                            nan_warned = True
                            warnings.warn(f"Epoch {epoch + 1}/{epochs}, batch {start + len(group) - 1}: the training "
                                          f"loss is {loss_value}. The weights are now {loss_value} too and training "
                                          "cannot recover; add `keras.callbacks.TerminateOnNaN()` to `callbacks` to "
                                          "stop at the last good weights.", RuntimeWarning, stacklevel=2)
                        callbacks.on_train_batch_end(start + len(group) - 1, dict(logs))
                    except BaseException:
                        self._restore_batch_start_state()
                        raise
                    finally:
                        self._batch_start_state = None
                    if self.stop_training:
                        break
                if logs is None:
                    raise ValueError("Unexpected result of `train_function` (Empty logs). The input data produced no "
                                     "batches.")
                epoch_logs = dict(self.get_metrics_result())
                if val_arrays is not None and self._should_eval(epoch, validation_freq):
                    val_logs = self._evaluate_arrays(val_arrays, val_batch_size, validation_steps, callbacks)
                    epoch_logs.update({"val_" + name: value for name, value in val_logs.items()})
                callbacks.on_epoch_end(epoch, epoch_logs)
                training_logs = epoch_logs
                if self.stop_training:
                    break
        finally:
            self._batch_start_state = None
        callbacks.on_train_end(logs=training_logs)
        return self.history

    @staticmethod
    def _should_eval(epoch: int, validation_freq: Any) -> bool:
        epoch = epoch + 1
        if isinstance(validation_freq, (int, np.integer)):
            return epoch % validation_freq == 0
        return epoch in validation_freq

    # ------------------------------------------------------------------ evaluate
    def evaluate(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: Optional[int] = None, callbacks: Any = None,
                 max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                 return_dict: bool = False, **kwargs: Any) -> Any:
        """Loss and metric values of the model in test mode, computed in batches.

        Args:
            x, y: input and target arrays.
            batch_size: samples per batch (default 32).
            verbose: `'auto'` (= 1), 0, 1 (bar; one line when stdout is not a terminal) or 2 (one line).
            sample_weight: per-sample weights for the loss (and `weighted_metrics`).
            steps: number of batches to evaluate (default all).
            callbacks: callbacks receiving the `on_test_*` hooks.
            return_dict: return `{name: value}` instead of a list.

        Returns:
            The loss (a float) if there are no metrics, else `[loss, metric, ...]` in `model.metrics_names` order.
        """
        self._assert_compile_was_called()
        if kwargs:
            raise TypeError(f"Invalid keyword arguments: {list(kwargs.keys())}")
        verbose = _get_verbosity(verbose)
        if steps is not None:
            steps = _check_positive_int("steps", steps)
        xs, ys, sws, n = self._standardize(x, y, sample_weight)
        if n == 0:
            raise ValueError("Expected input data to be non-empty.")
        batch_size = self._resolve_batch_size(batch_size, n, steps)
        self._ensure_built(xs)
        n_steps = min(steps, int(math.ceil(n / batch_size))) if steps else int(math.ceil(n / batch_size))

        from minikeras import callbacks as callbacks_module

        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                      model=self, verbose=verbose, epochs=1, steps=n_steps)
        logs = self._evaluate_arrays([xs, ys, sws], batch_size, steps, callbacks)
        return logs if return_dict else flatten_metrics_in_order(logs, self.metrics_names)

    def _evaluate_arrays(self, arrays: Sequence[Any], batch_size: int, steps: Optional[int], callbacks: Any
                         ) -> Dict[str, float]:
        xs, ys, sws = arrays
        n = int(xs[0].shape[0])
        batches = self._batch_indices(n, batch_size, False)
        if steps:
            batches = batches[:steps]
        self.reset_metrics()
        callbacks.on_test_begin()
        logs: Dict[str, float] = {}
        spe = self._steps_per_execution
        for start in range(0, len(batches), spe):
            callbacks.on_test_batch_begin(start)
            for idx in batches[start:start + spe]:
                logs = self.test_step((self._take(xs, idx), self._take(ys, idx), self._take(sws, idx)))
            callbacks.on_test_batch_end(start + len(batches[start:start + spe]) - 1, dict(logs))
        logs = self.get_metrics_result()
        callbacks.on_test_end(logs=dict(logs))
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = "auto", steps: Optional[int] = None,
                callbacks: Any = None, max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                **kwargs: Any) -> Any:
        """Outputs for `x`, computed in batches with no graph recorded.

        Args:
            x: input array (or a list of arrays).
            batch_size: samples per batch (default 32; the input layer's batch size if it fixes one).
            verbose: `'auto'` (= 1), 0, 1 (bar; one line when stdout is not a terminal) or 2 (one line).
            steps: number of batches to predict (default all).
            callbacks: callbacks receiving the `on_predict_*` hooks (`logs['outputs']` at each batch end).
        """
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to predict: {kwargs}")
        verbose = _get_verbosity(verbose)
        if steps is not None:
            steps = _check_positive_int("steps", steps)
        xs = _flatten_data(x, "x")
        if xs is None:
            raise ValueError("Expected input data `x`. Received: x=None")
        n = _check_data_cardinality(xs, None, None)
        if batch_size is not None:
            _check_positive_int("batch_size", batch_size)
        static = self._static_batch_size()
        if batch_size is None:
            batch_size = static if static is not None else 32
        batches = self._batch_indices(n, batch_size, False)
        if steps:
            batches = batches[:steps]
        if not batches:  # empty input: run the model once on it so the output has the right trailing shape
            batches = [slice(0, 0)]

        from minikeras import callbacks as callbacks_module

        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                      model=self, verbose=verbose, epochs=1, steps=len(batches))
        callbacks.on_predict_begin()
        outs: List[Any] = []
        for step, idx in enumerate(batches):
            callbacks.on_predict_batch_begin(step)
            out = self.predict_step(self._take(xs, idx))
            outs.append(out)
            callbacks.on_predict_batch_end(step, {"outputs": out})
        callbacks.on_predict_end()
        if isinstance(outs[0], list):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return np.concatenate(outs)

    # ------------------------------------------------------------------ single batches
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       reset_metrics: bool = True, return_dict: bool = False) -> Any:
        """Run one gradient update on one batch.

        Returns the loss (a float) if there are no metrics, else `[loss, metric, ...]` (or a dict with
        `return_dict=True`). As in tf.keras 2.21, these values come from the forward pass *before* the update.
        `reset_metrics=False` accumulates the metrics over successive calls.
        """
        self._assert_compile_was_called()
        if reset_metrics:
            self.reset_metrics()
        xs, ys, sws, n = self._standardize(x, y, sample_weight)
        if n == 0:
            raise ValueError("Expected input data to be non-empty.")
        if class_weight is not None:
            if ys is None:
                raise ValueError("`class_weight` needs targets `y`. Received: y=None")
            sws = _class_weight_to_sample_weight(class_weight, ys, sws)
        self._ensure_built(xs)
        state = self._capture_state()
        try:
            logs = self.train_step((_unflatten(xs), _unflatten(ys), _unflatten(sws)))
        except BaseException:
            self._restore_state(state)
            raise
        return logs if return_dict else flatten_metrics_in_order(logs, self.metrics_names)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, reset_metrics: bool = True,
                      return_dict: bool = False) -> Any:
        """Loss and metrics on one batch, in test mode (no update); same return format as `train_on_batch`."""
        self._assert_compile_was_called()
        if reset_metrics:
            self.reset_metrics()
        xs, ys, sws, n = self._standardize(x, y, sample_weight)
        if n == 0:
            raise ValueError("Expected input data to be non-empty.")
        self._ensure_built(xs)
        logs = self.test_step((_unflatten(xs), _unflatten(ys), _unflatten(sws)))
        return logs if return_dict else flatten_metrics_in_order(logs, self.metrics_names)

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch (no batching, no graph)."""
        with no_grad():
            y = self(x, training=False)
        return [t.data for t in y] if isinstance(y, (list, tuple)) else y.data

    def summary(self, line_length: Optional[int] = None, positions: Any = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print the layer table in tf.keras 2's format."""
        from minikeras.utils.layer_utils import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)
