"""Loss and metric containers behind `Model.compile` (Keras 2's `keras.engine.compile_utils`).

`LossesContainer` turns the `loss`/`loss_weights` given to `compile` into one loss per model output and sums them;
`MetricsContainer` does the same for `metrics`/`weighted_metrics`, naming each metric as tf_keras 2.21's
`tf_keras/src/engine/compile_utils.py` does.
"""
from __future__ import annotations

import difflib
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import losses as losses_mod
from minikeras import metrics as metrics_mod
from minikeras import optimizers as optimizers_mod
from minikeras.autograd import Tensor
from minikeras.utils.generic_utils import to_snake_case


def get_custom_object_name(obj: Any) -> Optional[str]:
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return obj.__name__
    if hasattr(obj, "__class__"):
        return to_snake_case(obj.__class__.__name__)
    return None


def match_dtype_and_rank(y_t: np.ndarray, y_p: Tensor, sw: Optional[np.ndarray]
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


def apply_mask(mask: Optional[np.ndarray], sw: Optional[np.ndarray], dtype: Any) -> Optional[np.ndarray]:
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




def output_names_for(names: Optional[List[str]], n: int) -> List[str]:
    """The model's output names, or tf_keras's pseudo names `output_1`, `output_2`, ... when it has none."""
    if names is not None and len(names) == n:
        return list(names)
    return [f"output_{i + 1}" for i in range(n)]


def flatten_outputs(y_pred: Any, names: Optional[List[str]]) -> List[Tensor]:
    """The model's outputs as a list: one output, a list, or a dict (by output name, else by sorted key)."""
    if isinstance(y_pred, dict):
        keys = names if names is not None and set(names) == set(y_pred) else sorted(y_pred)
        return [y_pred[k] for k in keys]
    return list(y_pred) if isinstance(y_pred, (list, tuple)) else [y_pred]


def map_to_outputs(struct: Any, names: List[str], what: str) -> List[Any]:
    """Targets or sample weights per output: a dict is matched by output name (a missing name: no target for that
    output, as tf_keras), a list by position, one value goes to a single output or to all."""
    n = len(names)
    if struct is None:
        return [None] * n
    if isinstance(struct, dict):
        keys = list(struct)
        struct = dict(struct)
        out = [struct.pop(name, None) for name in names]
        if struct:
            raise ValueError(f"Found {what} data for {sorted(struct)}, which name no model output. Expected keys "
                             f"among the output names {names}. Received: {what} with keys {list(keys)}")
        return out
    if isinstance(struct, (list, tuple)):
        if len(struct) != n:
            raise ValueError(f"Expected one {what} array per model output ({n}: {names}), got {len(struct)}.")
        return list(struct)
    return [struct] * n


class LossesContainer:
    """The compiled loss (tf.keras's `compile_utils.LossesContainer`).

    Calling it returns the total loss Tensor: the sum over outputs of `loss_weight * loss(y, y_pred, sample_weight)`,
    plus the sum of `model.losses` (regularization penalties, added unweighted, as tf.keras does). It also updates the
    `loss` mean metric, weighted by the batch size, so an epoch's `loss` is the mean over its samples.
    """

    def __init__(self, losses: Any, loss_weights: Any = None, output_names: Optional[List[str]] = None):
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
        """A `Loss` from what the user wrote; a plain function is wrapped with tf_keras's default reduction."""
        if loss is None:
            return None
        obj = losses_mod.get(loss)
        if isinstance(obj, losses_mod.Loss):
            return obj
        name = get_custom_object_name(obj)
        if not callable(obj) or name is None:
            raise ValueError(f"Loss should be a callable, received: {loss}")
        return losses_mod.LossFunctionWrapper(obj, name=name)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                 regularization_losses: Optional[Sequence[Tensor]] = None) -> Optional[Tensor]:
        y_pred = flatten_outputs(y_pred, self._output_names)
        if not self._built:
            self.build(y_pred)
        names = self._output_names
        if y_true is not None and not isinstance(y_true, (dict, list, tuple)) and len(y_pred) > 1:
            y_true = [y_true] + [None] * (len(y_pred) - 1)  # one array: the first output's targets (tf_keras)
        y_true = map_to_outputs(y_true, names, "target")
        sample_weight = map_to_outputs(sample_weight, names, "sample_weight")
        loss_values: List[Tensor] = []
        mean_values: List[float] = []
        batch_dim = None
        for y_t, y_p, sw, loss_obj, loss_weight, metric_obj in zip(y_true, y_pred, sample_weight, self._losses,
                                                                   self._loss_weights, self._per_output_metrics):
            if y_t is None or loss_obj is None:
                continue
            y_t, sw = match_dtype_and_rank(np.asarray(y_t), y_p, None if sw is None else np.asarray(sw))
            check_targets(loss_obj, y_t, y_p)
            sw = apply_mask(getattr(y_p, "_keras_mask", None), sw, y_p.dtype)
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


def check_targets(loss_obj: Any, y_t: np.ndarray, y_p: Tensor) -> None:
    """Clear errors for targets that do not fit what the loss declares it needs (`losses.expected_targets`),
    before the loss computes garbage from them."""
    kind = losses_mod.expected_targets(loss_obj)
    if kind is None:
        return
    name = _loss_name(loss_obj)
    if kind == losses_mod.CLASS_INDICES:
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
        if kind == losses_mod.ONE_HOT and t_shape[-1:] == (1,):
            hint = (" The targets look like integer class labels; use `sparse_categorical_crossentropy` or "
                    "one-hot encode them (`keras.utils.to_categorical`).")
        elif kind == losses_mod.ONE_HOT:
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
        metric_cls = metrics_mod.Metric
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
        if metric is None:
            return None
        return metrics_mod.get_metric(metric, output_shape=tuple(y_p.shape),
                                      target_shape=None if y_t is None else tuple(y_t.shape))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = flatten_outputs(y_pred, self._output_names)
        n = len(y_pred)
        names = output_names_for(self._output_names, n)
        if y_true is not None and not isinstance(y_true, (dict, list, tuple)) and n > 1:
            y_true = [y_true] + [None] * (n - 1)
        y_true = map_to_outputs(y_true, names, "target")
        sample_weight = map_to_outputs(sample_weight, names, "sample_weight")
        if not self._built:
            self.build(y_pred, [None if t is None else np.asarray(t) for t in y_true])
        for y_t, y_p, sw, ms, wms in zip(y_true, y_pred, sample_weight, self._metrics, self._weighted_metrics):
            if y_t is None or (not any(m is not None for m in ms) and not any(m is not None for m in wms)):
                continue
            y_t, sw = match_dtype_and_rank(np.asarray(y_t), y_p, None if sw is None else np.asarray(sw))
            mask = getattr(y_p, "_keras_mask", None)
            sw = apply_mask(mask, sw, y_p.dtype)
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


# ---------------------------------------------------------------------------------------------------- compile checks
_HINTS = {"loss": "pass a loss function or a `keras.losses.Loss` instance for your own loss",
          "metric": "pass a function or a `keras.metrics.Metric` instance for your own metric",
          "optimizer": "pass an optimizer instance for your own optimizer"}


def _unknown(what: str, arg: str, identifier: str, received: Any, known: Sequence[str]) -> ValueError:
    """ValueError naming the closest known identifiers (`difflib.get_close_matches`, case-insensitive)."""
    by_lower: dict = {}
    for k in known:  # 'mse' and 'MSE' are one suggestion: keep the lower-case spelling
        if k.lower() not in by_lower or k.islower():
            by_lower[k.lower()] = k
    matches = [by_lower[m] for m in difflib.get_close_matches(identifier.lower(), list(by_lower), n=3, cutoff=0.6)]
    hint = f" Did you mean {' or '.join(repr(m) for m in matches)}?" if matches else ""
    return ValueError(f"Unknown {what} identifier {identifier!r}.{hint} Otherwise {_HINTS[what]}. "
                      f"Received: {arg}={received!r}")


def check_compile_identifiers(optimizer: Any, loss: Any, metrics: Any, weighted_metrics: Any) -> Any:
    """Resolve what `compile` was given, so that a misspelt name fails in `compile` (not in the first batch of
    `fit`) with a "did you mean" suggestion. Returns the optimizer."""
    for identifier in _flatten_nested(loss):
        if isinstance(identifier, str):
            try:
                losses_mod.get(identifier)
            except ValueError:
                raise _unknown("loss", "loss", identifier, loss, list(losses_mod.ALL_OBJECTS)) from None
    metric_names = list(metrics_mod.ALL_OBJECTS) + ["crossentropy", "ce"]
    for arg, struct in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
        for identifier in _flatten_nested(struct):
            if isinstance(identifier, str) and identifier.lower() not in ("accuracy", "acc", "crossentropy", "ce"):
                try:
                    metrics_mod.get(identifier)
                except ValueError:
                    raise _unknown("metric", arg, identifier, struct, metric_names) from None
    try:
        return optimizers_mod.get(optimizer)
    except ValueError:
        if not isinstance(optimizer, str):
            raise
        known = [name for name in optimizers_mod._NEW_CLASSES if not name.startswith("experimental")]
        raise _unknown("optimizer", "optimizer", optimizer, optimizer, known) from None
