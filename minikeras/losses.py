"""Loss functions and `Loss` classes (Keras 2's `keras.losses`, numerics of tf_keras 2.21).

Every function takes `(y_true, y_pred)` and returns a per-sample Tensor (the last axis reduced, as Keras does);
`y_true` may be a numpy array, a list or a Tensor, and is cast to `y_pred`'s dtype. The `Loss` classes reduce those
values with Keras's sample-weight broadcasting and its `reduction` ('auto' = 'sum_over_batch_size', 'sum', 'none').

Crossentropy numerics follow `tf_keras/src/backend.py`:

* With probabilities, `categorical_crossentropy` renormalizes `y_pred` over `axis`, clips it to
  `[epsilon, 1 - epsilon]` and takes `-sum(y_true * log(y_pred))`; `sparse_categorical_crossentropy` clips, takes the
  log and feeds it to a softmax crossentropy (which renormalizes); `binary_crossentropy` clips and takes
  `-(y log(p + eps) + (1 - y) log(1 - p + eps))` (epsilon both in the clip and inside the logs).
* tf_keras recovers the logits when `y_pred` was produced by a sigmoid/softmax (it reads `output._keras_logits`,
  which `keras.activations.sigmoid/softmax` set on their result, or the producing op) and then uses the stable
  logits formulas. minikeras does the same when it can see the producing op: `y_pred` computed by `ops.sigmoid`
  (for `binary_crossentropy`) or `ops.softmax` (for the categorical ones) while gradients are recorded, or a Tensor
  carrying a `_keras_logits` attribute. Under `no_grad()` the graph is not recorded and the probability path runs.
  The two paths agree except where `y_pred` saturates (the clip at 1e-7 bounds the probability path).
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np

from minikeras import backend
from minikeras.autograd import Tensor, ops
from minikeras.utils.generic_utils import (class_registry, deserialize_keras_object,
                                           serialize_keras_object)

# ************************************************************ helpers


def _to_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in "fc":
        arr = arr.astype(backend.floatx())
    return Tensor._wrap(arr, False)


def _cast(x: Any, dtype: Any) -> Tensor:
    """`tf.cast(x, dtype)`: differentiable for Tensors, a constant for arrays."""
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else x.astype(dtype)
    return Tensor._wrap(np.asarray(x).astype(dtype), False)


def _convert(y_true: Any, y_pred: Any) -> Tuple[Tensor, Tensor]:
    """`y_pred = tf.convert_to_tensor(y_pred); y_true = tf.cast(y_true, y_pred.dtype)`."""
    y_pred = _to_tensor(y_pred)
    return _cast(y_true, y_pred.dtype), y_pred


def _c(value: Any, like: Tensor) -> np.ndarray:
    """A Python constant in the tensor's dtype, as TF converts it next to a tensor."""
    return np.asarray(value, dtype=like.dtype)


def _check_broadcast(name: str, y_true: Tensor, y_pred: Tensor) -> None:
    try:
        np.broadcast_shapes(y_true.shape, y_pred.shape)
    except ValueError:
        raise ValueError(f"Incompatible shapes in `{name}`: `y_true` and `y_pred` must have the same shape or "
                         f"broadcast together. Received: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}") from None


_LOGITS_OPS = {"Sigmoid": ops.Sigmoid, "Softmax": ops.Softmax}


def _get_logits(output: Tensor, from_logits: bool, op_type: str, fn_name: str) -> Tuple[Tensor, bool]:
    """tf_keras's `backend._get_logits`: the logits behind a sigmoid/softmax output, when they can be found."""
    logits = getattr(output, "_keras_logits", None)
    if logits is None:
        ctx = getattr(output, "_ctx", None)
        if isinstance(ctx, _LOGITS_OPS[op_type]) and getattr(ctx, "parents", None):
            logits = ctx.parents[0]
    if logits is None:
        return output, from_logits
    if from_logits:
        warnings.warn(f'"`{fn_name}` received `from_logits=True`, but the `output` argument was produced by a '
                      f"{op_type} activation and thus does not represent logits. Was this intended?", stacklevel=3)
    return logits, True


def _smooth_binary(y_true: Tensor, label_smoothing: float) -> Tensor:
    if not label_smoothing:
        return y_true
    ls = _c(label_smoothing, y_true)
    return y_true * (1.0 - ls) + 0.5 * ls


# ************************************************************ regression losses


def mean_squared_error(y_true, y_pred):
    """mean((y_pred - y_true)**2, axis=-1)."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("mean_squared_error", y_true, y_pred)
    return ops.square(y_pred - y_true).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred - y_true|, axis=-1)."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("mean_absolute_error", y_true, y_pred)
    return ops.abs(y_pred - y_true).mean(axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|(y_true - y_pred) / max(|y_true|, epsilon)|, axis=-1)."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("mean_absolute_percentage_error", y_true, y_pred)
    diff = ops.abs((y_true - y_pred) / ops.maximum(ops.abs(y_true), _c(backend.epsilon(), y_pred)))
    return _c(100.0, y_pred) * diff.mean(axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("mean_squared_logarithmic_error", y_true, y_pred)
    eps = _c(backend.epsilon(), y_pred)
    first_log = ops.log(ops.maximum(y_pred, eps) + 1.0)
    second_log = ops.log(ops.maximum(y_true, eps) + 1.0)
    return ops.square(first_log - second_log).mean(axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """mean(0.5 e**2 if |e| <= delta else delta |e| - 0.5 delta**2, axis=-1), e = y_pred - y_true.

    As tf_keras, both inputs are cast to `floatx()` (not to `y_pred`'s dtype).
    """
    dtype = np.dtype(backend.floatx())
    y_pred = _cast(_to_tensor(y_pred), dtype)
    y_true = _cast(y_true, dtype)
    _check_broadcast("huber", y_true, y_pred)
    d = _c(delta, y_pred)
    error = y_pred - y_true
    abs_error = ops.abs(error)
    half = _c(0.5, y_pred)
    return ops.where(abs_error.data <= d, half * ops.square(error), d * abs_error - half * np.square(d)).mean(axis=-1)


# NOTE: tf_keras computes `tf.math.log(2.0)` in float32 and casts it: in float64 the constant is log(2) rounded to
# float32, not the float64 log(2).
_LOG2_F32 = float(np.log(np.float32(2.0)))


def log_cosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed as x + softplus(-2x) - log(2)."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("log_cosh", y_true, y_pred)
    x = y_pred - y_true
    return (x + ops.softplus(x * _c(-2.0, x)) - _c(_LOG2_F32, x)).mean(axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis); l2_normalize uses max(sum(x**2), 1e-12)."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("cosine_similarity", y_true, y_pred)

    def l2_normalize(x: Tensor) -> Tensor:
        square_sum = ops.square(x).sum(axis=axis, keepdims=True)
        return x / ops.sqrt(ops.maximum(square_sum, _c(1e-12, x)))

    return -(l2_normalize(y_true) * l2_normalize(y_pred)).sum(axis=axis)


# ************************************************************ hinge losses


def _maybe_convert_labels(y_true: Tensor) -> Tensor:
    """{0, 1} labels become {-1, 1}; anything else is left alone (tf_keras's `_maybe_convert_labels`)."""
    data = y_true.data
    if np.all((data == 0) | (data == 1)):
        return y_true * 2.0 - 1.0
    return y_true


def hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0), axis=-1), with {0, 1} labels mapped to {-1, 1}."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("hinge", y_true, y_pred)
    y_true = _maybe_convert_labels(y_true)
    return ops.maximum(1.0 - y_true * y_pred, _c(0.0, y_pred)).mean(axis=-1)


def squared_hinge(y_true, y_pred):
    """mean(max(1 - y_true * y_pred, 0)**2, axis=-1), with {0, 1} labels mapped to {-1, 1}."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("squared_hinge", y_true, y_pred)
    y_true = _maybe_convert_labels(y_true)
    return ops.square(ops.maximum(1.0 - y_true * y_pred, _c(0.0, y_pred))).mean(axis=-1)


def categorical_hinge(y_true, y_pred):
    """max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0) over the last axis."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("categorical_hinge", y_true, y_pred)
    pos = (y_true * y_pred).sum(axis=-1)
    neg = ((1.0 - y_true) * y_pred).max(axis=-1)
    return ops.maximum(neg - pos + 1.0, _c(0.0, y_pred))


# ************************************************************ probabilistic losses


def kl_divergence(y_true, y_pred):
    """sum(y_true * log(y_true / y_pred), axis=-1), both clipped to [epsilon, 1]."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("kl_divergence", y_true, y_pred)
    eps = _c(backend.epsilon(), y_pred)
    y_true = ops.clip(y_true, eps, _c(1.0, y_pred))
    y_pred = ops.clip(y_pred, eps, _c(1.0, y_pred))
    return (y_true * ops.log(y_true / y_pred)).sum(axis=-1)


def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)."""
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("poisson", y_true, y_pred)
    return (y_pred - y_true * ops.log(y_pred + _c(backend.epsilon(), y_pred))).mean(axis=-1)


def _sigmoid_xent_with_logits(labels: Tensor, logits: Tensor) -> Tensor:
    """`tf.nn.sigmoid_cross_entropy_with_logits`: max(x, 0) - x z + log(1 + exp(-|x|)), as TF writes it.

    The two `where`s are TF's (not `relu`/`abs`), so the gradient at x == 0 is TF's: sigmoid(0) - z.
    """
    cond = logits.data >= 0
    zeros = _c(0.0, logits)
    relu_logits = ops.where(cond, logits, zeros)
    neg_abs_logits = ops.where(cond, -logits, logits)
    return relu_logits - logits * labels + ops.softplus(neg_abs_logits)


def _binary_crossentropy_backend(target: Tensor, output: Tensor, from_logits: bool) -> Tensor:
    output, from_logits = _get_logits(output, from_logits, "Sigmoid", "binary_crossentropy")
    if from_logits:
        return _sigmoid_xent_with_logits(target, output)
    eps = _c(backend.epsilon(), output)
    output = ops.clip(output, eps, _c(1.0, output) - eps)
    # NOTE: tf_keras adds epsilon inside the logs as well as clipping: `log(output + epsilon())`.
    bce = target * ops.log(output + eps)
    bce = bce + (1.0 - target) * ops.log(1.0 - output + eps)
    return -bce


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """mean over `axis` of the elementwise binary crossentropy.

    Args:
        from_logits: whether `y_pred` holds logits (else probabilities).
        label_smoothing: labels become `y * (1 - label_smoothing) + 0.5 * label_smoothing`.
        axis: the axis the mean is taken over.
    """
    y_true, y_pred = _convert(y_true, y_pred)
    _check_broadcast("binary_crossentropy", y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    return _binary_crossentropy_backend(y_true, y_pred, from_logits).mean(axis=axis)


def _check_axis(axis: Any) -> None:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """-sum(y_true * log(y_pred), axis), with one-hot (or soft) targets of the same shape as `y_pred`.

    Probabilities are renormalized over `axis` and clipped to `[epsilon, 1 - epsilon]`; logits go through a fused
    log-softmax. `label_smoothing` turns targets into `y * (1 - ls) + ls / num_classes`.
    """
    _check_axis(axis)
    y_true, y_pred = _convert(y_true, y_pred)
    if y_pred.ndim and y_pred.shape[-1] == 1:
        warnings.warn("In loss categorical_crossentropy, expected y_pred.shape to be (batch_size, num_classes) with "
                      f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
                      "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=2)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"Shapes {y_true.shape} and {y_pred.shape} are incompatible: `categorical_crossentropy` "
                         "expects one-hot targets with one column per class, of the same shape as `y_pred`. "
                         "For integer class labels use `sparse_categorical_crossentropy`. "
                         f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}")
    if label_smoothing:
        ls = _c(label_smoothing, y_pred)
        num_classes = _c(y_true.shape[axis], y_pred)
        y_true = y_true * (1.0 - ls) + ls / num_classes
    output, from_logits = _get_logits(y_pred, from_logits, "Softmax", "categorical_crossentropy")
    if from_logits:
        # tf.nn.softmax_cross_entropy_with_logits(labels, logits, axis)
        return -(y_true * ops.log_softmax(output, axis=axis)).sum(axis=axis)
    output = output / output.sum(axis=axis, keepdims=True)
    eps = _c(backend.epsilon(), output)
    output = ops.clip(output, eps, _c(1.0, output) - eps)
    return -(y_true * ops.log(output)).sum(axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
    """Categorical crossentropy with integer class labels.

    `y_true` holds class indices of shape `y_pred.shape` without `axis` (or with a trailing 1). Probabilities are
    clipped to `[epsilon, 1 - epsilon]` and their log goes through a softmax crossentropy, as tf_keras does.
    With `ignore_class`, those positions get a loss of 0 and the result carries a `_keras_mask` so that the `Loss`
    classes average over the other positions only.
    """
    _check_axis(axis)
    y_pred = _to_tensor(y_pred)
    labels = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if labels.dtype.kind == "f":
        if labels.size and not np.all(np.isfinite(labels)):
            raise ValueError("Expected integer class labels for `sparse_categorical_crossentropy`. "
                             "Received: y_true with non-finite values")
    labels = labels.astype(np.int64)
    output, from_logits = _get_logits(y_pred, from_logits, "Softmax", "sparse_categorical_crossentropy")
    if not from_logits:
        eps = _c(backend.epsilon(), output)
        output = ops.log(ops.clip(output, eps, _c(1.0, output) - eps))
    rank = output.ndim
    if rank == 0:
        raise ValueError("`sparse_categorical_crossentropy` expects `y_pred` of rank >= 1 (the class axis). "
                         f"Received: y_pred.shape={y_pred.shape}")
    axis = int(axis) % rank
    if axis != rank - 1:
        perm = list(range(axis)) + list(range(axis + 1, rank)) + [axis]
        output = output.transpose(perm)
    out_shape = output.shape
    num_classes = out_shape[-1]
    if labels.ndim != rank - 1:
        labels = labels.reshape(-1)
        output = output.reshape(-1, num_classes)
    if labels.shape != output.shape[:-1]:
        raise ValueError(f"`labels.shape` must equal `logits.shape` except for the last dimension. Received: "
                         f"labels.shape={labels.shape} and logits.shape={output.shape} "
                         f"(y_true.shape={np.shape(y_true)}, y_pred.shape={y_pred.shape})")
    valid = None if ignore_class is None else labels != int(ignore_class)
    checked = labels if valid is None else labels[valid]
    bad = checked[(checked < 0) | (checked >= num_classes)]
    if bad.size:
        raise ValueError(f"Received a label value of {int(bad[0])} which is outside the valid range of "
                         f"[0, {num_classes}). Label values: {' '.join(str(int(v)) for v in labels.reshape(-1))}")
    log_probs = ops.log_softmax(output, axis=-1)
    safe = labels if valid is None else np.where(valid, labels, 0)
    flat_lp = log_probs.reshape(-1, num_classes)
    picked = flat_lp[np.arange(flat_lp.shape[0]), safe.reshape(-1)].reshape(labels.shape)
    res = -picked
    if valid is not None:
        res = ops.where(valid, res, _c(0.0, res))
        res = res.reshape(out_shape[:-1])
        res._keras_mask = valid.reshape(out_shape[:-1])
        return res
    if res.shape != tuple(out_shape[:-1]) and len(out_shape) >= 3:
        res = res.reshape(out_shape[:-1])
    return res


# ************************************************************ what each loss expects of its targets

# `Model.fit` checks the targets against the model output before the loss runs, so a wrong target fails with a
# message that names the fix instead of a broadcasting error (or a silently wrong loss). Each loss declares what it
# needs in its `expected_targets` attribute (a `Loss` subclass or a loss function may set it too):
SAME_SHAPE = "same_shape"        # targets of the output's shape (a trailing axis of 1 on either side is squeezed)
ONE_HOT = "one_hot"              # same shape, the last axis being one column per class
CLASS_INDICES = "class_indices"  # integer class labels in [0, num_classes), the output's shape without its last axis

binary_crossentropy.expected_targets = SAME_SHAPE
categorical_crossentropy.expected_targets = ONE_HOT
sparse_categorical_crossentropy.expected_targets = CLASS_INDICES


# ************************************************************ aliases (tf_keras's names)

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber
bce = BCE = binary_crossentropy
cosine_proximity = cosine = cosine_similarity

# ************************************************************ reduction and sample weights


class Reduction:
    """Keras's `keras.losses.Reduction` (ReductionV2) keys."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls) -> Tuple[str, ...]:
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key: Any) -> None:
        if key not in cls.all():
            raise ValueError(f'Invalid Reduction Key: {key}. Expected keys are "{cls.all()}"')


ReductionV2 = Reduction


def squeeze_or_expand_dimensions(y_pred: Tensor, y_true: Optional[Tensor] = None,
                                 sample_weight: Optional[Tensor] = None):
    """tf_keras's `losses_utils.squeeze_or_expand_dimensions` (static shapes).

    A trailing axis of 1 on one side only is squeezed so `y_true` and `y_pred` have equal ranks; `sample_weight` is
    squeezed or expanded by one axis to the rank of `y_pred`.
    """
    if y_true is not None:
        rank_diff = y_pred.ndim - y_true.ndim
        if rank_diff != 1 or (y_pred.ndim and y_pred.shape[-1] == 1):
            if rank_diff == 1 and y_pred.shape[-1] == 1:
                y_pred = y_pred.squeeze(-1)
            elif rank_diff == -1 and y_true.shape[-1] == 1:
                y_true = y_true.squeeze(-1)
    if sample_weight is None:
        return y_pred, y_true
    if sample_weight.ndim == 0:
        return y_pred, y_true, sample_weight
    if sample_weight.ndim - y_pred.ndim == 1:
        if sample_weight.shape[-1] != 1:
            raise ValueError(f"Can not squeeze dim[{sample_weight.ndim - 1}], expected a dimension of 1, got "
                             f"{sample_weight.shape[-1]}: `sample_weight` of shape {sample_weight.shape} does not "
                             f"fit values of shape {y_pred.shape}")
        sample_weight = sample_weight.squeeze(-1)
    elif y_pred.ndim - sample_weight.ndim == 1:
        sample_weight = sample_weight.expand_dims(-1)
    return y_pred, y_true, sample_weight


def _weights_tensor(sample_weight: Any, dtype: Any) -> Tensor:
    if isinstance(sample_weight, Tensor):
        return sample_weight if sample_weight.dtype == dtype else sample_weight.astype(dtype)
    return Tensor._wrap(np.asarray(sample_weight, dtype=dtype), False)


def compute_weighted_loss(losses: Tensor, sample_weight: Any = None, reduction: str = Reduction.SUM_OVER_BATCH_SIZE
                          ) -> Tensor:
    """tf_keras's `losses_utils.compute_weighted_loss`: weight the per-sample losses, then reduce.

    `sum_over_batch_size` divides the weighted sum by the number of loss elements (not by the sum of the weights).
    """
    Reduction.validate(reduction)
    if reduction == Reduction.AUTO:
        reduction = Reduction.SUM_OVER_BATCH_SIZE
    losses = _to_tensor(losses)
    sw = _weights_tensor(1.0 if sample_weight is None else sample_weight, losses.dtype)
    losses, _, sw = squeeze_or_expand_dimensions(losses, None, sw)
    try:
        np.broadcast_shapes(losses.shape, sw.shape)
    except ValueError:
        raise ValueError(f"`sample_weight` of shape {sw.shape} cannot be broadcast to the loss values of shape "
                         f"{losses.shape}. Received: sample_weight.shape={tuple(np.shape(sample_weight))}") from None
    weighted = losses * sw
    if reduction == Reduction.NONE:
        return weighted
    total = weighted.sum()
    if reduction == Reduction.SUM:
        return total
    n = weighted.size
    # tf.math.divide_no_nan: an empty batch gives 0, not NaN
    return total / _c(n, total) if n else total * _c(0.0, total)


def _apply_valid_mask(losses: Tensor, sample_weight: Any, mask: Any, reduction: str) -> Any:
    """tf_keras's `losses_utils.apply_valid_mask`: masked entries get weight 0, the rest are rescaled so a mean
    reduction averages over the valid entries only."""
    if mask is None:
        return sample_weight
    m = np.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(losses.dtype)
    if reduction in (Reduction.AUTO, Reduction.SUM_OVER_BATCH_SIZE):
        with np.errstate(divide="ignore", invalid="ignore"):
            m = m * (np.asarray(m.size, losses.dtype) / m.sum(dtype=losses.dtype))
    mask_t = Tensor._wrap(m.astype(losses.dtype, copy=False), False)
    if sample_weight is None:
        return mask_t
    sw = _weights_tensor(sample_weight, losses.dtype)
    mask_t, _, sw = squeeze_or_expand_dimensions(mask_t, None, sw)
    return sw * mask_t


# ************************************************************ Loss classes


class Loss:
    """Base class of losses: `loss(y_true, y_pred, sample_weight=None)` returns the reduced loss Tensor.

    Args:
        reduction: `'auto'` (default; `'sum_over_batch_size'`), `'sum_over_batch_size'`, `'sum'` or `'none'`.
        name: optional name.

    Subclasses implement `call(y_true, y_pred)` returning per-sample values. `sample_weight` is broadcast as Keras
    does: a scalar, a vector of one weight per sample, or a tensor of the values' shape (a trailing axis of 1 is
    squeezed, a missing one added). A `_keras_mask` on `y_pred` (or on the values) zeroes masked entries and, for
    the mean reductions, averages over the unmasked ones.

    >>> import numpy as np
    >>> float(MeanSquaredError()(np.array([[0., 1.]]), np.array([[1., 1.]])).data)
    0.5
    """

    def __init__(self, reduction: str = Reduction.AUTO, name: Optional[str] = None):
        Reduction.validate(reduction)
        self.reduction = reduction
        self.name = name

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        losses = self.call(y_true, y_pred)
        in_mask = getattr(y_pred, "_keras_mask", None)
        out_mask = getattr(losses, "_keras_mask", None)
        if in_mask is not None and out_mask is not None:
            mask = np.asarray(getattr(in_mask, "data", in_mask)).astype(bool) & np.asarray(out_mask).astype(bool)
        else:
            mask = in_mask if in_mask is not None else out_mask
        reduction = self._get_reduction()
        sample_weight = _apply_valid_mask(losses, sample_weight, mask, reduction)
        return compute_weighted_loss(losses, sample_weight, reduction=reduction)

    def call(self, y_true: Any, y_pred: Any) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError("Must be implemented in subclasses.")

    def _get_reduction(self) -> str:
        return Reduction.SUM_OVER_BATCH_SIZE if self.reduction == Reduction.AUTO else self.reduction

    def get_config(self) -> Dict[str, Any]:
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Loss":
        return cls(**config)


class LossFunctionWrapper(Loss):
    """Wraps a loss function `fn(y_true, y_pred, **kwargs)` into a `Loss`.

    As tf_keras, when both `y_true` and `y_pred` are Tensors a trailing axis of 1 on one side is squeezed first
    (`(batch,)` targets against `(batch, 1)` outputs).
    """

    def __init__(self, fn: Any, reduction: str = Reduction.AUTO, name: Optional[str] = None, **kwargs: Any):
        super().__init__(reduction=reduction, name=name)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        if isinstance(y_pred, Tensor) and isinstance(y_true, Tensor):
            y_pred, y_true = squeeze_or_expand_dimensions(y_pred, y_true)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> Dict[str, Any]:
        config = dict(self._fn_kwargs)
        config["fn"] = getattr(self.fn, "__name__", None)
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Loss":
        config = dict(config)
        fn_name = config.pop("fn", None)
        if cls is LossFunctionWrapper:
            config["fn"] = get(fn_name)
        return cls(**config)


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squares of errors: `mean((y_true - y_pred)**2)`."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "mean_squared_error"):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors: `mean(|y_true - y_pred|)`."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "mean_absolute_error"):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """`100 * mean(|(y_true - y_pred) / y_true|)`."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "mean_absolute_percentage_error"):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """`mean((log(y_true + 1) - log(y_pred + 1))**2)`."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "mean_squared_logarithmic_error"):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction)


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary crossentropy between labels in [0, 1] and predicted probabilities (or logits).

    Args:
        from_logits: `y_pred` holds logits (default False: probabilities).
        label_smoothing: in [0, 1]; labels become `y * (1 - ls) + 0.5 * ls`.
        axis: axis the per-sample mean is taken over (default -1).
        reduction, name: see `Loss`.
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = Reduction.AUTO, name: str = "binary_crossentropy"):
        super().__init__(binary_crossentropy, name=name, reduction=reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy between one-hot (or soft) labels and predicted class probabilities (or logits).

    Args:
        from_logits: `y_pred` holds logits (default False: probabilities).
        label_smoothing: labels become `y * (1 - ls) + ls / num_classes`.
        axis: the class axis (default -1).
        reduction, name: see `Loss`.
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str = Reduction.AUTO, name: str = "categorical_crossentropy"):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy between integer class labels and predicted class probabilities (or logits).

    Args:
        from_logits: `y_pred` holds logits (default False: probabilities).
        ignore_class: optional label whose positions are left out of the loss and of the mean.
        reduction, name: see `Loss`.
    """

    def __init__(self, from_logits: bool = False, ignore_class: Optional[int] = None,
                 reduction: str = Reduction.AUTO, name: str = "sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction, from_logits=from_logits,
                         ignore_class=ignore_class)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along `axis` (-1 for parallel vectors, 1 for opposite ones)."""

    def __init__(self, axis: int = -1, reduction: str = Reduction.AUTO, name: str = "cosine_similarity"):
        super().__init__(cosine_similarity, reduction=reduction, name=name, axis=axis)


class Hinge(LossFunctionWrapper):
    """`mean(max(1 - y_true * y_pred, 0))`, labels in {-1, 1} (or {0, 1}, converted)."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "hinge"):
        super().__init__(hinge, name=name, reduction=reduction)


class SquaredHinge(LossFunctionWrapper):
    """`mean(max(1 - y_true * y_pred, 0)**2)`, labels in {-1, 1} (or {0, 1}, converted)."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "squared_hinge"):
        super().__init__(squared_hinge, name=name, reduction=reduction)


class CategoricalHinge(LossFunctionWrapper):
    """`max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "categorical_hinge"):
        super().__init__(categorical_hinge, name=name, reduction=reduction)


class Poisson(LossFunctionWrapper):
    """`mean(y_pred - y_true * log(y_pred + epsilon))`."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "poisson"):
        super().__init__(poisson, name=name, reduction=reduction)


class LogCosh(LossFunctionWrapper):
    """`mean(log(cosh(y_pred - y_true)))`."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "log_cosh"):
        super().__init__(log_cosh, name=name, reduction=reduction)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))`, both clipped to [epsilon, 1]."""

    def __init__(self, reduction: str = Reduction.AUTO, name: str = "kl_divergence"):
        super().__init__(kl_divergence, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for `|error| <= delta`, linear beyond.

    Args:
        delta: the point where the loss changes from quadratic to linear (default 1.0).
        reduction, name: see `Loss` (the default name is tf_keras's `'huber_loss'`).
    """

    def __init__(self, delta: float = 1.0, reduction: str = Reduction.AUTO, name: str = "huber_loss"):
        super().__init__(huber, name=name, reduction=reduction, delta=delta)


# ************************************************************ get / serialize / deserialize

_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredLogarithmicError, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
            CosineSimilarity, Hinge, SquaredHinge, CategoricalHinge, Poisson, LogCosh, KLDivergence, Huber)
_FUNCTIONS = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, hinge, squared_hinge,
    categorical_hinge, kl_divergence, poisson, huber, log_cosh, cosine_similarity)}
_FUNCTIONS.update({"mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape, "MAPE": mape, "msle": msle,
                   "MSLE": msle, "kld": kld, "KLD": kld, "kullback_leibler_divergence": kld, "logcosh": log_cosh,
                   "huber_loss": huber, "bce": bce, "BCE": bce, "cosine_proximity": cosine_similarity,
                   "cosine": cosine_similarity})
# NOTE: snake_case strings name the functions ('mean_squared_error' is the function, as in tf_keras); only the
# CamelCase names build Loss objects. So the class registry keeps CamelCase names only.
ALL_OBJECTS: Dict[str, Any] = {k: v for k, v in class_registry(_CLASSES).items() if k[:1].isupper()}
ALL_OBJECTS.update(_FUNCTIONS)


def serialize(loss: Any) -> Any:
    """A loss function serializes to its name; a `Loss` object to tf_keras's 4-key dict
    `{"module": "keras.losses", "class_name", "config", "registered_name": None}`."""
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return serialize_keras_object(loss, module="keras.losses")
    return serialize_keras_object(loss)


def deserialize(name: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    """A loss function or `Loss` object from a name, a Keras 2 `{class_name, config}` dict or a 4-key dict.

    A CamelCase class name given as a string builds the object with its defaults (`'MeanSquaredError'`).
    """
    if isinstance(name, dict) and name.get("class_name") == "function" and isinstance(name.get("config"), str):
        name = name["config"]  # tf_keras/Keras 3 write functions as {"class_name": "function", "config": "<name>"}
    obj = deserialize_keras_object(name, ALL_OBJECTS, custom_objects=custom_objects,
                                   printable_module_name="loss function")
    if isinstance(name, str) and inspect.isclass(obj):
        return obj()
    return obj


def get(identifier: Any) -> Any:
    """Resolve a loss: None, a name (`'mse'`, `'categorical_crossentropy'`, `'Huber'`), a config dict, or a callable.

    >>> get("mse").__name__
    'mean_squared_error'
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(f"Could not interpret loss function identifier: {identifier}")


def is_categorical_crossentropy(loss: Any) -> bool:
    """True for `'categorical_crossentropy'`, the function, a `CategoricalCrossentropy` or a wrapper of it."""
    return (isinstance(loss, CategoricalCrossentropy)
            or (isinstance(loss, LossFunctionWrapper) and loss.fn is categorical_crossentropy)
            or getattr(loss, "__name__", None) == "categorical_crossentropy"
            or (isinstance(loss, str) and loss == "categorical_crossentropy"))


def expected_targets(loss: Any) -> Optional[str]:
    """What `loss` (a function or a `Loss`) declares about its targets: `SAME_SHAPE`, `ONE_HOT`, `CLASS_INDICES`,
    or None when it declares nothing (then the targets are not checked before the loss runs)."""
    declared = getattr(loss, "expected_targets", None)
    if declared is None and isinstance(loss, LossFunctionWrapper):
        declared = getattr(loss.fn, "expected_targets", None)
    return declared
