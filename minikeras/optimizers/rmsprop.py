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

    def update_step(self, gradient: np.ndarray, variable: Any) -> None:
        dtype = variable.dtype
        t = dtype.type
        lr = self._lr(dtype)
        rho = t(self.rho)
        velocity = self._slot(self._velocities, variable)
        velocity.data[...] = rho * velocity.data + t(1 - self.rho) * np.square(gradient)
        if self.centered:
            average_grad = self._slot(self._average_gradients, variable)
            average_grad.data[...] = rho * average_grad.data + t(1 - self.rho) * gradient
            denominator = velocity.data - np.square(average_grad.data) + t(self.epsilon)
        else:
            denominator = velocity.data + t(self.epsilon)
        increment = lr * gradient * (t(1) / np.sqrt(denominator))
        if self.momentum > 0:
            momentum = self._slot(self._momentums, variable)
            momentum.data[...] = t(self.momentum) * momentum.data + increment
            variable.data[...] = variable.data + (-momentum.data)
        else:
            variable.data[...] = variable.data + (-increment)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate), "rho": self.rho,
                       "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
        return config
