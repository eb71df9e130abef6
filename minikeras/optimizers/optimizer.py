"""`Optimizer`: the base of tf_keras 2.11+'s optimizers (`keras.optimizers.Optimizer`), in numpy.

One `apply_gradients(grads_and_vars)` call, in tf_keras's order:

1. the learning rate of a `LearningRateSchedule` is evaluated at `iterations`;
2. the slots are created on the first call (`build`), for every variable given;
3. pairs whose gradient is None are dropped (a warning names them; all None is a ValueError);
4. gradients are clipped: `clipnorm` per gradient, else `global_clipnorm` over all, else `clipvalue`;
5. weight decay: `var -= var * weight_decay * lr` (when `weight_decay` is not None);
6. `update_step(grad, var)` for each pair, in place on `var.data`;
7. the exponential moving average (`use_ema`) is updated and, every `ema_overwrite_frequency` steps, copied into
   the variables;
8. `iterations += 1`;
9. each variable's `constraint`, if any, is applied.

State (`variables`, `get_weights`, `set_weights`) is ordered as tf_keras orders `optimizer.variables`: `iteration`
first, then the slots in creation order. Slot names are tf_keras's `"{optimizer name}/{slot}/{variable path}"`
(`"Adam/m/dense/kernel"`) when the slots are created by `apply_gradients`, and `"{slot}/{variable path}"` when
`build()` is called directly; the counter is named `"iteration"`. (tf adds a `:0` suffix; minikeras names do not.)
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend
from minikeras.autograd import Tensor, Variable
from minikeras.optimizers import schedules as learning_rate_schedule


def _shared_name(variable: Any) -> str:
    """The name tf_keras uses for a model variable inside slot names (`dense/kernel`, without `:0`)."""
    name = getattr(variable, "path", None) or getattr(variable, "name", None) or "Variable"
    return name[:-2] if name.endswith(":0") else name


def _as_array(value: Any) -> np.ndarray:
    return np.asarray(value.data if isinstance(value, Tensor) else value)


class Optimizer:
    """Abstract optimizer base class (tf_keras 2.11+ `keras.optimizers.Optimizer`).

    Args:
        name: the name used as prefix of the slot variables.
        weight_decay: if set, `var -= var * weight_decay * learning_rate` before each update.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient elementwise to `[-clipvalue, clipvalue]`.
        global_clipnorm: clip all gradients together to this global L2 norm (exclusive with `clipnorm`).
        use_ema: keep an exponential moving average of the variables.
        ema_momentum: `average = ema_momentum * average + (1 - ema_momentum) * variable`.
        ema_overwrite_frequency: every this many steps, copy the averages into the variables (None: never; call
            `finalize_variable_values`).
        jit_compile: accepted for compatibility; minikeras has no XLA, so it is stored as False (as tf_keras does on
            a machine without GPU).
        **kwargs: `lr` (deprecated: warned about and ignored, as tf_keras 2.21 does) and `is_legacy_optimizer`
            (a serialization key). `decay` raises ValueError (it belongs to `minikeras.optimizers.legacy`); any other
            keyword raises TypeError.

    Subclasses implement `build(var_list)` (call `super().build`, then `add_variable_from_reference` per slot),
    `update_step(gradient, variable)` and `get_config`.
    """

    def __init__(self, name: str, weight_decay: Optional[float] = 0, clipnorm: Optional[float] = None,
                 clipvalue: Optional[float] = None, global_clipnorm: Optional[float] = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Optional[int] = None, jit_compile: bool = True,
                 **kwargs: Any):
        kwargs.pop("mesh", None)
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        # NOTE: tf_keras keeps jit_compile only when a GPU is present; its configs on CPU say False.
        self.jit_compile = False
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer > 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError("At most one of `clipnorm` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={self.clipnorm}, global_clipnorm={self.global_clipnorm}.")
        self._variables: List[Variable] = []
        self._iterations = Variable(np.array(0, dtype=np.int64), trainable=False, name="iteration")
        self._variables.append(self._iterations)
        self._built = False
        self._index_dict: Dict[int, int] = {}
        self._learning_rate: Any = None
        self._scope: Optional[str] = None
        self._update_position = 0
        self._process_kwargs(kwargs)

    # ------------------------------------------------------------------ arguments
    def _process_kwargs(self, kwargs: Dict[str, Any]) -> None:
        kwargs.pop("is_legacy_optimizer", None)
        lr = kwargs.pop("lr", None)
        if lr:
            # NOTE: tf_keras 2.21 pops `lr` and only logs a warning: the value is NOT used (`Adam(lr=0.1)` trains
            # at the default 0.001). minikeras does the same so results match, and says so loudly.
            warnings.warn("`lr` is deprecated in the new Keras optimizers, please use `learning_rate` or the legacy "
                          f"optimizer, e.g., minikeras.optimizers.legacy.{type(self).__name__}. As in tf_keras 2.21, "
                          f"the value is ignored and the default learning rate is used. Received: lr={lr}",
                          UserWarning, stacklevel=4)
        legacy_kwargs = {"decay", "gradient_aggregator", "gradient_transformers"}
        for k, v in kwargs.items():
            if k in legacy_kwargs:
                raise ValueError(f"{k} is deprecated in the new Keras optimizer, please check the docstring for "
                                 "valid arguments, or use the legacy optimizer, e.g., "
                                 f"minikeras.optimizers.legacy.{type(self).__name__}. Received: {k}={v!r}")
            raise TypeError(f"{k} is not a valid argument, kwargs should be empty for "
                            f"`minikeras.optimizers.{type(self).__name__}`. Received: {k}={v!r}")

    # ------------------------------------------------------------------ learning rate
    def _build_learning_rate(self, learning_rate: Any) -> Any:
        if isinstance(learning_rate, learning_rate_schedule.LearningRateSchedule):
            self._current_learning_rate = Variable(
                np.asarray(learning_rate(self._iterations.data), dtype=np.float32), trainable=False,
                name="current_learning_rate")
            return learning_rate
        if callable(learning_rate) and not isinstance(learning_rate, Tensor):
            learning_rate = learning_rate()
        return Variable(np.asarray(_as_array(learning_rate), dtype=backend.floatx()), trainable=False,
                        name="learning_rate")

    @property
    def learning_rate(self) -> Variable:
        """The learning rate Variable (for a schedule: the value computed at the start of the last step)."""
        if getattr(self, "_learning_rate", None) is None:
            raise ValueError("Missing learning rate, please set self.learning_rate at optimizer creation time.")
        if isinstance(self._learning_rate, learning_rate_schedule.LearningRateSchedule):
            return self._current_learning_rate
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        if isinstance(learning_rate, learning_rate_schedule.LearningRateSchedule):
            self._learning_rate = learning_rate
            self._compute_current_learning_rate()
            return
        if isinstance(self._learning_rate, learning_rate_schedule.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                            "constructor argument, hence its learning rate is not settable. If you need the learning "
                            "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        self._learning_rate.assign(np.asarray(_as_array(learning_rate), dtype=self._learning_rate.dtype))

    @property
    def lr(self) -> Variable:
        """Alias of `learning_rate` (Keras 2 name)."""
        return self.learning_rate

    @lr.setter
    def lr(self, learning_rate: Any) -> None:
        self.learning_rate = learning_rate

    def _compute_current_learning_rate(self) -> None:
        if isinstance(self._learning_rate, learning_rate_schedule.LearningRateSchedule):
            value = np.asarray(self._learning_rate(self._iterations.data), dtype=np.float32)
            if getattr(self, "_current_learning_rate", None) is None:
                self._current_learning_rate = Variable(value, trainable=False, name="current_learning_rate")
            else:
                self._current_learning_rate.assign(value)

    def _lr(self, dtype: Any) -> Any:
        """`tf.cast(self.learning_rate, variable.dtype)`."""
        return np.asarray(self.learning_rate.data, dtype=dtype)

    # ------------------------------------------------------------------ iterations and variables
    @property
    def iterations(self) -> Variable:
        """The number of `apply_gradients` steps run (an int64 Variable)."""
        return self._iterations

    @iterations.setter
    def iterations(self, variable: Any) -> None:
        if self._built:
            raise RuntimeError("Cannot set `iterations` to a new Variable after the Optimizer weights have been "
                               f"created. Here it is attempting to set `iterations` to {variable}. Usually this "
                               "means you are trying to set `iterations` after calling `apply_gradients()`. Please "
                               "set `iterations` before calling `apply_gradients()`.")
        if not isinstance(variable, Variable):
            variable = Variable(np.asarray(_as_array(variable), dtype=np.int64), trainable=False, name="iteration")
        self._variables[self._variables.index(self._iterations)] = variable
        self._iterations = variable

    @property
    def variables(self) -> "CallableList":
        """The optimizer state, `iteration` first, then the slots in creation order (callable, as tf_keras)."""
        return CallableList(self._variables)

    @property
    def weights(self) -> List[Variable]:
        return list(self._variables)

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the state arrays, in `variables` order."""
        return [v.data.copy() for v in self._variables]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Set the state from arrays in `variables` order (the optimizer must be built).

        Unlike tf_keras (which zips and silently ignores extra or missing arrays), a count mismatch raises, so a
        file written for another optimizer never half-loads.
        """
        if not self._built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                             "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                             "calling `set_weights()`.")
        weights = [_as_array(w) for w in weights]
        if len(weights) != len(self._variables):
            raise ValueError(f"Optimizer '{self.name}' has {len(self._variables)} variables "
                             f"({[v.name for v in self._variables]}), but {len(weights)} values were given. "
                             f"Received: {len(weights)} arrays")
        for variable, weight in zip(self._variables, weights):
            if variable.shape != weight.shape:
                raise ValueError(f"Optimizer variable {variable.name} has shape {variable.shape} not compatible "
                                 f"with provided weight shape {weight.shape}.")
        for variable, weight in zip(self._variables, weights):
            variable.assign(weight)

    def save_own_variables(self, store: Any) -> None:
        """Write the state as `store["0"], store["1"], ...` (the `.keras` format)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.data.copy()

    def load_own_variables(self, store: Any) -> None:
        """Read the state written by `save_own_variables`; skipped with a warning if the counts differ."""
        if len(store.keys()) != len(self._variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has {len(self._variables)} "
                   f"variables whereas the saved optimizer has {len(store.keys())} variables. ")
            if len(self._variables) == 1:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        for i, variable in enumerate(self._variables):
            variable.assign(np.asarray(store[str(i)]))

    # ------------------------------------------------------------------ slots
    def _var_key(self, variable: Any) -> int:
        return id(variable)

    def build(self, var_list: Sequence[Any]) -> None:
        """Create the slots for `var_list` (once). Subclasses call `super().build(var_list)` first."""
        if self._built:
            return
        self._index_dict = {self._var_key(v): i for i, v in enumerate(var_list)}
        # NOTE: slots are found by id(variable); holding the variables keeps those ids from being reused.
        self._built_variables = list(var_list)
        if self.use_ema:
            self._model_variables_moving_average = [
                self.add_variable_from_reference(var, "average", initial_value=var.data) for var in var_list]

    def add_variable(self, shape: Sequence[int] = (), dtype: Any = None, initializer: Any = "zeros",
                     name: Optional[str] = None) -> Variable:
        """Create an optimizer variable not tied to a model variable (appended to `variables`)."""
        from minikeras import initializers

        dtype = dtype or backend.floatx()
        value = np.asarray(initializers.get(initializer)(tuple(shape), dtype=dtype), dtype=dtype)
        variable = Variable(value, trainable=False, name=name)
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, model_variable: Any, variable_name: str, shape: Any = None,
                                    initial_value: Any = None) -> Variable:
        """Create a slot named `{variable_name}/{model variable path}`, zeros of the variable's shape by default."""
        dtype = model_variable.dtype
        if initial_value is None:
            value = np.zeros(model_variable.shape if shape is None else tuple(shape), dtype=dtype)
        else:
            value = np.array(_as_array(initial_value), dtype=dtype)
        prefix = f"{self._scope}/" if self._scope else ""
        variable = Variable(value, trainable=False, name=f"{prefix}{variable_name}/{_shared_name(model_variable)}")
        self._variables.append(variable)
        return variable

    def _slot(self, slots: List[Variable], variable: Any) -> Variable:
        return slots[self._index_dict[self._var_key(variable)]]

    # ------------------------------------------------------------------ weight decay
    def exclude_from_weight_decay(self, var_list: Optional[Sequence[Any]] = None,
                                  var_names: Optional[Sequence[str]] = None) -> None:
        """Exclude variables (or names matching any regex in `var_names`) from weight decay; before `build`."""
        if self._built:
            raise ValueError("`exclude_from_weight_decay()` can only be configued before the optimizer is built.")
        self._exclude_from_weight_decay = [self._var_key(v) for v in var_list] if var_list else []
        self._exclude_from_weight_decay_names = list(var_names or [])

    def _use_weight_decay(self, variable: Any) -> bool:
        if self._var_key(variable) in getattr(self, "_exclude_from_weight_decay", []):
            return False
        name = getattr(variable, "name", None) or ""
        return not any(re.search(p, name) is not None for p in getattr(self, "_exclude_from_weight_decay_names", []))

    def _apply_weight_decay(self, variables: Sequence[Any]) -> None:
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                dtype = variable.dtype
                lr = self._lr(dtype)
                wd = np.asarray(self.weight_decay, dtype=dtype)
                variable.data[...] = variable.data - variable.data * wd * lr

    # ------------------------------------------------------------------ clipping
    def _clip_gradients(self, grads: List[np.ndarray]) -> List[np.ndarray]:
        if self.clipnorm and self.clipnorm > 0:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return [np.clip(g, -np.asarray(self.clipvalue, g.dtype), np.asarray(self.clipvalue, g.dtype))
                    for g in grads]
        return grads

    # ------------------------------------------------------------------ applying gradients
    def apply_gradients(self, grads_and_vars: Iterable[Tuple[Any, Any]], name: Optional[str] = None,
                        skip_gradients_aggregation: bool = False, **kwargs: Any) -> Variable:
        """Apply `(gradient, variable)` pairs; returns the `iterations` Variable.

        Gradients may be numpy arrays or Tensors (cast to the variable's dtype); None gradients are skipped.
        Variables are updated in place (`variable.data`).
        """
        kwargs.pop("experimental_aggregate_gradients", None)
        if kwargs:
            raise TypeError(f"apply_gradients() got unexpected keyword arguments: {sorted(kwargs)}")
        self._compute_current_learning_rate()
        pairs = list(grads_and_vars)
        if not pairs:
            return self._iterations
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError("`grads_and_vars` must be a list of (gradient, variable) pairs. "
                                f"Received: {pair!r}")
        variables = [v for _, v in pairs]
        for v in variables:
            if not isinstance(v, Tensor):
                raise TypeError(f"Expected a minikeras Variable to update. Received: {type(v).__name__} {v!r}")
        if not self._built:
            self._scope = name or self.name or "optimizer"
            try:
                self.build(variables)
            finally:
                self._scope = None
        filtered = [(g, v) for g, v in pairs if g is not None]
        if not filtered:
            raise ValueError(f"No gradients provided for any variable: ({[v.name for v in variables]},). "
                             f"Provided `grads_and_vars` is {tuple(pairs)}.")
        if len(filtered) < len(pairs):
            warnings.warn("Gradients do not exist for variables "
                          f"{[v.name for g, v in pairs if g is None]} when minimizing the loss. If you're using "
                          "`model.compile()`, did you forget to provide a `loss` argument?", stacklevel=2)
        grads = []
        for g, v in filtered:
            arr = np.asarray(_as_array(g), dtype=v.dtype)
            if arr.shape != v.shape:
                raise ValueError(f"Gradient of shape {arr.shape} does not match variable '{v.name}' of shape "
                                 f"{v.shape}. Received: gradient.shape={arr.shape}")
            grads.append(arr)
        variables = [v for _, v in filtered]
        for v in variables:
            if self._var_key(v) not in self._index_dict:
                raise KeyError(f"The optimizer cannot recognize variable {v.name}. This usually means you are trying "
                               "to call the optimizer to update different parts of the model separately. Please call "
                               "`optimizer.build(variables)` with the full list of trainable variables before the "
                               "training loop or use legacy optimizer "
                               f"`minikeras.optimizers.legacy.{type(self).__name__}`.")
        grads = self._clip_gradients(grads)
        self._apply_weight_decay(variables)
        for position, (g, v) in enumerate(zip(grads, variables)):
            self._update_position = position
            self.update_step(g, v)
        if self.use_ema:
            self._update_model_variables_moving_average(variables)
            if self.ema_overwrite_frequency and (int(self._iterations.data) + 1) % self.ema_overwrite_frequency == 0:
                self._overwrite_model_variables_with_average_value(variables)
        self._iterations.data[...] += 1
        for v in variables:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                v.data[...] = np.asarray(_as_array(constraint(v.data)), dtype=v.dtype)
        return self._iterations

    def step(self, variables: Iterable[Any]) -> Variable:
        """Apply each variable's accumulated `.grad` (a PyTorch-style convenience over `apply_gradients`)."""
        variables = list(variables)
        return self.apply_gradients([(v.grad, v) for v in variables])

    def minimize(self, loss: Any, var_list: Any, tape: Any = None) -> None:
        """Minimize `loss` (a Tensor, or a callable returning one) over `var_list` (or a callable giving it)."""
        if callable(loss) and not isinstance(loss, Tensor):
            loss = loss()
        if callable(var_list):
            var_list = var_list()
        var_list = list(var_list)
        for v in var_list:
            v.grad = None
        if not isinstance(loss, Tensor) or not loss.requires_grad:
            raise ValueError("`minimize` needs a loss Tensor that depends on the variables (computed with gradients "
                             f"recorded). Received: loss={loss!r}")
        loss.backward()
        self.apply_gradients([(v.grad, v) for v in var_list])

    def update_step(self, gradient: np.ndarray, variable: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _tf_function_trace(self, var_list: Optional[Sequence[Any]]) -> None:
        """Tell the optimizer that tf_keras would now trace its train function (`fit`/`train_on_batch` without
        `run_eagerly`) over `var_list`; from then on `apply_gradients` reproduces what the traced graph computes.

        A no-op for every optimizer whose traced and eager updates agree. `Nadam` overrides it (its Python-side
        momentum-cache counter is frozen into the graph at trace time). `None` returns to eager semantics.
        """

    # ------------------------------------------------------------------ EMA
    def _update_model_variables_moving_average(self, var_list: Sequence[Any]) -> None:
        for var in var_list:
            average = self._slot(self._model_variables_moving_average, var)
            m = self.ema_momentum
            average.data[...] = np.asarray(m, var.dtype) * average.data + np.asarray(1 - m, var.dtype) * var.data

    def _overwrite_model_variables_with_average_value(self, var_list: Sequence[Any]) -> None:
        for var in var_list:
            var.data[...] = self._slot(self._model_variables_moving_average, var).data

    def finalize_variable_values(self, var_list: Sequence[Any]) -> None:
        """With `use_ema`, copy the moving averages into the variables (fit does this at the end of training)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    # ------------------------------------------------------------------ config
    def _serialize_hyperparameter(self, hyperparameter: Any) -> Any:
        if isinstance(hyperparameter, learning_rate_schedule.LearningRateSchedule):
            return learning_rate_schedule.serialize(hyperparameter)
        if isinstance(hyperparameter, Tensor):
            # tf_keras returns the float32 numpy value: 0.001 is written 0.0010000000474974513
            return float(hyperparameter.data)
        if callable(hyperparameter):
            return hyperparameter()
        return hyperparameter

    def get_config(self) -> Dict[str, Any]:
        """tf_keras's keys: name, weight_decay, clipnorm, global_clipnorm, clipvalue, use_ema, ema_momentum,
        ema_overwrite_frequency, jit_compile, is_legacy_optimizer, then the subclass's (learning_rate, ...)."""
        return {"name": self.name, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                "ema_momentum": self.ema_momentum, "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "jit_compile": self.jit_compile, "is_legacy_optimizer": False}

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = learning_rate_schedule.deserialize(config["learning_rate"],
                                                                         custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} iterations={int(self._iterations.data)}>"


class CallableList(list):
    """A list that also answers `opt.variables()` (tf_keras's shim for the Keras 2 method)."""

    def __call__(self) -> "CallableList":
        return self


def _clip_by_norm(g: np.ndarray, clip_norm: float) -> np.ndarray:
    """`tf.clip_by_norm`: `g * clip_norm / max(||g||, clip_norm)`, with `||g|| = 0` handled."""
    t = g.dtype.type
    l2sum = (g * g).sum(dtype=g.dtype)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    cn = t(clip_norm)
    return (g * cn) / np.maximum(l2norm, cn)


def _clip_by_global_norm(grads: List[np.ndarray], clip_norm: float) -> List[np.ndarray]:
    """`tf.clip_by_global_norm(grads, clip_norm)[0]`: scale all by `clip_norm * min(1/global_norm, 1/clip_norm)`."""
    if not grads:
        return grads
    dtype = grads[0].dtype
    t = dtype.type
    # global_norm = sqrt(2 * sum(l2_loss(g))), l2_loss(g) = sum(g**2) / 2
    half_squared = np.asarray([(g * g * t(0.5)).sum(dtype=dtype) for g in grads], dtype=dtype).sum(dtype=dtype)
    use_norm = np.sqrt(half_squared * t(2.0))
    cn = t(clip_norm)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = cn * np.minimum(t(1.0) / use_norm, t(1.0) / cn)
        scale = scale + (use_norm - use_norm)  # NaN/inf norms propagate, as TF does
    return [g * scale.astype(g.dtype) for g in grads]
