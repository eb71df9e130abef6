"""Adam (tf_keras 2.21 `keras.optimizers.Adam`)."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Adam, with the bias correction folded into the step size (tf_keras's form):

        alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)       (t = iterations + 1)
        m += (g - m) * (1 - beta_1);  v += (g**2 - v) * (1 - beta_2)
        var -= m * alpha / (sqrt(v) + epsilon)                    (v -> max(vhat, v) with amsgrad)

    `epsilon` is added to `sqrt(v)` *after* the bias correction moved into `alpha` (the "epsilon hat" of the paper),
    so it is not the textbook `sqrt(v_hat) + epsilon`.

    Args:
        learning_rate: float or `LearningRateSchedule` (default 0.001).
        beta_1, beta_2: decay rates of the moment estimates (0.9, 0.999).
        epsilon: 1e-7.
        adaptive_epsilon: use `epsilon * sqrt(1 - beta_2**t)` (tf_keras 2.21 accepts it but leaves it out of
            `get_config`; minikeras does the same).
        amsgrad: keep the maximum of past `v` (slot `vhat`).
        **kwargs: the base `Optimizer` arguments.

    Slots, in `variables` order: for each variable `m` then `v` (interleaved), then all `vhat` (amsgrad).
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 adaptive_epsilon: bool = False, amsgrad: bool = False, weight_decay: Any = None,
                 clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None, use_ema: bool = False,
                 ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None, jit_compile: bool = True,
                 name: str = "Adam", **kwargs: Any):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.adaptive_epsilon = adaptive_epsilon
        self.amsgrad = amsgrad

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._momentums, self._velocities = [], []
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(model_variable=var, variable_name="m"))
            self._velocities.append(self.add_variable_from_reference(model_variable=var, variable_name="v"))
        if self.amsgrad:
            self._velocity_hats = [self.add_variable_from_reference(model_variable=var, variable_name="vhat")
                                   for var in var_list]

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        t = dtype.type
        lr = self._lr(dtype)
        local_step = t(int(self.iterations.data) + 1)
        beta_1_power = np.power(t(self.beta_1), local_step)
        beta_2_power = np.power(t(self.beta_2), local_step)
        alpha = lr * np.sqrt(t(1) - beta_2_power) / (t(1) - beta_1_power)
        epsilon_hat = t(self.epsilon) * np.sqrt(t(1) - beta_2_power) if self.adaptive_epsilon else t(self.epsilon)
        return {"lr": lr, "alpha": alpha, "epsilon": epsilon_hat, "one_minus_beta_1": t(1 - self.beta_1),
                "one_minus_beta_2": t(1 - self.beta_2)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:
        m, v, a, b = slots["m"], slots["v"], work(0), work(1)
        np.subtract(gradient, m, out=a)
        a *= c["one_minus_beta_1"]
        m += a  # m += (g - m) * (1 - beta_1)
        np.multiply(gradient, gradient, out=a)
        a -= v
        a *= c["one_minus_beta_2"]
        v += a  # v += (g**2 - v) * (1 - beta_2)
        if self.amsgrad:
            np.maximum(slots["vhat"], v, out=slots["vhat"])
            v = slots["vhat"]
        np.sqrt(v, out=a)
        a += c["epsilon"]
        np.multiply(m, c["alpha"], out=b)
        b /= a
        variable -= b  # var -= m * alpha / (sqrt(v) + epsilon)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "beta_1": self.beta_1,
                       "beta_2": self.beta_2, "epsilon": self.epsilon, "amsgrad": self.amsgrad})
        return config
