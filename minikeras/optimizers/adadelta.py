"""Adadelta (tf_keras 2.21 `keras.optimizers.Adadelta`)."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta, scaled by `learning_rate` (default 0.001, as tf_keras; the paper's is 1.0):

        accumulated_grad = rho * accumulated_grad + (1 - rho) * g**2
        delta = -sqrt(accumulated_delta_var + eps) * g / sqrt(accumulated_grad + eps)
        accumulated_delta_var = rho * accumulated_delta_var + (1 - rho) * delta**2
        var += lr * delta

    Args:
        learning_rate: float or `LearningRateSchedule` (0.001). rho: 0.95. epsilon: 1e-7.
        **kwargs: the base `Optimizer` arguments.

    Slots, per variable (interleaved): `accumulated_grad`, `accumulated_delta_var`.
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, weight_decay: Any = None,
                 clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None, jit_compile: bool = True,
                 name: str = "Adadelta", **kwargs: Any):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._accumulated_grads, self._accumulated_delta_vars = [], []
        for var in var_list:
            self._accumulated_grads.append(self.add_variable_from_reference(var, "accumulated_grad"))
            self._accumulated_delta_vars.append(self.add_variable_from_reference(var, "accumulated_delta_var"))

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        t = dtype.type
        return {"lr": self._lr(dtype), "rho": t(self.rho), "one_minus_rho": t(1 - self.rho),
                "epsilon": t(self.epsilon)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:
        accumulated_grad, accumulated_delta_var = slots["accumulated_grad"], slots["accumulated_delta_var"]
        delta, b = work(0), work(1)
        np.multiply(gradient, c["one_minus_rho"], out=b)
        b *= gradient
        accumulated_grad *= c["rho"]
        accumulated_grad += b
        np.add(accumulated_delta_var, c["epsilon"], out=delta)
        np.sqrt(delta, out=delta)
        np.negative(delta, out=delta)
        delta *= gradient
        np.add(accumulated_grad, c["epsilon"], out=b)
        np.sqrt(b, out=b)
        delta /= b  # delta = -sqrt(accumulated_delta_var + eps) * g / sqrt(accumulated_grad + eps)
        np.multiply(delta, c["one_minus_rho"], out=b)
        b *= delta
        accumulated_delta_var *= c["rho"]
        accumulated_delta_var += b
        np.multiply(delta, c["lr"], out=b)
        variable += b

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "rho": self.rho,
                       "epsilon": self.epsilon})
        return config
