"""Callbacks: hooks into `fit`/`evaluate`/`predict` (Keras 2's `keras.callbacks`).

`fit` always adds a `History` (returned by `fit`, also `model.history`) and, unless `verbose=0`, a `ProgbarLogger`;
both come after the user's callbacks, so a callback that writes into the epoch `logs` (as `ReduceLROnPlateau` and
`LearningRateScheduler` add `lr`) is seen by History and by the progress bar.
"""
from __future__ import annotations

import collections
import csv
import os
import warnings
from typing import Any, Callable, Dict, Iterable, List, Optional

import numpy as np

from minikeras.utils.progbar import Progbar, print_msg

__all__ = ["Callback", "CallbackList", "BaseLogger", "History", "ProgbarLogger", "TerminateOnNaN", "EarlyStopping",
           "ModelCheckpoint", "ReduceLROnPlateau", "CSVLogger", "LambdaCallback", "LearningRateScheduler",
           "RemoteMonitor", "TensorBoard", "BackupAndRestore"]


def _default(method: Callable) -> Callable:
    """Mark a hook as the do-nothing default, so the loop can skip batch hooks nobody overrides (as tf.keras)."""
    method._is_default = True  # type: ignore[attr-defined]
    return method


def _is_default(method: Any) -> bool:
    return getattr(method, "_is_default", False)


class Callback:
    """Base class of callbacks: override the hooks you need.

    Attributes:
        params: dict of training parameters (`verbose`, `epochs`, `steps`).
        model: the `Model` being trained, evaluated or used for prediction.

    Every hook receives `logs`, a dict of Python floats: at the end of a training batch, the metrics averaged over the
    epoch so far (`{'loss': 0.2, 'accuracy': 0.7}`); at the end of an epoch, the epoch results plus `val_*` entries.

    >>> class StopAtLoss(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if logs["loss"] < 0.1:
    ...             self.model.stop_training = True
    """

    def __init__(self) -> None:
        self.validation_data = None
        self.model: Any = None
        self.params: Dict[str, Any] = {}

    def set_params(self, params: Dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self.model = model

    @_default
    def on_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """A backwards compatibility alias for `on_train_batch_begin`."""

    @_default
    def on_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """A backwards compatibility alias for `on_train_batch_end`."""

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the start of an epoch (`epoch` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the end of an epoch with the epoch's metrics and, if validation ran, `val_*` metrics."""

    @_default
    def on_train_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the beginning of a training batch in `fit`."""
        self.on_batch_begin(batch, logs)

    @_default
    def on_train_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the end of a training batch in `fit`; `logs` holds the metrics aggregated over the epoch."""
        self.on_batch_end(batch, logs)

    @_default
    def on_test_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the beginning of a batch in `evaluate` (and of a validation batch in `fit`)."""

    @_default
    def on_test_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the end of a batch in `evaluate` (and of a validation batch in `fit`)."""

    @_default
    def on_predict_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the beginning of a batch in `predict`."""

    @_default
    def on_predict_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the end of a batch in `predict`; `logs['outputs']` holds the batch's outputs."""

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the beginning of training."""

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the end of training with the last epoch's logs."""

    def on_test_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the beginning of evaluation or validation."""

    def on_test_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the end of evaluation or validation with its results."""

    def on_predict_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the beginning of prediction."""

    def on_predict_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        """Called at the end of prediction."""

    def _implements_train_batch_hooks(self) -> bool:
        return not (_is_default(self.on_batch_begin) and _is_default(self.on_batch_end)
                    and _is_default(self.on_train_batch_begin) and _is_default(self.on_train_batch_end))

    def _implements_test_batch_hooks(self) -> bool:
        return not (_is_default(self.on_test_batch_begin) and _is_default(self.on_test_batch_end))

    def _implements_predict_batch_hooks(self) -> bool:
        return not (_is_default(self.on_predict_batch_begin) and _is_default(self.on_predict_batch_end))


def _flatten_callbacks(callbacks: Any) -> List[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if isinstance(callbacks, CallbackList):
        return list(callbacks.callbacks)
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError("Expected `callbacks` to be a list of `keras.callbacks.Callback` instances. "
                        f"Received: callbacks={callbacks!r}")
    out: List[Callback] = []
    for cb in callbacks:
        if isinstance(cb, (list, tuple)):
            out.extend(_flatten_callbacks(cb))
        elif isinstance(cb, Callback):
            out.append(cb)
        else:
            raise TypeError("Expected every entry of `callbacks` to be a `keras.callbacks.Callback` instance. "
                            f"Received: {cb!r} of type {type(cb).__name__}")
    return out


class CallbackList:
    """Calls a list of callbacks together (tf.keras's `CallbackList`).

    Args:
        callbacks: list of `Callback` instances.
        add_history: add a `History` callback if none is in the list.
        add_progbar: add a `ProgbarLogger(count_mode="steps")` if none is in the list.
        model: the model the callbacks are attached to.
        **params: training parameters passed to every callback's `set_params` (`verbose`, `epochs`, `steps`).
    """

    def __init__(self, callbacks: Any = None, add_history: bool = False, add_progbar: bool = False,
                 model: Any = None, **params: Any):
        self.callbacks: List[Callback] = _flatten_callbacks(callbacks)
        self._add_default_callbacks(add_history, add_progbar)
        self.model = None
        self.params: Dict[str, Any] = {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history: bool, add_progbar: bool) -> None:
        self._progbar: Optional[ProgbarLogger] = None
        self._history: Optional[History] = None
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger(count_mode="steps")
            self.callbacks.append(self._progbar)

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_params(self, params: Dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def set_model(self, model: Any) -> None:
        self.model = model
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    # ------------------------------------------------------------------ dispatch
    def _call(self, hook: str, *args: Any, logs: Optional[Dict[str, Any]] = None) -> None:
        # NOTE: one dict shared by all callbacks, as in tf.keras: what one callback adds, the next one sees.
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            getattr(cb, hook)(*args, logs)

    def _call_batch(self, mode: str, hook: str, batch: int, logs: Optional[Dict[str, Any]]) -> None:
        check = {"train": "_implements_train_batch_hooks", "test": "_implements_test_batch_hooks",
                 "predict": "_implements_predict_batch_hooks"}[mode]
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            if getattr(cb, check)():
                getattr(cb, f"on_{mode}_batch_{hook}")(batch, logs)

    def on_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("train", "begin", batch, logs)

    def on_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("train", "end", batch, logs)

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("train", "begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("train", "end", batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("test", "begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("test", "end", batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("predict", "begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call_batch("predict", "end", batch, logs)

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._call("on_predict_end", logs=logs)


class BaseLogger(Callback):
    """Accumulates epoch averages of the batch logs weighted by `logs['size']` (Keras 1's logger, kept for
    compatibility; `fit` itself logs metric objects that are already epoch averages).

    Args:
        stateful_metrics: names of metrics logged as-is rather than averaged.
    """

    def __init__(self, stateful_metrics: Optional[Iterable[str]] = None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])
        self.seen = 0
        self.totals: Dict[str, Any] = {}

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        logs = logs or {}
        batch_size = logs.get("size", 0)
        num_steps = logs.get("num_steps", 1)
        self.seen += batch_size * num_steps
        for k, v in logs.items():
            if k in self.stateful_metrics:
                self.totals[k] = v
            else:
                self.totals[k] = self.totals.get(k, 0) + v * batch_size

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        if logs is None:
            return
        for k in self.params.get("metrics", []):
            if k in self.totals:
                logs[k] = self.totals[k] if k in self.stateful_metrics else self.totals[k] / self.seen


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite, keeping the last good weights.

    tf.keras stops after the bad batch has already been applied, so its model ends with NaN weights. minikeras's
    `fit` keeps a copy of the weights and optimizer state from the start of every batch, and this callback puts it
    back: the model ends with the weights from before the batch whose loss was NaN.

    >>> cb = TerminateOnNaN()
    """

    def on_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not np.isfinite(loss):
            print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
            restore = getattr(self.model, "_restore_batch_start_state", None)
            if restore is not None:
                restore()


class ProgbarLogger(Callback):
    """Prints metrics to stdout: the `Epoch 1/3` header and a `Progbar` per epoch (added by `fit` when `verbose`).

    Args:
        count_mode: `"steps"` (what `fit` uses) or `"samples"` (count `logs['size']`).
        stateful_metrics: names of metrics shown as-is; the model's metrics are always added (they are already
            running averages).
    """

    def __init__(self, count_mode: str = "samples", stateful_metrics: Optional[Iterable[str]] = None):
        super().__init__()
        if count_mode == "samples":
            self.use_steps = False
        elif count_mode == "steps":
            self.use_steps = True
        else:
            raise ValueError(f'Unknown `count_mode`: {count_mode}. Expected values are ["samples", "steps"]')
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self.seen = 0
        self.progbar: Optional[Progbar] = None
        self.target: Optional[int] = None
        self.verbose = 1
        self.epochs = 1
        self._call_batch_hooks = True
        self._called_in_fit = False

    def set_params(self, params: Dict[str, Any]) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        if self.use_steps and "steps" in params:
            self.target = params["steps"]
        elif not self.use_steps and "samples" in params:
            self.target = params["samples"]
        else:
            self.target = None
        self._call_batch_hooks = self.verbose == 1 or self.target is None

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._called_in_fit = True

    def on_test_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._batch_update_progbar(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        if not self._called_in_fit:
            self._batch_update_progbar(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._batch_update_progbar(batch, None)

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._finalize_progbar(logs)

    def on_test_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._finalize_progbar(logs)

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._called_in_fit = False

    def _reset_progbar(self) -> None:
        self.seen = 0
        self.progbar = None

    def _maybe_init_progbar(self) -> None:
        if self.model is not None:
            self.stateful_metrics = self.stateful_metrics.union(
                m.name for m in getattr(self.model, "metrics", []) or [])
        if self.progbar is None:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, stateful_metrics=self.stateful_metrics,
                                   unit_name="step" if self.use_steps else "sample")
        self.progbar._update_stateful_metrics(self.stateful_metrics)

    def _implements_train_batch_hooks(self) -> bool:
        return self._call_batch_hooks

    def _implements_test_batch_hooks(self) -> bool:
        return self._call_batch_hooks

    def _implements_predict_batch_hooks(self) -> bool:
        return self._call_batch_hooks

    def _batch_update_progbar(self, batch: int, logs: Optional[Dict[str, Any]]) -> None:
        logs = dict(logs or {})
        self._maybe_init_progbar()
        if self.use_steps:
            self.seen = batch + 1
        else:
            batch_size = logs.pop("size", 0)
            num_steps = logs.pop("num_steps", 1)
            logs.pop("batch", None)
            self.seen += num_steps * batch_size
        if self.verbose == 1:
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize_progbar(self, logs: Optional[Dict[str, Any]]) -> None:
        logs = {k: v for k, v in (logs or {}).items() if k not in ("size", "num_steps", "batch")}
        if self.progbar is None:
            self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list(logs.items()), finalize=True)


class History(Callback):
    """Records the epoch logs: `history.history` maps each metric name to its list of per-epoch values.

    `fit` adds one automatically and returns it.

    Attributes:
        history: dict such as `{'loss': [...], 'accuracy': [...], 'val_loss': [...], 'val_accuracy': [...]}`.
        epoch: list of epoch indices (from 0, offset by `initial_epoch`).
        params: `{'verbose': ..., 'epochs': ..., 'steps': ...}`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: Dict[str, List[Any]] = {}
        self.epoch: List[int] = []

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


def _monitor_op(mode: str, monitor: str, cls_name: str, max_if: Callable[[str], bool]) -> Callable:
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{cls_name} mode {mode} is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    if mode == "min":
        return np.less
    if mode == "max":
        return np.greater
    return np.greater if max_if(monitor) else np.less


class EarlyStopping(Callback):
    """Stops training when a monitored metric has stopped improving.

    Args:
        monitor: quantity to monitor (default `"val_loss"`).
        min_delta: minimum change that counts as an improvement (default 0).
        patience: epochs with no improvement after which training stops (default 0).
        verbose: 0 (silent) or 1 (print when stopping or restoring).
        mode: `"auto"`, `"min"` or `"max"`; `"auto"` maximizes names ending in `acc`, `accuracy` or `auc`.
        baseline: training stops if the model does not improve on this value.
        restore_best_weights: restore the weights of the best epoch at the end of training (default False).
        start_from_epoch: epochs to wait before monitoring starts (default 0).

    >>> callback = EarlyStopping(monitor="loss", patience=3)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: Optional[float] = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.min_delta = abs(min_delta)
        self.wait = 0
        self.stopped_epoch = 0
        self.restore_best_weights = restore_best_weights
        self.best_weights: Optional[List[np.ndarray]] = None
        self.start_from_epoch = start_from_epoch
        self.best = np.inf
        self.best_epoch = 0
        self.monitor_op = _monitor_op(mode, monitor, "EarlyStopping",
                                      lambda m: m.endswith("acc") or m.endswith("accuracy") or m.endswith("auc"))
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = np.inf if self.monitor_op is np.less else -np.inf
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs: Optional[Dict[str, Any]]) -> Any:
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs.keys())}", stacklevel=2)
        return value

    def _is_improvement(self, monitor_value: float, reference_value: float) -> bool:
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))


class ModelCheckpoint(Callback):
    """Saves the model (`model.save`) or its weights (`model.save_weights`) at the end of epochs or every N batches.

    Args:
        filepath: path, may hold `str.format` fields filled from `epoch` (from 1) and the epoch logs, e.g.
            `"weights.{epoch:02d}-{val_loss:.2f}.h5"`; with an integer `save_freq`, `batch` (from 1) too.
        monitor: metric name for `save_best_only` (default `"val_loss"`).
        verbose: 0 (silent) or 1 (print a message at each save decision).
        save_best_only: only save when `monitor` improves on the best value so far.
        save_weights_only: save with `model.save_weights(filepath, overwrite=True)` instead of
            `model.save(filepath, overwrite=True)`.
        mode: `"auto"`, `"min"` or `"max"`; `"auto"` maximizes names containing `acc` or starting with `fmeasure`.
        save_freq: `"epoch"` or an integer number of batches.
        initial_value_threshold: initial "best" value for `save_best_only`.

    >>> checkpoint = ModelCheckpoint("ckpt.{epoch:02d}.h5", save_weights_only=True)
    """

    def __init__(self, filepath: Any, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq: Any = "epoch", options: Any = None,
                 initial_value_threshold: Optional[float] = None, **kwargs: Any):
        super().__init__()
        period = kwargs.pop("period", None)
        kwargs.pop("load_weights_on_restart", None)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to ModelCheckpoint: {kwargs}")
        if options is not None:
            raise NotImplementedError("ModelCheckpoint's `options` (TensorFlow's checkpoint and SavedModel save "
                                      "options) has no meaning for minikeras's .h5/.keras files and is not supported. "
                                      f"Received: options={options!r}")
        self.monitor = monitor
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (not isinstance(save_freq, (int, np.integer)) or isinstance(save_freq, bool)
                                     or save_freq <= 0):
            raise ValueError(f'Unrecognized save_freq: {save_freq}. Expected save_freq are "epoch" or integer')
        self.save_freq = save_freq
        self.period = 1 if period is None else int(period)
        self.epochs_since_last_save = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._current_epoch = 0
        self.monitor_op = _monitor_op(mode, monitor, "ModelCheckpoint",
                                      lambda m: "acc" in m or m.startswith("fmeasure"))
        if initial_value_threshold is not None:
            self.best = initial_value_threshold
        else:
            self.best = -np.inf if self.monitor_op is np.greater else np.inf

    def _implements_train_batch_hooks(self) -> bool:
        return self.save_freq != "epoch"

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        """Check now that the file format can hold the model, so that no epoch of training is lost to a save error
        at its end (the error is the one the save would raise)."""
        # NOTE: minikeras.engine.training imports this module and saving imports the engine: a real cycle
        from minikeras import saving

        saving.check_savable(self.model, self.filepath, weights_only=self.save_weights_only)

    def on_train_batch_end(self, batch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self._current_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        self.epochs_since_last_save += 1
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        add_batches = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _save_model(self, epoch: int, batch: Optional[int], logs: Optional[Dict[str, Any]]) -> None:
        logs = logs or {}
        if not (isinstance(self.save_freq, (int, np.integer)) or self.epochs_since_last_save >= self.period):
            return
        self.epochs_since_last_save = 0
        filepath = self._get_file_path(epoch, batch, logs)
        dirname = os.path.dirname(filepath)
        if dirname and not os.path.exists(dirname):
            os.makedirs(dirname, exist_ok=True)
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing "
                          f"directory: {filepath}")
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, skipping.", stacklevel=3)
                return
            if self.monitor_op(current, self.best):
                if self.verbose > 0:
                    print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                              f"{current:.5f}, saving model to {filepath}")
                self.best = current
                self._save_handler(filepath)
            elif self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
        else:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            self._save_handler(filepath)

    def _save_handler(self, filepath: str) -> None:
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)

    def _get_file_path(self, epoch: int, batch: Optional[int], logs: Dict[str, Any]) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}') from None


def _get_lr(optimizer: Any) -> float:
    """The optimizer's current learning rate as a float (a `learning_rate`/`lr` float, Tensor or Variable)."""
    if optimizer is None:
        raise ValueError("The model has no optimizer: call `compile()` before using a learning-rate callback.")
    for attr in ("learning_rate", "lr"):
        if hasattr(optimizer, attr):
            value = getattr(optimizer, attr)
            if callable(value) and not hasattr(value, "data"):
                raise TypeError("This callback needs a fixed learning rate, but the optimizer uses a learning-rate "
                                f"schedule. Received: learning_rate={value!r}")
            return float(np.asarray(getattr(value, "data", value)))
    raise ValueError('Optimizer must have a "lr" attribute.')


def _set_lr(optimizer: Any, value: float) -> None:
    """Set the learning rate through the optimizer's `learning_rate` (or Keras 2 `lr`) attribute/setter."""
    setattr(optimizer, "learning_rate" if hasattr(optimizer, "learning_rate") else "lr", float(value))


class ReduceLROnPlateau(Callback):
    """Reduces the learning rate when a metric has stopped improving.

    Args:
        monitor: quantity to monitor (default `"val_loss"`).
        factor: `new_lr = lr * factor` (must be < 1; default 0.1).
        patience: epochs with no improvement before the rate is reduced (default 10).
        verbose: 0 (quiet) or 1 (print when reducing).
        mode: `"auto"`, `"min"` or `"max"`; `"auto"` maximizes names containing `acc`.
        min_delta: threshold for measuring the new optimum (default 1e-4).
        cooldown: epochs to wait after a reduction before resuming normal operation (default 0).
        min_lr: lower bound on the learning rate (default 0).

    Adds the current learning rate to the epoch logs as `lr`.

    >>> reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0, **kwargs: Any):
        super().__init__()
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use `min_delta` instead.",
                          stacklevel=2)
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to ReduceLROnPlateau: {kwargs}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Got {factor}")
        self.monitor = monitor
        self.factor = factor
        self.min_lr = min_lr
        self.min_delta = min_delta
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0
        self.best = 0.0
        self.mode = mode
        self.monitor_op: Optional[Callable[[float, float], bool]] = None
        self._reset()

    def _reset(self) -> None:
        if self.mode not in ("auto", "min", "max"):
            warnings.warn(f"Learning rate reduction mode {self.mode} is unknown, fallback to auto mode.",
                          stacklevel=3)
            self.mode = "auto"
        if self.mode == "min" or (self.mode == "auto" and "acc" not in self.monitor):
            self.monitor_op = lambda a, b: np.less(a, b - self.min_delta)
            self.best = np.inf
        else:
            self.monitor_op = lambda a, b: np.greater(a, b + self.min_delta)
            self.best = -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        logs = logs if logs is not None else {}
        logs["lr"] = np.float32(_get_lr(self.model.optimizer))
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs.keys())}", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = np.float32(_get_lr(self.model.optimizer))
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_lr(self.model.optimizer, new_lr)
                    if self.verbose > 0:
                        print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: an `epoch` column, then the log keys in sorted order.

    Args:
        filename: path of the CSV file, e.g. `"run/log.csv"`.
        separator: one-character delimiter (default `","`).
        append: append to an existing file (no second header) instead of overwriting it.

    >>> csv_logger = CSVLogger("training.log")
    """

    def __init__(self, filename: Any, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer: Any = None
        self.keys: Optional[List[str]] = None
        self.append_header = True
        self.csv_file: Any = None

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r", encoding="utf-8") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        self.keys = None
        self.writer = None
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        logs = logs or {}

        def handle_value(k: Any) -> Any:
            is_zero_dim_ndarray = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not is_zero_dim_ndarray:
                return f"\"[{', '.join(map(str, k))}]\""
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(["val_" + k for k in self.keys])
        if self.writer is None:
            sep = self.sep

            class CustomDialect(csv.excel):
                delimiter = sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs: Optional[Dict[str, Any]] = None) -> None:
        if self.csv_file is not None:
            self.csv_file.close()
        self.writer = None


class LambdaCallback(Callback):
    """Builds a callback from functions, each called positionally as the hook would be.

    Args:
        on_epoch_begin, on_epoch_end: `f(epoch, logs)`.
        on_batch_begin, on_batch_end: `f(batch, logs)` (training batches).
        on_train_begin, on_train_end: `f(logs)`.
        **kwargs: any other hook by name, e.g. `on_test_batch_end=f`.

    >>> batch_print = LambdaCallback(on_batch_begin=lambda batch, logs: print(batch))
    """

    def __init__(self, on_epoch_begin: Optional[Callable] = None, on_epoch_end: Optional[Callable] = None,
                 on_batch_begin: Optional[Callable] = None, on_batch_end: Optional[Callable] = None,
                 on_train_begin: Optional[Callable] = None, on_train_end: Optional[Callable] = None, **kwargs: Any):
        super().__init__()
        self.__dict__.update(kwargs)
        for name, fn in (("on_epoch_begin", on_epoch_begin), ("on_epoch_end", on_epoch_end),
                         ("on_batch_begin", on_batch_begin), ("on_batch_end", on_batch_end),
                         ("on_train_begin", on_train_begin), ("on_train_end", on_train_end)):
            if fn is not None:
                setattr(self, name, fn)


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate at the start of every epoch from `schedule(epoch, lr)`.

    Args:
        schedule: function `(epoch index from 0, current lr as float) -> new lr (float)`; a one-argument
            `schedule(epoch)` is accepted too (old API).
        verbose: 0 (quiet) or 1 (print each update).

    Adds the learning rate to the epoch logs as `lr`.

    >>> scheduler = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.9)
    """

    def __init__(self, schedule: Callable, verbose: int = 0):
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not (hasattr(optimizer, "learning_rate") or hasattr(optimizer, "lr")):
            raise ValueError('Optimizer must have a "lr" attribute.')
        lr = _get_lr(optimizer)
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:  # the old one-argument API
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (float, np.floating)):
            raise ValueError(f'The output of the "schedule" function should be float. Got: {lr}')
        _set_lr(optimizer, float(lr))
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        if logs is not None:
            logs["lr"] = np.float32(_get_lr(self.model.optimizer))


class RemoteMonitor(Callback):
    """Not implemented: Keras's RemoteMonitor posts epoch logs to an HTTP server."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError("Keras's `RemoteMonitor` callback (HTTP posting of logs) is not implemented in "
                                  "minikeras; use `LambdaCallback(on_epoch_end=...)` or `CSVLogger`.")


class TensorBoard(Callback):
    """Not implemented: Keras's TensorBoard callback writes TensorFlow event files."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError("Keras's `TensorBoard` callback writes TensorFlow event files and is not "
                                  "implemented in minikeras; use `CSVLogger` or `History`.")


class BackupAndRestore(Callback):
    """Not implemented: Keras's BackupAndRestore writes TensorFlow checkpoints."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError("Keras's `BackupAndRestore` callback (TensorFlow checkpoints) is not implemented "
                                  "in minikeras; use `ModelCheckpoint` with `save_weights_only=True`.")
