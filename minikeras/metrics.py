"""Metrics (Keras 2's `keras.metrics`, semantics of tf_keras 2.21).

Metric functions (`binary_accuracy`, `categorical_accuracy`, ..., and the loss functions) return per-sample values.
Stateful `Metric` objects accumulate over batches in numpy, in float32 state variables as tf_keras does:
`update_state(y_true, y_pred, sample_weight=None)`, `result()`, `reset_state()`.

`get_metric` resolves `'accuracy'`/`'acc'` (and `'crossentropy'`/`'ce'`) from the shapes of the targets and outputs,
exactly as tf_keras's `compile_utils.MetricsContainer._get_metric_object` does, and keeps the name the user wrote.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend
from minikeras import losses as losses_mod
from minikeras.autograd import Tensor, Variable, no_grad
from minikeras.losses import (binary_crossentropy, categorical_crossentropy, categorical_hinge, hinge, kl_divergence,
                              log_cosh, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
                              mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge,
                              squeeze_or_expand_dimensions)
from minikeras.utils.generic_utils import (class_registry, deserialize_keras_object, serialize_keras_object,
                                           to_snake_case, validate_kwargs)

NEG_INF = -1e10  # tf_keras's metrics_utils.NEG_INF (used by top_k filtering)

# ************************************************************ helpers


def _array(x: Any) -> np.ndarray:
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _tensor(x: Any, dtype: Any = None) -> Tensor:
    """A Tensor holding `x` (cast to `dtype` if given); keeps a Tensor's graph when no cast is needed."""
    if isinstance(x, Tensor):
        if dtype is None or x.dtype == np.dtype(dtype):
            return x
        return Tensor._wrap(x.data.astype(dtype), False)
    arr = np.asarray(x)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype.kind not in "fc":
        arr = arr.astype(backend.floatx())
    return Tensor._wrap(arr, False)


def _floatx_result(values: np.ndarray) -> Tensor:
    return Tensor._wrap(np.asarray(values, dtype=backend.floatx()), False)


# ************************************************************ metric functions


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred` (same shapes), else 0.0."""
    t, p = _array(y_true), _array(y_pred)
    if t.shape != p.shape and np.broadcast_shapes(t.shape, p.shape) != t.shape:
        raise ValueError(f"Shapes {t.shape} and {p.shape} are incompatible: `accuracy` compares `y_true` and "
                         f"`y_pred` elementwise. Received: y_true.shape={t.shape}, y_pred.shape={p.shape}")
    if t.dtype != p.dtype:
        p = p.astype(t.dtype)
    return _floatx_result(np.equal(t, p))


def _binary_matches(y_true: Any, y_pred: Any, threshold: float = 0.5) -> np.ndarray:
    p = _array(y_pred)
    if p.dtype.kind not in "fc":
        p = p.astype(backend.floatx())
    p = (p > np.asarray(threshold, p.dtype)).astype(p.dtype)
    return np.equal(_array(y_true).astype(p.dtype), p).astype(backend.floatx())


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """mean over the last axis of `(y_pred > threshold) == y_true`."""
    return _floatx_result(_binary_matches(y_true, y_pred, threshold).mean(axis=-1))


def _sparse_categorical_matches(y_true: Any, y_pred: Any) -> np.ndarray:
    """tf_keras's `metrics_utils.sparse_categorical_matches`: argmax(y_pred) == y_true, in y_true's shape."""
    t, p = _array(y_true), _array(y_pred)
    org_shape = t.shape
    reshape = False
    if t.ndim == p.ndim:
        if t.shape[-1] != 1:
            raise ValueError(f"Can not squeeze dim[{t.ndim - 1}], expected a dimension of 1, got {t.shape[-1]}: "
                             "sparse labels must have the shape of `y_pred` without its last axis (or with a "
                             f"trailing 1). Received: y_true.shape={t.shape}, y_pred.shape={p.shape}")
        t = t.squeeze(-1)
        reshape = True
    pred = np.argmax(p, axis=-1)
    if pred.dtype != t.dtype:
        pred = pred.astype(t.dtype)
    matches = np.equal(t, pred).astype(backend.floatx())
    return matches.reshape(org_shape) if reshape else matches


def _in_top_k(predictions: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """`tf.math.in_top_k`: ties at the boundary count as in the top k; non-finite rows and bad targets are False."""
    n, c = predictions.shape
    targets = targets.astype(np.int64)
    in_range = (targets >= 0) & (targets < c)
    safe = np.where(in_range, targets, 0)
    target_pred = predictions[np.arange(n), safe]
    finite = np.isfinite(target_pred) & np.all(np.isfinite(predictions), axis=-1)
    more_probable = (predictions > target_pred[:, None]).sum(axis=-1)
    return in_range & finite & (more_probable < k)


def _sparse_top_k_categorical_matches(y_true: Any, y_pred: Any, k: int = 5) -> np.ndarray:
    t, p = _array(y_true), _array(y_pred)
    org_shape = t.shape
    if p.ndim > 2:
        p = p.reshape(-1, p.shape[-1])
    reshape = t.ndim > 1
    if reshape:
        t = t.reshape(-1)
    matches = _in_top_k(p, t.astype(np.int32), int(k)).astype(backend.floatx())
    return matches.reshape(org_shape) if reshape else matches


def categorical_accuracy(y_true, y_pred):
    """1.0 where argmax(y_true) == argmax(y_pred) over the last axis."""
    return _floatx_result(_sparse_categorical_matches(np.argmax(_array(y_true), axis=-1), y_pred))


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer label `y_true` equals argmax(y_pred); a trailing axis of 1 is squeezed."""
    matches = _sparse_categorical_matches(y_true, y_pred)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return _floatx_result(matches)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target's class is among the `k` highest predictions (ties count as in)."""
    return _floatx_result(_sparse_top_k_categorical_matches(np.argmax(_array(y_true), axis=-1), y_pred, k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the integer label is among the `k` highest predictions (ties count as in)."""
    return _floatx_result(_sparse_top_k_categorical_matches(y_true, y_pred, k))


def cosine_similarity(y_true, y_pred, axis=-1):
    """The metric's cosine similarity: +sum(l2_normalize(y_true) * l2_normalize(y_pred), axis) (the loss negates)."""
    return -losses_mod.cosine_similarity(y_true, y_pred, axis=axis)


acc = ACC = accuracy
bce = BCE = binary_crossentropy
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
logcosh = log_cosh
kld = KLD = kullback_leibler_divergence = kl_divergence
cosine_proximity = cosine_similarity

# ************************************************************ Metric base and reductions


class Metric:
    """Base class of stateful metrics.

    Args:
        name: name shown in logs (default: the snake_case class name, made unique: `precision`, `precision_1`).
        dtype: dtype of the state variables and result (default `floatx()`).

    Subclasses create their state with `add_weight` in `__init__` and implement `update_state` and `result`.
    Calling a metric updates it and returns the result.

    >>> m = Mean()
    >>> _ = m.update_state([1.0, 3.0])
    >>> float(m.result())
    2.0
    """

    def __init__(self, name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        validate_kwargs(type(self).__name__, kwargs)
        if name is None:
            prefix = to_snake_case(type(self).__name__)
            uid = backend.get_uid(prefix)
            name = prefix if uid == 1 else f"{prefix}_{uid - 1}"
        elif not isinstance(name, str):
            raise TypeError(f"Expected `name` to be a string. Received: name={name!r}")
        self._name = name
        self._dtype = np.dtype(dtype or backend.floatx()).name
        self._variables: List[Variable] = []
        self.stateful = True
        self.built = True

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def dtype(self) -> str:
        return self._dtype

    def add_weight(self, name: str, shape: Sequence[int] = (), initializer: Any = "zeros",
                   dtype: Any = None) -> Variable:
        """Create a state variable (zeros unless `initializer` is a number); reset to 0 by `reset_state`."""
        value = np.zeros(tuple(shape), dtype=dtype or self._dtype)
        if isinstance(initializer, (int, float)) and not isinstance(initializer, bool):
            value[...] = initializer
        var = Variable(value, trainable=False, name=name)
        self._variables.append(var)
        return var

    @property
    def variables(self) -> List[Variable]:
        return list(self._variables)

    weights = variables
    non_trainable_weights = variables

    @property
    def trainable_weights(self) -> List[Variable]:
        return []

    def get_weights(self) -> List[np.ndarray]:
        return [v.data.copy() for v in self._variables]

    def set_weights(self, weights: Sequence[Any]) -> None:
        weights = list(weights)
        if len(weights) != len(self._variables):
            raise ValueError(f"Metric '{self.name}' has {len(self._variables)} state variables, but "
                             f"{len(weights)} values were given. Received: {len(weights)} arrays")
        for v, w in zip(self._variables, weights):
            v.assign(np.asarray(w))

    def reset_state(self) -> None:
        """Set every state variable back to 0."""
        for v in self._variables:
            v.data[...] = 0

    reset_states = reset_state

    def update_state(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError("Must be implemented in subclasses.")

    def result(self) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError("Must be implemented in subclasses.")

    def merge_state(self, metrics: Sequence["Metric"]) -> None:
        """Add the state of other metrics of the same kind into this one."""
        for metric in metrics:
            if len(self._variables) != len(metric._variables):
                raise ValueError(f"Metric {metric} is not compatible with {self}")
            for var, other in zip(self._variables, metric._variables):
                var.data += other.data

    def __call__(self, *args: Any, **kwargs: Any) -> Tensor:
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> Dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        args = ",".join(f"{k}={v}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _broadcast_weights(sample_weight: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`tf.__internal__.ops.broadcast_weights`: a scalar, or the values' rank with each axis 1 or equal."""
    if sample_weight.shape == values.shape:
        return sample_weight
    if sample_weight.ndim != 0:
        if sample_weight.ndim != values.ndim or any(w not in (1, v) for w, v in zip(sample_weight.shape,
                                                                                 values.shape)):
            raise ValueError("weights can not be broadcast to values.")
    return np.broadcast_to(sample_weight, values.shape)


def _squeeze_or_expand_weights(values: np.ndarray, sample_weight: np.ndarray) -> np.ndarray:
    _, _, sw = squeeze_or_expand_dimensions(Tensor._wrap(values, False), None, Tensor._wrap(sample_weight, False))
    return sw.data


class Reduce(Metric):
    """Reduces values to a scalar: `'sum'`, `'sum_over_batch_size'` or `'weighted_mean'`."""

    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"
    WEIGHTED_MEAN = "weighted_mean"

    def __init__(self, reduction: str, name: Optional[str], dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        if reduction not in (self.SUM, self.SUM_OVER_BATCH_SIZE, self.WEIGHTED_MEAN):
            raise NotImplementedError(f'Reduction "{reduction}" not implemented. Expected "sum", "weighted_mean", '
                                      'or "sum_over_batch_size".')
        self.reduction = reduction
        self.total = self.add_weight("total")
        if reduction in (self.SUM_OVER_BATCH_SIZE, self.WEIGHTED_MEAN):
            self.count = self.add_weight("count")

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        """Add `values` (optionally weighted) to the running total (and count)."""
        dtype = np.dtype(self._dtype)
        try:
            values = np.asarray(values.data if isinstance(values, Tensor) else values, dtype=dtype)
        except (TypeError, ValueError):
            msg = f"The output of a metric function can only be a single Tensor. Received: {values}. "
            if isinstance(values, dict):
                msg += "To return a dict of values, implement a custom Metric subclass."
            raise RuntimeError(msg) from None
        sw = None
        if sample_weight is not None:
            sw = np.asarray(sample_weight.data if isinstance(sample_weight, Tensor) else sample_weight, dtype=dtype)
            sw = _squeeze_or_expand_weights(values, sw)
            try:
                sw = _broadcast_weights(sw, values)
            except ValueError:
                # weights of lower rank: reduce the values over their extra trailing axes first
                axes = tuple(range(sw.ndim, values.ndim))
                values = values.sum(axis=axes) if self.reduction == self.SUM else values.mean(axis=axes)
                values = values.astype(dtype, copy=False)
                try:
                    np.broadcast_shapes(values.shape, sw.shape)
                except ValueError:
                    raise ValueError(f"`sample_weight` of shape {sw.shape} cannot be broadcast to the metric "
                                     f"values of shape {values.shape}.") from None
            values = values * sw
        self.total.data[...] += values.sum(dtype=dtype)
        if self.reduction == self.SUM:
            return
        if self.reduction == self.SUM_OVER_BATCH_SIZE or sw is None:
            num_values = dtype.type(values.size)
        else:
            num_values = sw.sum(dtype=dtype)
        self.count.data[...] += num_values

    def result(self) -> Tensor:
        if self.reduction == self.SUM:
            return Tensor._wrap(self.total.data.copy(), False)
        total, count = self.total.data, self.count.data
        # tf.math.divide_no_nan
        value = total / count if count != 0 else np.zeros_like(total)
        return Tensor._wrap(np.asarray(value, dtype=self._dtype), False)


class Sum(Reduce):
    """The (weighted) sum of the given values."""

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(reduction=Reduce.SUM, name=name, dtype=dtype)


class Mean(Reduce):
    """The (weighted) mean of the given values: `sum(values * w) / sum(w)`."""

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(reduction=Reduce.WEIGHTED_MEAN, name=name, dtype=dtype)


def _fn_name(fn: Any) -> Optional[str]:
    return getattr(fn, "__name__", None)


class MeanMetricWrapper(Mean):
    """The mean of a function `fn(y_true, y_pred, **kwargs)` of the targets and outputs.

    Args:
        fn: the per-sample function (a metric or loss function).
        name: the logged name.
        dtype: state dtype.
        **kwargs: keyword arguments passed to `fn` (e.g. `threshold=0.7`).
    """

    def __init__(self, fn: Any, name: Optional[str] = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Evaluate `fn` on the batch and add its (weighted) values to the mean."""
        with no_grad():
            y_true = _tensor(y_true, self._dtype)
            y_pred = _tensor(y_pred, self._dtype)
            y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
            matches = self._fn(y_true, y_pred, **self._fn_kwargs)
        mask = getattr(matches, "_keras_mask", None)
        if mask is not None:
            mask = np.asarray(mask, dtype=self._dtype)
            if sample_weight is None:
                sample_weight = mask
            else:
                sw = np.asarray(_array(sample_weight), dtype=self._dtype)
                sample_weight = _squeeze_or_expand_weights(mask, sw) * mask
        super().update_state(matches, sample_weight=sample_weight)

    def get_config(self) -> Dict[str, Any]:
        config = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self._fn_kwargs.items()}
        if type(self) is MeanMetricWrapper:
            # NOTE: tf_keras stores the function object here; its h5 training_config writes the function's name.
            config["fn"] = _fn_name(self._fn)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Metric":
        config = dict(config)
        fn = config.pop("fn", None)
        if cls is MeanMetricWrapper:
            return cls(get(fn), **config)
        return cls(**config)


# ************************************************************ accuracy metrics


class Accuracy(MeanMetricWrapper):
    """How often `y_pred` equals `y_true` (elementwise)."""

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` matches the binary label `y_true`.

    Args:
        name, dtype: see `Metric`.
        threshold: the decision threshold (default 0.5).
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(_binary_matches_fn, name, dtype=dtype, threshold=threshold)


def _binary_matches_fn(y_true, y_pred, threshold=0.5):
    return _floatx_result(_binary_matches(y_true, y_pred, threshold))


_binary_matches_fn.__name__ = "binary_matches"


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) equals argmax of the one-hot `y_true`."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) equals the integer label `y_true`."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(_sparse_categorical_matches_fn, name, dtype=dtype)


def _sparse_categorical_matches_fn(y_true, y_pred):
    return _floatx_result(_sparse_categorical_matches(y_true, y_pred))


_sparse_categorical_matches_fn.__name__ = "sparse_categorical_matches"


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is in the top `k` predictions (default `k=5`)."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is in the top `k` predictions (default `k=5`)."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype=dtype, k=k)


# ************************************************************ loss metrics


class MeanSquaredError(MeanMetricWrapper):
    """Mean squared error between `y_true` and `y_pred`."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(mean_squared_error, name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean absolute error between `y_true` and `y_pred`."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(mean_absolute_error, name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean absolute percentage error."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(mean_absolute_percentage_error, name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean squared logarithmic error."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(mean_squared_logarithmic_error, name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of squared errors."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = _tensor(y_true, self._dtype)
        y_pred = _tensor(y_pred, self._dtype)
        y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
        error_sq = np.square(y_pred.data - y_true.data)
        super().update_state(error_sq, sample_weight=sample_weight)

    def result(self) -> Tensor:
        return Tensor._wrap(np.sqrt(super().result().data), False)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between `y_true` and `y_pred` along `axis`."""

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)


class LogCoshError(MeanMetricWrapper):
    """Mean of log(cosh(y_pred - y_true))."""

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(log_cosh, name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Mean Poisson loss."""

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(poisson, name, dtype=dtype)


class KLDivergence(MeanMetricWrapper):
    """Mean Kullback-Leibler divergence (tf_keras's default name `kullback_leibler_divergence`)."""

    def __init__(self, name: str = "kullback_leibler_divergence", dtype: Any = None):
        super().__init__(kl_divergence, name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy (see `losses.binary_crossentropy`)."""

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0):
        super().__init__(binary_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy (see `losses.categorical_crossentropy`)."""

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1):
        super().__init__(categorical_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical crossentropy (see `losses.sparse_categorical_crossentropy`)."""

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 ignore_class: Optional[int] = None, axis: int = -1):
        super().__init__(sparse_categorical_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


class Hinge(MeanMetricWrapper):
    """Mean hinge loss."""

    def __init__(self, name: str = "hinge", dtype: Any = None):
        super().__init__(hinge, name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Mean squared hinge loss."""

    def __init__(self, name: str = "squared_hinge", dtype: Any = None):
        super().__init__(squared_hinge, name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge loss."""

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None):
        super().__init__(categorical_hinge, name, dtype=dtype)


# ************************************************************ confusion-matrix metrics


def _parse_thresholds(thresholds: Any, default: float) -> List[float]:
    """tf_keras's `parse_init_thresholds`: None -> [default]; values must lie in [0, 1]."""
    if thresholds is not None:
        as_list = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
        invalid = [t for t in as_list if t is None or t < 0 or t > 1]
        if invalid:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
        return [float(t) for t in as_list]
    return [float(default)]


def _filter_top_k(x: np.ndarray, k: int) -> np.ndarray:
    """Keep the k largest entries of the last axis, set the others to NEG_INF (tf_keras's `_filter_top_k`)."""
    idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
    mask = np.zeros_like(x)
    np.put_along_axis(mask, idx, 1, axis=-1)
    return x * mask + NEG_INF * (1 - mask)


def _update_confusion_matrix(variables: Dict[str, Variable], y_true: Any, y_pred: Any, thresholds: List[float],
                             top_k: Optional[int] = None, class_id: Optional[int] = None,
                             sample_weight: Any = None) -> None:
    """tf_keras's `metrics_utils.update_confusion_matrix_variables` (single-label path):
    counts of `label is positive` x `prediction > threshold`, one count per threshold."""
    dtype = next(iter(variables.values())).dtype
    t = _tensor(y_true, dtype)
    p = _tensor(y_pred, dtype)
    if sample_weight is None:
        p, t = squeeze_or_expand_dimensions(p, t)
        sw = None
    else:
        p, t, sw_t = squeeze_or_expand_dimensions(p, t, _tensor(sample_weight, dtype))
        sw = sw_t.data
    t, p = t.data, p.data
    if t.shape != p.shape:
        raise ValueError(f"Shapes {t.shape} and {p.shape} are incompatible: `y_true` and `y_pred` must have the "
                         f"same shape. Received: y_true.shape={t.shape}, y_pred.shape={p.shape}")
    if top_k is not None:
        p = _filter_top_k(p, top_k)
    if class_id is not None:
        t = t[..., class_id, None]
        p = p[..., class_id, None]
    if sw is not None:
        sw = _broadcast_weights(sw, p)
    th = np.asarray(thresholds, dtype=dtype)[:, None]
    pred_is_pos = p.reshape(1, -1) > th
    label_is_pos = np.broadcast_to(t.reshape(1, -1).astype(bool), pred_is_pos.shape)
    w = None if sw is None else sw.reshape(1, -1)
    conds = {"tp": (label_is_pos, pred_is_pos), "fp": (~label_is_pos, pred_is_pos),
             "fn": (label_is_pos, ~pred_is_pos), "tn": (~label_is_pos, ~pred_is_pos)}
    for key, var in variables.items():
        label, pred = conds[key]
        both = (label & pred).astype(dtype)
        if w is not None:
            both = both * w
        var.data[...] += both.sum(axis=1, dtype=dtype)


class _ConfusionMatrixConditionCount(Metric):
    _condition = "tp"

    def __init__(self, thresholds: Any = None, name: Optional[str] = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self.accumulator = self.add_weight("accumulator", shape=(len(self.thresholds),))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        _update_confusion_matrix({self._condition: self.accumulator}, y_true, y_pred, self.thresholds,
                                 sample_weight=sample_weight)

    def result(self) -> Tensor:
        value = self.accumulator.data
        return Tensor._wrap((value[0] if len(self.thresholds) == 1 else value).copy(), False)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true positives (`y_pred > threshold` and `y_true` positive)."""

    _condition = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false positives."""

    _condition = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of true negatives."""

    _condition = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """The (weighted) number of false negatives."""

    _condition = "fn"


class _PrecisionRecall(Metric):
    _second = "fp"

    def __init__(self, thresholds: Any = None, top_k: Optional[int] = None, class_id: Optional[int] = None,
                 name: Optional[str] = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        n = len(self.thresholds)
        self.true_positives = self.add_weight("true_positives", shape=(n,))
        second = "false_positives" if self._second == "fp" else "false_negatives"
        setattr(self, second, self.add_weight(second, shape=(n,)))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulate the confusion counts; `y_true` is cast to bool, `y_pred` compared with each threshold."""
        _update_confusion_matrix({"tp": self._variables[0], self._second: self._variables[1]}, y_true, y_pred,
                                 self.thresholds, top_k=self.top_k, class_id=self.class_id,
                                 sample_weight=sample_weight)

    def result(self) -> Tensor:
        tp, other = self._variables[0].data, self._variables[1].data
        denom = tp + other
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(denom != 0, tp / np.where(denom != 0, denom, 1), 0).astype(self._dtype)
        return Tensor._wrap(value[0] if len(self.thresholds) == 1 else value, False)

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """Precision `tp / (tp + fp)` of `y_pred > threshold` against the binary labels.

    Args:
        thresholds: a float or a list of floats in [0, 1] (default 0.5; one result per threshold).
        top_k: only the top-k predictions of each sample count as positive.
        class_id: compute the metric for this class (last axis) only.
        name, dtype: see `Metric`.
    """

    _second = "fp"


class Recall(_PrecisionRecall):
    """Recall `tp / (tp + fn)`; arguments as `Precision`."""

    _second = "fn"


# ************************************************************ get / serialize / deserialize

_CLASSES = (Metric, Reduce, Sum, Mean, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
            MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError,
            CosineSimilarity, LogCoshError, Poisson, KLDivergence, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, Hinge, SquaredHinge, CategoricalHinge, TruePositives, FalsePositives,
            TrueNegatives, FalseNegatives, Precision, Recall)
_FUNCTIONS = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    hinge, squared_hinge, categorical_hinge, kl_divergence, poisson, log_cosh, cosine_similarity)}
_FUNCTIONS.update({"acc": accuracy, "ACC": accuracy, "bce": bce, "BCE": bce, "mse": mse, "MSE": mse, "mae": mae,
                   "MAE": mae, "mape": mape, "MAPE": mape, "msle": msle, "MSLE": msle, "logcosh": log_cosh,
                   "kld": kld, "KLD": kld, "kullback_leibler_divergence": kld, "cosine_proximity": cosine_similarity})
ALL_OBJECTS: Dict[str, Any] = {k: v for k, v in class_registry(_CLASSES).items() if k[:1].isupper()}
ALL_OBJECTS.update(_FUNCTIONS)


def serialize(metric: Any) -> Any:
    """A `Metric` serializes to tf_keras's 4-key dict (module `keras.metrics`); a function to its name."""
    if metric is None:
        return None
    if isinstance(metric, Metric):
        return serialize_keras_object(metric, module="keras.metrics")
    return serialize_keras_object(metric)


def deserialize(config: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    """A metric function or `Metric` from a name or a config dict (Keras 2 two-key or tf_keras four-key)."""
    if isinstance(config, dict) and config.get("class_name") == "function" and isinstance(config.get("config"),
                                                                                           str):
        config = config["config"]
    obj = deserialize_keras_object(config, ALL_OBJECTS, custom_objects=custom_objects,
                                   printable_module_name="metric function")
    if isinstance(config, str) and inspect.isclass(obj):
        return obj()
    return obj


def get(identifier: Any) -> Any:
    """Resolve a metric: a name (`'accuracy'`, `'mse'`, `'Precision'`), a config dict or a callable.

    Strings name functions (snake_case) or build a `Metric` with its defaults (CamelCase). `'accuracy'`/`'acc'` give
    the generic `accuracy` function here; `get_metric` picks the binary/categorical/sparse one as `compile` does.
    """
    if isinstance(identifier, (dict, str)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(f"Could not interpret metric identifier: {identifier}")


_ACCURACY = ("accuracy", "acc")
_CROSSENTROPY = ("crossentropy", "ce")


def _shape(x: Any) -> Optional[Tuple[int, ...]]:
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return tuple(x)
    return tuple(np.shape(x.data if isinstance(x, Tensor) else x))


def get_metric(identifier: Any, loss: Any = None, output_shape: Any = None, target_shape: Any = None) -> Any:
    """The `Metric` object `model.compile(metrics=[identifier])` creates (tf_keras's `_get_metric_object`).

    `'accuracy'`/`'acc'` (any case) become `binary_accuracy` when the output's last axis is 1,
    `sparse_categorical_accuracy` when the targets have a lower rank than the outputs (or a last axis of 1 while the
    outputs have more), else `categorical_accuracy`; `'crossentropy'`/`'ce'` likewise. tf_keras 2.21 decides from the
    shapes only. When no shapes are given, `loss` decides instead, as Keras 2.2 did (`binary_crossentropy` ->
    binary, `sparse_categorical_crossentropy` -> sparse, else categorical). The metric keeps the name written by the
    user (`'acc'` logs as `acc`). Functions are wrapped in `MeanMetricWrapper` named after the function.

    Args:
        identifier: a string, a function or a `Metric`.
        loss: the compiled loss (name, function or `Loss`), used only without shapes.
        output_shape: shape of the model output (or an array/Tensor).
        target_shape: shape of the targets (default: `output_shape`).
    """
    if identifier is None:
        return None
    lowered = identifier.lower() if isinstance(identifier, str) else None
    if lowered in _ACCURACY + _CROSSENTROPY:
        kind = _resolve_kind(loss, _shape(output_shape), _shape(target_shape))
        suffix = "accuracy" if lowered in _ACCURACY else "crossentropy"
        fn = ALL_OBJECTS[f"{kind}_{suffix}"]
    else:
        fn = get(identifier)
    if isinstance(fn, Metric):
        return fn
    if isinstance(identifier, str):
        name = identifier
    else:
        name = getattr(identifier, "__name__", None)
        if name is None:
            raise ValueError(f"Metric should be a callable, received: {identifier}")
    return MeanMetricWrapper(fn, name=name)


def _resolve_kind(loss: Any, p_shape: Optional[Tuple[int, ...]], t_shape: Optional[Tuple[int, ...]]) -> str:
    if p_shape:
        t_shape = t_shape if t_shape is not None else p_shape
        is_binary = p_shape[-1] == 1
        is_sparse = len(t_shape) < len(p_shape) or (bool(t_shape) and t_shape[-1] == 1 and p_shape[-1] > 1)
        return "binary" if is_binary else ("sparse_categorical" if is_sparse else "categorical")
    name = loss if isinstance(loss, str) else (getattr(loss, "__name__", None)
                                               or getattr(getattr(loss, "fn", None), "__name__", None))
    if isinstance(loss, str):
        resolved = losses_mod.get(loss)
        name = getattr(resolved, "__name__", None) or getattr(getattr(resolved, "fn", None), "__name__", None) or name
    if name == "binary_crossentropy":
        return "binary"
    if name == "sparse_categorical_crossentropy":
        return "sparse_categorical"
    return "categorical"
