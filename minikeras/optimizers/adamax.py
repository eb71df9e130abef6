"""Adamax (tf_keras 2.21 `keras.optimizers.Adamax`)."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class Adamax(Optimizer):
    """Adamax, Adam with the infinity norm:

        m += (g - m) * (1 - beta_1);  u = max(beta_2 * u, |g|)
        var -= lr * m / ((1 - beta_1**t) * (u + epsilon))        (t = iterations + 1)

    Args:
        learning_rate: float or `LearningRateSchedule` (0.001). beta_1: 0.9. beta_2: 0.999. epsilon: 1e-7.
        **kwargs: the base `Optimizer` arguments.

    Slots, per variable (interleaved): `m`, `u`.
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 jit_compile: bool = True, name: str = "Adamax", **kwargs: Any):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._m, self._u = [], []
        for var in var_list:
            self._m.append(self.add_variable_from_reference(model_variable=var, variable_name="m"))
            self._u.append(self.add_variable_from_reference(model_variable=var, variable_name="u"))

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        t = dtype.type
        local_step = t(int(self.iterations.data) + 1)
        return {"lr": self._lr(dtype), "one_minus_beta_1_power": t(1) - np.power(t(self.beta_1), local_step),
                "one_minus_beta_1": t(1 - self.beta_1), "beta_2": t(self.beta_2), "epsilon": t(self.epsilon)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:
        m, u, a, b = slots["m"], slots["u"], work(0), work(1)
        np.subtract(gradient, m, out=a)
        a *= c["one_minus_beta_1"]
        m += a
        u *= c["beta_2"]
        np.abs(gradient, out=a)
        np.maximum(u, a, out=u)  # u = max(beta_2 * u, |g|)
        np.add(u, c["epsilon"], out=a)
        a *= c["one_minus_beta_1_power"]
        np.multiply(m, c["lr"], out=b)
        b /= a
        variable -= b  # var -= lr * m / ((1 - beta_1**t) * (u + epsilon))

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "beta_1": self.beta_1,
                       "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
