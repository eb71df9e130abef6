"""Adagrad (tf_keras 2.21 `keras.optimizers.Adagrad`)."""
from __future__ import annotations

from typing import Any, Dict, Sequence

import numpy as np

from minikeras.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad: `accumulator += g**2; var -= lr * g / sqrt(accumulator + epsilon)`.

    The accumulator starts at `initial_accumulator_value` (0.1), and epsilon sits inside the square root (the legacy
    optimizer put it outside).

    Args:
        learning_rate: float or `LearningRateSchedule` (default 0.001).
        initial_accumulator_value: 0.1. epsilon: 1e-7.
        **kwargs: the base `Optimizer` arguments.

    Slots: one `accumulator` per variable.
    """

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None,
                 use_ema: bool = False, ema_momentum: float = 0.99, ema_overwrite_frequency: Any = None,
                 jit_compile: bool = True, name: str = "Adagrad", **kwargs: Any):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list: Sequence[Any]) -> None:
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._accumulators = [
            self.add_variable_from_reference(var, "accumulator",
                                             initial_value=np.full(var.shape, self.initial_accumulator_value,
                                                                   dtype=var.dtype))
            for var in var_list]

    def _coefficients(self, dtype: np.dtype) -> Dict[str, Any]:
        return {"lr": self._lr(dtype), "epsilon": dtype.type(self.epsilon)}

    def _update_flat(self, gradient: np.ndarray, variable: np.ndarray, slots: Dict[str, np.ndarray],
                     c: Dict[str, Any], work: Any) -> None:
        accumulator, a, b = slots["accumulator"], work(0), work(1)
        np.multiply(gradient, gradient, out=a)
        accumulator += a
        np.add(accumulator, c["epsilon"], out=a)
        np.sqrt(a, out=a)
        np.multiply(gradient, c["lr"], out=b)
        b /= a
        variable -= b  # var -= lr * g / sqrt(accumulator + epsilon)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
