"""Learning-rate schedules (Keras 2's `keras.optimizers.schedules`, tf_keras 2.21 formulas, float32 arithmetic).

A schedule is called with the optimizer's `iterations` (the number of steps already applied) at the start of every
`apply_gradients` and returns the learning rate for that step.
"""
from __future__ import annotations

import math
from typing import Any, Dict, Optional

import numpy as np

from minikeras.utils.generic_utils import class_registry, deserialize_keras_object, serialize_keras_object

_F = np.float32


def _f(x: Any) -> np.float32:
    # NOTE: tf_keras converts `initial_learning_rate` with tf.convert_to_tensor (a Python float becomes float32) and
    # casts every other number to that dtype, so the whole schedule runs in float32.
    return _F(np.asarray(x, dtype=np.float32))


class LearningRateSchedule:
    """Base class: `schedule(step) -> learning rate`; subclasses implement `__call__` and `get_config`."""

    def __call__(self, step: Any) -> np.float32:  # pragma: no cover - abstract
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self) -> Dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
                                  "in order to be serializable.")

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "LearningRateSchedule":
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)` (the exponent floored if `staircase`).

    >>> float(ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)(10))
    0.05000000074505806
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                 name: Optional[str] = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        p = _f(step) / _f(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _F(_f(self.initial_learning_rate) * np.power(_f(self.decay_rate), p))

    def get_config(self) -> Dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` for `step <= boundaries[0]`, `values[i]` for `boundaries[i-1] < step <= boundaries[i]`,
    `values[-1]` after the last boundary."""

    def __init__(self, boundaries: Any, values: Any, name: Optional[str] = None):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. Received: "
                             f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                             f"{len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        x = float(np.asarray(step))
        if x <= self.boundaries[0]:
            return _f(self.values[0])
        if x > self.boundaries[-1]:
            return _f(self.values[-1])
        for low, high, v in zip(self.boundaries[:-1], self.boundaries[1:], self.values[1:-1]):
            if low < x <= high:
                return _f(v)
        return _f(self.values[0])

    def get_config(self) -> Dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """`(initial - end) * (1 - step / decay_steps) ** power + end`, with `step` capped (or cycled if `cycle`)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: Optional[str] = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        init, end = _f(self.initial_learning_rate), _f(self.end_learning_rate)
        step_f, decay_steps = _f(step), _f(self.decay_steps)
        if self.cycle:
            multiplier = _F(1.0) if step_f == 0 else np.ceil(step_f / _f(self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step_f = np.minimum(step_f, decay_steps)
        p = step_f / decay_steps
        return _F((init - end) * np.power(_F(1) - p, _f(self.power)) + end)

    def get_config(self) -> Dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (the ratio floored if `staircase`)."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                 name: Optional[str] = None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        p = _f(step) / _f(self.decay_steps)
        if self.staircase:
            p = np.floor(p)
        return _F(_f(self.initial_learning_rate) / (_F(1) + _f(self.decay_rate) * p))

    def get_config(self) -> Dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the initial rate (or `warmup_target` after a linear warmup of `warmup_steps`) to
    `alpha` times it over `decay_steps`."""

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: Optional[str] = None, warmup_target: Optional[float] = None, warmup_steps: float = 0):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step: np.float32, decay_steps: np.float32, decay_from: np.float32) -> np.float32:
        completed = step / decay_steps
        cosine = _F(0.5) * (_F(1.0) + np.cos(_F(math.pi) * completed))
        decayed = _f(1 - self.alpha) * cosine + _f(self.alpha)
        return _F(decay_from * decayed)

    def __call__(self, step: Any) -> np.float32:
        init = _f(self.initial_learning_rate)
        decay_steps = _f(self.decay_steps)
        step_f = _f(step)
        if self.warmup_target is None:
            return self._decay(np.minimum(step_f, decay_steps), decay_steps, init)
        target, warmup_steps = _f(self.warmup_target), _f(self.warmup_steps)
        step_f = np.minimum(step_f, decay_steps + warmup_steps)
        if step_f < warmup_steps:
            return _F((target - init) * (step_f / warmup_steps) + init)
        return self._decay(step_f - warmup_steps, decay_steps, target)

    def get_config(self) -> Dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods grow by `t_mul`, restart peaks scale by `m_mul`."""

    def __init__(self, initial_learning_rate: float, first_decay_steps: float, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: Optional[str] = None):
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> np.float32:
        init, alpha = _f(self.initial_learning_rate), _f(self.alpha)
        t_mul, m_mul = _f(self._t_mul), _f(self._m_mul)
        completed = _f(step) / _f(self.first_decay_steps)
        if t_mul == 1.0:
            i_restart = np.floor(completed)
            completed = completed - i_restart
        else:
            i_restart = np.floor(np.log(_F(1.0) - completed * (_F(1.0) - t_mul)) / np.log(t_mul))
            sum_r = (_F(1.0) - t_mul ** i_restart) / (_F(1.0) - t_mul)
            completed = (completed - sum_r) / t_mul ** i_restart
        m_fac = m_mul ** i_restart
        cosine = _F(0.5) * m_fac * (_F(1.0) + np.cos(_F(math.pi) * completed))
        return _F(init * ((_F(1) - alpha) * cosine + alpha))

    def get_config(self) -> Dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


ALL_OBJECTS = class_registry((ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                              CosineDecay, CosineDecayRestarts))


def serialize(learning_rate_schedule: LearningRateSchedule) -> Dict[str, Any]:
    """tf_keras's 4-key dict `{"module": "keras.optimizers.schedules", "class_name", "config", "registered_name"}`."""
    return serialize_keras_object(learning_rate_schedule, module="keras.optimizers.schedules")


def deserialize(config: Any, custom_objects: Optional[Dict[str, Any]] = None) -> LearningRateSchedule:
    """A schedule from its (2-key or 4-key) config dict."""
    return deserialize_keras_object(config, ALL_OBJECTS, custom_objects=custom_objects, printable_module_name="decay")
