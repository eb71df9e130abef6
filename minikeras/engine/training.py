"""`Model`: the training and inference API shared by every model (Keras 2's `keras.engine.training`).

`compile` resolves the optimizer, losses and metrics; `fit`, `evaluate`, `predict`, `train_on_batch`,
`test_on_batch` and `predict_on_batch` follow tf.keras 2.21 (`tf_keras/src/engine/training.py`): the same defaults,
log names, progress output and errors. The data plumbing lives in `data_adapter`, the loss and metric containers
in `compile_utils`, as in Keras 2.
"""
from __future__ import annotations

import itertools
import math
import numbers
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import callbacks as callbacks_module
from minikeras.autograd import Tensor, no_grad
from minikeras.engine import compile_utils, data_adapter
from minikeras.engine.base_layer import Layer
from minikeras.engine.compile_utils import LossesContainer, MetricsContainer
from minikeras.engine.data_adapter import (check_data_cardinality, check_positive_int, class_weight_to_sample_weight,
                                           flatten_data, get_verbosity, train_validation_split, unflatten,
                                           unpack_x_y_sample_weight)
from minikeras.legacy import interfaces as legacy_interfaces
from minikeras.utils.layer_utils import print_summary


def flatten_metrics_in_order(logs: Dict[str, Any], metrics_names: Sequence[str]) -> Any:
    """The `logs` dict as a list in `metrics_names` order (a scalar if there is one entry), as tf.keras returns."""
    results = [logs[name] for name in metrics_names if name in logs]
    results += [logs[key] for key in sorted(logs) if key not in metrics_names]
    return results[0] if len(results) == 1 else results


def _to_float(value: Any) -> float:
    return float(np.asarray(getattr(value, "data", value)))


class _TrainingState:
    """A copy of what one training batch changes (see `Model._capture_state`)."""

    __slots__ = ("flats", "weights", "optimizer", "rnn_states")

    def __init__(self, flats: List[Tuple[np.ndarray, np.ndarray]], weights: List[Tuple[Any, np.ndarray]],
                 optimizer: Any, rnn_states: List[Tuple[Any, Any, Any]]):
        self.flats = flats
        self.weights = weights
        self.optimizer = optimizer
        self.rnn_states = rnn_states


def _stateful_layers(model: Any) -> List[Any]:
    """The stateful recurrent layers inside `model` (Bidirectional's two directions included)."""
    found, stack, seen = [], list(getattr(model, "_layers", [])), set()
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if getattr(layer, "stateful", False) and hasattr(layer, "_states"):
            found.append(layer)
        stack.extend(getattr(layer, "_layers", []))
    return found


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
        if cls is Model and (args or {"inputs", "outputs", "input", "output"} & set(kwargs)):
            # NOTE: minikeras.engine.functional imports this module: a real cycle (Functional is a Model)
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
        # NOTE: minikeras.engine.functional imports this module: a real cycle (Functional is a Model)
        from minikeras.engine.functional import Functional

        if cls is Model and isinstance(config, dict) and "input_layers" in config:
            return Functional.from_config(config, custom_objects=custom_objects)
        return super().from_config(config)

    @property
    def output_names(self) -> Optional[List[str]]:
        """Names used for per-output losses, metrics and their logs (tf.keras). None here: a subclassed model's
        outputs are named `output_1`, `output_2`, ...; `Sequential` names its output after its last layer."""
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
        kwargs.pop("pss_evaluation_shards", None)
        if "experimental_steps_per_execution" in kwargs:
            value = kwargs.pop("experimental_steps_per_execution")
            steps_per_execution = steps_per_execution or value
        kwargs.pop("from_serialized", None)
        kwargs.pop("cloning", None)
        kwargs.pop("experimental_run_tf_function", None)
        distribute = kwargs.pop("distribute", None)
        if distribute is not None:
            raise ValueError("minikeras runs on one CPU process and has no distribution strategies: `compile` does "
                             f"not accept `distribute`. Received: distribute={distribute!r}")
        target_tensors = kwargs.pop("target_tensors", None)
        if target_tensors is not None:
            raise ValueError("`target_tensors` (fixed targets wired into Keras 2's graph) is not supported: pass "
                             f"the targets to `fit` as `y`. Received: target_tensors={target_tensors!r}")
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
            spe = check_positive_int("steps_per_execution", steps_per_execution)
        opt = compile_utils.check_compile_identifiers(optimizer, loss, metrics, weighted_metrics)
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
        # NOTE: `self.weights` would walk the layers for the trainable weights a second time
        for w in trainable:
            w.grad = None
        for w in self.non_trainable_weights:
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
    def _capture_state(self) -> "_TrainingState":
        """What a failed batch must put back: the weights, the optimizer's state and the stateful RNN states.

        The trained weights live in the optimizer's flat buffers once it is built, so they cost one copy per buffer;
        the optimizer copies its own state (`get_state`, one copy per slot buffer).
        """
        opt = self.optimizer
        flats: List[Tuple[np.ndarray, np.ndarray]] = []
        covered = set()
        for buffer, pairs in (opt._flat_weight_buffers() if hasattr(opt, "_flat_weight_buffers") else []):
            if all(v.data is view for v, view in pairs):
                flats.append((buffer, buffer.copy()))
                covered.update(id(v) for v, _ in pairs)
        weights = [(w, w.data.copy()) for w in self.weights if id(w) not in covered]
        opt_state = opt.get_state() if hasattr(opt, "get_state") else None
        rnn_states = []
        for layer in _stateful_layers(self):
            states = layer._states
            rnn_states.append((layer, states, None if states is None else
                               [None if s is None else s.data.copy() for s in states]))
        return _TrainingState(flats, weights, opt_state, rnn_states)

    def _restore_state(self, state: Any) -> None:
        if state is None:
            return
        for buffer, saved in state.flats:
            np.copyto(buffer, saved)
        for w, value in state.weights:
            if w.data.shape == value.shape:
                np.copyto(w.data, value)
        for w in self.weights:
            w.grad = None
        if state.optimizer is not None and self.optimizer is not None:
            self.optimizer.set_state(state.optimizer)
        for layer, states, values in state.rnn_states:
            layer.states = states
            for s, value in zip(states or [], values or []):
                if s is not None and s.data.shape == value.shape:
                    np.copyto(s.data, value)

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
            batch_size = check_positive_int(what, batch_size)
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
        xs = flatten_data(x, "x")
        if xs is None:
            raise ValueError("Expected input data `x`. Received: x=None")
        ys = flatten_data(y, "y")
        sws = flatten_data(sample_weight, "sample_weight")
        n = check_data_cardinality(xs, ys, sws)
        return xs, ys, sws, n

    def _ensure_built(self, xs: List[np.ndarray]) -> None:
        if not self.built:
            self._build_for_data([(None,) + tuple(x.shape[1:]) for x in xs])

    def _build_for_data(self, input_shapes: List[Tuple[Any, ...]]) -> None:
        """Hook: build the model from the shapes of the data passed to `fit`/`evaluate`/`*_on_batch` (batch axis
        None), before the first batch. Does nothing here: a subclassed model builds on its first call. Models that
        can build from an input shape alone (`Sequential`) override it."""
        del input_shapes

    # ------------------------------------------------------------------ fit
    def fit(self, x: Any = None, y: Any = None, batch_size: Optional[int] = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0, validation_data: Any = None,
            shuffle: Any = True, class_weight: Optional[Dict[int, float]] = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: Optional[int] = None, validation_steps: Optional[int] = None,
            validation_batch_size: Optional[int] = None, validation_freq: Any = 1, max_queue_size: int = 10,
            workers: int = 1, use_multiprocessing: bool = False, **kwargs: Any) -> Any:
        """Train the model for a fixed number of epochs.

        Args:
            x: input array (or list of arrays for several inputs), or a Python generator or
                `keras.utils.Sequence` yielding batches `(x, y)` or `(x, y, sample_weight)`.
            y: target array(s); not with a generator or Sequence (its batches carry the targets).
            batch_size: samples per gradient update (default 32; the input layer's batch size if it fixes one);
                not used with a generator or Sequence (their batches have their own size).
            epochs: index of the last epoch (training runs epochs `initial_epoch` .. `epochs - 1`).
            verbose: `'auto'` (= 1), 0 (silent), 1 (progress bar), 2 (one line per epoch). With 1, a terminal gets
                Keras's live bar (`2/2 [==============================] - 0s 41ms/step - loss: 0.6939`); when
                stdout is not a terminal (a log file, a pipe) only the finished bar is written, one line per epoch.
                With 2: `2/2 - 0s - loss: 0.6939 - 41ms/epoch - 20ms/step`.
            callbacks: list of `keras.callbacks.Callback`; `History` and `ProgbarLogger` are added automatically.
            validation_split: fraction in [0, 1) of the data held out for validation: the *last* samples,
                taken before shuffling (as Keras). Ignored when `validation_data` is given.
            validation_data: `(x_val, y_val)`, `(x_val, y_val, val_sample_weight)`, or a generator or Sequence
                (a generator is read on from where the last validation stopped: give `validation_steps`).
            shuffle: shuffle the training samples before each epoch (draws from `minikeras.backend.rng()`, so
                `backend.set_random_seed` makes it reproducible); `'batch'` shuffles in batch-sized chunks. With a
                Sequence, the order of its batches is shuffled (each batch once per epoch); a generator is never
                shuffled.
            class_weight: `{class index: weight}` for the training loss (not validation).
            sample_weight: per-sample (or per-timestep, `(samples, steps)`) weights for the training loss.
            initial_epoch: epoch at which to start (to resume a run).
            steps_per_epoch: batches per epoch (arrays are cycled, reshuffled at each pass); default one pass
                (a generator without it is read to its end in the first epoch, which fixes the epoch's length).
                When a generator or Sequence runs out before `steps_per_epoch * epochs` batches, a warning says so
                and training stops after that epoch.
            validation_steps: number of validation batches (default all).
            validation_batch_size: default `batch_size`.
            validation_freq: validate every this many epochs, or on the epochs (from 1) listed.
            max_queue_size, workers, use_multiprocessing: how a generator or Sequence is read. With `workers` > 1
                a Sequence's batches are fetched by that many threads, up to `max_queue_size` ahead, and still come
                in order; a generator is read ahead by one background thread (a generator cannot run in two threads
                at once). `use_multiprocessing=True` warns and uses threads: minikeras does not start processes.

            nb_epoch: Keras 1's name of `epochs`: honoured with Keras 2's warning.

        Returns:
            A `History`: `history.history` maps `'loss'`, each metric name and the `'val_'` versions to per-epoch
            values; `history.epoch` lists the epochs.
        """
        if "nb_epoch" in kwargs:  # Keras 2.x's legacy support, with its warning
            warnings.warn("The `nb_epoch` argument in `fit` has been renamed `epochs`.", stacklevel=2)
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments: {kwargs}")
        self._assert_compile_was_called()
        verbose = get_verbosity(verbose)
        epochs = check_positive_int("epochs", epochs, allow_zero=True)
        initial_epoch = check_positive_int("initial_epoch", initial_epoch, allow_zero=True)
        if steps_per_epoch is not None:
            steps_per_epoch = check_positive_int("steps_per_epoch", steps_per_epoch)
        if validation_steps is not None:
            validation_steps = check_positive_int("validation_steps", validation_steps)
        if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) or \
                not 0.0 <= float(validation_split) < 1.0:
            raise ValueError("Expected `validation_split` to be a float in [0, 1). "
                             f"Received: validation_split={validation_split!r}")
        if not (isinstance(validation_freq, (int, np.integer)) and validation_freq > 0) and \
                not isinstance(validation_freq, (list, tuple, set)):
            raise ValueError("Expected `validation_freq` to be a list or int. Received: "
                             f"validation_freq={validation_freq} of the type {type(validation_freq)}.")
        max_queue_size = check_positive_int("max_queue_size", max_queue_size)
        workers = check_positive_int("workers", workers)
        if data_adapter.is_generator_or_sequence(x):
            if validation_split and validation_data is None:
                raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays, found following "
                                 f"types in the input: [{type(x)}]")
            handler = data_adapter.DataHandler.from_generator(
                x, y, sample_weight, steps=steps_per_epoch, shuffle=shuffle, class_weight=class_weight,
                max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing)
        else:
            xs, ys, sws, n = self._standardize(x, y, sample_weight)
            if validation_split and validation_data is None:
                (xs, ys, sws), (vxs, vys, vsws) = train_validation_split([xs, ys, sws], validation_split)
                validation_data = (unflatten(vxs), unflatten(vys), unflatten(vsws))
                n = int(xs[0].shape[0])
            if n == 0:
                raise ValueError("Expected input data to be non-empty.")
            batch_size = self._resolve_batch_size(batch_size, n, steps_per_epoch)
            if class_weight is not None:
                if ys is None:
                    raise ValueError("`class_weight` needs targets `y`. Received: y=None")
                sws = class_weight_to_sample_weight(class_weight, ys, sws)
            handler = data_adapter.DataHandler.from_arrays(xs, ys, sws, batch_size, shuffle, steps_per_epoch,
                                                           repeat=True)
            self._ensure_built(xs)
        val_handler = None
        if validation_data is not None:
            vx, vy, vsw = unpack_x_y_sample_weight(validation_data)
            val_handler = self._make_handler(vx, vy, vsw, validation_batch_size or batch_size,
                                             validation_steps, max_queue_size, workers, use_multiprocessing,
                                             "validation_batch_size", what="validation data")

        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                      model=self, verbose=verbose, epochs=epochs,
                                                      steps=handler.inferred_steps)
        terminate_on_nan = any(isinstance(cb, callbacks_module.TerminateOnNaN) for cb in callbacks)
        spe = self._steps_per_execution
        self.stop_training = False
        callbacks.on_train_begin()
        training_logs = None
        logs: Optional[Dict[str, float]] = None
        nan_warned = False
        try:
            for epoch, batches in handler.enumerate_epochs(initial_epoch, epochs):
                self.reset_metrics()
                callbacks.on_epoch_begin(epoch)
                start = 0
                epoch_ran = False
                while True:
                    group = list(itertools.islice(batches, spe))
                    if not group:
                        break
                    epoch_ran = True
                    self._batch_start_state = self._capture_state()
                    try:
                        callbacks.on_train_batch_begin(start)
                        for data in group:
                            if not self.built:  # a generator's first batch
                                self._ensure_built(data_adapter.flatten_data(data[0], "x"))
                            logs = self.train_step(data)
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
                    start += len(group)
                    if self.stop_training:
                        break
                batches.close()
                if logs is None:
                    raise ValueError("Unexpected result of `train_function` (Empty logs). The input data produced no "
                                     "batches.")
                if not epoch_ran:
                    # NOTE: tf_keras still ends this epoch and logs a loss of 0.0 for it; no batch ran, so minikeras
                    # stops without logging an epoch that did not happen (the warning has said why).
                    break
                epoch_logs = dict(self.get_metrics_result())
                if val_handler is not None and self._should_eval(epoch, validation_freq):
                    val_logs = self._evaluate_handler(val_handler, callbacks)
                    if val_logs is not None:  # None: a validation generator that has run out (tf_keras too)
                        epoch_logs.update({"val_" + name: value for name, value in val_logs.items()})
                callbacks.on_epoch_end(epoch, epoch_logs)
                training_logs = epoch_logs
                if self.stop_training:
                    break
        finally:
            self._batch_start_state = None
            handler.close()
            if val_handler is not None:
                val_handler.close()
        callbacks.on_train_end(logs=training_logs)
        return self.history

    def _make_handler(self, x: Any, y: Any, sample_weight: Any, batch_size: Any, steps: Optional[int],
                      max_queue_size: int, workers: int, use_multiprocessing: bool, batch_size_name: str = "batch_size",
                      what: str = "input data") -> data_adapter.DataHandler:
        """Evaluation passes over a generator or Sequence `x`, or over the arrays `x, y, sample_weight`."""
        if data_adapter.is_generator_or_sequence(x):
            return data_adapter.DataHandler.from_generator(x, y, sample_weight, steps=steps,
                                                           max_queue_size=max_queue_size, workers=workers,
                                                           use_multiprocessing=use_multiprocessing)
        xs, ys, sws, n = self._standardize(x, y, sample_weight)
        if n == 0:
            raise ValueError(f"Expected {what} to be non-empty.")
        batch_size = self._resolve_batch_size(batch_size, n, steps, batch_size_name)
        self._ensure_built(xs)
        return data_adapter.DataHandler.from_arrays(xs, ys, sws, batch_size, steps=steps)

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
            x: input array (or list of arrays), or a generator / `keras.utils.Sequence` yielding `(x, y)` or
                `(x, y, sample_weight)` batches.
            y: target array(s); not with a generator or Sequence.
            batch_size: samples per batch (default 32); not with a generator or Sequence.
            verbose: `'auto'` (= 1), 0, 1 (bar; one line when stdout is not a terminal) or 2 (one line).
            sample_weight: per-sample weights for the loss (and `weighted_metrics`).
            steps: number of batches to evaluate (default all; a generator is read until it ends).
            callbacks: callbacks receiving the `on_test_*` hooks.
            max_queue_size, workers, use_multiprocessing: how a generator or Sequence is read (see `fit`).
            return_dict: return `{name: value}` instead of a list.

        Returns:
            The loss (a float) if there are no metrics, else `[loss, metric, ...]` in `model.metrics_names` order.
        """
        self._assert_compile_was_called()
        if kwargs:
            raise TypeError(f"Invalid keyword arguments: {list(kwargs.keys())}")
        verbose = get_verbosity(verbose)
        if steps is not None:
            steps = check_positive_int("steps", steps)
        max_queue_size = check_positive_int("max_queue_size", max_queue_size)
        workers = check_positive_int("workers", workers)
        if not data_adapter.is_generator_or_sequence(x):
            # arrays: `x` alone is the inputs, never an `(x, y)` pair
            xs, ys, sws, n = self._standardize(x, y, sample_weight)
            if n == 0:
                raise ValueError("Expected input data to be non-empty.")
            handler = data_adapter.DataHandler.from_arrays(xs, ys, sws, self._resolve_batch_size(batch_size, n, steps),
                                                           steps=steps)
            self._ensure_built(xs)
        else:
            handler = data_adapter.DataHandler.from_generator(x, y, sample_weight, steps=steps,
                                                              max_queue_size=max_queue_size, workers=workers,
                                                              use_multiprocessing=use_multiprocessing)
        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                      model=self, verbose=verbose, epochs=1,
                                                      steps=handler.inferred_steps)
        try:
            logs = self._evaluate_handler(handler, callbacks)
        finally:
            handler.close()
        if logs is None:
            raise ValueError("Expected input data to be non-empty. The generator produced no batches (a generator "
                             "is read once: it may have run out in an earlier call).")
        return logs if return_dict else flatten_metrics_in_order(logs, self.metrics_names)

    def _evaluate_handler(self, handler: data_adapter.DataHandler, callbacks: Any) -> Optional[Dict[str, float]]:
        """One evaluation pass over `handler`'s data: the metric results, or None when it gave no batch."""
        self.reset_metrics()
        callbacks.on_test_begin()
        logs: Optional[Dict[str, float]] = None
        spe = self._steps_per_execution
        batches = handler.epoch()
        start = 0
        while True:
            group = list(itertools.islice(batches, spe))
            if not group:
                break
            callbacks.on_test_batch_begin(start)
            for data in group:
                if not self.built:  # a generator's first batch
                    self._ensure_built(data_adapter.flatten_data(data[0], "x"))
                logs = self.test_step(data)
            callbacks.on_test_batch_end(start + len(group) - 1, dict(logs))
            start += len(group)
        handler.on_epoch_end()
        if logs is None:
            return None
        logs = self.get_metrics_result()
        callbacks.on_test_end(logs=dict(logs))
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Any = "auto", steps: Optional[int] = None,
                callbacks: Any = None, max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                **kwargs: Any) -> Any:
        """Outputs for `x`, computed in batches with no graph recorded.

        Args:
            x: input array (or a list of arrays), or a generator / `keras.utils.Sequence` yielding batches (`x`,
                `(x,)` or `(x, y)`; targets are ignored).
            batch_size: samples per batch (default 32; the input layer's batch size if it fixes one); not with a
                generator or Sequence.
            verbose: `'auto'` (= 1), 0, 1 (bar; one line when stdout is not a terminal) or 2 (one line).
            steps: number of batches to predict (default all; a generator is read until it ends).
            callbacks: callbacks receiving the `on_predict_*` hooks (`logs['outputs']` at each batch end).
            max_queue_size, workers, use_multiprocessing: how a generator or Sequence is read (see `fit`).

        Returns:
            The outputs of all batches, concatenated (a list of arrays for a model with several outputs).
        """
        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to predict: {kwargs}")
        verbose = get_verbosity(verbose)
        if steps is not None:
            steps = check_positive_int("steps", steps)
        max_queue_size = check_positive_int("max_queue_size", max_queue_size)
        workers = check_positive_int("workers", workers)
        if verbose == 0 and callbacks is None and steps is None:
            # The lean path: data that fits in one batch, no callbacks and no progress bar to feed, so the batching
            # and callback machinery would do nothing but cost time (it is most of a one-sample predict).
            if batch_size is not None:
                check_positive_int("batch_size", batch_size)
            limit = batch_size or self._static_batch_size() or 32
            batch = data_adapter.single_batch(x, limit)
            if batch is not None:
                out = self.predict_step((batch,))
                # a copy, as the batched path's concatenate makes: the caller owns the result
                return [np.array(o) for o in out] if isinstance(out, list) else np.array(out)
        if data_adapter.is_generator_or_sequence(x):
            handler = data_adapter.DataHandler.from_generator(x, steps=steps, max_queue_size=max_queue_size,
                                                              workers=workers, use_multiprocessing=use_multiprocessing)
        else:
            xs = flatten_data(x, "x")
            if xs is None:
                raise ValueError("Expected input data `x`. Received: x=None")
            n = check_data_cardinality(xs, None, None)
            if batch_size is not None:
                check_positive_int("batch_size", batch_size)
            static = self._static_batch_size()
            if batch_size is None:
                batch_size = static if static is not None else 32
            if n == 0:  # empty input: run the model once on it so the output has the right trailing shape
                return self.predict_step((unflatten(xs),))
            handler = data_adapter.DataHandler.from_arrays(xs, None, None, batch_size, steps=steps)

        if not isinstance(callbacks, callbacks_module.CallbackList):
            callbacks = callbacks_module.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                                      model=self, verbose=verbose, epochs=1,
                                                      steps=handler.inferred_steps)
        callbacks.on_predict_begin()
        outs: List[Any] = []
        try:
            for step, (batch_x, _, _) in enumerate(handler.epoch()):
                callbacks.on_predict_batch_begin(step)
                out = self.predict_step((batch_x,))
                outs.append(out)
                callbacks.on_predict_batch_end(step, {"outputs": out})
            handler.on_epoch_end()
        finally:
            handler.close()
        if not outs:
            raise ValueError("Expected input data to be non-empty. The generator produced no batches (a generator "
                             "is read once: it may have run out in an earlier call).")
        callbacks.on_predict_end()
        if isinstance(outs[0], list):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(outs[0]))]
        return np.concatenate(outs)

    # ------------------------------------------------------------------ deprecated generator methods (Keras 2)
    @legacy_interfaces.legacy_generator_methods_support
    def fit_generator(self, generator: Any, steps_per_epoch: Optional[int] = None, epochs: int = 1,
                      verbose: Any = 1, callbacks: Any = None, validation_data: Any = None,
                      validation_steps: Optional[int] = None, validation_freq: Any = 1, class_weight: Any = None,
                      max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                      shuffle: Any = True, initial_epoch: int = 0) -> Any:
        """Keras 2's `fit_generator`: deprecated, `fit` takes generators and Sequences (same arguments).

        Keras 1's names (`samples_per_epoch`, `nb_epoch`, `nb_val_samples`, `nb_worker`, `pickle_safe`,
        `max_q_size`) are converted with Keras 2's warnings, as Keras 2.0-2.3 did.
        """
        warnings.warn("`Model.fit_generator` is deprecated and will be removed in a future version. Please use "
                      "`Model.fit`, which supports generators.",
                      stacklevel=3)  # the caller, above the Keras 1 argument converter
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight, max_queue_size=max_queue_size,
                        workers=workers, use_multiprocessing=use_multiprocessing, shuffle=shuffle,
                        initial_epoch=initial_epoch)

    @legacy_interfaces.legacy_generator_methods_support
    def evaluate_generator(self, generator: Any, steps: Optional[int] = None, callbacks: Any = None,
                           max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                           verbose: Any = 0) -> Any:
        """Keras 2's `evaluate_generator`: deprecated, `evaluate` takes generators and Sequences."""
        warnings.warn("`Model.evaluate_generator` is deprecated and will be removed in a future version. Please use "
                      "`Model.evaluate`, which supports generators.",
                      stacklevel=3)  # the caller, above the Keras 1 argument converter
        return self.evaluate(generator, steps=steps, max_queue_size=max_queue_size, workers=workers,
                             use_multiprocessing=use_multiprocessing, verbose=verbose, callbacks=callbacks)

    @legacy_interfaces.legacy_generator_methods_support
    def predict_generator(self, generator: Any, steps: Optional[int] = None, callbacks: Any = None,
                          max_queue_size: int = 10, workers: int = 1, use_multiprocessing: bool = False,
                          verbose: Any = 0) -> Any:
        """Keras 2's `predict_generator`: deprecated, `predict` takes generators and Sequences."""
        warnings.warn("`Model.predict_generator` is deprecated and will be removed in a future version. Please use "
                      "`Model.predict`, which supports generators.",
                      stacklevel=3)  # the caller, above the Keras 1 argument converter
        return self.predict(generator, steps=steps, max_queue_size=max_queue_size, workers=workers,
                            use_multiprocessing=use_multiprocessing, verbose=verbose, callbacks=callbacks)

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
            sws = class_weight_to_sample_weight(class_weight, ys, sws)
        self._ensure_built(xs)
        state = self._capture_state()
        try:
            logs = self.train_step((unflatten(xs), unflatten(ys), unflatten(sws)))
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
        logs = self.test_step((unflatten(xs), unflatten(ys), unflatten(sws)))
        return logs if return_dict else flatten_metrics_in_order(logs, self.metrics_names)

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch (no batching, no graph)."""
        with no_grad():
            y = self(x, training=False)
        return [t.data for t in y] if isinstance(y, (list, tuple)) else y.data

    def summary(self, line_length: Optional[int] = None, positions: Any = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False, layer_range: Any = None) -> None:
        """Print the layer table in tf.keras 2's format."""
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      show_trainable=show_trainable)
