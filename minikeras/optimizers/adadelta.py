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

    def update_step(self, grad: np.ndarray, variable: Any) -> None:
        dtype = variable.dtype
        t = dtype.type
        lr = self._lr(dtype)
        rho, one_minus_rho, eps = t(self.rho), t(1 - self.rho), t(self.epsilon)
        accumulated_grad = self._slot(self._accumulated_grads, variable)
        accumulated_delta_var = self._slot(self._accumulated_delta_vars, variable)
        accumulated_grad.data[...] = rho * accumulated_grad.data + one_minus_rho * grad * grad
        delta_var = -np.sqrt(accumulated_delta_var.data + eps) * grad / np.sqrt(accumulated_grad.data + eps)
        accumulated_delta_var.data[...] = rho * accumulated_delta_var.data + one_minus_rho * delta_var * delta_var
        variable.data[...] = variable.data + lr * delta_var

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "rho": self.rho,
                       "epsilon": self.epsilon})
        return config
