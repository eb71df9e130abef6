"""RMSprop (tf_keras 2.21 `keras.optimizers.RMSprop`)."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSprop:

        velocity = rho * velocity + (1 - rho) * g**2
        denominator = velocity + epsilon        (centered: velocity - average_grad**2 + epsilon)
        increment = lr * g / sqrt(denominator)  (epsilon inside the square root, as tf_keras 2.11+)
        var -= increment                        (momentum > 0: momentum = momentum * momentum + increment;
                                                 var -= momentum)

    Args:
        learning_rate: float or `LearningRateSchedule` (default 0.001).
        rho: 0.9. momentum: 0.0. epsilon: 1e-7. centered: False.
        ema_overwrite_frequency: 100 by default here (tf_keras's RMSprop default).
        **kwargs: the base `Optimizer` arguments.

    Slots, in `variables` order: all `velocity`, then all `momentum` (if momentum > 0), then all
    `average_gradient` (if centered).
    """

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0, epsilon: float = 1e-7,
                 centered: bool = False, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: Any = 100, jit_compile: bool = True, name: str = "RMSprop", **kwargs: Any):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._velocities = [self.add_variable_from_reference(var, "velocity") for var in var_list]
        self._momentums = ([self.add_variable_from_reference(var, "momentum") for var in var_list]
                           if self.momentum > 0 else [])
        self._average_gradients = ([self.add_variable_from_reference(var, "average_gradient") for var in var_list]
                                   if self.centered else [])

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        t = dtype.type
        return {"lr": self._lr(dtype), "rho": t(self.rho), "one_minus_rho": t(1 - self.rho),
                "epsilon": t(self.epsilon), "momentum": t(self.momentum)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:
        velocity, a, b = slots["velocity"], work(0), work(1)
        np.multiply(gradient, gradient, out=a)
        a *= c["one_minus_rho"]
        velocity *= c["rho"]
        velocity += a  # velocity = rho * velocity + (1 - rho) * g**2
        if self.centered:
            average_grad = slots["average_gradient"]
            np.multiply(gradient, c["one_minus_rho"], out=b)
            average_grad *= c["rho"]
            average_grad += b
            np.multiply(average_grad, average_grad, out=a)
            np.subtract(velocity, a, out=a)
            a += c["epsilon"]  # velocity - average_grad**2 + epsilon
        else:
            np.add(velocity, c["epsilon"], out=a)
        np.sqrt(a, out=a)
        np.divide(a.dtype.type(1), a, out=a)
        np.multiply(gradient, c["lr"], out=b)
        b *= a  # increment = lr * g * (1 / sqrt(denominator))
        if self.momentum > 0:
            momentum = slots["momentum"]
            momentum *= c["momentum"]
            momentum += b
            variable -= momentum
        else:
            variable -= b

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "rho": self.rho,
                       "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
        return config
