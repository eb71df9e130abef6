"""The legacy optimizers (tf_keras 2.21 `keras.optimizers.legacy`, the OptimizerV2 of Keras 2.3-2.10).

tf_keras builds these when it deserializes an optimizer config WITHOUT the `is_legacy_optimizer` key, which is what
every Keras 2 file written before 2.11 holds (`{"class_name": "Adam", "config": {"lr": 0.001, "decay": 0.0, ...}}`).
Their arithmetic and their state layout differ from the 2.11+ optimizers, so minikeras keeps them separate:

* they accept `lr` (used, with a deprecation warning) and `decay`: `lr_t = lr / (1 + decay * iterations)`;
* clipping applies `clipvalue`, then `clipnorm`, then `global_clipnorm` (all that are set);
* the update rules are TF's fused training kernels (`ResourceApplyAdam`, `ResourceApplyRMSProp`, ...), with
  hyperparameters held as float32 variables (so `1 - beta_1` is computed in float32);
* like the 2.11+ optimizers, they keep the trained variables and each slot kind in flat buffers (one per dtype)
  and update all variables in a handful of numpy calls; `get_state`/`set_state` copy and restore their state;
* `get_weights()`/`variables()` order: `iter` first, then the slots by kind (all `m`, then all `v`, ...), named
  `"{optimizer}/iter"` and `"{optimizer}/{variable path}/{slot}"` (`"Adam/dense/kernel/m"`); Nadam's
  `momentum_cache` comes right after `iter`.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from minikeras import backend
from minikeras.autograd import Tensor, Variable
from minikeras.optimizers import schedules as learning_rate_schedule
from minikeras.optimizers.optimizer import (OptimizerState, _as_array, _capture_state, _check_state_variables,
                                            _clip_all_by_global_norm, _clip_by_value, _clip_each_by_norm,
                                            _FlatLayout, _make_layouts, _plan_flat, _restore_state, _shared_name,
                                            _values_state)

_F32 = np.float32


class OptimizerV2:
    """Base class of the legacy optimizers (tf_keras's `optimizer_v2.OptimizerV2`).

    Args:
        name: prefix of the state variable names.
        **kwargs: `clipnorm`, `clipvalue`, `global_clipnorm`, `lr` (alias of `learning_rate`, used), `decay`
            (inverse-time decay of the learning rate per step). Anything else raises TypeError.
    """

    _ALLOWED_KWARGS = ("clipnorm", "clipvalue", "lr", "decay", "global_clipnorm")

    def __init__(self, name: str, gradient_aggregator: Any = None, gradient_transformers: Any = None,
                 **kwargs: Any):
        for k, v in kwargs.items():
            if k not in self._ALLOWED_KWARGS:
                raise TypeError(f"Unexpected keyword argument passed to optimizer: {k}. Allowed kwargs are "
                                f"{set(self._ALLOWED_KWARGS)}. Received: {k}={v!r}")
            if v is not None and not isinstance(v, learning_rate_schedule.LearningRateSchedule) and v < 0:
                raise ValueError(f"Expected {k} >= 0, received: {v}")
            if k == "lr":
                warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.", stacklevel=3)
        if gradient_aggregator is not None or gradient_transformers:
            raise NotImplementedError("Keras's legacy `gradient_aggregator`/`gradient_transformers` run TensorFlow "
                                      "functions and are not supported by minikeras. Received: "
                                      f"gradient_aggregator={gradient_aggregator!r}, "
                                      f"gradient_transformers={gradient_transformers!r}")
        object.__setattr__(self, "_hyper", {})
        self._name = name
        self._weights: List[Variable] = []
        self._slots: Dict[int, Dict[str, Variable]] = {}
        self._slot_names: List[str] = []
        self._iterations: Optional[Variable] = None
        self._hypers_created = False
        self._scope: Optional[str] = None
        self._layouts: List[_FlatLayout] = []
        decay = kwargs.pop("decay", 0.0)
        if decay < 0.0:
            raise ValueError(f"decay cannot be less than 0. Received: decay={decay}.")
        self._initial_decay = decay
        self.clipnorm = kwargs.pop("clipnorm", None)
        self.global_clipnorm = kwargs.pop("global_clipnorm", None)
        if self.clipnorm is not None and self.global_clipnorm is not None:
            raise ValueError("Cannot accept both `clipnorm` and `global_clipnorm`. Received: "
                             f"`clipnorm`={self.clipnorm}, `global_clipnorm`={self.global_clipnorm}.")
        self.clipvalue = kwargs.pop("clipvalue", None)

    def __setstate__(self, state: Dict[str, Any]) -> None:
        # NOTE: slots are found by id(variable); a copy (copy.deepcopy, pickle) has new variables, hence new ids.
        self.__dict__.update(state)
        owners = state.get("_slot_owners", {})
        self._slots = {id(owners[key]): slots for key, slots in self._slots.items() if key in owners}
        self._slot_owners = {id(v): v for v in owners.values()}

    # ------------------------------------------------------------------ hyperparameters
    def _set_hyper(self, name: str, value: Any) -> None:
        if isinstance(value, (learning_rate_schedule.LearningRateSchedule,)) or callable(value) and not isinstance(
                value, Tensor):
            self._hyper[name] = value
            return
        value = _as_array(value)
        current = self._hyper.get(name)
        if isinstance(current, Variable):
            current.assign(np.asarray(value, dtype=current.dtype))
        else:
            # NOTE: tf_keras turns each numeric hyperparameter into a float32 (floatx) variable.
            self._hyper[name] = Variable(np.asarray(value, dtype=backend.floatx()), trainable=False, name=name)
            self._hyper_raw = {**getattr(self, "_hyper_raw", {}), name: value.item() if value.ndim == 0 else value}

    def _get_hyper(self, name: str, dtype: Any = None) -> Any:
        value = self._hyper[name]
        if isinstance(value, learning_rate_schedule.LearningRateSchedule):
            return value
        if callable(value) and not isinstance(value, Tensor):
            value = value()
        if dtype is not None:
            return np.asarray(_as_array(value), dtype=dtype)
        return value

    def __getattr__(self, name: str) -> Any:
        hyper = self.__dict__.get("_hyper")
        if hyper is not None:
            if name == "lr":
                name = "learning_rate"
            if name in hyper:
                return hyper[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "lr":
            name = "learning_rate"
        hyper = self.__dict__.get("_hyper")
        if hyper is not None and name in hyper:
            self._set_hyper(name, value)
        else:
            object.__setattr__(self, name, value)

    @property
    def learning_rate(self) -> Any:
        return self._hyper["learning_rate"]

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self._set_hyper("learning_rate", value)

    def _decayed_lr(self, dtype: Any) -> np.ndarray:
        """`lr_t = lr(iterations) / (1 + decay * iterations)` in the variable dtype."""
        lr_t = self._get_hyper("learning_rate", dtype)
        local_step = np.asarray(self.iterations.data, dtype=dtype)
        if isinstance(lr_t, learning_rate_schedule.LearningRateSchedule):
            lr_t = np.asarray(lr_t(local_step), dtype=dtype)
        if self._initial_decay > 0.0:
            decay_t = np.asarray(self._initial_decay, dtype=dtype)
            lr_t = lr_t / (np.asarray(1.0, dtype) + decay_t * local_step)
        return np.asarray(lr_t, dtype=dtype)

    # ------------------------------------------------------------------ state
    @property
    def iterations(self) -> Variable:
        if self._iterations is None:
            prefix = f"{self._scope}/" if self._scope else ""
            self._iterations = Variable(np.array(0, dtype=np.int64), trainable=False, name=f"{prefix}iter")
            self._weights.append(self._iterations)
        return self._iterations

    @iterations.setter
    def iterations(self, variable: Any) -> None:
        if self._iterations is not None:
            raise RuntimeError("Cannot set `iterations` to a new Variable after the Optimizer weights have been "
                               f"created. Here it is attempting to set `iterations` to {variable}.")
        self._iterations = variable if isinstance(variable, Variable) else Variable(
            np.asarray(_as_array(variable), dtype=np.int64), trainable=False, name="iter")
        self._weights.append(self._iterations)

    @property
    def weights(self) -> List[Variable]:
        return list(self._weights)

    def variables(self) -> List[Variable]:
        """The state in file order (a method, as in the legacy Keras API)."""
        return list(self._weights)

    def get_weights(self) -> List[np.ndarray]:
        return self.get_state().values()

    def set_weights(self, weights: Sequence[Any]) -> None:
        params = self.weights
        weights = [_as_array(w) for w in weights]
        if len(params) != len(weights):
            raise ValueError(f"You called `set_weights(weights)` on optimizer {self._name} with a  weight list of "
                             f"length {len(weights)}, but the optimizer was expecting {len(params)} weights. "
                             f"Provided weights: {str(weights)[:50]}...")
        for p, w in zip(params, weights):
            if p.shape != w.shape:
                raise ValueError(f"Optimizer weight shape {p.shape} not compatible with provided weight shape "
                                 f"{w.shape}.")
        self.set_state(_values_state(self.get_state(), weights))

    # ------------------------------------------------------------------ state
    def get_state(self) -> OptimizerState:
        """A copy of the state (`iter`, the slots: one copy per flat buffer, Nadam's momentum cache); see
        `minikeras.optimizers.Optimizer.get_state`."""
        return _capture_state(self._hypers_created, list(self._weights), self._layouts, {})

    def set_state(self, state: OptimizerState) -> None:
        """Put back a state from `get_state()` (one with fewer variables forgets the ones created since)."""
        if isinstance(state, OptimizerState) and len(state.variables) < len(self._weights) and all(
                a is b for a, b in zip(state.variables, self._weights)):
            self._forget_after(len(state.variables))
            self._hypers_created = state.built
        _check_state_variables(self._name, self._weights, state)
        _restore_state(self._weights, state)

    def _forget_after(self, n: int) -> None:
        """Drop the state variables created after the first `n` (the optimizer as it was then)."""
        kept = {id(w) for w in self._weights[:n]}
        self._weights = self._weights[:n]
        for key in list(self._slots):
            self._slots[key] = {k: w for k, w in self._slots[key].items() if id(w) in kept}
            if not self._slots[key]:
                del self._slots[key]
        if self._iterations is not None and id(self._iterations) not in kept:
            self._iterations = None
        if getattr(self, "_m_cache", None) is not None and id(self._m_cache) not in kept:
            self._m_cache = None
        if not self._slots:
            self._layouts = []

    def _flat_weight_buffers(self) -> List[Tuple[np.ndarray, List[Tuple[Any, np.ndarray]]]]:
        """`(buffer, [(variable, view), ...])` per flat weight buffer: a training rollback copies these whole."""
        return [(layout.weights, list(zip(layout.variables, layout.views))) for layout in self._layouts]

    def add_slot(self, var: Any, slot_name: str, initializer: Any = "zeros") -> Variable:
        if slot_name not in self._slot_names:
            self._slot_names.append(slot_name)
        slot_dict = self._slots.setdefault(id(var), {})
        weight = slot_dict.get(slot_name)
        if weight is None:
            # NOTE: slots are found by id(variable); holding the variable keeps its id from being reused.
            self._slot_owners = getattr(self, "_slot_owners", {})
            self._slot_owners[id(var)] = var
            if isinstance(initializer, str) and initializer == "zeros":
                value = np.zeros(var.shape, dtype=var.dtype)
            else:
                value = np.full(var.shape, initializer, dtype=var.dtype)
            prefix = f"{self._scope}/" if self._scope else ""
            weight = Variable(value, trainable=False, name=f"{prefix}{_shared_name(var)}/{slot_name}")
            for layout in self._layouts:
                k = layout.position.get(id(var))
                if k is not None:
                    layout.add_slot(slot_name, k, weight)
                    break
            slot_dict[slot_name] = weight
            self._weights.append(weight)
        return weight

    def get_slot(self, var: Any, slot_name: str) -> Variable:
        return self._slots[id(var)][slot_name]

    def get_slot_names(self) -> List[str]:
        return list(self._slot_names)

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        pass

    def _create_all_weights(self, var_list: Sequence[Any]) -> None:
        _ = self.iterations
        self._hypers_created = True
        if not self._layouts and not self._slots:
            # the first variables trained move into flat buffers; any added later keep their own arrays
            self._layouts = _make_layouts(var_list)
        self._create_slots(var_list)

    def build(self, var_list: Sequence[Any]) -> None:
        """Create the state for `var_list` (what the first `apply_gradients` does, minus the name prefix)."""
        self._create_all_weights(var_list)

    # ------------------------------------------------------------------ applying gradients
    def _transform_gradients(self, flats: List[Tuple[_FlatLayout, np.ndarray]], singles: List[np.ndarray]) -> None:
        """Clip in place: `clipvalue`, then `clipnorm` (per variable), then `global_clipnorm`, each if set."""
        if self.clipvalue is not None:
            _clip_by_value(flats, singles, self.clipvalue)
        if self.clipnorm is not None:
            _clip_each_by_norm(flats, singles, self.clipnorm)
        if self.global_clipnorm is not None:
            _clip_all_by_global_norm(flats, singles, self.global_clipnorm)

    def apply_gradients(self, grads_and_vars: Iterable[Tuple[Any, Any]], name: Optional[str] = None,
                        experimental_aggregate_gradients: bool = True) -> Variable:
        """Apply `(gradient, variable)` pairs (None gradients are skipped with a warning)."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        filtered = [(g, v) for g, v in pairs if g is not None]
        if not filtered:
            raise ValueError(f"No gradients provided for any variable: ({[v.name for _, v in pairs]},). "
                             f"Provided `grads_and_vars` is {tuple(pairs)}.")
        if len(filtered) < len(pairs):
            warnings.warn(f"Gradients do not exist for variables {[v.name for g, v in pairs if g is None]} when "
                          "minimizing the loss. If you're using `model.compile()`, did you forget to provide a "
                          "`loss` argument?", stacklevel=2)
        var_list = [v for _, v in filtered]
        grads = []
        for g, v in filtered:
            arr = _as_array(g)
            if arr.shape != v.shape:
                raise ValueError(f"Gradient of shape {arr.shape} does not match variable '{v.name}' of shape "
                                 f"{v.shape}. Received: gradient.shape={arr.shape}")
            grads.append(arr)
        self._scope = self._name
        try:
            self._create_all_weights(var_list)
        finally:
            self._scope = None
        coefficients = {}
        for v in var_list:
            if v.dtype not in coefficients:
                coefficients[v.dtype] = self._prepare_local(v.dtype)
        custom = type(self)._resource_apply_dense is not OptimizerV2._resource_apply_dense
        clips = any(v is not None for v in (self.clipvalue, self.clipnorm, self.global_clipnorm))
        flats, single_pairs = ([], list(zip(grads, var_list))) if custom else _plan_flat(self._layouts, grads,
                                                                                           var_list, gather=clips)
        singles = [np.array(g, dtype=v.dtype) for g, v in single_pairs]  # a copy: clipping works in place
        self._transform_gradients(flats, singles)
        for layout, g in flats:
            layout.update(self._apply_flat, g, coefficients[layout.dtype])
        for g, (_, v) in zip(singles, single_pairs):
            self._resource_apply_dense(g, v, coefficients[v.dtype])
        for v in var_list:
            constraint = getattr(v, "constraint", None)
            if constraint is not None:
                v.data[...] = np.asarray(_as_array(constraint(v.data)), dtype=v.dtype)
        self.iterations.data[...] += 1
        return self.iterations

    def step(self, variables: Iterable[Any]) -> Variable:
        """Apply each variable's `.grad`."""
        return self.apply_gradients([(v.grad, v) for v in variables])

    def _prepare_local(self, dtype: Any) -> Dict[str, Any]:
        return {"lr_t": self._decayed_lr(dtype)}

    def _resource_apply_dense(self, grad: np.ndarray, var: Any, c: Dict[str, Any]) -> None:
        """Update one variable (custom legacy optimizers override this; the built-in ones implement `_apply_flat`,
        the same rule on one variable's arrays or on whole flat buffers)."""
        slots = {kind: w.data for kind, w in self._slots.get(id(var), {}).items()}
        scratch: List[np.ndarray] = []

        def work(i: int) -> np.ndarray:
            while len(scratch) <= i:
                scratch.append(np.empty_like(var.data))
            return scratch[i]

        self._apply_flat(grad, var.data, slots, c, work)

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:  # pragma: no cover - abstract
        raise NotImplementedError("`_resource_apply_dense` must be implemented in subclasses.")

    # ------------------------------------------------------------------ config
    def _serialize_hyperparameter(self, name: str) -> Any:
        value = self._hyper[name]
        if isinstance(value, learning_rate_schedule.LearningRateSchedule):
            return learning_rate_schedule.serialize(value)
        if callable(value) and not isinstance(value, Tensor):
            return value()
        if not self._hypers_created and name in getattr(self, "_hyper_raw", {}):
            return self._hyper_raw[name]
        # after the first step tf_keras reads the float32 variable back (0.001 -> 0.0010000000474974513)
        return float(value.data)

    def get_config(self) -> Dict[str, Any]:
        config: Dict[str, Any] = {"name": self._name}
        if self.clipnorm is not None:
            config["clipnorm"] = self.clipnorm
        if self.clipvalue is not None:
            config["clipvalue"] = self.clipvalue
        if self.global_clipnorm is not None:
            config["global_clipnorm"] = self.global_clipnorm
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> "OptimizerV2":
        config = dict(config)
        if "lr" in config:
            config["learning_rate"] = config.pop("lr")
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = learning_rate_schedule.deserialize(config["learning_rate"],
                                                                         custom_objects=custom_objects)
        return cls(**config)

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        it = 0 if self._iterations is None else int(self._iterations.data)
        return f"<legacy.{type(self).__name__} name={self._name!r} iterations={it}>"


Optimizer = OptimizerV2


def _lr(kwargs: Dict[str, Any], learning_rate: Any) -> Any:
    return kwargs.get("lr", learning_rate)


class SGD(OptimizerV2):
    """Legacy SGD: `accum = momentum * accum - lr * g; var += accum` (Nesterov: `var += momentum * accum - lr * g`);
    without momentum `var -= lr * g` and no slot. Slots: `momentum` per variable."""

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, name: str = "SGD",
                 **kwargs: Any):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", _lr(kwargs, learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._momentum = callable(momentum) or momentum > 0
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError(f"`momentum` must be between [0, 1]. Received: momentum={momentum} "
                             f"(of type {type(momentum)}).")
        self._set_hyper("momentum", momentum)
        self.nesterov = nesterov

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        if self._momentum:
            for var in var_list:
                self.add_slot(var, "momentum")

    def _prepare_local(self, dtype: Any) -> Dict[str, Any]:
        c = super()._prepare_local(dtype)
        c["momentum"] = self._get_hyper("momentum", dtype)
        return c

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:
        step = work(0)
        np.multiply(grad, c["lr_t"], out=step)
        if self._momentum:
            accum, carried = slots["momentum"], work(1)
            np.multiply(accum, c["momentum"], out=carried)
            np.subtract(carried, step, out=accum)  # accum = accum * momentum - g * lr
            if self.nesterov:
                np.multiply(accum, c["momentum"], out=carried)
                carried -= step
                var += carried
            else:
                var += accum
        else:
            var -= step

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay, "momentum": self._serialize_hyperparameter("momentum"),
                       "nesterov": self.nesterov})
        return config


class RMSprop(OptimizerV2):
    """Legacy RMSprop. Without momentum: `ms = rho ms + (1 - rho) g**2; var -= lr g / (sqrt(ms) + eps)` (epsilon
    outside the root); with momentum (TF kernel): `mom = momentum mom + lr g / sqrt(ms + eps); var -= mom`.
    Slots: all `rms`, then all `momentum`, then all `mg` (centered)."""

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, name: str = "RMSprop", **kwargs: Any):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", _lr(kwargs, learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("rho", rho)
        self._momentum = callable(momentum) or momentum > 0
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError(f"`momentum` must be between [0, 1]. Received: momentum={momentum} "
                             f"(of type {type(momentum)}).")
        self._set_hyper("momentum", momentum)
        self.epsilon = epsilon or backend.epsilon()
        self.centered = centered

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        for var in var_list:
            self.add_slot(var, "rms")
        if self._momentum:
            for var in var_list:
                self.add_slot(var, "momentum")
        if self.centered:
            for var in var_list:
                self.add_slot(var, "mg")

    def _prepare_local(self, dtype: Any) -> Dict[str, Any]:
        c = super()._prepare_local(dtype)
        rho = self._get_hyper("rho", dtype)
        c.update(epsilon=np.asarray(self.epsilon, dtype), rho=rho, momentum=self._get_hyper("momentum", dtype),
                 one_minus_rho=np.asarray(1.0, dtype) - rho)
        return c

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:
        rms, a, b = slots["rms"], work(0), work(1)
        lr, eps = c["lr_t"], c["epsilon"]
        if self._momentum:
            # ResourceApplyRMSProp / ResourceApplyCenteredRMSProp (epsilon inside the square root)
            np.multiply(grad, grad, out=a)
            a -= rms
            a *= c["one_minus_rho"]
            rms += a
            if self.centered:
                mg = slots["mg"]
                np.subtract(grad, mg, out=a)
                a *= c["one_minus_rho"]
                mg += a
                np.multiply(mg, mg, out=a)
                np.subtract(rms, a, out=a)
                a += eps
            else:
                np.add(rms, eps, out=a)
            np.sqrt(a, out=a)
            np.multiply(grad, lr, out=b)
            b /= a
            mom = slots["momentum"]
            mom *= c["momentum"]
            mom += b  # mom = mom * momentum + g * lr / sqrt(denominator)
            var -= mom
            return
        np.multiply(grad, grad, out=a)
        a *= c["one_minus_rho"]
        rms *= c["rho"]
        rms += a
        if self.centered:
            mg = slots["mg"]
            np.multiply(grad, c["one_minus_rho"], out=b)
            mg *= c["rho"]
            mg += b
            np.multiply(mg, mg, out=a)
            np.subtract(rms, a, out=a)
            np.sqrt(a, out=a)
        else:
            np.sqrt(rms, out=a)
        a += eps
        np.multiply(grad, lr, out=b)
        b /= a
        var -= b  # var -= lr * g / (sqrt(denominator) + eps)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay, "rho": self._serialize_hyperparameter("rho"),
                       "momentum": self._serialize_hyperparameter("momentum"), "epsilon": self.epsilon,
                       "centered": self.centered})
        return config


RMSProp = RMSprop


class Adam(OptimizerV2):
    """Legacy Adam (TF's `ResourceApplyAdam`): `alpha = lr sqrt(1 - b2**t) / (1 - b1**t)`,
    `m += (g - m)(1 - b1); v += (g**2 - v)(1 - b2); var -= m alpha / (sqrt(v) + eps)`; amsgrad keeps `vhat`.
    Slots: all `m`, then all `v`, then all `vhat`."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False, name: str = "Adam", **kwargs: Any):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", _lr(kwargs, learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self.epsilon = epsilon or backend.epsilon()
        self.amsgrad = amsgrad

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        for var in var_list:
            self.add_slot(var, "m")
        for var in var_list:
            self.add_slot(var, "v")
        if self.amsgrad:
            for var in var_list:
                self.add_slot(var, "vhat")

    def _prepare_local(self, dtype: Any) -> Dict[str, Any]:
        c = super()._prepare_local(dtype)
        t = np.dtype(dtype).type
        local_step = t(int(self.iterations.data) + 1)
        beta_1_t, beta_2_t = self._get_hyper("beta_1", dtype), self._get_hyper("beta_2", dtype)
        c.update(beta_1_t=beta_1_t, beta_2_t=beta_2_t, beta_1_power=np.power(beta_1_t, local_step),
                 beta_2_power=np.power(beta_2_t, local_step), epsilon=np.asarray(self.epsilon, dtype))
        return c

    def set_weights(self, weights: Sequence[Any]) -> None:
        # Keras 2.2 files store a placeholder `vhat` per variable even without amsgrad: drop them.
        num_vars = int((len(self.weights) - 1) / 2)
        weights = list(weights)
        if len(weights) == 3 * num_vars + 1:
            weights = weights[:len(self.weights)]
        super().set_weights(weights)

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:
        t = var.dtype.type
        m, v, a, b = slots["m"], slots["v"], work(0), work(1)
        alpha = c["lr_t"] * np.sqrt(t(1) - c["beta_2_power"]) / (t(1) - c["beta_1_power"])
        np.subtract(grad, m, out=a)
        a *= t(1) - c["beta_1_t"]
        m += a
        np.multiply(grad, grad, out=a)
        a -= v
        a *= t(1) - c["beta_2_t"]
        v += a
        if self.amsgrad:
            np.maximum(slots["vhat"], v, out=slots["vhat"])
            v = slots["vhat"]
        np.sqrt(v, out=a)
        a += c["epsilon"]
        np.multiply(m, alpha, out=b)
        b /= a
        var -= b

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay, "beta_1": self._serialize_hyperparameter("beta_1"),
                       "beta_2": self._serialize_hyperparameter("beta_2"), "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class Adagrad(OptimizerV2):
    """Legacy Adagrad (TF's `ResourceApplyAdagradV2`): `accum += g**2; var -= lr g / (sqrt(accum) + eps)`.
    Slots: `accumulator` per variable, starting at `initial_accumulator_value`."""

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 name: str = "Adagrad", **kwargs: Any):
        if initial_accumulator_value < 0.0:
            raise ValueError(f"initial_accumulator_value must be non-negative: {initial_accumulator_value}")
        if epsilon is None:
            epsilon = backend.epsilon()
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", _lr(kwargs, learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon or backend.epsilon()

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        for var in var_list:
            self.add_slot(var, "accumulator", self._initial_accumulator_value)

    def set_weights(self, weights: Sequence[Any]) -> None:
        # files written before the iteration counter was saved: prepend it
        weights = list(weights)
        if len(self.weights) == len(weights) + 1:
            weights = [np.array(0)] + weights
        super().set_weights(weights)

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> "OptimizerV2":
        config = dict(config)
        config.setdefault("initial_accumulator_value", 0.1)
        return super().from_config(config, custom_objects)

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:
        acc, a, b = slots["accumulator"], work(0), work(1)
        np.multiply(grad, grad, out=a)
        acc += a
        np.sqrt(acc, out=a)
        a += np.asarray(self.epsilon, var.dtype)
        np.multiply(grad, c["lr_t"], out=b)
        b /= a
        var -= b  # var -= g * lr / (sqrt(accum) + eps)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay, "initial_accumulator_value": self._initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config


class Adadelta(OptimizerV2):
    """Legacy Adadelta (TF's `ResourceApplyAdadelta`). Slots: all `accum_grad`, then all `accum_var`."""

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, name: str = "Adadelta",
                 **kwargs: Any):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", _lr(kwargs, learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("rho", rho)
        self.epsilon = epsilon or backend.epsilon()

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        for v in var_list:
            self.add_slot(v, "accum_grad")
        for v in var_list:
            self.add_slot(v, "accum_var")

    def set_weights(self, weights: Sequence[Any]) -> None:
        weights = list(weights)
        if len(self.weights) == len(weights) + 1:
            weights = [np.array(0)] + weights
        super().set_weights(weights)

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:
        t = var.dtype.type
        rho, eps = self._get_hyper("rho", var.dtype), np.asarray(self.epsilon, var.dtype)
        accum, accum_update, update, b = slots["accum_grad"], slots["accum_var"], work(0), work(1)
        np.multiply(grad, grad, out=b)
        b *= t(1) - rho
        accum *= rho
        accum += b
        np.add(accum_update, eps, out=update)
        np.sqrt(update, out=update)
        np.add(accum, eps, out=b)
        np.sqrt(b, out=b)
        np.divide(t(1), b, out=b)
        update *= b
        update *= grad  # update = sqrt(accum_update + eps) * (1 / sqrt(accum + eps)) * g
        np.multiply(update, c["lr_t"], out=b)
        var -= b
        np.multiply(update, update, out=b)
        b *= t(1) - rho
        accum_update *= rho
        accum_update += b

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay, "rho": self._serialize_hyperparameter("rho"),
                       "epsilon": self.epsilon})
        return config


class Adamax(OptimizerV2):
    """Legacy Adamax (TF's `ResourceApplyAdaMax`): `var -= lr / (1 - b1**t) * (m / (v + eps))`.
    Slots: all `m`, then all `v`."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 name: str = "Adamax", **kwargs: Any):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", _lr(kwargs, learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self.epsilon = epsilon or backend.epsilon()

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        for var in var_list:
            self.add_slot(var, "m")
        for var in var_list:
            self.add_slot(var, "v")

    def _prepare_local(self, dtype: Any) -> Dict[str, Any]:
        c = super()._prepare_local(dtype)
        t = np.dtype(dtype).type
        beta_1_t = self._get_hyper("beta_1", dtype)
        c.update(beta_1_t=beta_1_t, beta_2_t=self._get_hyper("beta_2", dtype),
                 beta_1_power=np.power(beta_1_t, t(int(self.iterations.data) + 1)),
                 epsilon=np.asarray(self.epsilon, dtype))
        return c

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:
        t = var.dtype.type
        m, v, a, b = slots["m"], slots["v"], work(0), work(1)
        np.subtract(grad, m, out=a)
        a *= t(1) - c["beta_1_t"]
        m += a
        v *= c["beta_2_t"]
        np.abs(grad, out=a)
        np.maximum(v, a, out=v)
        np.add(v, c["epsilon"], out=a)
        np.divide(m, a, out=b)
        b *= c["lr_t"] / (t(1) - c["beta_1_power"])
        var -= b  # var -= lr / (1 - beta_1**t) * (m / (v + eps))

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay, "beta_1": self._serialize_hyperparameter("beta_1"),
                       "beta_2": self._serialize_hyperparameter("beta_2"), "epsilon": self.epsilon})
        return config


class Nadam(OptimizerV2):
    """Legacy Nadam with Keras 2's momentum schedule `u_t = b1 (1 - 0.5 * 0.96 ** (schedule_decay * t))`
    (`decay` is the schedule decay, 0.004 by default, and does NOT decay the learning rate).
    State: `iter`, `momentum_cache`, all `m`, all `v`."""

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 name: str = "Nadam", **kwargs: Any):
        kwargs["decay"] = kwargs.pop("schedule_decay", kwargs.get("decay", 0.004))
        learning_rate = kwargs.get("lr", learning_rate)
        if isinstance(learning_rate, learning_rate_schedule.LearningRateSchedule):
            raise ValueError("The legacy Nadam optimizer does not support a `LearningRateSchedule` as the "
                             f"learning rate. Received: learning_rate={learning_rate!r}")
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", learning_rate)
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self.epsilon = epsilon or backend.epsilon()
        self._m_cache: Optional[Variable] = None

    def _create_slots(self, var_list: Sequence[Any]) -> None:
        if self._m_cache is None:
            prefix = f"{self._scope}/" if self._scope else ""
            self._m_cache = Variable(np.ones((), dtype=var_list[0].dtype), trainable=False,
                                     name=f"{prefix}momentum_cache")
            self._weights.append(self._m_cache)
        for var in var_list:
            self.add_slot(var, "m")
        for var in var_list:
            self.add_slot(var, "v")

    def _prepare_local(self, dtype: Any) -> Dict[str, Any]:
        t = np.dtype(dtype).type
        lr_t = self._get_hyper("learning_rate", dtype)
        beta_1_t, beta_2_t = self._get_hyper("beta_1", dtype), self._get_hyper("beta_2", dtype)
        it = int(self.iterations.data)
        local_step, next_step = t(it + 1), t(it + 2)
        decay_base = t(0.96)
        decay = t(self._initial_decay)
        m_t = beta_1_t * (t(1.0) - t(0.5) * np.power(decay_base, decay * local_step))
        m_t_1 = beta_1_t * (t(1.0) - t(0.5) * np.power(decay_base, decay * next_step))
        m_schedule_new = np.asarray(self._m_cache.data, dtype) * m_t
        if self._m_cache.dtype == np.dtype(dtype):
            self._m_cache.data[...] = m_schedule_new
        m_schedule_next = m_schedule_new * m_t_1
        return dict(lr_t=lr_t, epsilon=np.asarray(self.epsilon, dtype), beta_1_t=beta_1_t, beta_2_t=beta_2_t,
                    m_t=m_t, m_t_1=m_t_1, one_minus_beta_1_t=t(1) - beta_1_t, one_minus_beta_2_t=t(1) - beta_2_t,
                    one_minus_m_t=t(1.0) - m_t, one_minus_m_schedule_new=t(1.0) - m_schedule_new,
                    one_minus_m_schedule_next=t(1.0) - m_schedule_next,
                    v_t_prime_denominator=t(1.0) - np.power(beta_2_t, local_step))

    def _apply_flat(self, grad: np.ndarray, var: np.ndarray, slots: Dict[str, np.ndarray], c: Dict[str, Any],
                    work: Any) -> None:
        m, v, a, b = slots["m"], slots["v"], work(0), work(1)
        np.multiply(grad, c["one_minus_beta_1_t"], out=a)
        m *= c["beta_1_t"]
        m += a
        np.multiply(grad, grad, out=a)
        a *= c["one_minus_beta_2_t"]
        v *= c["beta_2_t"]
        v += a
        np.divide(grad, c["one_minus_m_schedule_new"], out=a)  # g_prime
        a *= c["one_minus_m_t"]
        np.divide(m, c["one_minus_m_schedule_next"], out=b)  # m_t_prime
        b *= c["m_t_1"]
        a += b  # m_t_bar
        np.divide(v, c["v_t_prime_denominator"], out=b)
        np.sqrt(b, out=b)
        b += c["epsilon"]
        a *= c["lr_t"]
        a /= b
        var -= a

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter("learning_rate"),
                       "decay": self._initial_decay, "beta_1": self._serialize_hyperparameter("beta_1"),
                       "beta_2": self._serialize_hyperparameter("beta_2"), "epsilon": self.epsilon})
        return config


ALL_CLASSES = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adagrad": Adagrad, "adadelta": Adadelta,
               "adamax": Adamax, "nadam": Nadam}
